"""Kill the update with SIGKILL at random moments, rerun it, and compare with an uninterrupted run.

Each trial copies a migrated template database (SQLite: a file copy; PostgreSQL: CREATE DATABASE ...
TEMPLATE), drops the seven real files into its own inbox, starts `bin/update-products run` as a
subprocess, kills it after a random delay, and runs it again to completion. Then the database's
natural-key digest must equal the reference run's, every input file must be in the archive or the
rejected folder, and `index verify` must find the index identical to the database.

The delays come from one base seed, printed at the start and in every failure message; set
FAULT_SEED=<n> to replay a run, FAULT_TRIALS=<n> to change the number of trials.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from .conftest import PROJECT_ROOT, REAL_FILES

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("FAULT_TRIALS", "20"))

# One Django start for both checks: the digest of the catalog and a verify of the index against it.
CHECK = """
import os, sys, orjson, django
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from catalog.digest import database_digest
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
with LmdbIndex(settings.UPDATE_INDEX_PATH, readonly=True) as index:
    result = verify_index(index)
from catalog.models import Price, Product
print(orjson.dumps({"digest": database_digest(), "mismatches": dict(result.mismatches),
                    "samples": result.samples, "products": Product.objects.count(),
                    "prices": Price.objects.count()}).decode())
"""


class SqliteDatabases:
    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"

    def template_url(self) -> str:
        return f"sqlite:///{self.template}"

    def fresh(self, name: str) -> str:
        target = self.root / f"{name}.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def cleanup(self) -> None:
        pass


class PostgresDatabases:
    """One database per trial on the server DATABASE_URL names, copied from a migrated template."""

    def __init__(self, url: str):
        import dj_database_url

        self.url = url
        self.settings = dj_database_url.parse(url)
        self.prefix = f"fault_{uuid.uuid4().hex[:8]}"
        self.names = [f"{self.prefix}_template"]
        self._execute(f'CREATE DATABASE "{self.names[0]}"')

    def _execute(self, sql: str) -> None:
        import psycopg

        s = self.settings
        with psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None,
                             password=s["PASSWORD"] or None, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def _url(self, name: str) -> str:
        head, _, _ = self.url.rpartition("/")
        return f"{head}/{name}"

    def template_url(self) -> str:
        return self._url(self.names[0])

    def fresh(self, name: str) -> str:
        full = f"{self.prefix}_{name}"
        self._execute(f'CREATE DATABASE "{full}" TEMPLATE "{self.names[0]}"')
        self.names.append(full)
        return self._url(full)

    def cleanup(self) -> None:
        for name in reversed(self.names):
            self._execute(f'DROP DATABASE IF EXISTS "{name}"')


def environment(var: Path, database_url: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("UPDATE_") or key == "UPDATE_LOG_LEVEL"}
    env.update(UPDATE_VAR_DIR=str(var), DATABASE_URL=database_url, UPDATE_INDEX_AFTER_MIGRATE="0")
    return env


def start_run(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bin" / "update-products"), "run", "--silent"],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen, what: str) -> None:
    out, err = process.communicate(timeout=300)
    assert process.returncode in (0, 1), f"{what}: exit {process.returncode}\n{out.decode()}\n{err.decode()}"


def check(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


def new_workspace(root: Path, name: str, databases) -> tuple[Path, dict]:
    var = root / name
    (var / "inbox").mkdir(parents=True)
    for f in REAL_FILES:
        shutil.copy(f, var / "inbox" / f.name)
    return var, environment(var, databases.fresh(name))


def accounted_for(var: Path) -> dict[str, list[str]]:
    """Where each input file ended up: nothing may be missing, nothing may be in two places."""
    places = {}
    for folder in ("inbox", "archive", "rejected"):
        directory = var / folder
        names = [p.name for p in directory.iterdir()] if directory.is_dir() else []
        # A processed file's rejects log (NAME.rejects.jsonl) travels beside it; it is not an input.
        places[folder] = sorted(n for n in names if n.endswith(".jsonl") and not n.endswith(".rejects.jsonl"))
    return places


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    if len(REAL_FILES) < 7:
        pytest.skip("real scraped files not found")
    root = tmp_path_factory.mktemp("fault")
    url = os.environ.get("DATABASE_URL", "")
    dbs = PostgresDatabases(url) if url.startswith(("postgres://", "postgresql://")) else SqliteDatabases(root)
    try:
        env = environment(root / "template-var", dbs.template_url())
        done = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        yield dbs, root
    finally:
        dbs.cleanup()


def test_sigkill_at_random_moments_then_rerun_leaves_the_same_database(databases, capsys):
    dbs, root = databases
    base_seed = int(os.environ.get("FAULT_SEED", random.SystemRandom().randrange(1 << 30)))
    with capsys.disabled():
        print(f"\nfault injection: {TRIALS} trials, FAULT_SEED={base_seed}")

    var, env = new_workspace(root, "reference", dbs)
    started = time.perf_counter()
    reference_run = start_run(env)
    finish(reference_run, "reference run")
    full_run_s = time.perf_counter() - started
    reference = check(env)
    assert reference["mismatches"] == {}, reference["samples"]
    assert reference["digest"]["product"]["rows"] > 4000
    names = sorted(f.name for f in REAL_FILES)
    assert accounted_for(var)["archive"] == names

    killed_at = []
    for trial in range(TRIALS):
        seed = base_seed + trial
        delay = random.Random(seed).uniform(0.05, full_run_s)
        what = f"trial {trial} (seed {seed}, SIGKILL after {delay:.2f}s of a {full_run_s:.1f}s run)"
        var, env = new_workspace(root, f"trial{trial}", dbs)
        victim = start_run(env)
        time.sleep(delay)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=60)
        killed_at.append((round(delay, 2), victim.returncode == -signal.SIGKILL))

        finish(start_run(env), what)
        places = accounted_for(var)
        assert places["inbox"] == [], what
        assert sorted(places["archive"] + places["rejected"]) == names, f"{what}: {places}"
        result = check(env)
        assert result["mismatches"] == {}, f"{what}: index differs {result['samples']}"
        assert result["digest"] == reference["digest"], f"{what}: database differs from the reference"
        shutil.rmtree(var)
    with capsys.disabled():
        print(f"fault injection: kill delays (s, killed mid-run) {killed_at}")
    # The delays must actually interrupt runs, or the test proves nothing.
    assert sum(1 for _, killed in killed_at if killed) >= TRIALS * 0.6
