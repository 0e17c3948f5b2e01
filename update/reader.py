"""Streaming reads of one inbox file: a cheap first pass over keys, then each kept line parsed once.

Pass one (``survey``) decodes every line but builds no ScrapedLine: it makes the checks that can refuse
a line, reads its keys and its store, keeps in the scratch store the first line of each NNBS and the
groups of lines that share a barcode, an SKU or an NNBS but for spaces, and counts what the file's
store and the partial-scrape check need. The file's store is the one most lines name.

Pass two (``read_units``) goes over the lines again and parses each store's first line of an NNBS once, in
file order. A plain file of a few thousand lines, the common one, is not read again whole: pass one kept
where each line is (``Survey.spans``), and only the lines pass two needs whole are read, one by one.
A line that shares a key with others waits on disk until the last of its group is read, so the whole
group reaches the update together, wherever its lines are in the file; the stream's order depends on
the file alone, never on the chunk size. Refused and warned lines are kept in the scratch store by line
number and written to the rejects log in line order at the end (``finish``).

Lines are read with a length cap: a 10 MB line costs one bounded buffer and a rejection, never a
10 MB allocation.
"""
from __future__ import annotations

import errno
import gzip
import heapq
import os
import weakref
import zlib
from array import array
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

import orjson

from diskcache_tier.keys import canonical_nnbs
from diskcache_tier.seen import line_digest

from .compression import BAD_DATA, OPENERS, compression_of, why_unreadable
from .lines import (
    FileMeta,
    LineKeys,
    LineRejected,
    LineWarning,
    ScrapedLine,
    another_store,
    check_same_day,
    parse_line,
    parse_meta,
    read_keys,
    read_part,
    store_of,
)
from .matching import shared_key_warnings
from .rejects import RejectsLog, shown_line
from .scratch import FileScratch

# Lines per scratch write transaction: the commit is cheap, but one per line would dominate pass one.
SCRATCH_COMMIT_EVERY = 5_000
# Real lines are 1 to 4 KB. A megabyte is far beyond any product, and small enough to buffer once.
MAX_LINE_BYTES = 1 << 20
# Bytes read at a time: a few hundred lines, split in one call rather than read one by one.
_READ_BLOCK = 1 << 18
_FIRST_BLOCK = 1 << 12
# Progress is reported every this many bytes, not per line: a callback per line would cost more than
# the bar is worth on a 300k-line file.
PROGRESS_EVERY_BYTES = 1 << 18
MAX_PROBLEMS_KEPT = 100
# The file's store is the one its lines name; one stray line must not take the file over, and a file
# whose lines disagree more than this is not one store's scrape at all.
STORE_MAJORITY = 0.9
_BOM = b"\xef\xbb\xbf"
ANOTHER_STORE = another_store("", "").kind

OnPosition = Callable[[int], None]


class UnreadableFile(OSError):
    """The file as a whole can't be read: refused, with the reason the operator reads."""


@dataclass
class LineProblem:
    line_no: int
    reason: str


@dataclass
class StoreTally:
    """What the first pass counted of one store the file's lines name."""
    ordinal: int
    meta: FileMeta  # of the store's first line: its date is the file's date if the store is the file's
    votes: int = 0  # lines whose metadata names the store
    kept: int = 0  # of them, lines that passed every check of their own
    unique: int = 0  # of those, first lines of their NNBS
    duplicates: int = 0

    def dumps(self) -> bytes:
        m = self.meta
        return orjson.dumps([self.ordinal, m.company, m.store_id, m.store_name, m.state, m.scraped_date,
                             self.votes, self.kept, self.unique, self.duplicates])

    @classmethod
    def loads(cls, raw: bytes) -> "StoreTally":
        ordinal, company, store_id, name, state, day, votes, kept, unique, duplicates = orjson.loads(raw)
        meta = FileMeta(company, store_id, name, state, date.fromisoformat(day))
        return cls(ordinal, meta, votes, kept, unique, duplicates)


