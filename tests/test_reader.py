"""The two passes on their own, without the database: units, refusals and warnings of one file."""
from __future__ import annotations

import gzip

import orjson

from update.reader import finish, note_outcome, read_units, survey
from update.rejects import RejectsLog
from update.scratch import FileScratch

from .factories import product, write_file


def test_a_second_pass_written_again_counts_its_warnings_once(tmp_path):
    # The database may refuse a file's first attempt; the second pass then runs again from the start.
    path = write_file(tmp_path, "aldi", "2025-09-01", [
        product("a", sku="S1"), product("b", sizes="1kg"), product("c", sku="S1"), product("d", price_current="x"),
    ])
    with FileScratch() as scratch:
        surveyed = survey(path, scratch)
        for _attempt in range(2):
            units = list(read_units(path, scratch, surveyed))
            assert [[r.line.line_no for r in unit] for unit in units] == [[2], [1, 3]]
            pairs = [(r.line, 7) for unit in units for r in unit]
            note_outcome(scratch, units, pairs)
        rejects = RejectsLog(tmp_path / "rejects.jsonl")
        finish(scratch, surveyed, rejects)
    assert surveyed.lines_with_warnings == 2
    assert dict(surveyed.warnings) == {"sizes is not a list (ignored)": 1,
                                       "same sku as an earlier line under another NNBS (one product)": 1}
    entries = [orjson.loads(raw) for raw in rejects.path.read_bytes().splitlines()]
    assert [(e["line_no"], e["action"]) for e in entries] == [(2, "kept"), (3, "kept"), (4, "rejected")]
    assert [[p.line_no, p.reason] for p in surveyed.problems] == [[4, "price_current 'x' is not a usable price"]]


def test_store_tallies_survive_the_scratch_commits(tmp_path, monkeypatch):
    from update import reader
    monkeypatch.setattr(reader, "SCRATCH_COMMIT_EVERY", 3)
    stray = write_file(tmp_path, "aldi", "2025-09-01", [product("s")], store={"store_id": "99999", "store_name": "x",
                                                                                 "state": "qld"}, name="stray")
    rest = write_file(tmp_path, "aldi", "2025-09-02", [product(f"p{i}") for i in range(10)] + [product("p3")],
                      name="rest")
    path = tmp_path / "aldi-testville-2025-09-02.jsonl"
    path.write_bytes(stray.read_bytes() + rest.read_bytes())
    with FileScratch() as scratch:
        surveyed = survey(path, scratch)
        assert [r.line.line_no for unit in read_units(path, scratch, surveyed) for r in unit] == list(range(2, 12))
        finish(scratch, surveyed, None)
    assert (surveyed.meta.store_id, str(surveyed.meta.scraped_date)) == ("G1", "2025-09-02")
    assert (surveyed.lines, surveyed.unique_lines, surveyed.duplicate_lines) == (12, 10, 1)
    assert [[p.line_no, p.reason] for p in surveyed.problems] == [
        [1, "metadata names store aldi/99999, but the file is aldi/G1"]]


def _lines_as_read(path, monkeypatch, block: int) -> list[tuple]:
    from update import reader

    monkeypatch.setattr(reader, "_READ_BLOCK", block)
    with reader.InputFile(path) as source:
        return [(raw.line_no, raw.data, raw.length, raw.ended, raw.offset) for raw in reader.physical_lines(source)]


def test_lines_read_in_blocks_are_the_files_lines_whatever_the_block_size(tmp_path, monkeypatch):
    """A line may start in one block and end blocks later; an over-long one keeps its first
    MAX_LINE_BYTES and its whole length; the last line may lack its newline."""
    monkeypatch.setattr("update.reader.MAX_LINE_BYTES", 10)
    lines = [b"short", b"", b"exactly 10", b"eleven byte", b"a line of thirty-one bytes, yes", b"x", b"no end"]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n".join(lines))
    starts = [sum(len(earlier) + 1 for earlier in lines[:n]) for n in range(len(lines))]
    expected = [(n, line[:10], len(line), n < len(lines), start)
                for n, (line, start) in enumerate(zip(lines, starts), start=1)]
    for block in (1, 2, 3, 7, 10, 11, 64, 1 << 18):
        assert _lines_as_read(path, monkeypatch, block) == expected, block
    path.write_bytes(b"\n".join(lines) + b"\n")  # ended: no line after the last newline
    assert _lines_as_read(path, monkeypatch, 4) == [(n, d, length, True, at) for n, d, length, _, at in expected]
    data = path.read_bytes()
    assert all(data[at:at + length] == line for (_, _, length, _, at), line in zip(expected, lines))


