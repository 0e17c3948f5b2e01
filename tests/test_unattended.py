"""Issue 12: every fault is safe, said in one line, and on record. Each test runs the commands as an
operator does: a subprocess, real folders, a second filesystem (tmpfs) where the machine allows."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from update.statuses import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from update.version import __version__

from .conftest import PROJECT_ROOT
from .factories import product, write_file
from .operator_helpers import ISO_LINE, Deployment, error_lines, migrated_template, remount, tmpfs

NAME = "aldi-testville-2025-09-01.jsonl"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    with migrated_template(tmp_path_factory.mktemp("ops-template")) as template:
        yield template


@pytest.fixture
def deployment(template, tmp_path, request) -> Deployment:
    name = re.sub(r"\W", "_", request.node.name)[-40:]
    return Deployment(tmp_path / "var", template.fresh(name))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def message(stderr: str) -> str:
    """The one line an error ends on, without the command's name in front."""
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    return lines[0].split(": ", 1)[1]


# ------------------------------------------------------------------------- 1. one check of every option


@pytest.mark.parametrize("bad", [["--chunk-size", "0"], ["--chunk-size", "5001"], ["--max-memory", "10"],
                                 ["--settle-seconds", "-1"], ["--index-backend", "redis"]])
def test_both_commands_refuse_the_same_bad_value_alike_and_change_nothing(deployment, bad):
    path = write_file(deployment.inbox, "aldi", "2025-09-01", [product("a"), product("b")])
    click_run = deployment.run("run", *bad)
    django_run = deployment.manage("update", "--products", *bad)
    assert (click_run.returncode, django_run.returncode) == (EXIT_USAGE, EXIT_USAGE), click_run.stderr
    # The same words; a figure measured in each process (its memory, "(36 MB)") may differ between them.
    measured = re.compile(r"\(\d+ MB\)")
    assert measured.sub("(N MB)", message(click_run.stderr)) == measured.sub("(N MB)", message(django_run.stderr))
    assert bad[0] in message(click_run.stderr)
    assert deployment.names(deployment.inbox) == [path.name] and not deployment.archive.exists()
    assert not (deployment.var / "index").exists()
    assert deployment.runs() == []


def test_both_index_builds_refuse_a_zero_batch_size_alike(deployment):
    by_click = deployment.run("index", "build", "--batch-size", "0")
    by_django = deployment.manage("build_index", "--batch-size", "0")
    assert (by_click.returncode, by_django.returncode) == (EXIT_USAGE, EXIT_USAGE)
    assert message(by_click.stderr) == message(by_django.stderr) == "--batch-size must be between 1 and 1000000, got 0"
    assert not (deployment.var / "index").exists()


# ----------------------------------------------------------------------- 2. moves that can't lose a file


def test_a_read_only_archive_exits_2_before_touching_anything(deployment):
    path = write_file(deployment.inbox, "aldi", "2025-09-01", [product("a")])
    with tmpfs(deployment.archive, "ro"):
        done = deployment.run("run")
        assert done.returncode == EXIT_USAGE, done.stderr
        assert message(done.stderr).startswith(f"archive {deployment.archive} can't be written "
                                               "(Read-only file system)")
    assert deployment.names(deployment.inbox) == [path.name]
    assert deployment.runs() == [] and not (deployment.var / "index").exists()


def test_an_archive_on_another_filesystem_gets_whole_files_and_leaves_nothing_behind(deployment):
    first = write_file(deployment.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(300)])
    empty = deployment.inbox / "aldi-testville-2025-09-02.jsonl"
    empty.write_bytes(b"")
    digest = sha(first)
    with tmpfs(deployment.archive), tmpfs(deployment.rejected):
        done = deployment.run("run")
        assert done.returncode == EXIT_REJECTED, done.stderr
        assert deployment.names(deployment.inbox) == []
        assert deployment.names(deployment.archive) == [first.name]  # no .moving-* copy left over
        assert sha(deployment.archive / first.name) == digest
        assert deployment.names(deployment.rejected) == [empty.name, empty.name + ".reason.txt"]


