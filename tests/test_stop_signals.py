"""SIGTERM and SIGINT at random moments of a run over the real files: a clean stop, then a rerun.

Like the SIGKILL test (test_fault_injection.py), whose fixture and checks it shares, but the run must
end by itself: exit 5 (or 0/1 when it finished first), "interrupted" in the ledger and the report, the
current file rolled back and still in the inbox, the index consistent with the database at once, no
traceback; then a rerun gives the database of an uninterrupted run. FAULT_SEED replays the delays.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import orjson
import pytest

from update.statuses import EXIT_INTERRUPTED

from .conftest import PROJECT_ROOT, REAL_FILES
from .test_fault_injection import accounted_for, check, databases, finish, new_workspace, start_run  # noqa: F401

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("STOP_TRIALS", "6"))


def test_sigterm_and_sigint_end_the_run_cleanly_and_a_rerun_completes_it(databases, capsys):  # noqa: F811
    dbs, root = databases
    base_seed = int(os.environ.get("FAULT_SEED", random.SystemRandom().randrange(1 << 30)))
    with capsys.disabled():
        print(f"\nstop signals: {TRIALS} trials, FAULT_SEED={base_seed}")
    var, env = new_workspace(root, "stop-reference", dbs)
    started = time.perf_counter()
    finish(start_run(env), "reference run")
    full_run_s = time.perf_counter() - started
    reference = check(env)
    names = sorted(f.name for f in REAL_FILES)

    outcomes = []
    for trial in range(TRIALS):
        seed = base_seed + trial
        signum = signal.SIGTERM if trial % 3 else signal.SIGINT
        # Past Django's start-up (about a third of a run here), so the signal lands inside the run.
        delay = random.Random(seed).uniform(0.3 * full_run_s, full_run_s)
        what = f"trial {trial} (seed {seed}, {signum.name} after {delay:.2f}s of a {full_run_s:.1f}s run)"
        var, env = new_workspace(root, f"stop{trial}", dbs)
        report = var / "report.json"
        victim = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "bin" / "update-products"), "run",
                                   "--report", str(report)], env=env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        victim.send_signal(signum)
        out, err = victim.communicate(timeout=120)
        outcomes.append((round(delay, 2), victim.returncode))
        assert victim.returncode in (0, 1, EXIT_INTERRUPTED), f"{what}: exit {victim.returncode}\n{out}\n{err}"
        assert "Traceback" not in err, f"{what}: {err}"
        places = accounted_for(var)
        assert sorted(places["inbox"] + places["archive"] + places["rejected"]) == names, f"{what}: {places}"
        if victim.returncode == EXIT_INTERRUPTED and report.exists():
            written = orjson.loads(report.read_bytes())
            assert written["status"] == "interrupted" and written["interrupted"] == f"interrupted by {signum.name}"
            # On stderr (cron's mail), and the rolled-back file said once, by its own line.
            assert re.search(r"INTERRUPTED \(interrupted by SIG(TERM|INT)\)", err), err
            assert err.count("rolled back, left in the inbox") <= 1, err
            interrupted = [f for f in written["files"] if f["status"] == "interrupted"]
            assert all(f["file"] in places["inbox"] for f in interrupted), what
            ledger = subprocess.run([sys.executable, "bin/update-products", "runs", "--json"], env=env,
                                    cwd=PROJECT_ROOT, capture_output=True, text=True)
            assert [r["status"] for r in orjson.loads(ledger.stdout)] == ["interrupted"], what
        # The index is consistent with the database straight away, before any rerun.
        stopped = check(env)
        assert stopped["mismatches"] == {}, what
        if report.exists():
            # Totals are what was committed (the catalog started empty); the rolled-back file's apart.
            written = orjson.loads(report.read_bytes())
            assert written["totals"]["products_created"] == stopped["products"], f"{what}: {written['totals']}"
            assert all(f["products_created"] == 0 for f in written["files"] if f["status"] == "interrupted"), what
        finish(start_run(env), what)
        places = accounted_for(var)
        assert places["inbox"] == [] and sorted(places["archive"] + places["rejected"]) == names, what
        result = check(env)
        assert result["mismatches"] == {} and result["digest"] == reference["digest"], what
        shutil.rmtree(var)
    with capsys.disabled():
        print(f"stop signals: (delay s, exit status) {outcomes}")
    assert sum(1 for _, status in outcomes if status == EXIT_INTERRUPTED) >= TRIALS / 2, outcomes


def test_after_a_run_of_the_commands_a_stop_signal_is_ignored_not_fatal(monkeypatch):
    """The commands' process ends with the run: a SIGTERM after the run is on record (while the summary
    prints) must not turn exit 0 into "killed by SIGTERM". Library callers get their handlers back."""
    from update import stop_signals

    saved = {signum: signal.getsignal(signum) for signum in stop_signals.HANDLED}
    try:
        monkeypatch.setattr(stop_signals, "_ignore_after_run", False)
        with stop_signals.StopSignals():
            pass
        assert {signum: signal.getsignal(signum) for signum in stop_signals.HANDLED} == saved

        stop_signals.ignore_after_the_run()
        with stop_signals.StopSignals():
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_IGN, saved[signal.SIGTERM])
        assert all(signal.getsignal(signum) == signal.SIG_IGN for signum in stop_signals.HANDLED)
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: the test process lives on
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
