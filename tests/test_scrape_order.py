"""Files are taken in the order of their lines' scrape dates, whatever their names say (legacy hazard #1:
an older scrape taken after a newer one is refused as stale and lost), and a name that breaks
{company}-{store}-{date} is warned of once."""
from __future__ import annotations

import bz2
import gzip
import io
import tracemalloc
from datetime import date
from pathlib import Path

import orjson
import pytest

from update.inbox import in_scrape_order, list_inbox
from update.orchestrator import run_update
from update.progress import PlainProgress
from update.reader import survey
from update.scrape_dates import scrape_date
from update.scratch import FileScratch

from .factories import STORES, product, write_file


def lines_of(store: dict, day: str, nnbs: list[str], company: str = "aldi") -> bytes:
    meta = {"company": company, "scraped_date": day, **store}
    return b"".join(orjson.dumps({"product": product(n), "metadata": meta}) + b"\n" for n in nnbs)


OTHER_STORE = {"store_id": "G9", "store_name": "elsewhere", "state": "qld"}


@pytest.mark.parametrize("content", [
    pytest.param(lines_of(STORES["aldi"], "2025-09-03", ["a", "b", "c"]), id="one store"),
    # A stray line of another store first, dated otherwise: the file is the majority store's.
    pytest.param(lines_of(OTHER_STORE, "2025-09-09", ["x"]) + lines_of(STORES["aldi"], "2025-09-03",
                                                                       [f"p{i}" for i in range(20)]),
                 id="stray first line"),
    # Lines that are not JSON or name no store count for nothing.
    pytest.param(b"{oops\n" + orjson.dumps({"product": product("q")}) + b"\n"
                 + lines_of(STORES["aldi"], "2025-09-03", ["a", "b"]), id="bad lines first"),
    # A scrape that ran past midnight: its date is its first line's.
    pytest.param(lines_of(STORES["aldi"], "2025-09-03", ["a", "b"]) + lines_of(STORES["aldi"], "2025-09-04", ["c"]),
                 id="past midnight"),
])
def test_the_scan_dates_a_file_as_the_survey_does(tmp_path, content):
    path = tmp_path / "aldi-testville.jsonl"
    path.write_bytes(content)
    with FileScratch() as scratch:
        surveyed = survey(path, scratch)
    assert scrape_date(path) == surveyed.meta.scraped_date
    gzipped = tmp_path / "aldi-testville.jsonl.gz"
    gzipped.write_bytes(gzip.compress(content))
    assert scrape_date(gzipped) == surveyed.meta.scraped_date


def test_a_file_without_a_date_or_unreadable_has_none(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "junk.jsonl").write_bytes(b"{oops\nnot json\n")
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all\n")
    (tmp_path / "a.jsonl.zip").write_bytes(b"PK\x03\x04")
    assert [scrape_date(tmp_path / n) for n in ("empty.jsonl", "junk.jsonl", "bad.jsonl.gz", "a.jsonl.zip")] == \
        [None, None, None, None]


def test_the_scan_streams_a_large_file_in_flat_memory(tmp_path):
    path = tmp_path / "big.jsonl.bz2"
    with bz2.open(path, "wb") as handle:
        for start in range(0, 20_000, 1000):
            handle.write(lines_of(STORES["aldi"], "2025-09-03", [f"p{i}" for i in range(start, start + 1000)]))
    tracemalloc.start()
    try:
        assert str(scrape_date(path)) == "2025-09-03"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # About 8 MB of lines: the scan holds one line and the decompressor's buffers, not the file.
    assert peak < 2 * 2**20, peak


def test_undated_and_misdated_names_are_ordered_by_their_lines(tmp_path):
    write_file(tmp_path, "aldi", "2025-09-05", [product("a")], name="a-newest.jsonl")
    write_file(tmp_path, "aldi", "2025-09-01", [product("a")], name="b-oldest.jsonl")
    write_file(tmp_path, "aldi", "2025-09-03", [product("a")], name="aldi-testville-2025-09-09.jsonl")
    write_file(tmp_path, "aldi", "2025-09-03", [product("a")], name="aldi-other-2025-09-03.jsonl")
    files, _ = list_inbox(tmp_path)
    ordered = in_scrape_order(files, scrape_date)
    # Ties on the lines' date go by name, as before.
    assert [f.name for f in ordered] == ["b-oldest.jsonl", "aldi-other-2025-09-03.jsonl",
                                         "aldi-testville-2025-09-09.jsonl", "a-newest.jsonl"]