def _second_pass(path, scratch, surveyed, tmp_path, name: str, reads: list) -> tuple[list, list, int]:
    """Pass two's units, each line as it reaches the update (parsed), the rejects log it leaves, and how
    many lines it read again before any was parsed."""
    from update.reader import Candidate

    units = list(read_units(path, scratch, surveyed))
    read_before_parsing = len(reads)
    parsed = [[(item.__class__ is Candidate, (item.parsed() if item.__class__ is Candidate else item).line)
               for item in unit] for unit in units]
    rejects = RejectsLog(tmp_path / f"{name}.jsonl")
    finish(scratch, surveyed, rejects)
    return parsed, [orjson.loads(raw) for raw in rejects.path.read_bytes().splitlines()], read_before_parsing


def test_pass_two_reads_again_only_the_lines_it_needs_and_gives_what_a_second_read_gives(tmp_path, monkeypatch):
    """A small plain file's lines come to pass two from where pass one found them, read only when a line is
    parsed, refused or waits for its group: the units, the lines and the rejects log are the file's own,
    a byte-order mark, CRLF ends, groups, duplicates and another store's lines included."""
    from update.reader import LineSource

    lines = [product("a", sku="S1"), product("b", sku=None), product("c", sku="S1"), product("b", sku=None),
             product("d", price_current="x"), product("e", sizes="1kg")]
    path = write_file(tmp_path, "aldi", "2025-09-01", lines)
    stray = write_file(tmp_path, "aldi", "2025-09-01", [product("f")], name="stray",
                       store={"store_id": "99999", "store_name": "x", "state": "qld"})
    body = path.read_bytes().replace(b"\n", b"\r\n", 2) + stray.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + body)
    reads = []
    read = LineSource.read
    monkeypatch.setattr(LineSource, "read", lambda self, offset, length: reads.append(offset) or read(self, offset,
                                                                                                        length))
    with FileScratch() as scratch:
        surveyed = survey(path, scratch, digests=True)
        assert surveyed.spans is not None and surveyed.bom and surveyed.crlf_lines == 2
        *from_spans, read_before_parsing = _second_pass(path, scratch, surveyed, tmp_path, "spans", reads)
        # Lines 1 and 3 wait for their group and 7 is another store's: read again. Lines 2 and 6 are
        # candidates, read only when parsed; 4 is a duplicate and 5 was refused by pass one.
        assert read_before_parsing == 3 and len(reads) == 5
        surveyed.spans = None
        *again, _ = _second_pass(path, scratch, surveyed, tmp_path, "again", reads)
        assert again == from_spans and len(reads) == 5
    units, rejected = from_spans
    assert [[(candidate, line.line_no) for candidate, line in unit] for unit in units] == [
        [(True, 2)], [(True, 1), (True, 3)], [(True, 6)]]
    assert [(e["line_no"], e["action"]) for e in rejected] == [(5, "rejected"), (7, "rejected")]


def test_pass_two_reads_a_long_or_compressed_file_again(tmp_path):
    path = write_file(tmp_path, "aldi", "2025-09-01", [product(f"p{i}") for i in range(6)])
    with FileScratch() as scratch:
        scratch.hot_lines = 5
        assert survey(path, scratch, digests=True).spans is None
        scratch.reset()
        gz = tmp_path / "aldi-x-2025-09-01.jsonl.gz"
        gz.write_bytes(gzip.compress(path.read_bytes()))
        assert survey(gz, scratch, digests=True).spans is None
        scratch.reset()
        scratch.hot_lines = 6
        assert len(survey(path, scratch, digests=True).spans) == 3 * 6


def test_a_file_that_changed_after_pass_one_is_refused_not_misread(tmp_path):
    """Pass two reads what pass one read or nothing: a file written again between the passes (another
    scraper writing in place) would otherwise be read at offsets that cut its new lines, or read whole
    as a different file."""
    import pytest

    from update.reader import UnreadableFile

    path = write_file(tmp_path, "aldi", "2025-09-01", [product("a", sku="S1"), product("b"), product("c", sku="S1")])
    for spans in (True, False):
        with FileScratch() as scratch:
            surveyed = survey(path, scratch, digests=True)
            if not spans:
                surveyed.spans = None
            path.write_bytes(path.read_bytes().replace(b'"a"', b'"z"'))  # the same size, other bytes
            with pytest.raises(UnreadableFile, match="changed while the update read it"):
                list(read_units(path, scratch, surveyed))