@dataclass
class Survey:
    meta: FileMeta | None = None  # the file's store (the majority of its lines) and date
    store_ordinal: int = -1
    # Why no store is the file's, when its lines disagree too much.
    no_majority: str = ""
    lines: int = 0
    unique_lines: int = 0
    duplicate_lines: int = 0
    other_store_lines: int = 0
    # Lines that joined a group (of any store): with none, every line is a unit of its own.
    joins: int = 0
    rejected: Counter = field(default_factory=Counter)
    # The first problems, for the report; every one of them is counted in ``rejected``.
    problems: list[LineProblem] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    lines_with_warnings: int = 0
    bom: bool = False
    crlf_lines: int = 0
    # Where each kept line is in a plain file of at most ``FileScratch.hot_lines`` lines: line number,
    # offset and length, three entries a line (pass two reads again only the lines it needs whole).
    spans: array | None = None
    # The file as pass one read it (device, inode, size, modification time): pass two reads the same.
    identity: tuple | None = None

    @property
    def lines_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def notes(self) -> list[str]:
        """What was unusual about the file but cost nothing."""
        notes = []
        if self.bom:
            notes.append("byte-order mark at the start removed")
        if self.crlf_lines:
            notes.append(f"{self.crlf_lines} lines end in CRLF (read as plain line ends)")
        return notes


@dataclass
class ReadLine:
    """A kept line, with what its rejects entry needs if it gets a warning."""
    line: ScrapedLine
    shown: str  # the raw line as the rejects log shows it ("" when it can't be warned about)
    length: int
    warnings: list[LineWarning]


CHANGED_WHILE_READ = ("the file changed while the update read it (written in place, or replaced?): nothing of "
                      "it was applied, and it stays in the inbox for the next run; scrapers should write "
                      "NAME.jsonl.part and rename it when complete (docs/operations.md)")


def identity(fd: int) -> tuple:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class LineSource:
    """Reads single lines of a plain inbox file again by where pass one found them.

    Opened at the first read, so a file whose lines all changed nothing is never opened again; closed when
    the last candidate that can read from it is gone. A file that is not the one pass one read (written
    or replaced since) is refused: its offsets would cut other lines.
    """

    def __init__(self, path: Path, read_before: tuple | None):
        self.path, self.read_before = path, read_before
        self._fd: int | None = None

    def read(self, offset: int, length: int) -> bytes:
        if self._fd is None:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            weakref.finalize(self, os.close, fd)
            self._fd = fd
            if identity(fd) != self.read_before:
                raise UnreadableFile(CHANGED_WHILE_READ)
        return os.pread(self._fd, length, offset)


@dataclass(slots=True)
class Candidate:
    """A line that may be one its store sent before: its digest and keys, not yet parsed.

    ``unchanged.UnchangedLines`` looks it up in the index; only if it changed is it parsed (``parsed``).
    The lines of a group sharing a key come out as candidates together, or not at all.
    """
    line_no: int
    data: bytes
    digest: bytes
    nnbs: str
    sku: str | None
    barcode: str | None
    grouped: bool = False
    # With no ``data``: where to read it when the line changed (``read_units`` over a survey's spans).
    source: LineSource | None = None
    offset: int = 0
    length: int = 0

    def parsed(self) -> ReadLine:
        if self.source is not None:
            self.data, self.source = self.source.read(self.offset, self.length), None
        return _parsed(self.line_no, self.data, grouped=self.grouped)


def _seen(record: dict, keys: LineKeys) -> tuple:
    """What pass two needs of a line to look it up as seen, kept with its role by pass one: its digest
    and keys."""
    return line_digest(orjson.dumps(read_part(record["product"]))), *keys


def _candidate(raw: "RawLine | SpannedLine", seen: tuple) -> Candidate:
    if raw.__class__ is SpannedLine and raw.read is None:  # not read yet: only if it changed
        return Candidate(raw.line_no, b"", *seen, source=raw.source, offset=raw.offset, length=raw.length)
    return Candidate(raw.line_no, raw.data, *seen)


@dataclass(slots=True)
class RawLine:
    line_no: int
    data: bytes  # the line without its end; only the first MAX_LINE_BYTES when ``length`` is more
    length: int  # bytes in the line, without its end
    ended: bool  # False for a last line without a newline
    offset: int = 0  # where ``data`` starts in the file's (decompressed) content


