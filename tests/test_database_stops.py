"""PostgreSQL stopped in the middle of a run over the real files, then started again.

The run must end by itself with exit 4 and one line naming the database's host and port, lose no file
(each is in the inbox, the archive or the rejected folder), and the next run, once the server is back,
must give the database of an uninterrupted run, mark the cut-off run as "died" in the ledger, and leave
an index identical to the database. A server of its own (.ci/postgres.sh), whatever DATABASE_URL says.
"""
from __future__ import annotations

import glob
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from update.statuses import EXIT_FAILED

from .conftest import PROJECT_ROOT, REAL_FILES
from .test_fault_injection import PostgresDatabases, accounted_for, check, finish, new_workspace, start_run

pytestmark = pytest.mark.slow

SCRIPT = PROJECT_ROOT / ".ci" / "postgres.sh"


class Server:
    def __init__(self, url: str):
        self.url = url
        self.port = int(re.search(r":(\d+)/", url).group(1))
        self.root = Path(os.environ.get("PG_TMP", "/tmp")) / f"grocery-update-pg.{self.port}"
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def pg_ctl(self, *argv: str) -> None:
        command = [str(self.bin / "pg_ctl"), f"--pgdata={self.root / 'data'}", *argv]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop_now(self) -> None:
        self.pg_ctl("--mode=immediate", "--wait", "stop")

    def start_again(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
        self.pg_ctl(f"--log={self.root / 'server.log'}", "--wait", "--timeout=60", f"--options={options}", "start")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if len(REAL_FILES) < 7:
        pytest.skip("real scraped files not found")
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        pytest.skip("no PostgreSQL server binaries here (.ci/postgres.sh install)")
    # A durable server (not PG_FAST): with synchronous_commit off, an immediate stop loses transactions the
    # server already reported committed, so "nothing lost" could not hold whatever the update did.
    started = subprocess.run(["bash", str(SCRIPT), "start", "55401"], capture_output=True, text=True,
                             env={**os.environ, "PG_FAST": "0"}, timeout=300)
    if started.returncode != 0:
        pytest.skip(f"could not start a PostgreSQL server: {started.stderr.strip()[-200:]}")
    url = started.stdout.strip()
    try:
        yield Server(url), tmp_path_factory.mktemp("pgstop")
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", url], capture_output=True, timeout=300)


def test_postgresql_stopped_mid_run_loses_nothing_and_the_next_run_completes(server):
    pg, root = server
    dbs = PostgresDatabases(pg.url)
    env = {**os.environ, "DATABASE_URL": dbs.template_url(), "UPDATE_VAR_DIR": str(root / "template"),
           "UPDATE_INDEX_AFTER_MIGRATE": "0"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=PROJECT_ROOT, check=True,
                   capture_output=True, timeout=300)
    names = sorted(f.name for f in REAL_FILES)
    var, env = new_workspace(root, "reference", dbs)
    started = time.perf_counter()
    finish(start_run(env), "reference run")
    full_run_s = time.perf_counter() - started
    reference = check(env)

    seed = int(os.environ.get("FAULT_SEED", random.SystemRandom().randrange(1 << 30)))
    delay = random.Random(seed).uniform(0.4 * full_run_s, 0.9 * full_run_s)
    what = f"PostgreSQL stopped after {delay:.2f}s of a {full_run_s:.1f}s run (FAULT_SEED={seed})"
    var, env = new_workspace(root, "cut", dbs)
    victim = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bin" / "update-products"), "run",
                               "--report", str(var / "report.json")], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    pg.stop_now()
    try:
        out, err = victim.communicate(timeout=180)
    finally:
        pg.start_again()
    places = accounted_for(var)
    assert sorted(places["inbox"] + places["archive"] + places["rejected"]) == names, f"{what}: {places}"
    if victim.returncode not in (0, 1):  # 0 or 1: the run finished before the server went (a loaded machine)
        assert victim.returncode == EXIT_FAILED, f"{what}: exit {victim.returncode}\n{out}\n{err}"
        last = err.strip().splitlines()[-1]
        assert last.startswith("update-products: failed: "), f"{what}: {err}"
        assert f"127.0.0.1:{pg.port}" in last or "database error" in last, f"{what}: {last}"
        assert "Traceback" not in err, f"{what}: {err}"
        assert places["inbox"], what

    finish(start_run(env), f"{what}: the run after")
    places = accounted_for(var)
    assert places["inbox"] == [] and sorted(places["archive"] + places["rejected"]) == names, f"{what}: {places}"
    result = check(env)
    assert result["mismatches"] == {}, f"{what}: {result['samples']}"
    assert result["digest"] == reference["digest"], f"{what}: the database differs from an uninterrupted run"
    ledger = subprocess.run([sys.executable, "bin/update-products", "runs", "--json"], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True)
    statuses = [r["status"] for r in orjson.loads(ledger.stdout)]
    assert statuses[0] == "finished" and statuses[1] in ("died", "failed", "finished"), statuses
    dbs.cleanup()
