"""The commands as an operator calls them: ``bin/update-products`` (click) and ``manage.py update``."""
from __future__ import annotations

import difflib
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner
from django.core.management import call_command
from django.db import connection

from catalog.digest import database_digest
from catalog.models import Price, Product
from update import cli
from update.management.commands.update import Command as UpdateCommand
from diskcache_tier.run_lock import run_lock
from update.orchestrator import run_update
from update.progress import BarProgress, PlainProgress, for_stream

from .conftest import PROJECT_ROOT
from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def args(workspace, *extra) -> list[str]:
    return ["run", "--inbox", str(workspace.inbox), "--archive", str(workspace.archive),
            "--rejected", str(workspace.rejected), "--index-path", str(workspace.index_path), *extra]


def invoke(*argv):
    return CliRunner().invoke(cli.main, list(argv), catch_exceptions=False)


# The run ledger records dry runs too (as "would process"); everything else must stay as it was.
LEDGER_TABLES = ("update_updaterun", "update_runfile")


def untimed(output: str) -> list[str]:
    """The output's lines without the ISO time a log line starts with."""
    return [re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", "", line) for line in output.splitlines()]


def db_dump() -> list[str]:
    """Every row of the test database but the ledger's, ids and timestamps included (and the schema, on
    SQLite)."""
    if connection.vendor == "sqlite":
        return [line for line in connection.connection.iterdump()
                if not any(f'"{table}"' in line or f"'{table}'" in line for table in LEDGER_TABLES)]
    lines = []
    with connection.cursor() as cursor:
        for table in sorted(set(connection.introspection.table_names(cursor)) - set(LEDGER_TABLES)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
            lines += [f"{table}: {row!r}" for row in cursor.fetchall()]
    return lines


def assert_unchanged(before: list[str]) -> None:
    diff = [line for line in difflib.unified_diff(before, db_dump(), lineterm="", n=0) if line[:1] in "+-"]
    assert not diff, "\n".join(diff)


def tree_bytes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "lock.mdb"}


def test_clean_run_exits_0_and_writes_the_report(workspace, tmp_path):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a"), product("b")])
    result = invoke(*args(workspace, "--report", str(tmp_path / "r.json")))
    assert result.exit_code == cli.EXIT_OK, result.output
    assert "aldi-testville-2025-09-01.jsonl: processed (2 products: 2 new" in result.output
    assert untimed(result.output)[-1].startswith("1 file: 1 processed, 0 rejected; 2 lines")
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["totals"]["products_created"] == 2 and report["rejected_lines_by_reason"] == {}


def test_rejected_lines_exit_1_and_are_counted_in_the_report(workspace, tmp_path):
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a"), product("b", price_current=-1)])
    with open(path, "ab") as handle:
        handle.write(b"{truncated")
    result = invoke(*args(workspace, "--report", str(tmp_path / "r.json")))
    assert result.exit_code == cli.EXIT_REJECTED
    assert "aldi-testville-2025-09-01.jsonl line 2: price_current -1 is not a usable price" in result.output
    assert "aldi-testville-2025-09-01.jsonl line 3: truncated last line" in result.output
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["rejected_lines_by_reason"] == {
        "price_current is not a usable price (missing, not a number, <= 0 or too large)": 1,
        "truncated last line": 1}
    rejects_file = report["files"][0]["rejects_file"]
    assert rejects_file.endswith("archive/aldi-testville-2025-09-01.jsonl.rejects.jsonl")


def test_rejected_file_exits_1(workspace):
    (workspace.inbox / "aldi-testville-2025-09-01.jsonl").write_bytes(b"")
    result = invoke(*args(workspace))
    assert result.exit_code == cli.EXIT_REJECTED
    assert (workspace.rejected / "aldi-testville-2025-09-01.jsonl.reason.txt").read_text() == "empty file\n"


@pytest.mark.parametrize("extra", [["--chunk-size", "0"], ["--index-backend", "redis"], ["--max-memory", "0"],
                                   ["--no-such-option"]])
def test_usage_errors_exit_2(workspace, extra):
    assert CliRunner().invoke(cli.main, args(workspace, *extra)).exit_code == cli.EXIT_USAGE


def test_missing_inbox_is_a_usage_error(workspace, tmp_path):
    result = CliRunner().invoke(cli.main, ["run", "--inbox", str(tmp_path / "nowhere")])
    assert result.exit_code == cli.EXIT_USAGE
    assert "is not a folder" in result.output


def test_lock_held_exits_3_and_touches_nothing(workspace):
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    with run_lock(workspace.index_path.parent / "update.lock"):
        result = CliRunner().invoke(cli.main, args(workspace))
    assert result.exit_code == cli.EXIT_LOCKED
    assert "another update is running" in result.output
    assert path.exists() and not Product.objects.exists()


def test_memory_guard_stops_before_a_file_and_exits_4(workspace, tmp_path, monkeypatch):
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    monkeypatch.setattr("update.orchestrator.over_limit", lambda limit: 700 * 2**20)
    extra = ["--max-memory", "600", "--report", str(tmp_path / "r.json")]
    result = CliRunner().invoke(cli.main, args(workspace, *extra))
    assert result.exit_code == cli.EXIT_FAILED
    assert "stopped early: anonymous memory" in result.output
    assert "over the limit of 600 MB (--max-memory); 1 files left in the inbox" in result.output
    assert path.exists() and not Product.objects.exists()
    assert orjson.loads((tmp_path / "r.json").read_bytes())["stopped_early"].startswith("anonymous memory")


def test_memory_guard_stops_between_files_not_inside_one(workspace, monkeypatch):
    first = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    second = write_file(workspace.inbox, "aldi", "2025-09-02", [product("a"), product("b")])
    readings = iter([0, 700 * 2**20])  # under the limit before the first file, over it before the second
    monkeypatch.setattr("update.orchestrator.over_limit", lambda limit: next(readings))
    workspace.max_memory_bytes = 512 * 2**20
    report = run_update(workspace)
    assert [f.file for f in report.files] == [first.name]
    assert report.stopped_early.startswith("anonymous memory 700 MB is over the limit of 512 MB")
    assert not first.exists() and second.exists()
    assert cli.status_of(report) == cli.EXIT_FAILED


def test_bare_command_takes_paths_and_limit_from_the_environment(workspace, settings, monkeypatch):
    settings.UPDATE_INBOX, settings.UPDATE_ARCHIVE = workspace.inbox, workspace.archive
    settings.UPDATE_REJECTED, settings.UPDATE_INDEX_PATH = workspace.rejected, workspace.index_path
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    monkeypatch.setattr("update.orchestrator.over_limit", lambda limit: limit + 1 if limit else 0)
    monkeypatch.setenv("UPDATE_MAX_MEMORY_MB", "900")
    result = CliRunner().invoke(cli.main, [])
    assert result.exit_code == cli.EXIT_FAILED and "STOPPED EARLY" in result.output
    assert path.exists()
    monkeypatch.delenv("UPDATE_MAX_MEMORY_MB")
    result = CliRunner().invoke(cli.main, [])
    assert result.exit_code == cli.EXIT_OK, result.output
    assert (workspace.archive / path.name).exists()


def test_options_without_a_command_are_runs(workspace):
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    done = subprocess.run([sys.executable, "bin/update-products", *args(workspace)[1:]], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env={**os.environ, "DATABASE_URL": "sqlite:///" + str(
                              PROJECT_ROOT / "nonexistent-on-purpose.sqlite3")})
    # Parsed as run's options: the run refuses the missing database, not "No such option".
    assert done.returncode == cli.EXIT_USAGE and "No such option" not in done.stderr, done.stderr
    assert "does not exist: check DATABASE_URL" in done.stderr
    result = invoke(*args(workspace)[1:])
    assert result.exit_code == cli.EXIT_OK, result.output
    assert f"{path.name}: processed" in result.output and (workspace.archive / path.name).exists()
    assert "Usage:" in invoke("--help").output and "Commands:" in invoke("--help").output


def test_a_sqlite_error_names_the_file_in_single_parentheses():
    from django.db import OperationalError

    from update.operator_errors import explain

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own error: a PostgreSQL connection never says it")
    text = explain(OperationalError("unable to open database file"))
    assert text.startswith(f"can't open the SQLite database {connection.settings_dict['NAME']} "
                           "(unable to open database file): check")
    assert ") (" not in text and "((" not in text and "))" not in text


def test_a_crash_exits_4_not_1(workspace, monkeypatch):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])

    def broken(options):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("update.orchestrator.run_update", broken)
    result = CliRunner().invoke(cli.main, args(workspace))
    assert result.exit_code == cli.EXIT_FAILED
    assert "failed: RuntimeError: database unreachable" in result.output