class SpannedLine:
    """A kept line of a file that pass one found where (``Survey.spans``): read again only if its data is
    asked for."""
    __slots__ = ("line_no", "offset", "length", "source", "read")

    def __init__(self, line_no: int, offset: int, length: int, source: LineSource):
        self.line_no, self.offset, self.length, self.source, self.read = line_no, offset, length, source, None

    @property
    def data(self) -> bytes:
        if self.read is None:
            self.read = self.source.read(self.offset, self.length)
        return self.read


@contextmanager
def _lines_again(path: Path, surveyed: Survey, on_position: OnPosition | None):
    """Pass two's lines: the kept lines where pass one found them (a plain file of a few thousand lines),
    else the whole file read again."""
    if surveyed.spans is None:
        with InputFile(path) as source:
            if surveyed.identity is not None and identity(source.raw.fileno()) != surveyed.identity:
                raise UnreadableFile(CHANGED_WHILE_READ)
            yield numbered_lines(source, on_position=on_position)
    else:
        yield _spanned(path, surveyed, on_position)


def _spanned(path: Path, surveyed: Survey, on_position: OnPosition | None) -> Iterator[SpannedLine]:
    source, spans = LineSource(path, surveyed.identity), surveyed.spans
    reported = 0
    for i in range(0, len(spans), 3):
        line_no, offset, length = spans[i], spans[i + 1], spans[i + 2]
        if on_position is not None and offset - reported >= PROGRESS_EVERY_BYTES:
            reported = offset
            on_position(offset)
        yield SpannedLine(line_no, offset, length, source)
    if on_position is not None:
        on_position(surveyed.identity[2])  # the file's size, as pass one read it


class InputFile:
    """An inbox file opened for reading, plain or compressed (compression.py), never through a symlink."""

    def __init__(self, path: Path):
        suffix = compression_of(path.name)
        if why_unreadable(suffix):
            raise UnreadableFile(why_unreadable(suffix))
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnreadableFile("a symlink: not followed") from None
            raise UnreadableFile(f"can't be opened ({exc.strerror})") from None
        self.raw = os.fdopen(fd, "rb")
        self.compression = suffix
        self.compressed = bool(suffix)
        self.handle = OPENERS[suffix](self.raw) if self.compressed else self.raw
        self.consumed = 0

    def position(self) -> int:
        """Bytes of the file on disk read so far (what a progress bar over its size wants)."""
        return self.raw.tell() if self.compressed else self.consumed

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the file's (decompressed) content; b"" at its end."""
        try:
            chunk = self.handle.read(size)
        except EOFError:
            raise UnreadableFile(f"the compressed stream ends early (a truncated {self.compression}): what is "
                                 "missing can't be known, so the whole file is refused") from None
        except gzip.BadGzipFile as exc:
            raise UnreadableFile(f"not a gzip file ({exc})") from None
        except zlib.error as exc:
            raise UnreadableFile(f"corrupt compressed data ({exc})") from None
        except BAD_DATA as exc:  # bzip2 and xz say "not my format" and "corrupt" alike
            if not self.compressed:
                raise
            raise UnreadableFile(f"not a {self.compression} file, or corrupt ({exc})") from None
        self.consumed += len(chunk)
        return chunk

    def close(self) -> None:
        if self.handle is not self.raw:
            self.handle.close()
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def physical_lines(source: InputFile) -> Iterator[RawLine]:
    """Every line of the file, numbered from 1, read a block at a time: a line longer than MAX_LINE_BYTES
    keeps only its first MAX_LINE_BYTES (and its length), so no line costs more memory than that."""
    line_no = 0
    head, head_length = b"", 0  # the start of a line that goes on in the next block, and its length so far
    offset = 0  # where the block's next line starts
    # Blocks grow from a small first one: a reader that wants the first line alone (scrape_dates) reads
    # little, and a compressed file cut short still yields the lines before the cut, as line by line.
    size = min(_FIRST_BLOCK, _READ_BLOCK)
    while block := source.read(size):
        size = min(2 * size, _READ_BLOCK)
        block_end = offset + len(block)
        lines = block.split(b"\n")
        tail = lines.pop()  # after the block's last newline: the start of the next line
        if lines and head_length:
            first = lines[0]
            lines[0] = head + first[:MAX_LINE_BYTES + 1 - len(head)]
            first_length = head_length + len(first)
            offset -= head_length  # the line started in an earlier block
            head, head_length = b"", 0
        else:
            first_length = -1
        for data in lines:
            line_no += 1
            length = len(data) if first_length < 0 else first_length
            first_length = -1
            yield RawLine(line_no, data if length <= MAX_LINE_BYTES else data[:MAX_LINE_BYTES], length, True,
                          offset)
            offset += length + 1
        if tail:
            if len(head) <= MAX_LINE_BYTES:
                head += tail[:MAX_LINE_BYTES + 1 - len(head)]
            head_length += len(tail)
        offset = block_end
    if head_length:
        yield RawLine(line_no + 1, head[:MAX_LINE_BYTES], head_length, False, offset - head_length)