def test_a_full_archive_after_the_commit_is_archived_as_already_applied_by_the_next_run(deployment):
    path = write_file(deployment.inbox, "aldi", "2025-09-01", [product(f"p{i}", name="x" * 300) for i in range(400)])
    digest = sha(path)
    report = deployment.var / "report.json"
    with tmpfs(deployment.archive, "size=64k"):
        done = deployment.run("run", "--report", str(report))
        # The file's data is committed, the copy to the archive ran out of space: exit 4, said, reported.
        assert done.returncode == EXIT_FAILED, done.stderr
        # The trouble and the summary of a failed run on stderr (cron's mail), once; the file's line on stdout.
        assert "could not move it to the archive" in done.stderr and "No space left on device" in done.stderr
        assert "could not move" not in done.stdout and done.stderr.count("could not move it to the archive") == 1
        assert re.match(ISO_LINE + r"1 file: 1 processed", done.stderr.splitlines()[-1])
        assert orjson.loads(report.read_bytes())["exit_status"] == EXIT_FAILED
        assert deployment.names(deployment.inbox) == [path.name] and deployment.names(deployment.archive) == []
        assert deployment.names(deployment.rejected) == []  # no orphan .reason.txt
        remount(deployment.archive, "size=20m")
        again = deployment.run("run")
        assert again.returncode == EXIT_OK, again.stderr
        assert f"{path.name}: already applied (applied by run" in again.stdout
        assert deployment.names(deployment.inbox) == [] and sha(deployment.archive / path.name) == digest
    first, second = sorted(deployment.runs(), key=lambda run: run["id"])
    files = deployment.show(first["id"])["files"]
    assert [(f["status"], f["sha256"], f["counts"]["products_created"]) for f in files] == [
        ("processed", digest, 400)]
    assert [f["status"] for f in deployment.show(second["id"])["files"]] == ["already applied"]


def test_a_numbered_name_keeps_its_date_and_extension():
    from datetime import date

    from update.inbox import date_from_name
    from update.moves import free_name, split_suffix

    assert date_from_name("aldi-x-2025-09-01.1.jsonl") == date(2025, 9, 1)
    assert date_from_name("aldi-x-2025-09-01.12.jsonl.gz") == date(2025, 9, 1)
    assert split_suffix("a-2025-09-01.jsonl.gz") == ("a-2025-09-01", ".jsonl.gz")
    # Every compression the reader takes keeps its extension last, and its date.
    assert split_suffix("a-2025-09-01.jsonl.bz2") == ("a-2025-09-01", ".jsonl.bz2")
    assert split_suffix("a-2025-09-01.json.gz") == ("a-2025-09-01.json", ".gz")
    assert split_suffix("a-2025-09-01.jsonl.zip") == ("a-2025-09-01", ".jsonl.zip")
    assert date_from_name("aldi-x-2025-09-01.3.jsonl.xz") == date(2025, 9, 1)
    assert free_name(Path("/nonexistent"), "a.jsonl") == Path("/nonexistent/a.jsonl")


def test_a_name_taken_in_the_archive_keeps_its_extension(deployment):
    write_file(deployment.inbox, "aldi", "2025-09-01", [product("a")])
    deployment.archive.mkdir()
    (deployment.archive / NAME).write_text("an older copy\n")
    assert deployment.run("run").returncode == EXIT_OK
    assert deployment.names(deployment.archive) == ["aldi-testville-2025-09-01.1.jsonl", NAME]


# ------------------------------------------------------------------------ 7. a dry run on the index


