"""Running the two commands as an operator does: a subprocess over a real database and real folders."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from .conftest import PROJECT_ROOT

ISO_LINE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


class Deployment:
    """A var folder (inbox, archive, rejected, index) and a migrated database of its own."""

    def __init__(self, var: Path, database_url: str):
        self.var = var
        self.inbox = var / "inbox"
        self.archive = var / "archive"
        self.rejected = var / "rejected"
        self.inbox.mkdir(parents=True)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("UPDATE_") or key == "UPDATE_LOG_LEVEL"}
        self.env.update(UPDATE_VAR_DIR=str(var), DATABASE_URL=database_url, UPDATE_INDEX_AFTER_MIGRATE="0")

    def run(self, *argv, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """``bin/update-products ARGV``."""
        return subprocess.run([sys.executable, str(PROJECT_ROOT / "bin" / "update-products"), *argv],
                              cwd=PROJECT_ROOT, env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)

    def manage(self, *argv, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """``python manage.py ARGV``."""
        return subprocess.run([sys.executable, str(PROJECT_ROOT / "manage.py"), *argv], cwd=PROJECT_ROOT,
                              env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)

    def runs(self) -> list[dict]:
        done = self.run("runs", "--json", "--last", "1000")
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    def show(self, run_id: int) -> dict:
        done = self.run("runs", "show", str(run_id), "--json")
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)

    def names(self, folder: Path) -> list[str]:
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


class SqliteTemplate:
    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"

    def url(self) -> str:
        return f"sqlite:///{self.template}"

    def fresh(self, name: str) -> str:
        target = self.root / f"{name}.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def cleanup(self) -> None:
        pass


class PostgresTemplate:
    """Databases on the server DATABASE_URL names, each copied from one migrated template."""

    def __init__(self, url: str):
        import dj_database_url

        self.server = url
        self.settings = dj_database_url.parse(url)
        self.prefix = f"ops_{uuid.uuid4().hex[:8]}"
        self.names = [f"{self.prefix}_template"]
        self.execute(f'CREATE DATABASE "{self.names[0]}"')

    def execute(self, sql: str) -> None:
        import psycopg

        s = self.settings
        with psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None,
                             password=s["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def _url(self, name: str) -> str:
        return f"{self.server.rpartition('/')[0]}/{name}"

    def url(self) -> str:
        return self._url(self.names[0])

    def fresh(self, name: str) -> str:
        full = f"{self.prefix}_{name}"[:63]
        self.execute(f'CREATE DATABASE "{full}" TEMPLATE "{self.names[0]}"')
        self.names.append(full)
        return self._url(full)

    def cleanup(self) -> None:
        for name in reversed(self.names):
            self.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def migrated_template(root: Path):
    url = os.environ.get("DATABASE_URL", "")
    template = PostgresTemplate(url) if url.startswith(("postgres://", "postgresql://")) else SqliteTemplate(root)
    try:
        env = {**os.environ, "DATABASE_URL": template.url(), "UPDATE_VAR_DIR": str(root / "template-var"),
               "UPDATE_INDEX_AFTER_MIGRATE": "0"}
        done = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        yield template
    finally:
        template.cleanup()


@contextmanager
def tmpfs(path: Path, *options: str):
    """A tmpfs mounted at ``path`` (a second filesystem), or a skip where the machine does not allow it."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(["size=20m", *options]), "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(path)], check=True, capture_output=True)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]