def decode(raw: RawLine) -> object:
    """The line's JSON, or a LineRejected that says why it has none."""
    if raw.length > MAX_LINE_BYTES:
        return LineRejected(f"line of {raw.length / 2**20:.1f} MB is longer than the "
                            f"{MAX_LINE_BYTES // 2**20} MB a line may have", "line longer than 1 MB")
    try:
        return orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        return _why_not_json(raw, exc)


def _why_not_json(raw: RawLine, exc: orjson.JSONDecodeError) -> LineRejected:
    try:
        raw.data.decode("utf-8")
    except UnicodeDecodeError as bad:
        # orjson reads UTF-8 only, and its own message for this ("surrogates not allowed") misleads.
        return LineRejected(f"not valid UTF-8 (byte {bad.start + 1}): the file must be UTF-8",
                            "not valid UTF-8")
    message = str(exc)
    if "depth limit" in message or "recursion" in message:
        return LineRejected("JSON nested deeper than the 1024 levels the parser reads",
                            "JSON nested too deeply")
    if not raw.ended:
        return LineRejected("truncated last line: no newline at its end and not valid JSON",
                            "truncated last line")
    return LineRejected(f"not valid JSON ({message.split(':')[0]} at character {exc.pos + 1})",
                        "not valid JSON")


def numbered_lines(source: InputFile, survey_: Survey | None = None,
                   on_position: OnPosition | None = None) -> Iterator[RawLine]:
    """Each non-blank line, its byte-order mark and CR removed (and noted), progress reported."""
    reported = 0
    for raw in physical_lines(source):
        if raw.data.startswith(_BOM):
            raw.data, raw.length, raw.offset = raw.data[3:], raw.length - 3, raw.offset + 3
            if survey_ is not None:
                survey_.bom = True
        if raw.data.endswith(b"\r"):
            raw.data, raw.length = raw.data[:-1], raw.length - 1
            if survey_ is not None:
                survey_.crlf_lines += 1
        if on_position is not None and source.consumed - reported >= PROGRESS_EVERY_BYTES:
            reported = source.consumed
            on_position(source.position())
        if not raw.data or raw.data.isspace():  # isspace stops at the first other byte; strip copies the line
            continue
        yield raw
    if on_position is not None:
        on_position(source.position())


# ------------------------------------------------------------------------------ pass one: keys only


class _Tallies:
    """Every store's tally, on disk; the few touched since the last commit are held here."""

    def __init__(self, scratch: FileScratch):
        self.scratch = scratch
        self.count = 0
        self.touched: dict[str, StoreTally] = {}
        self._last_meta: tuple[dict, FileMeta] | None = None
        self._last_tally: tuple[FileMeta, StoreTally] | None = None

    def meta_of(self, raw) -> FileMeta:
        """``parse_meta`` of a line's metadata; every line of a file repeats the same, so an equal dict
        is parsed once in a row (it was a tenth of pass one)."""
        last = self._last_meta
        if last is not None and raw == last[0]:
            return last[1]
        meta = parse_meta(raw)
        self._last_meta = (raw, meta)
        return meta

    def of(self, txn, meta: FileMeta) -> StoreTally:
        last = self._last_tally
        if last is not None and last[0] is meta:  # the same metadata as the line before: its store's
            return last[1]
        tally = self._of(txn, meta)
        self._last_tally = (meta, tally)
        return tally

    def _of(self, txn, meta: FileMeta) -> StoreTally:
        key = store_of(meta)
        tally = self.touched.get(key)
        if tally is None:
            raw = self.scratch.get_store(txn, key)
            if raw is None:
                tally = StoreTally(self.count, meta)
                self.scratch.name_store(txn, self.count, key)
                self.count += 1
            else:
                tally = StoreTally.loads(raw)
            self.touched[key] = tally
        return tally

    def flush(self, txn) -> None:
        for key, tally in self.touched.items():
            self.scratch.put_store(txn, key, tally.dumps())
        self.touched.clear()
        self._last_tally = None  # flushed: the next line's store is read again