def test_an_interrupted_file_is_said_once(workspace, monkeypatch):
    from update.stop_signals import Interrupted

    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])

    def stop(*args):
        raise Interrupted(2)  # SIGINT, as the handler raises it inside a file

    monkeypatch.setattr("update.orchestrator._archive_if_applied", stop)
    result = CliRunner().invoke(cli.main, args(workspace))
    assert result.exit_code == cli.EXIT_INTERRUPTED
    lines = [line for line in untimed(result.output) if "rebuilding index" not in line]
    assert lines[0] == ("aldi-testville-2025-09-01.jsonl: interrupted (interrupted by SIGINT: rolled back, left "
                        "in the inbox for the next run) in 0.0s")
    assert lines[1].startswith("1 file: 0 processed, 0 rejected, 1 interrupted;")
    assert lines[1].endswith(" INTERRUPTED (interrupted by SIGINT)") and len(lines) == 2


def dry_run_setup(workspace, *, caught_up: bool) -> Path:
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}", price_current=2) for i in range(30)])
    assert invoke(*args(workspace)).exit_code == cli.EXIT_OK
    if caught_up:  # a run over an empty inbox applies the change log to the index before the snapshot
        assert invoke(*args(workspace)).exit_code == cli.EXIT_OK
    return write_file(workspace.inbox, "aldi", "2025-09-02",
                      [product(f"p{i}", price_current=3) for i in range(29)] + [product("new", barcode="12")])


