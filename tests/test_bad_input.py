"""Bad input, one case each: the reason the operator reads, the rejects file, the good lines kept, and
every input file still somewhere (inbox, archive or rejected), never deleted."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import io
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson
import pytest

from catalog.models import Company, Price, Product, Store
from update.orchestrator import run_update
from update.progress import PlainProgress
from update.reader import MAX_LINE_BYTES
from update.rejects import RAW_KEPT_CHARS, REJECTS_SUFFIX

from .factories import STORES, product

pytestmark = pytest.mark.django_db(transaction=True)

DAY = "2025-09-01"
NAME = f"aldi-testville-{DAY}.jsonl"
META = {"company": "aldi", "scraped_date": DAY, **STORES["aldi"]}


def line(p: dict | None = None, meta: dict | None = None, **meta_changes) -> bytes:
    """One scraped line as the scrapers write it (``meta=None`` keeps the file's metadata)."""
    record = {"product": p if p is not None else product("x"), "metadata": {**(meta or META), **meta_changes}}
    return orjson.dumps(record) + b"\n"


def good(*nnbs: str) -> bytes:
    return b"".join(line(product(n)) for n in nnbs)


def no_meta(p: dict) -> bytes:
    return orjson.dumps({"product": p}) + b"\n"


@dataclass
class Case:
    content: bytes | Callable[[Path], Path]  # the file's bytes, or a function that puts files in the inbox
    status: str  # what became of the file: processed | rejected | ignored
    says: str  # a regex the operator's output must contain; NAME stands for the file's name
    products: set = field(default_factory=set)  # NNBS in the catalog afterwards
    rejects: list = field(default_factory=list)  # (line number, action, regex on the reason)
    name: str = NAME
    settle_s: float = 0


def gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


def future_file(inbox: Path) -> Path:
    path = inbox / "aldi-testville-2999-01-01.jsonl"
    path.write_bytes(line(product("a"), scraped_date="2999-01-01"))
    return path


def symlink_outside(inbox: Path) -> Path:
    outside = inbox.parent / "elsewhere" / NAME
    outside.parent.mkdir()
    outside.write_bytes(good("a"))
    (inbox / NAME).symlink_to(outside)
    return outside


def part_file(inbox: Path) -> Path:
    path = inbox / (NAME + ".part")
    path.write_bytes(good("a"))
    return path


def long_line(inbox: Path) -> Path:
    # Written in pieces, so the test itself never holds 10 MB either.
    path = inbox / NAME
    with open(path, "wb") as handle:
        handle.write(good("a"))
        handle.write(b'{"product": {"normalized_name_brand_size": "huge", "name": "')
        for _ in range(10):
            handle.write(b"x" * 2**20)
        handle.write(b'", "price_current": 1}, "metadata": ' + orjson.dumps(META) + b"}\n")
        handle.write(good("c"))
    return path


TEN = tuple("acdefghijk")
DEEP = b'{"product": ' + b"[" * 5000 + b"]" * 5000 + b', "metadata": ' + orjson.dumps(META) + b"}\n"
PRICE = "price_current .* is not a usable price"

CASES = {
    # Lines that can't be read.
    "not JSON": Case(
        good("a") + b"{not json at all\n" + good("c"), "processed",
        r"NAME line 2: not valid JSON", {"a", "c"}, [(2, "rejected", "not valid JSON")]),
    "truncated last line": Case(
        good("a", "b") + line(product("c"))[:40], "processed",
        r"NAME line 3: truncated last line", {"a", "b"}, [(3, "rejected", "truncated last line")]),
    "empty file": Case(b"", "rejected", r"NAME: rejected \(empty file"),
    "blank lines only": Case(b"\n\n  \n", "rejected", r"NAME: rejected \(empty file"),
    "only bad lines": Case(
        b"nope\n[1, 2\n", "rejected",
        r"NAME: rejected \(no usable line: all 2 lines rejected \(most often: not valid JSON\)",
        set(), [(1, "rejected", "not valid JSON"), (2, "rejected", "not valid JSON")]),
    "invalid UTF-8": Case(
        good("a") + line(product("b", name="caf\u00e9")).replace("\u00e9".encode(), b"\xe9") + good("c"),
        "processed", r"NAME line 2: not valid UTF-8 \(byte \d+\)", {"a", "c"},
        [(2, "rejected", "not valid UTF-8")]),
    "byte-order mark": Case(
        b"\xef\xbb\xbf" + good("a", "b"), "processed",
        r"NAME: note: byte-order mark at the start removed", {"a", "b"}),
    "CRLF line ends": Case(
        good("a", "b").replace(b"\n", b"\r\n"), "processed", r"NAME: note: 2 lines end in CRLF", {"a", "b"}),
    "a 10 MB line": Case(
        long_line, "processed", r"NAME line 2: line of 10\.0 MB is longer than the 1 MB",
        {"a", "c"}, [(2, "rejected", "longer than the 1 MB")]),
    "deeply nested JSON": Case(
        good("a") + DEEP + good("c"), "processed", r"NAME line 2: JSON nested deeper",
        {"a", "c"}, [(2, "rejected", "nested deeper than the 1024 levels")]),
    # Metadata.
    "missing metadata": Case(
        good("a") + no_meta(product("b")) + good("c"), "processed",
        r"NAME line 2: no metadata object", {"a", "c"}, [(2, "rejected", "no metadata")]),
    # The file's store is the one 90% of its lines name (here 10 of 11), wherever the stray line is.
    "metadata names another store": Case(
        good("a") + line(product("b"), store_id="G999") + good(*TEN[1:]), "processed",
        r"NAME line 2: metadata names store aldi/G999, but the file is aldi/G1", set(TEN),
        [(2, "rejected", "another store|names store")]),
    "first line names another store": Case(
        line(product("b"), store_id="99999") + good(*TEN), "processed",
        r"NAME line 1: metadata names store aldi/99999, but the file is aldi/G1", set(TEN),
        [(1, "rejected", "names store aldi/99999, but the file is aldi/G1")]),
    "no store has 90% of the lines": Case(
        good("a", "c", "d") + line(product("b"), store_id="G999"), "rejected",
        r"NAME: rejected \(no store has 90% of the lines: the most, aldi/G1, is named by 3 of the 4"),
    "scrape crossing midnight is normal": Case(
        good("a") + line(product("b"), scraped_date="2025-09-02"), "processed",
        r"NAME: processed", {"a", "b"}),
    "metadata date far from the file's": Case(
        good("a") + line(product("b"), scraped_date="2025-09-05"), "processed",
        r"NAME line 2: metadata scraped_date 2025-09-05 is neither the file's 2025-09-01 nor the day after",
        {"a"}, [(2, "rejected", "neither the file's")]),
    "no store_id": Case(
        b"".join(line(product(n), meta={k: v for k, v in META.items() if k != "store_id"})
                 for n in ("a", "b")),
        "processed", r"NAME: note: no store_id: prices go to the company-wide store aldi/company-wide",
        {"a", "b"}),
    "company spelled in capitals": Case(
        b"".join(line(product(n), company="  ALDI ") for n in ("a", "b")), "processed",
        r"NAME: processed", {"a", "b"}),
    "unknown company spelling": Case(
        b"".join(line(product(n), company="Aldi Stores") for n in ("a", "b")), "processed",
        r"NAME: note: company 'aldi stores' is not in the catalog yet", {"a", "b"}),
    "company over the column's length": Case(
        b"".join(line(product(n), company="c" * 150) for n in ("a", "b")), "rejected",
        r"NAME: rejected \(no usable line: all 2 lines rejected "
        r"\(most often: metadata company or store_id longer",
        set(), [(1, "rejected", "longer than its column"), (2, "rejected", "longer than its column")]),
    "unparseable scraped_date on every line": Case(
        b"".join(line(product(n), scraped_date="1/9/2025") for n in ("a", "b")), "rejected",
        r"NAME: rejected \(no usable line: all 2 lines rejected "
        r"\(most often: metadata scraped_date is not a date",
        set(), [(1, "rejected", "scraped_date '1/9/2025' is not a date"), (2, "rejected", "not a date")]),
    "unparseable scraped_date on one line": Case(
        good("a") + line(product("b"), scraped_date="soon"), "processed",
        r"NAME line 2: metadata scraped_date 'soon' is not a date", {"a"}, [(2, "rejected", "not a date")]),
    "scraped_date in the future": Case(
        future_file, "rejected",
        r"aldi-testville-2999-01-01.jsonl: rejected \(scraped_date 2999-01-01 is in the future",
        name="aldi-testville-2999-01-01.jsonl"),
    # The matching key and the name.
    "missing NNBS": Case(
        good("a") + line({**product("b"), "normalized_name_brand_size": None}), "processed",
        r"NAME line 2: missing normalized_name_brand_size", {"a"},
        [(2, "rejected", "missing normalized_name_brand_size")]),
    "empty NNBS": Case(
        good("a") + line(product("  ")), "processed",
        r"NAME line 2: missing normalized_name_brand_size", {"a"}, [(2, "rejected", "missing")]),
    "NNBS over 255 characters": Case(
        good("a") + line(product("n" * 256)), "processed",
        r"NAME line 2: normalized_name_brand_size longer than 255", {"a"},
        [(2, "rejected", "longer than 255")]),
    "name over the column's length": Case(
        good("a") + line(product("b", name="N" * 600)), "processed",
        r"NAME: processed .*1 line kept with warnings \(in NAME\.rejects\.jsonl\)", {"a", "b"},
        [(2, "kept", "name of 600 characters cut to 500")]),
    "SKU over the column's length": Case(
        good("a") + line(product("b", sku="s" * 150)), "processed", r"NAME: processed", {"a", "b"},
        [(2, "kept", "sku of 150 characters dropped")]),
    # Wrong types.
    "price as numeric text": Case(
        good("a") + line(product("b", price_current="3.50")), "processed", r"NAME: processed", {"a", "b"}),
    "price as other text": Case(
        good("a") + line(product("b", price_current="call us")), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", "'call us' is not a usable")]),
    "negative price": Case(
        good("a") + line(product("b", price_current=-2)), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", PRICE)]),
    "zero price": Case(
        good("a") + line(product("b", price_current=0)), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", PRICE)]),
    "NaN price as text": Case(
        good("a") + line(product("b", price_current="NaN")), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", PRICE)]),
    "NaN price as a bare literal": Case(
        good("a") + line(product("b")).replace(b'"price_current":2.5', b'"price_current":NaN'), "processed",
        r"NAME line 2: not valid JSON", {"a"}, [(2, "rejected", "not valid JSON")]),
    "Infinity price": Case(
        good("a") + line(product("b", price_current="Infinity")), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", PRICE)]),
    "absurdly large price": Case(
        good("a") + line(product("b", price_current=1e12)), "processed",
        rf"NAME line 2: {PRICE}", {"a"}, [(2, "rejected", PRICE)]),
    "sizes not a list": Case(
        good("a") + line(product("b", sizes="500g")), "processed",
        r"NAME: processed .*1 line kept with warnings \(in NAME\.rejects\.jsonl\)", {"a", "b"},
        [(2, "kept", "sizes '500g' is not a list")]),
    "category_path not a list": Case(
        good("a") + line(product("b", category_path="Pantry > Oats")), "processed", r"NAME: processed",
        {"a", "b"}, [(2, "kept", "category_path 'Pantry > Oats' is not a list")]),
    "empty category names": Case(
        good("a") + line(product("b", category_path=["Pantry", "", " "])), "processed", r"NAME: processed",
        {"a", "b"}, [(2, "kept", "2 empty names dropped from category_path")]),
    "boolean as text": Case(
        good("a") + line(product("b", is_on_special="TRUE")), "processed", r"NAME: processed", {"a", "b"}),
    "boolean as unknown text": Case(
        good("a") + line(product("b", is_on_special="sometimes")), "processed", r"NAME: processed",
        {"a", "b"}, [(2, "kept", "is_on_special 'sometimes' is not a boolean")]),
    # Keys that identify a product.
    "barcode with letters": Case(
        good("a") + line(product("b", barcode="93006336O1234")), "processed", r"NAME: processed", {"a", "b"},
        [(2, "kept", "barcode '93006336O1234' dropped: not 8, 12, 13 or 14 digits")]),
    "barcode of the wrong length": Case(
        good("a") + line(product("b", barcode="12345")), "processed", r"NAME: processed", {"a", "b"},
        [(2, "kept", "barcode '12345' dropped")]),
    "same barcode under two NNBS": Case(
        line(product("oats", barcode="9300000000019")) + line(product("oats 1kg", barcode="9300000000019")),
        "processed", r"NAME: processed \(2 products: 1 new", {"oats"},
        [(2, "kept", "barcode '9300000000019' also on line 1 under another NNBS")]),
    "same SKU under two NNBS": Case(
        line(product("milk", sku="S7")) + line(product("milk 1l", sku="S7")), "processed",
        r"NAME: processed \(2 products: 1 new", {"milk"},
        [(2, "kept", "sku 'S7' also on line 1 under another NNBS")]),
    # Files.
    "not a .jsonl file": Case(
        good("a"), "ignored", r"ignored NAME: not a \.jsonl file, nor a compressed one \(\.gz, \.bz2, \.xz\)",
        name="aldi-testville-2025-09-01.csv"),
    ".jsonl.gz": Case(
        gz(good("a", "b") + b"{oops\n"), "processed", r"NAME line 3: not valid JSON", {"a", "b"},
        [(3, "rejected", "not valid JSON")], name=NAME + ".gz"),
    "truncated .gz": Case(
        gz(good(*"abcdefghij"))[:-30], "rejected",
        r"NAME: rejected \(unreadable file: the compressed stream ends early", name=NAME + ".gz"),
    "not gzip at all": Case(
        good("a"), "rejected", r"NAME: rejected \(unreadable file: not a gzip file", name=NAME + ".gz"),
    # Any compression the standard library reads is taken; one it can't is refused once, not ignored.
    ".jsonl.bz2": Case(
        bz2.compress(good("a", "b")), "processed", r"NAME: processed \(2 products: 2 new", {"a", "b"},
        name=NAME + ".bz2"),
    ".jsonl.xz": Case(
        lzma.compress(good("a", "b")), "processed", r"NAME: processed \(2 products: 2 new", {"a", "b"},
        name=NAME + ".xz"),
    "a .gz not named .jsonl.gz": Case(
        gz(good("a")), "processed", r"NAME: processed \(1 products?: 1 new", {"a"},
        name=f"aldi-testville-{DAY}.json.gz"),
    "truncated .bz2": Case(
        bz2.compress(good(*"abcdefghij"))[:-30], "rejected",
        r"NAME: rejected \(unreadable file: the compressed stream ends early \(a truncated \.bz2\)",
        name=NAME + ".bz2"),
    "truncated .xz": Case(
        lzma.compress(good(*"abcdefghij"))[:-30], "rejected",
        r"NAME: rejected \(unreadable file: the compressed stream ends early \(a truncated \.xz\)",
        name=NAME + ".xz"),
    "not bzip2 at all": Case(
        good("a"), "rejected", r"NAME: rejected \(unreadable file: not a \.bz2 file, or corrupt", name=NAME + ".bz2"),
    "a compression the reader can't open": Case(
        good("a"), "rejected", r"NAME: rejected \(unreadable file: compressed as \.zip, which the update can't "
                               r"read: send it as \.jsonl", name=NAME + ".zip"),
    "still being written (.part)": Case(
        part_file, "ignored", r"ignored NAME: still being written", name=NAME + ".part"),
    "modified a moment ago": Case(
        good("a"), "ignored", r"ignored NAME: modified \d+s ago, left for the next run", settle_s=3600),
    "symlink pointing outside the inbox": Case(
        symlink_outside, "ignored", r"ignored NAME: a symlink, not followed"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def every_file(workspace) -> dict[str, list[Path]]:
    """Every file under the inbox, archive and rejected folders and beside them, by content digest."""
    found: dict[str, list[Path]] = {}
    elsewhere = workspace.inbox.parent / "elsewhere"
    for folder in (workspace.inbox, workspace.archive, workspace.rejected, elsewhere):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and not path.is_symlink():
                    found.setdefault(digest(path), []).append(path)
    return found


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input(case: Case, workspace):
    Company.objects.create(name="aldi")  # a known company: only a new spelling gets a note
    if callable(case.content):
        case.content(workspace.inbox)
    else:
        (workspace.inbox / case.name).write_bytes(case.content)
    inputs = {d: paths[0].name for d, paths in every_file(workspace).items()}
    out = io.StringIO()
    workspace.progress = PlainProgress(out)
    workspace.settle_s = case.settle_s

    report = run_update(workspace)

    output = out.getvalue()
    assert re.search(case.says.replace("NAME", re.escape(case.name)), output), output
    # Nothing is deleted: every input's bytes are still somewhere.
    after = every_file(workspace)
    assert set(inputs) <= set(after), f"lost {[inputs[d] for d in set(inputs) - set(after)]}"
    if case.status == "ignored":
        assert report.files == [] and any(case.name in note for note in report.ignored)
        assert (workspace.inbox / case.name).exists() or (workspace.inbox / case.name).is_symlink()
    else:
        [result] = report.files
        assert result.status == case.status, result.reason
        folder = workspace.archive if case.status == "processed" else workspace.rejected
        assert (folder / case.name).is_file() and not (workspace.inbox / case.name).exists()
        if case.status == "rejected":
            assert (folder / (case.name + ".reason.txt")).read_text().strip() == result.reason
        rejects = folder / (case.name + REJECTS_SUFFIX)
        if case.rejects:
            entries = [orjson.loads(raw) for raw in rejects.read_bytes().splitlines()]
            assert [(e["line_no"], e["action"]) for e in entries] == [(n, a) for n, a, _ in case.rejects]
            for entry, (_, _, reason) in zip(entries, case.rejects):
                assert re.search(reason, entry["reason"]), entry["reason"]
                assert len(entry["line"]) <= RAW_KEPT_CHARS
            assert result.rejects_file == str(rejects)
        else:
            assert not rejects.exists()
        rejected = [n for n, action, _ in case.rejects if action == "rejected"]
        assert result.lines_rejected == len(rejected)
        assert [p[0] for p in result.problems] == rejected
        assert sum(result.rejected_by_reason.values()) == len(rejected)
    # The good lines were processed, and nothing else.
    assert set(Product.objects.values_list("normalized_name_brand_size", flat=True)) == case.products
    assert Price.objects.count() == len(case.products)


@pytest.mark.parametrize("day, accepted", [("2025-09-01", True), ("2025-09-02", True), ("2025-08-31", False)])
def test_a_line_may_carry_the_files_date_or_the_next_day(workspace, day, accepted):
    (workspace.inbox / NAME).write_bytes(good("a") + line(product("b"), scraped_date=day))
    report = run_update(workspace)
    assert report.files[0].lines_rejected == (0 if accepted else 1)


def test_values_the_line_keeps_after_coercion(workspace):
    (workspace.inbox / NAME).write_bytes(
        line(product("a", name="N" * 600, price_current="3.50", is_on_special="TRUE", barcode="93006336O1234",
                      category_path=["Pantry", "", "Oats"]))
        + line(product("b", price_current=2), company="  ALDI ", store_id=None)
        + good(*"cdefghijkl"))  # so the file's store has 90% of its lines
    report = run_update(workspace)
    a = Product.objects.get(normalized_name_brand_size="a")
    assert (len(a.name), a.barcode) == (500, None)
    price = Price.objects.get(product=a)
    assert (str(price.price), price.is_on_special) == ("3.50", True)
    # "  ALDI " is aldi; a line without store_id is another store, so it is refused as such.
    assert list(Company.objects.values_list("name", flat=True)) == ["aldi"]
    assert report.files[0].problems == [
        [2, "metadata names store aldi/company-wide, but the file is aldi/G1"]]
    assert Store.objects.get().store_id == "G1"


def test_a_long_line_is_skipped_without_reading_it_whole(workspace, tmp_path):
    """Memory: the reader holds at most MAX_LINE_BYTES of a line, and the rejects file 2000 characters."""
    long_line(workspace.inbox)
    report = run_update(workspace)
    [entry] = [orjson.loads(raw) for raw in Path(report.files[0].rejects_file).read_bytes().splitlines()]
    assert entry["line_bytes"] > 10 * 2**20 > MAX_LINE_BYTES
    assert entry["line"].startswith('{"product": {"normalized_name_brand_size": "huge"')


def test_warnings_and_rejections_are_counted_by_reason_in_the_report(workspace):
    (workspace.inbox / NAME).write_bytes(
        good("a") + line(product("b", price_current=-1)) + line(product("c", price_current="x"))
        + line(product("d", barcode="12")) + b"{\n")
    report = run_update(workspace).as_dict()
    price_reason = "price_current is not a usable price (missing, not a number, <= 0 or too large)"
    assert report["rejected_lines_by_reason"] == {price_reason: 2, "not valid JSON": 1}
    assert report["line_warnings_by_reason"] == {"barcode dropped: not 8, 12, 13 or 14 digits": 1}
    assert report["totals"]["lines_rejected"] == 3
    assert report["files"][0]["problems"][0] == [2, "price_current -1 is not a usable price"]


def test_settled_files_are_taken(workspace):
    path = workspace.inbox / NAME
    path.write_bytes(good("a"))
    old = time.time() - 120
    os.utime(path, (old, old))
    workspace.settle_s = 60
    assert [f.status for f in run_update(workspace).files] == ["processed"]


def test_dry_run_moves_nothing_and_writes_no_rejects_file(workspace):
    (workspace.inbox / NAME).write_bytes(good("a") + b"{bad\n")
    (workspace.inbox / "aldi-testville-2025-09-02.jsonl").write_bytes(b"")
    workspace.dry_run = True
    report = run_update(workspace)
    assert [(f.status, f.lines_rejected) for f in report.files] == [("would process", 1), ("would reject", 0)]
    assert sorted(p.name for p in workspace.inbox.iterdir()) == [NAME, "aldi-testville-2025-09-02.jsonl"]
    assert list(workspace.archive.iterdir()) == list(workspace.rejected.iterdir()) == []
    assert not Product.objects.exists()