def survey(path: Path, scratch: FileScratch, on_position: OnPosition | None = None, *,
           digests: bool = False) -> Survey:
    """Pass one: refuse what can be refused, count, de-duplicate and group; no line is built whole.

    With ``digests`` each store's first line of an NNBS keeps its digest and keys for pass two.
    """
    result = Survey()
    tallies = _Tallies(scratch)
    txn = scratch.begin()
    try:
        with InputFile(path) as source:
            result.identity = identity(source.raw.fileno())
            spans = array("q") if digests and not source.compressed else None
            for raw in numbered_lines(source, result, on_position):
                if result.lines and result.lines % SCRATCH_COMMIT_EVERY == 0:
                    tallies.flush(txn)
                    txn.commit()
                    txn = scratch.begin()
                result.lines += 1
                try:
                    keys, tally, record = _keys_and_store(txn, tallies, raw)
                except LineRejected as exc:
                    result.rejected[exc.kind] += 1
                    _log(scratch, txn, raw.line_no, "rejected", str(exc), shown_line(raw.data), raw.length)
                    continue
                tally.kept += 1
                canonical = canonical_nnbs(keys.nnbs)
                earlier, same_spelling = scratch.claim_canonical_nnbs(txn, tally.ordinal, canonical, keys.nnbs,
                                                                      raw.line_no)
                first = earlier is None or (not same_spelling and scratch.claim_nnbs(txn, tally.ordinal,
                                                                                     keys.nnbs, raw.line_no))
                joined = False
                if first:
                    tally.unique += 1
                    joined = _group(scratch, txn, tally.ordinal, keys, earlier, raw.line_no)
                    result.joins += joined
                else:
                    tally.duplicates += 1
                seen = _seen(record, keys) if digests and first else None
                scratch.set_role(txn, raw.line_no, tally.ordinal, first, seen, grouped=joined)
                if spans is not None:
                    spans.extend((raw.line_no, raw.offset, raw.length))
                    if len(spans) > 3 * scratch.hot_lines:
                        spans = None  # a long file: pass two reads it again, as it reads any file
        tallies.flush(txn)
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    result.spans = spans
    scratch.digests_kept = digests
    _decide_store(scratch, result)
    return result


def _keys_and_store(txn, tallies: _Tallies, raw: RawLine) -> tuple[LineKeys, StoreTally, dict]:
    """The line's keys, its store's tally and its record, or LineRejected; every line naming a store is
    its vote."""
    record = decode(raw)
    if isinstance(record, LineRejected):
        raise record
    problem = None
    try:
        keys = read_keys(record)
    except LineRejected as exc:
        problem = exc
    try:
        meta = tallies.meta_of(record.get("metadata") if isinstance(record, dict) else None)
    except LineRejected as exc:
        raise problem or exc from None
    tally = tallies.of(txn, meta)
    tally.votes += 1
    if problem is not None:
        raise problem
    check_same_day(tally.meta.scraped_date, meta)
    return keys, tally, record


def _group(scratch: FileScratch, txn, store: int, keys: LineKeys, nnbs_earlier: int | None, line_no: int) -> bool:
    """Join the line to the group of every earlier line of its store that shares one of its keys
    (``nnbs_earlier``: the one that claimed its canonical NNBS, if any); True when it joined one."""
    joined = False
    for kind, key in (("barcode", keys.barcode), ("sku", keys.sku)):
        if key is None:
            continue
        earlier = scratch.claim_key(txn, store, kind, key, line_no)
        if earlier is not None:
            joined = _join(scratch, txn, line_no, earlier) or joined
    if nnbs_earlier is not None:
        joined = _join(scratch, txn, line_no, nnbs_earlier) or joined
    return joined


