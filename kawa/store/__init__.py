"""Persistence: SQLAlchemy tables, the database handle and every repository; Alembic migrations in `migrations/`.

An adapter: it imports only kawa.errors. What it needs of its callers' types (an app export, a stored upload) it
names as Protocols, and it hands back ORM rows or plain dataclasses.
"""