def test_a_dry_run_reads_the_lmdb_index_read_only_even_with_changes_pending(deployment):
    write_file(deployment.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(50)])
    assert deployment.run("run").returncode == EXIT_OK
    # Another writer (the admin, a script) changes products: the change log has rows the index has not seen.
    edit = ("from catalog.models import Product; "
            "Product.objects.filter(normalized_name_brand_size__in=['p1', 'p2']).update(url='https://example.com/p')")
    assert deployment.manage("shell", "-c", edit).returncode == 0
    write_file(deployment.inbox, "aldi", "2025-09-02", [product(f"p{i}", price_current=7) for i in range(50)])
    index = deployment.var / "index"
    before = {p.name: sha(p) for p in index.iterdir() if p.name != "lock.mdb"}
    def pending_and_counts():
        stats = orjson.loads(deployment.run("index", "stats", "--json").stdout)
        return stats["changes_pending"], stats["counts"]

    stats_before = pending_and_counts()
    assert stats_before[0] > 0
    done = deployment.run("run", "--dry-run", "--report", "-")
    report = orjson.loads(done.stdout)
    assert (report["index_backend"], report["index_path"], report["index_note"]) == ("lmdb", str(index), "")
    assert report["index_catchup"]["changes"] > 0  # applied in the overlay, not to the index
    assert report["files"][0]["status"] == "would process" and report["totals_are"] == "per-file what-ifs"
    assert report["files"][0]["prices_updated"] == 50 and report["files"][0]["index_repairs"] == 0
    assert {p.name: sha(p) for p in index.iterdir() if p.name != "lock.mdb"} == before
    assert pending_and_counts() == stats_before  # the log was not pruned, the index not written
    assert deployment.run("run").returncode == EXIT_OK
    assert deployment.run("index", "verify").returncode == 0


# ------------------------------------------------------------------------------ 3. the run ledger


def test_every_run_is_on_record_and_reports_go_to_a_folder_or_stdout(deployment):
    write_file(deployment.inbox, "aldi", "2025-09-01", [product("a"), product("b")])
    reports = deployment.var / "reports"
    first = deployment.run("run", "--report", f"{reports}/")
    second = deployment.run("run", "--report", f"{reports}/")  # an empty inbox does not overwrite the first
    assert (first.returncode, second.returncode) == (EXIT_OK, EXIT_OK), first.stderr
    assert all(re.match(ISO_LINE, line) for line in first.stdout.splitlines())
    written = sorted(reports.iterdir())
    assert len(written) == 2
    report = orjson.loads(written[0].read_bytes())
    assert report["version"] == __version__ and report["exit_status"] == 0 and report["status"] == "finished"
    assert report["started_at"] <= report["finished_at"] and report["files"][0]["status"] == "processed"
    runs = deployment.runs()
    assert [(r["status"], r["exit_status"], r["version"]) for r in runs] == [("finished", 0, __version__)] * 2
    assert runs[1]["totals"]["products_created"] == 2 and runs[1]["peak_anon_bytes"] > 0
    listing = deployment.run("runs", "--last", "1")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 1
    shown = deployment.run("runs", "show", str(runs[1]["id"]))
    assert f"{NAME}: processed (2 products: 2 new" in shown.stdout
    to_stdout = deployment.run("run", "--report", "-")
    # An empty inbox: the report, and not a word besides (cron's convention).
    assert orjson.loads(to_stdout.stdout)["files"] == [] and to_stdout.stderr == ""


# ------------------------------------------------------------------- 4. operator errors in one line


def hinted_command(line: str) -> str:
    """The command a hint names, between backquotes."""
    [command] = re.findall(r"`([^`]+)`", line)
    return command


def test_an_unmigrated_database_says_run_migrate_in_one_line_and_the_hint_works_as_printed(tmp_path):
    for command in (["bin/update-products", "run"], ["manage.py", "update", "--products"]):
        var = tmp_path / command[0].replace("/", "_")
        (var / "inbox").mkdir(parents=True)
        (var / "db.sqlite3").touch()  # there, but never migrated
        env = {"PATH": "/usr/bin:/bin", "UPDATE_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var}/db.sqlite3",
               "UPDATE_INDEX_AFTER_MIGRATE": "0"}
        done = subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == EXIT_FAILED
        line = message(done.stderr)  # and no "rebuilding index" first
        assert "the database has no tables yet" in line and hinted_command(line).endswith("manage.py migrate")
        # As printed, from another folder, with no venv on PATH: it migrates, and the update then runs.
        hint = subprocess.run(hinted_command(line), shell=True, cwd="/", env=env, capture_output=True, text=True)
        assert hint.returncode == 0, hint.stderr
        again = subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, env=env, capture_output=True,
                               text=True)
        assert again.returncode == EXIT_OK, again.stderr