def _join(scratch: FileScratch, txn, line_no: int, earlier: int) -> bool:
    """Join two lines' groups; the earlier line's role says it is grouped now (the line's own role is
    written after its joins)."""
    if not scratch.join(txn, line_no, earlier):
        return False
    scratch.mark_grouped(txn, earlier)
    return True


def _decide_store(scratch: FileScratch, result: Survey) -> None:
    """The file's store is the one most of its lines name, if it has STORE_MAJORITY of them."""
    votes, kept, best = 0, 0, None
    with scratch.begin(write=False) as txn:
        for raw in scratch.stores(txn):
            tally = StoreTally.loads(raw)
            votes, kept = votes + tally.votes, kept + tally.kept
            if best is None or (tally.votes, -tally.ordinal) > (best.votes, -best.ordinal):
                best = tally
    if best is None:
        return  # no line names a store: the orchestrator says why from the counts
    result.meta, result.store_ordinal = best.meta, best.ordinal
    result.unique_lines, result.duplicate_lines = best.unique, best.duplicates
    if best.votes < STORE_MAJORITY * votes:
        result.no_majority = (f"no store has {STORE_MAJORITY:.0%} of the lines: the most, {store_of(best.meta)}, "
                              f"is named by {best.votes} of the {votes} lines that name a store")
        return
    result.other_store_lines = kept - best.kept
    if result.other_store_lines:
        result.rejected[ANOTHER_STORE] += result.other_store_lines


# ------------------------------------------------------------------------- pass two: lines parsed once


def read_units(path: Path, scratch: FileScratch, surveyed: Survey, on_position: OnPosition | None = None,
               *, emit: bool = True) -> Iterator[list[ReadLine | Candidate]]:
    """Pass two: the file's lines, each parsed once, a group of lines sharing a key as one unit.

    A unit comes out when its last line is read, so the order of units depends on the file alone.
    Lines of another store than the file's are refused here (their count is already in the survey).
    A line for which pass one kept a digest comes out unparsed, as a ``Candidate``; the lines of a group
    do when each of them has one.
    With ``emit`` False nothing is parsed: only those refusals are written (for a refused file).
    """
    own = surveyed.store_ordinal
    file_store = store_of(surveyed.meta)
    refusals: list[tuple[RawLine, str]] = []
    # The common file: every line its store's first of its NNBS, none sharing a key. No lookups then.
    every_line_alone = surveyed.lines == surveyed.unique_lines and not surveyed.joins
    scratch.start_second_pass()
    with scratch.begin(write=False) as txn, _lines_again(path, surveyed, on_position) as lines:
        for raw in lines:
            if every_line_alone:
                if emit:
                    yield [_alone(scratch, txn, raw)]
                continue
            role = scratch.role(txn, raw.line_no)
            if role is None:
                continue  # refused in pass one, with its reason
            store, first, seen, grouped = role
            if store != own:
                refusals.append((raw, str(another_store(scratch.store_name(txn, store), file_store))))
                if len(refusals) >= SCRATCH_COMMIT_EVERY:
                    _log_refusals(scratch, refusals)
                continue
            if not first or not emit:
                continue
            if not grouped:  # alone in its unit: no group to look up
                yield [_candidate(raw, seen) if seen is not None else _parsed(raw.line_no, raw.data, grouped=False)]
                continue
            root = scratch.group_root(txn, raw.line_no)
            members, last = scratch.group(txn, root)
            with scratch.begin() as write:
                scratch.defer(write, root, raw.line_no, raw.data)
                waiting = scratch.take_deferred(write, root) if raw.line_no == last else []
            if waiting:
                yield _group_unit(scratch, txn, waiting)
    _log_refusals(scratch, refusals)


def _alone(scratch: FileScratch, txn, raw: RawLine) -> ReadLine | Candidate:
    """A line of the common file (every line its own unit): a candidate if pass one kept its digest."""
    role = scratch.role(txn, raw.line_no) if scratch.digests_kept else None
    if role is not None and role[2] is not None:
        return _candidate(raw, role[2])
    return _parsed(raw.line_no, raw.data, grouped=False)