@pytest.mark.django_db(transaction=True)
def test_a_newer_scrape_named_first_does_not_make_the_older_one_stale(workspace):
    # By name, "aldi-a..." (the 5th) sorts before "aldi-b..." (the 1st), and before this the 1st was
    # refused as stale: the legacy's hazard #1.
    write_file(workspace.inbox, "aldi", "2025-09-05", [product("a", price_current=3)], name="aldi-a.jsonl")
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a", price_current=2)], name="aldi-b.jsonl")
    out, errors = io.StringIO(), io.StringIO()
    workspace.progress = PlainProgress(out, errors=errors)

    report = run_update(workspace)

    assert [(f.file, f.status) for f in report.files] == [("aldi-b.jsonl", "processed"),
                                                          ("aldi-a.jsonl", "processed")]
    from catalog.models import Price

    assert [str(p.price) for p in Price.objects.all()] == ["3.00"]
    warned = [line.split(" ", 1)[1] for line in errors.getvalue().splitlines()]
    assert warned == [
        "aldi-b.jsonl: the name does not follow {company}-{store}-{YYYY-MM-DD}.jsonl; taken in the order of "
        "its lines' scrape date, 2025-09-01",
        "aldi-a.jsonl: the name does not follow {company}-{store}-{YYYY-MM-DD}.jsonl; taken in the order of "
        "its lines' scrape date, 2025-09-05"]
    assert report.files[0].name_warning == warned[0]


@pytest.mark.django_db(transaction=True)
def test_a_misdated_name_is_warned_of_once_then_never_again(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a")], name="aldi-testville-2025-09-09.jsonl")
    errors = io.StringIO()
    workspace.progress = PlainProgress(io.StringIO(), errors=errors)
    run_update(workspace)
    run_update(workspace)  # the file is archived: nothing to say of it again
    assert [line.split(" ", 1)[1] for line in errors.getvalue().splitlines()] == [
        "aldi-testville-2025-09-09.jsonl: the name says 2025-09-09, but its lines were scraped 2025-09-01; "
        "taken in the order of its lines' scrape date, 2025-09-01"]
    assert (workspace.archive / "aldi-testville-2025-09-09.jsonl").is_file()


@pytest.mark.django_db(transaction=True)
def test_a_file_the_reader_cannot_open_is_refused_once_not_ignored_every_run(workspace):
    name = "aldi-testville-2025-09-01.jsonl.zst"
    (workspace.inbox / name).write_bytes(b"(\xb5/\xfd not really zstd")
    workspace.progress = PlainProgress(io.StringIO(), errors=io.StringIO())
    first = run_update(workspace)
    second = run_update(workspace)
    assert [(f.file, f.status) for f in first.files] == [(name, "rejected")]
    assert "compressed as .zst, which the update can't read" in first.files[0].reason
    assert second.files == [] and second.ignored == []
    assert Path(workspace.rejected / (name + ".reason.txt")).read_text().startswith("unreadable file: compressed")


def test_a_name_its_first_line_agrees_with_is_dated_off_that_line_alone(tmp_path):
    # What follows the first line can't be read (a truncated gzip): only the one line was read.
    content = lines_of(STORES["aldi"], "2025-09-03", [f"p{i}" for i in range(2000)])
    path = tmp_path / "aldi-testville-2025-09-03.jsonl.gz"
    path.write_bytes(gzip.compress(content)[:4000])
    assert scrape_date(path) is None  # the whole scan reaches the cut
    assert scrape_date(path, date(2025, 9, 3)) == date(2025, 9, 3)
    # A name that disagrees with its first line: every line is read, as the survey reads them.
    stray = tmp_path / "aldi-testville-2025-09-03.jsonl"
    stray.write_bytes(lines_of(OTHER_STORE, "2025-09-09", ["x"]) + lines_of(STORES["aldi"], "2025-09-03",
                                                                            [f"p{i}" for i in range(20)]))
    assert scrape_date(stray, date(2025, 9, 3)) == date(2025, 9, 3)
