"""Persistence: SQLAlchemy tables, the database handle and repositories; Alembic migrations in `migrations/`."""