def _group_unit(scratch: FileScratch, txn, waiting: list[tuple[int, bytes]]) -> list[ReadLine | Candidate]:
    """A group's lines, as candidates if pass one kept the digest of each (it keeps none without an index
    that remembers lines), else parsed."""
    seen = [scratch.role(txn, line_no)[2] for line_no, _ in waiting] if scratch.digests_kept else []
    if seen and all(s is not None for s in seen):
        return [Candidate(line_no, data, *s, grouped=True) for (line_no, data), s in zip(waiting, seen)]
    return [_parsed(line_no, data, grouped=True) for line_no, data in waiting]


def _parsed(line_no: int, data: bytes, *, grouped: bool) -> ReadLine:
    warnings: list[LineWarning] = []
    # Pass one made every check that refuses a line, so this line parses.
    line = parse_line(line_no, orjson.loads(data), warnings)
    # Only a warned line is shown in the rejects log, and only a grouped one can be warned later.
    shown = shown_line(data) if warnings or grouped else ""
    return ReadLine(line, shown, len(data), warnings)


def _log_refusals(scratch: FileScratch, refusals: list[tuple[RawLine, str]]) -> None:
    if refusals:
        with scratch.begin() as txn:
            for raw, reason in refusals:
                _log(scratch, txn, raw.line_no, "rejected", reason, shown_line(raw.data), raw.length)
        refusals.clear()


def note_outcome(scratch: FileScratch, units: list[list[ReadLine]], pairs: list[tuple[ScrapedLine, int]]) -> None:
    """Keep the chunk's warned lines, saying of lines that share a key what became of them."""
    product_of = {id(line): pid for line, pid in pairs}
    with scratch.begin() as txn:
        for unit in units:
            shared = shared_key_warnings([r.line for r in unit], product_of) if len(unit) > 1 else {}
            for read in unit:
                _log_warned(scratch, txn, read.line.line_no, read.warnings + shared.get(read.line.line_no, []),
                            read.shown, read.length)


def note_seen_group(scratch: FileScratch, group: list[Candidate], product_id: int) -> None:
    """Keep the warnings of a group of lines that was seen, as ``note_outcome`` keeps them for a group that
    is updated: its lines went to the one product again, and none has a warning of its own (a line with
    one is never remembered)."""
    shared = shared_key_warnings(group, {id(line): product_id for line in group})
    with scratch.begin() as txn:
        for line in group:
            _log_warned(scratch, txn, line.line_no, shared.get(line.line_no, []), shown_line(line.data),
                        len(line.data))


def _log_warned(scratch: FileScratch, txn, line_no: int, warnings: list[LineWarning], shown: str,
                length: int) -> None:
    if warnings:
        entry = ["kept", "; ".join(w.message for w in warnings), shown, length, [w.kind for w in warnings]]
        scratch.log_warned(txn, line_no, orjson.dumps(entry))


def _log(scratch: FileScratch, txn, line_no: int, action: str, reason: str, shown: str, length: int) -> None:
    scratch.log_refused(txn, line_no, orjson.dumps([action, reason, shown, length, []]))


def finish(scratch: FileScratch, surveyed: Survey, rejects: RejectsLog | None) -> None:
    """Write the rejects log in line order; count the warned lines and keep the first refused ones."""
    surveyed.problems, surveyed.lines_with_warnings, surveyed.warnings = [], 0, Counter()
    with scratch.begin(write=False) as txn:
        for line_no, entry in heapq.merge(scratch.logged(txn, "log"), scratch.logged(txn, "warned")):
            action, reason, shown, length, kinds = orjson.loads(entry)
            if action == "rejected" and len(surveyed.problems) < MAX_PROBLEMS_KEPT:
                surveyed.problems.append(LineProblem(line_no, reason))
            if action == "kept":
                surveyed.lines_with_warnings += 1
                surveyed.warnings.update(kinds)
            if rejects is not None:
                rejects.write(line_no, action, reason, shown.encode(), length)
    if rejects is not None:
        rejects.close()