def test_dry_run_leaves_database_and_index_byte_identical(workspace):
    path = dry_run_setup(workspace, caught_up=True)
    before_db, before_digest, before_index = db_dump(), database_digest(), tree_bytes(workspace.index_path)

    result = invoke(*args(workspace, "--dry-run"))

    assert result.exit_code == cli.EXIT_OK, result.output
    # Everything is computed and reported ...
    assert "would process (30 products: 1 new, 0 updated; prices 1 new, 29 changed, 1 deleted" in result.output
    assert "[dry run: nothing written; each file judged on its own, as if alone]" in result.output
    # ... and nothing is written: database, index, inbox.
    assert_unchanged(before_db)
    assert database_digest() == before_digest
    assert tree_bytes(workspace.index_path) == before_index
    assert path.exists() and not (workspace.archive / path.name).exists()
    assert not list(workspace.archive.glob("*.rejects.jsonl"))


def test_dry_run_right_after_a_run_leaves_database_and_index_byte_identical(workspace):
    dry_run_setup(workspace, caught_up=False)
    before_db, before_index = db_dump(), tree_bytes(workspace.index_path)
    assert invoke(*args(workspace, "--dry-run")).exit_code == cli.EXIT_OK
    assert_unchanged(before_db)
    assert tree_bytes(workspace.index_path) == before_index


def test_manage_py_update_as_call_command(workspace, tmp_path):
    path = write_file(workspace.inbox, "aldi", "2025-09-01", [product("a"), product("b", barcode="x1")])
    out, command = io.StringIO(), UpdateCommand()
    call_command(command, "--products", "--inbox", str(workspace.inbox), "--archive", str(workspace.archive),
                 "--rejected", str(workspace.rejected), "--index-path", str(workspace.index_path),
                 "--report", str(tmp_path / "r.json"), stdout=out)
    assert command.exit_status == cli.EXIT_OK  # a warning is not a rejection
    assert f"{path.name}: processed (2 products: 2 new" in out.getvalue()
    # Singular, and where the warnings are: the rejects file beside the archived file.
    assert f"1 line kept with warnings (in {path.name}.rejects.jsonl)" in out.getvalue()
    assert (workspace.archive / f"{path.name}.rejects.jsonl").exists()
    assert orjson.loads((tmp_path / "r.json").read_bytes())["line_warnings_by_reason"] == {
        "barcode dropped: not 8, 12, 13 or 14 digits": 1}
    assert Price.objects.count() == 2


def test_manage_py_update_dry_run_writes_nothing(workspace):
    def update(*extra):
        call_command("update", "--products", "--silent", "--inbox", str(workspace.inbox),
                     "--archive", str(workspace.archive), "--rejected", str(workspace.rejected),
                     "--index-path", str(workspace.index_path), *extra, stdout=io.StringIO())

    update()  # builds the index over an empty inbox: the dry run then finds it ready
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    before = db_dump()
    update("--dry-run")
    assert_unchanged(before)
    assert len(list(workspace.inbox.iterdir())) == 1


