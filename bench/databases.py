"""One seeded template database per catalog size, and a fresh copy of it for every run.

SQLite copies the file. PostgreSQL creates each run's database with ``CREATE DATABASE ... TEMPLATE``,
which copies the template's files on the server side, so a run never starts from a database another run
has written to. Runs are identified by a short name; the URL of each is what the run's process gets as
DATABASE_URL.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TEMPLATE = "template"


def databases_for(url: str | None, folder: Path, prefix: str):
    """The copier for ``url`` (SQLite files under ``folder`` when None), naming databases ``prefix_*``."""
    if not url or url.startswith("sqlite"):
        return SqliteDatabases(folder)
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return PostgresDatabases(url, prefix)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]}")


class SqliteDatabases:
    vendor = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.sqlite3"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name).resolve()}"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def create_empty(self, name: str) -> str:
        self.drop(name)
        return self.url(name)

    def copy_template(self, name: str) -> str:
        self.drop(name)
        # The seeding process checkpointed its WAL, so the main file is the whole database.
        shutil.copyfile(self.path(TEMPLATE), self.path(name))
        return self.url(name)

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)

    def size_bytes(self, name: str) -> int:
        return sum(Path(f"{self.path(name)}{s}").stat().st_size for s in ("", "-wal")
                   if Path(f"{self.path(name)}{s}").exists())

    def describe(self) -> str:
        return f"SQLite files under {self.folder}"

    def version(self) -> str:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"

    def activity(self, name: str) -> dict | None:
        return None  # no server, no statistics: statement counts come from the update process


class PostgresDatabases:
    vendor = "postgresql"

    def __init__(self, url: str, prefix: str):
        self.base = urlsplit(url)
        self.prefix = prefix

    def dbname(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def url(self, name: str) -> str:
        return urlunsplit(self.base._replace(path=f"/{self.dbname(name)}"))

    def _admin(self):
        import psycopg

        # The maintenance database: CREATE/DROP DATABASE can't run inside a transaction or on the target.
        return psycopg.connect(urlunsplit(self.base._replace(scheme="postgresql", path="/postgres")),
                               autocommit=True)

    def exists(self, name: str) -> bool:
        with self._admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.dbname(name)]).fetchone() \
                is not None

    def create_empty(self, name: str) -> str:
        self.drop(name)
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname(name)}"')
        return self.url(name)

    def copy_template(self, name: str) -> str:
        self.drop(name)
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname(name)}" TEMPLATE "{self.dbname(TEMPLATE)}"')
        return self.url(name)

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname(name)}" WITH (FORCE)')

    def size_bytes(self, name: str) -> int:
        with self._admin() as conn:
            return conn.execute("SELECT pg_database_size(%s)", [self.dbname(name)]).fetchone()[0]

    def version(self) -> str:
        with self._admin() as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]

    def activity(self, name: str) -> dict:
        """The server's counters for one database (pg_stat_database): what a run cost the server."""
        # A backend's counters reach the shared statistics when it goes idle or exits: give the child's
        # backend a moment to finish exiting, then read a fresh snapshot.
        time.sleep(0.3)
        with self._admin() as conn:
            row = conn.execute("SELECT tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, "
                               "xact_commit, blks_read, blks_hit FROM pg_stat_database WHERE datname = %s",
                               [self.dbname(name)]).fetchone()
        keys = ("tup_returned", "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted", "xact_commit",
                "blks_read", "blks_hit")
        return dict(zip(keys, row)) if row else {k: 0 for k in keys}

    def describe(self) -> str:
        return f"PostgreSQL at {self.base.hostname}:{self.base.port or 5432}, databases {self.prefix}_*"
