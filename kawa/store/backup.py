"""Backups: a SQLite database copied with SQLite's online backup API (pages copied in steps, so a server writing the
database meanwhile is neither stopped nor copied half-way), checked by reading the copy; PostgreSQL's pg_dump line."""

from __future__ import annotations

import os
import shlex
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

PAGES_PER_STEP = 1024  # then the source is released for a moment, so writers are not held up by a large copy


class BackupError(Exception):
    """The database could not be copied, or the copy does not read back."""


@dataclass(frozen=True)
class BackupReport:
    size_bytes: int
    tables: int


def backup_sqlite(source: Path, target: Path) -> BackupReport:
    """Copy `source` to `target` (written beside it under a temporary name, renamed when checked)."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
        report = _checked(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return report


def _checked(path: Path) -> BackupReport:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy does not pass SQLite's integrity check: {verdict}")
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        conn.execute("SELECT version_num FROM alembic_version").fetchall()  # a kawa database, readable
    finally:
        conn.close()
    return BackupReport(size_bytes=path.stat().st_size, tables=int(tables))


def pg_dump_command(url: URL, target: Path) -> str:
    """The pg_dump line for a PostgreSQL `url` (its password left out: pg_dump reads PGPASSWORD or ~/.pgpass)."""
    # URL.set() keeps a value given as None, so the URL is rebuilt without the password.
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database)
    return shlex.join(["pg_dump", "--format=custom", f"--file={target}", plain.render_as_string(hide_password=False)])