def test_manage_py_update_without_products_is_a_usage_error():
    with pytest.raises(Exception, match="--products"):
        call_command("update", stdout=io.StringIO())


# ------------------------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise():
    assert isinstance(for_stream(Terminal()), BarProgress)
    assert type(for_stream(io.StringIO())) is PlainProgress
    silent = for_stream(Terminal(), silent=True)
    assert type(silent) is PlainProgress and not silent.routine  # trouble still reaches stderr


def test_the_bar_advances_over_the_bytes_read(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}", name="x" * 400) for i in range(3000)])
    screen = Terminal()
    workspace.progress = for_stream(screen)
    run_update(workspace)
    drawn = screen.getvalue()
    assert "checking aldi-testville-2025-09-01.jsonl [" in drawn and "updating aldi-testville" in drawn
    assert " 100% " in drawn and "\r" in drawn
    # The file's own line comes after the bar, on a cleared line, like in a log.
    assert "\r\x1b[Kaldi-testville-2025-09-01.jsonl: processed (3000 products" in drawn


def test_plain_progress_has_no_control_characters(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")])
    (workspace.inbox / "readme.txt").write_text("hi")
    log = io.StringIO()
    workspace.progress = for_stream(log)
    run_update(workspace)
    assert untimed(log.getvalue()) == [
        "ignored readme.txt: not a .jsonl file, nor a compressed one (.gz, .bz2, .xz)",
        untimed(log.getvalue())[1],
        "  aldi-testville-2025-09-01.jsonl: note: company 'aldi' is not in the catalog yet: it is created "
        "(if it is a known retailer spelled another way, fix the scraper)",
    ]
    assert untimed(log.getvalue())[1].startswith("aldi-testville-2025-09-01.jsonl: processed (1 products")
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in log.getvalue().splitlines())
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


# ------------------------------------------------------------------------------------------- docs


def test_every_option_and_exit_status_is_documented():
    # The README's short version and the operator's guide it links to.
    readme = (PROJECT_ROOT / "README.md").read_text() + (PROJECT_ROOT / "docs" / "operations.md").read_text()
    help_text = CliRunner().invoke(cli.main, ["run", "--help"]).output
    for param in cli.run.params:
        if isinstance(param, click.Option):
            assert param.opts[0] in readme, f"{param.opts[0]} is not in the README"
    for command in ("runs", "runs show", "rejected", "retry NAME", "--version", "deploy/grocery-update.service",
                    "deploy/grocery-update.timer", "deploy/crontab", "-v 0", "--traceback"):
        assert command in readme, f"{command} is in neither the README nor docs/operations.md"
    for status, meaning in [(0, "success"), (1, "rejected"), (2, "usage error"), (3, "lock"), (4, "failure"),
                            (5, "interrupted")]:
        assert f"`{status}`" in readme
        assert any(line.strip().startswith(str(status)) and meaning in line
                   for line in help_text.splitlines())


# --------------------------------------------------------------------------------- as a real process


def sqlite_file_dump(path: Path) -> list[str]:
    """Every row of a database file but the ledger's: a dry run records itself there, and only there."""
    import sqlite3

    with sqlite3.connect(path) as db:
        return [line for line in db.iterdump()
                if not any(f'"{t}"' in line or f"'{t}'" in line for t in LEDGER_TABLES)]


@pytest.mark.slow
def test_dry_run_leaves_the_sqlite_file_catalog_identical(workspace, tmp_path):
    """The whole command in its own process, on a database file: only the ledger changes in a dry run."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "UPDATE_VAR_DIR": str(tmp_path)}
    python = [sys.executable]
    subprocess.run(python + ["manage.py", "migrate", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(20)])
    command = python + ["bin/update-products"] + args(workspace)
    assert subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True).returncode == 0
    write_file(workspace.inbox, "aldi", "2025-09-02", [product(f"p{i}", price_current=9) for i in range(21)])
    db_before = sqlite_file_dump(tmp_path / "db.sqlite3")
    index_before = tree_bytes(workspace.index_path)

    done = subprocess.run(command + ["--dry-run"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "prices 1 new, 20 changed" in done.stdout
    assert sqlite_file_dump(tmp_path / "db.sqlite3") == db_before
    assert tree_bytes(workspace.index_path) == index_before
    assert len(list(workspace.inbox.iterdir())) == 1
