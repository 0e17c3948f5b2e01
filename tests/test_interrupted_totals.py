"""A run stopped by SIGTERM inside a file counts that file's writes as rolled back, apart from the committed
ones: in the summary line, the JSON report and the ledger. The signal is a real one, sent to this process
in the middle of the file, after its first batch of lines to update, so the handler of update/stop_signals.py raises where it lands."""
from __future__ import annotations

import os
import re
import signal

import orjson
import pytest
from click.testing import CliRunner
from django.db import connection

from catalog.models import Price, Product
from ledger.models import RunFile, UpdateRun
from update import cli, orchestrator, stop_signals
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_signal_handlers(monkeypatch):
    """The command ignores stop signals once its run is over (its process ends); this one does not."""
    saved = {signum: signal.getsignal(signum) for signum in stop_signals.HANDLED}
    monkeypatch.setattr(stop_signals, "_ignore_after_run", False)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def sigterm_in_batch(monkeypatch, file_name: str, batch: int) -> None:
    """SIGTERM to this process once ``batch`` batches of lines to update of ``file_name`` were written (not
    committed)."""
    real_process, real_note = orchestrator.process_file, orchestrator.note_outcome
    state = {"file": "", "batches": 0}

    def process_file(entry, *args, **kwargs):
        state["file"] = entry.name
        return real_process(entry, *args, **kwargs)

    def note_then_stop(scratch, units, pairs):
        real_note(scratch, units, pairs)
        if state["file"] == file_name:
            state["batches"] += 1
            if state["batches"] == batch:
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(orchestrator, "process_file", process_file)
    monkeypatch.setattr(orchestrator, "note_outcome", note_then_stop)


def test_a_file_interrupted_mid_way_is_counted_as_rolled_back_not_as_done(workspace, tmp_path, monkeypatch,
                                                                         own_signal_handlers):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"a{i}") for i in range(3)])
    second = write_file(workspace.inbox, "aldi", "2025-09-02",
                        [product(f"a{i}") for i in range(3)] + [product(f"new{i}") for i in range(6)])
    sigterm_in_batch(monkeypatch, second.name, batch=1)
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli.main, ["run", "--inbox", str(workspace.inbox), "--archive",
                                           str(workspace.archive), "--rejected", str(workspace.rejected),
                                           "--index-path", str(workspace.index_path), "--chunk-size", "2",
                                           "--report", str(report)], catch_exceptions=False)

    assert result.exit_code == cli.EXIT_INTERRUPTED, result.output
    # The database holds the first file only: 3 products, 3 prices.
    assert Product.objects.count() == 3 and Price.objects.count() == 3
    assert second.exists(), "the interrupted file stays in the inbox"

    written = orjson.loads(report.read_bytes())
    assert written["totals"]["products_created"] == 3 and written["totals"]["prices_created"] == 3
    stopped = written["files"][1]
    assert stopped["status"] == "interrupted"
    assert stopped["products_created"] == 0 and stopped["prices_created"] == 0
    # One batch was written before the signal: chunks of two lines are read until the lines to update
    # reach two (update/unchanged.py), so a0-a2 (the first file's lines again, unchanged) and new0-new2:
    # three products created, and then rolled back (prices wait for 2,000 lines).
    assert stopped["rolled_back"]["products_created"] == 3, stopped["rolled_back"]
    assert written["rolled_back"] == stopped["rolled_back"]

    lines = [re.sub(r"^\S+Z ", "", line) for line in result.output.splitlines()]
    file_line = next(line for line in lines if line.startswith(second.name))
    assert "not kept: 3 products created)" in file_line, file_line
    summary = lines[-1]
    assert summary.startswith("2 files: 1 processed, 0 rejected, 1 interrupted;"), summary
    assert "products 3 created" in summary
    assert "rolled back, not in these totals: 3 products created" in summary, summary

    run = UpdateRun.objects.get()
    assert run.status == UpdateRun.INTERRUPTED
    assert run.totals["products_created"] == 3 and run.totals["rolled_back"] == stopped["rolled_back"]
    rows = {row.name: row for row in RunFile.objects.filter(run=run)}
    assert rows[second.name].status == RunFile.INTERRUPTED
    assert rows[second.name].counts["products_created"] == 0
    assert rows[second.name].counts["rolled_back"] == stopped["rolled_back"]
    assert "rolled_back" not in rows["aldi-testville-2025-09-01.jsonl"].counts

    from django.contrib import admin

    from ledger.admin.runs import UpdateRunAdmin

    totals = str(UpdateRunAdmin(UpdateRun, admin.site).totals_table(run))
    # One group a line (PostgreSQL's JSONB keeps its keys in its own order): the committed figures, then
    # the rolled-back ones apart.
    committed, files, rolled_back = re.findall(r"<div>(.*?)</div>", totals)
    assert {"3 lines", "3 products created", "3 prices created"} <= set(committed.split(", ")), totals
    assert rolled_back.startswith("rolled back: ")
    assert "3 products created" in rolled_back.removeprefix("rolled back: ").split(", "), totals
    assert "product" not in committed.replace("3 products created", ""), totals

    shown = CliRunner().invoke(cli.main, ["runs", "show", str(run.pk)], catch_exceptions=False).output
    assert "products +3" in shown and "(rolled back, not counted: 3 products created)" in shown, shown
    assert f"{second.name}: interrupted (" in shown and "; not kept: 3 products created)" in shown, shown


def test_a_failed_file_is_counted_as_rolled_back_too(workspace, monkeypatch):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(6)])
    real = orchestrator.note_outcome
    calls = {"n": 0}

    def note_then_fail(scratch, units, pairs):
        real(scratch, units, pairs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(orchestrator, "note_outcome", note_then_fail)
    from dataclasses import replace

    report = orchestrator.run_update(replace(workspace, chunk_size=2))
    failed = report.files[0]
    assert failed.status == "failed" and Product.objects.count() == 0
    assert failed.products_created == 0 and failed.rolled_back["products_created"] == 4
    assert report.totals()["products_created"] == 0 and report.rolled_back_totals() == failed.rolled_back


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a psycopg connection left mid-command")
def test_a_signal_cutting_a_query_off_midway_still_leaves_the_run_on_record(workspace, monkeypatch):
    # A stop signal landing inside the driver, between sending a query and reading its result (it did, in
    # test_stop_signals.py): the connection is left mid-command. The ledger must still record the run.
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats")])
    real_already_applied = orchestrator.already_applied

    def cut_off(sha256):
        real_already_applied(sha256)
        connection.connection.pgconn.send_query(b"SELECT pg_sleep(0.05)")  # sent, its result never read
        raise stop_signals.Interrupted(signal.SIGTERM)

    monkeypatch.setattr(orchestrator, "already_applied", cut_off)
    report = run_update(workspace)
    assert report.interrupted == "interrupted by SIGTERM"
    assert [f.status for f in report.files] == ["interrupted"]
    run = UpdateRun.objects.get()
    assert run.status == UpdateRun.INTERRUPTED
    assert list(RunFile.objects.values_list("status", flat=True)) == ["interrupted"]
    assert not Product.objects.exists()
