"""The two passes on their own, without the database: units, refusals and warnings of one file."""
from __future__ import annotations

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
        return [(raw.line_no, raw.data, raw.length, raw.ended) for raw in reader.physical_lines(source)]


def test_lines_read_in_blocks_are_the_files_lines_whatever_the_block_size(tmp_path, monkeypatch):
    """A line may start in one block and end blocks later; an over-long one keeps its first
    MAX_LINE_BYTES and its whole length; the last line may lack its newline."""
    monkeypatch.setattr("update.reader.MAX_LINE_BYTES", 10)
    lines = [b"short", b"", b"exactly 10", b"eleven byte", b"a line of thirty-one bytes, yes", b"x", b"no end"]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n".join(lines))
    expected = [(n, line[:10], len(line), n < len(lines)) for n, line in enumerate(lines, start=1)]
    for block in (1, 2, 3, 7, 10, 11, 64, 1 << 18):
        assert _lines_as_read(path, monkeypatch, block) == expected, block
    path.write_bytes(b"\n".join(lines) + b"\n")  # ended: no line after the last newline
    assert _lines_as_read(path, monkeypatch, 4) == [(n, d, length, True) for n, d, length, _ in expected]