def test_a_sqlite_file_that_does_not_exist_is_refused_and_nothing_is_created(tmp_path):
    """A mistyped DATABASE_URL must not start a new, empty catalog beside the real one."""
    (tmp_path / "inbox").mkdir()
    write_file(tmp_path / "inbox", "aldi", "2025-09-01", [product("a")])
    missing = tmp_path / "data" / "db.sqlite3"
    missing.parent.mkdir()
    env = {"PATH": "/usr/bin:/bin", "UPDATE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{missing}"}
    for command in (["bin/update-products", "run"], ["bin/update-products"], ["bin/update-products", "runs"],
                    ["bin/update-products", "index", "build"], ["manage.py", "update", "--products"]):
        done = subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == EXIT_USAGE, (command, done.stderr)
        line = message(done.stderr)
        assert line.startswith(f"the SQLite database {missing} does not exist: check DATABASE_URL, or run `")
        assert line.endswith("manage.py migrate` to start a new catalog there") and done.stdout == ""
        assert list(missing.parent.iterdir()) == [], command  # no db, no -wal, no -journal
        assert not (tmp_path / "index").exists() and not (tmp_path / "archive").exists()
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == [NAME]


@pytest.mark.parametrize("url, status, says", [
    ("", EXIT_USAGE, "DATABASE_URL is set but empty"),
    ("mongo://db/x", EXIT_USAGE, "DATABASE_URL does not parse"),
    ("postgres://grocery:secret@127.0.0.1:9/grocery", EXIT_FAILED, "cannot connect to the database at 127.0.0.1:9"),
])
def test_a_bad_database_url_is_one_line_naming_it(tmp_path, url, status, says):
    (tmp_path / "inbox").mkdir()
    env = {"PATH": "/usr/bin:/bin", "UPDATE_VAR_DIR": str(tmp_path), "DATABASE_URL": url}
    for command in (["bin/update-products", "run"], ["manage.py", "update", "--products"]):
        done = subprocess.run([sys.executable, *command], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == status, done.stderr
        assert says in message(done.stderr) and "secret" not in done.stderr
    if status == EXIT_FAILED:  # the index's commands too: a crash is 4, not verify's 1 ("differs")
        for command in (["index", "build"],):
            done = subprocess.run([sys.executable, "bin/update-products", *command], cwd=PROJECT_ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == EXIT_FAILED and says in message(done.stderr), done.stderr
    traced = subprocess.run([sys.executable, "bin/update-products", "run", "--traceback"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback (most recent call last)" in traced.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # no silent fall-back to SQLite


def test_a_database_on_a_read_only_mount_is_one_line_and_touches_no_file(tmp_path, template):
    if not template.url().startswith("sqlite"):
        pytest.skip("a SQLite file is what lives on a mount; PostgreSQL's server owns its files")
    var = tmp_path / "var"
    (var / "inbox").mkdir(parents=True)
    write_file(var / "inbox", "aldi", "2025-09-01", [product("a")])
    with tmpfs(tmp_path / "db") as folder:
        shutil.copyfile(template.template, folder / "db.sqlite3")
        remount(folder, "ro")
        env = {"PATH": "/usr/bin:/bin", "UPDATE_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3"}
        done = subprocess.run([sys.executable, "bin/update-products", "run"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_FAILED
    assert message(done.stderr).startswith("failed: can't open the SQLite database")
    assert "its folder can be written" in done.stderr
    assert [p.name for p in (var / "inbox").iterdir()] == [NAME] and not any((var / "archive").iterdir())


# --------------------------------------------------------------------------------- 8. retrying a file


def test_a_rejected_file_is_listed_and_retried_and_keeps_its_old_reason(deployment):
    (deployment.inbox / NAME).write_bytes(b"")
    assert deployment.run("run").returncode == EXIT_REJECTED
    listed = deployment.run("rejected")
    assert listed.returncode == 0 and f"{NAME}  (run " in listed.stdout and listed.stdout.rstrip().endswith(
        ": empty file")
    # The scraper delivers the file again meanwhile; the retried one must not overwrite it.
    write_file(deployment.inbox, "aldi", "2025-09-01", [product("a")])
    write_file(deployment.rejected, "aldi", "2025-09-01", [product("a"), product("b")])  # fixed by hand
    retried = deployment.run("retry", NAME)
    assert retried.returncode == 0, retried.stderr
    assert deployment.names(deployment.inbox) == ["aldi-testville-2025-09-01.1.jsonl", NAME]
    assert deployment.names(deployment.rejected) == []
    assert deployment.run("rejected").stdout.strip() == "no rejected files waiting"
    assert deployment.run("retry", NAME).returncode == EXIT_USAGE
    done = deployment.run("run")
    assert "aldi-testville-2025-09-01.1.jsonl: " in done.stdout  # taken as input, judged by its content
    first = min(deployment.runs(), key=lambda run: run["id"])
    [row] = deployment.show(first["id"])["files"]
    assert (row["status"], row["reason"]) == ("rejected", "empty file") and row["retried_at"]


# ------------------------------------------------------------------------ 6. installed like a tool


def test_version_and_verbosity(deployment):
    assert deployment.run("--version").stdout.strip() == f"update-products {__version__}"
    assert deployment.manage("update", "--version").stdout.strip() == __version__
    write_file(deployment.inbox, "aldi", "2025-09-01", [product("a")])
    for run in (lambda *v: deployment.run("run", "--dry-run", *v),
                lambda *v: deployment.manage("update", "--products", "--dry-run", *v)):
        quiet, normal, verbose, chatty = run("-v", "0"), run("-v", "1"), run("-v", "2"), run("-v", "3")
        assert len(quiet.stdout.splitlines()) == 1 and f"{NAME}: would process" not in quiet.stdout
        assert f"{NAME}: would process" in normal.stdout and "INFO" not in normal.stderr
        assert " INFO update.orchestrator: run " in verbose.stderr and "DEBUG" not in verbose.stderr
        assert f" DEBUG update.orchestrator: {NAME}: " in chatty.stderr, chatty.stderr


def test_bin_update_products_runs_from_outside_the_venv():
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None or subprocess.run([system, "-c", "import django"], capture_output=True).returncode == 0:
        pytest.skip("no system python3 without Django to try it with")
    if not (PROJECT_ROOT / ".venv" / "bin" / "python").exists():
        # Installed into another environment (pip install -e . there): its update-products script is the
        # command, and bin/update-products has no .venv to re-run itself with.
        pytest.skip("no .venv (the project is installed elsewhere): bin/update-products re-runs only with .venv")
    done = subprocess.run([system, str(PROJECT_ROOT / "bin" / "update-products"), "--version"],
                          capture_output=True, text=True, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"update-products {__version__}"


def test_bin_setup_installs_once_then_only_when_the_project_files_or_packages_change(tmp_path):
    """bin/serve and bin/test call bin/setup on every start: it must not reinstall each time."""
    (tmp_path / "bin").mkdir()
    shutil.copy(PROJECT_ROOT / "bin" / "setup", tmp_path / "bin" / "setup")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # A stand-in for the venv's python that only notes what it was asked to do.
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> {tmp_path / 'calls'}\n")
    fake.chmod(0o755)

    def setup(*extra) -> list[str]:
        (tmp_path / "calls").write_text("")
        subprocess.run([str(tmp_path / "bin" / "setup"), *extra], check=True, cwd="/")
        return (tmp_path / "calls").read_text().splitlines()

    assert len(setup()) == 2 and "install" in setup("--force")[1]
    assert setup() == []
    with open(tmp_path / "pyproject.toml", "a") as handle:
        handle.write("\n# a new dependency, say\n")
    assert [call.split()[2] for call in setup()] == ["install", "install"]
    assert setup() == []
    # A release that adds a package: the editable install maps packages by name, so it installs again.
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "__init__.py").write_text("")
    assert [call.split()[2] for call in setup()] == ["install", "install"]
    assert setup() == []


def test_the_deploy_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    for name in ("grocery-update.service", "grocery-update.timer"):
        text = (PROJECT_ROOT / "deploy" / name).read_text()
        # Where the project is on this machine, and a user that exists, in place of the VPS's.
        text = text.replace("/srv/grocery-update", str(PROJECT_ROOT)).replace("=grocery", "=nobody")
        (tmp_path / name).write_text(text)
    done = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "grocery-update.service"),
                           str(tmp_path / "grocery-update.timer")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    crontab = (PROJECT_ROOT / "deploy" / "crontab").read_text()
    [line] = [line for line in crontab.splitlines() if line and not line.startswith("#") and not
              re.match(r"^[A-Z]+=", line)]
    assert re.match(r"^(\S+\s+){5}cd /srv/grocery-update && ", line) and "update-products run" in line


def test_pip_install_puts_an_update_products_script_in_the_environment():
    from importlib.metadata import entry_points

    [script] = [e for e in entry_points(group="console_scripts") if e.name == "update-products"]
    assert script.value == "update.cli:main"
    installed = Path(sys.executable).parent / "update-products"
    if not installed.exists():
        pytest.skip(f"the project is not installed into {sys.prefix} (run bin/setup)")
    done = subprocess.run([str(installed), "--version"], capture_output=True, text=True, cwd="/")
    assert done.stdout.strip() == f"update-products {__version__}", done.stderr


# ------------------------------------------------------------------------ issue 23: cron's convention


def test_cron_hears_nothing_of_an_empty_inbox_a_summary_of_files_and_each_trouble_once_on_stderr(deployment):
    first = deployment.run("run")  # the first run builds the index, and says so once, on stderr
    assert first.stdout == "" and "rebuilding index" in first.stderr
    # An empty inbox, as on most of the 96 runs a day: not a byte on either stream, so no mail.
    quiet = deployment.run("run")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (EXIT_OK, "", "")
    # A good file, a file with a refused line and a stale one.
    write_file(deployment.inbox, "aldi", "2025-09-02", [product("a"), product("b")])
    bad_line = write_file(deployment.inbox, "iga", "2025-09-02", [product("c"), product("d", price_current=-1)])
    done = deployment.run("run")
    assert done.returncode == EXIT_REJECTED, done.stderr  # a refused line
    stale = write_file(deployment.inbox, "aldi", "2025-09-01", [product("a"), product("b")])
    (deployment.inbox / "notes.txt").write_text("hi")
    again = deployment.run("run")
    assert again.returncode == EXIT_REJECTED
    out, err = done.stdout + again.stdout, done.stderr + again.stderr
    # stdout is the log: the files kept, and a summary per run that had files.
    assert [line.split(" ", 1)[1].split(":")[0] for line in out.splitlines()
            if not line.split(" ", 1)[1].startswith(" ")] == [
        "aldi-testville-2025-09-02.jsonl", bad_line.name, "2 files", "1 file"]
    # stderr is the mail: the refused line, the rejected file and the ignored one, each once, not on stdout.
    assert [line.split(" ", 1)[1] for line in err.splitlines()] == [
        f"  {bad_line.name} line 2: price_current -1 is not a usable price",
        "ignored notes.txt: not a .jsonl file, nor a compressed one (.gz, .bz2, .xz)",
        f"{stale.name}: rejected (stale: scraped 2025-09-01, but the store's prices are from 2025-09-02) in "
        + err.split(f"{stale.name}: rejected (stale: scraped 2025-09-01, but the store's prices are from "
                    "2025-09-02) in ")[1].splitlines()[0],
    ]
    assert stale.name not in out and "line 2:" not in out
    # One time format, on both streams: ISO 8601 UTC to the second, with a Z.
    assert all(re.match(ISO_LINE, line) for line in (out + err).splitlines())


def test_the_log_lines_on_stderr_share_the_progress_lines_time_format(deployment):
    write_file(deployment.inbox, "aldi", "2025-09-01", [product("a")])
    done = deployment.run("run", "-v", "2")
    assert done.returncode == EXIT_OK, done.stderr
    assert " INFO update.orchestrator: run " in done.stderr
    assert all(re.match(ISO_LINE, line) for line in done.stderr.splitlines() if " INFO " in line)


def test_the_crontab_mails_stderr_and_logs_both(tmp_path):
    crontab = (PROJECT_ROOT / "deploy" / "crontab").read_text()
    [line] = [line for line in crontab.splitlines() if line and not line.startswith("#") and not
              re.match(r"^[A-Z]+=", line)]
    assert "MAILTO=" in crontab
    command = line.split(None, 5)[5]
    assert "2>&1" in command and "| tee -a" in command, command
    # Run its redirections with sh, as cron does, over a stand-in command that says a bit on each stream.
    log = tmp_path / "update.log"
    stand_in = command.split("&&", 1)[1]
    stand_in = re.sub(r"\S*update-products run.*?(?= 2>&1)", "sh -c 'echo out; echo err >&2; exit 4'", stand_in)
    stand_in = stand_in.replace("/var/log/grocery-update/update.log", str(log))
    done = subprocess.run(["sh", "-c", stand_in], capture_output=True, text=True)
    assert done.stdout == "err\n"  # what cron mails
    assert sorted(log.read_text().splitlines()) == ["err", "out"]


# ------------------------------------------------- issue 23: scrape order, compressions, files linked to stores


def test_real_files_under_misleading_names_are_taken_in_scrape_order_and_warned_of_once(deployment, real_files):
    import bz2
    import gzip

    by_day = {f.name[-16:-6]: f for f in real_files if f.name.startswith("aldi-carindale-g102-")}
    # The newest scrape named as the oldest, the oldest gzipped under a later date, one off the pattern.
    shutil.copy(by_day["2025-09-23"], deployment.inbox / "aldi-carindale-g102-2025-09-01.jsonl")
    (deployment.inbox / "aldi-carindale-g102-2025-09-30.jsonl.gz").write_bytes(
        gzip.compress(by_day["2025-09-09"].read_bytes()))
    (deployment.inbox / "carindale-latest.jsonl.bz2").write_bytes(bz2.compress(by_day["2025-09-12"].read_bytes()))
    (deployment.inbox / "aldi-carindale-g102-2025-09-24.jsonl.zst").write_bytes(b"(\xb5/\xfd not read")

    done = deployment.run("run")
    assert done.returncode in (EXIT_OK, EXIT_REJECTED), done.stderr
    [run] = deployment.runs()
    files = [(f["name"], f["status"], str(f["scraped_date"])) for f in deployment.show(run["id"])["files"]]
    assert files == [("aldi-carindale-g102-2025-09-30.jsonl.gz", "processed", "2025-09-09"),
                     ("carindale-latest.jsonl.bz2", "processed", "2025-09-12"),
                     ("aldi-carindale-g102-2025-09-01.jsonl", "processed", "2025-09-23"),
                     ("aldi-carindale-g102-2025-09-24.jsonl.zst", "rejected", "None")]
    # The unreadable file is on its store's record too, found by its name.
    store_ids = {f["store_id"] for f in deployment.show(run["id"])["files"]}
    assert len(store_ids) == 1 and None not in store_ids
    warned = [line.split(" ", 1)[1] for line in done.stderr.splitlines() if "the name" in line]
    assert warned == [
        "aldi-carindale-g102-2025-09-30.jsonl.gz: the name says 2025-09-30, but its lines were scraped "
        "2025-09-09; taken in the order of its lines' scrape date, 2025-09-09",
        "carindale-latest.jsonl.bz2: the name does not follow {company}-{store}-{YYYY-MM-DD}.jsonl; taken in "
        "the order of its lines' scrape date, 2025-09-12",
        "aldi-carindale-g102-2025-09-01.jsonl: the name says 2025-09-01, but its lines were scraped "
        "2025-09-23; taken in the order of its lines' scrape date, 2025-09-23"]
    assert "compressed as .zst, which the update can't read" in done.stderr
    assert deployment.names(deployment.inbox) == []

    again = deployment.run("run")  # every file left the inbox: cron hears nothing of them again
    assert (again.returncode, again.stdout, again.stderr) == (EXIT_OK, "", "")
