"""Streaming reads of one inbox file, in two passes that never hold the file in memory.

Pass one (``survey``) decodes every line, keeps the first line of each NNBS in the scratch store, takes
the file's metadata from the first valid line, checks every other line against it, counts what the
partial-scrape check needs and writes refused lines to the rejects log. Pass two (``unique_lines``)
reads again and yields only each NNBS's first line, in file order.

Lines are read with a length cap: a 10 MB line costs one bounded buffer and a rejection, never a
10 MB allocation.
"""
from __future__ import annotations

import errno
import gzip
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import orjson

from .lines import (
    FileMeta,
    LineRejected,
    LineWarning,
    ScrapedLine,
    check_same_file,
    parse_line,
    parse_meta,
)
from .rejects import RejectsLog
from .scratch import FileScratch

# Lines per scratch write transaction: the commit is cheap, but one per line would dominate pass one.
SCRATCH_COMMIT_EVERY = 5_000
# Real lines are 1 to 4 KB. A megabyte is far beyond any product, and small enough to buffer once.
MAX_LINE_BYTES = 1 << 20
# How much of an over-long line is read per step while skipping to its end.
_SKIP_BLOCK = 1 << 16
# Progress is reported every this many bytes, not per line: a callback per line would cost more than
# the bar is worth on a 300k-line file.
PROGRESS_EVERY_BYTES = 1 << 18
MAX_PROBLEMS_KEPT = 100
_BOM = b"\xef\xbb\xbf"

OnPosition = Callable[[int], None]


class UnreadableFile(OSError):
    """The file as a whole can't be read: refused, with the reason the operator reads."""


@dataclass
class LineProblem:
    line_no: int
    reason: str


@dataclass
class Survey:
    meta: FileMeta | None = None
    lines: int = 0
    unique_lines: int = 0
    duplicate_lines: int = 0
    rejected: Counter = field(default_factory=Counter)
    # The first problems, for the report; every one of them is counted in ``rejected``.
    problems: list[LineProblem] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    lines_with_warnings: int = 0
    bom: bool = False
    crlf_lines: int = 0

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
class RawLine:
    line_no: int
    data: bytes  # the line without its end; only the first MAX_LINE_BYTES when ``length`` is more
    length: int  # bytes in the line, without its end
    ended: bool  # False for a last line without a newline


class InputFile:
    """An inbox file opened for reading, plain or gzip, never through a symlink."""

    def __init__(self, path: Path):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnreadableFile("a symlink: not followed") from None
            raise UnreadableFile(f"can't be opened ({exc.strerror})") from None
        self.raw = os.fdopen(fd, "rb")
        self.compressed = path.name.endswith(".gz")
        self.handle = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.compressed else self.raw
        self.consumed = 0

    def position(self) -> int:
        """Bytes of the file on disk read so far (what a progress bar over its size wants)."""
        return self.raw.tell() if self.compressed else self.consumed

    def readline(self, limit: int) -> bytes:
        try:
            chunk = self.handle.readline(limit)
        except EOFError:
            raise UnreadableFile("the compressed stream ends early (a truncated .gz): what is missing "
                                 "can't be known, so the whole file is refused") from None
        except gzip.BadGzipFile as exc:
            raise UnreadableFile(f"not a gzip file ({exc})") from None
        except zlib.error as exc:
            raise UnreadableFile(f"corrupt compressed data ({exc})") from None
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
    """Every line of the file, numbered from 1, each read with a bounded buffer."""
    line_no = 0
    while True:
        chunk = source.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        line_no += 1
        if chunk.endswith(b"\n"):
            yield RawLine(line_no, chunk[:-1], len(chunk) - 1, True)
        elif len(chunk) <= MAX_LINE_BYTES:
            yield RawLine(line_no, chunk, len(chunk), False)
        else:
            length, ended = len(chunk), False
            while rest := source.readline(_SKIP_BLOCK):
                if rest.endswith(b"\n"):
                    length += len(rest) - 1
                    ended = True
                    break
                length += len(rest)
            yield RawLine(line_no, chunk[:MAX_LINE_BYTES], length, ended)


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


def numbered_records(source: InputFile, survey_: Survey | None = None,
                     on_position: OnPosition | None = None) -> Iterator[tuple[RawLine, object]]:
    """Yield (raw line, decoded JSON or a LineRejected) for each non-blank line."""
    reported = 0
    for raw in physical_lines(source):
        if raw.data.startswith(_BOM):
            raw.data, raw.length = raw.data[3:], raw.length - 3
            if survey_ is not None:
                survey_.bom = True
        if raw.data.endswith(b"\r"):
            raw.data, raw.length = raw.data[:-1], raw.length - 1
            if survey_ is not None:
                survey_.crlf_lines += 1
        if on_position is not None and source.consumed - reported >= PROGRESS_EVERY_BYTES:
            reported = source.consumed
            on_position(source.position())
        if not raw.data.strip():
            continue
        yield raw, decode(raw)
    if on_position is not None:
        on_position(source.position())


def survey(path: Path, scratch: FileScratch, rejects: RejectsLog | None = None,
           on_position: OnPosition | None = None) -> Survey:
    result = Survey()
    txn = scratch.begin()
    try:
        with InputFile(path) as source:
            for raw, record in numbered_records(source, result, on_position):
                result.lines += 1
                warnings: list[LineWarning] = []
                try:
                    if isinstance(record, LineRejected):
                        raise record
                    line = parse_line(raw.line_no, record, warnings)
                    line_meta = parse_meta(record.get("metadata"))
                    if result.meta is None:
                        result.meta = line_meta
                    else:
                        check_same_file(result.meta, line_meta)
                except LineRejected as exc:
                    _rejected(result, rejects, raw, exc)
                    continue
                if scratch.claim_nnbs(txn, line.nnbs, raw.line_no):
                    result.unique_lines += 1
                    warnings += _shared_keys(scratch, txn, line)
                    if warnings:
                        _warned(result, rejects, raw, warnings)
                else:
                    result.duplicate_lines += 1
                if result.lines % SCRATCH_COMMIT_EVERY == 0:
                    txn.commit()
                    txn = scratch.begin()
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    finally:
        if rejects is not None:
            rejects.close()
    return result


def _rejected(result: Survey, rejects: RejectsLog | None, raw: RawLine, exc: LineRejected) -> None:
    result.rejected[exc.kind] += 1
    if len(result.problems) < MAX_PROBLEMS_KEPT:
        result.problems.append(LineProblem(raw.line_no, str(exc)))
    if rejects is not None:
        rejects.write(raw.line_no, "rejected", str(exc), raw.data, raw.length)


def _warned(result: Survey, rejects: RejectsLog | None, raw: RawLine, warnings: list[LineWarning]) -> None:
    result.lines_with_warnings += 1
    result.warnings.update(w.kind for w in warnings)
    if rejects is not None:
        rejects.write(raw.line_no, "kept", "; ".join(w.message for w in warnings), raw.data, raw.length)


def _shared_keys(scratch: FileScratch, txn, line: ScrapedLine) -> list[LineWarning]:
    """A barcode or SKU that an earlier NNBS of this file carried: the two lines become one product."""
    warnings = []
    for kind, key in (("barcode", line.barcode), ("sku", line.sku)):
        if key is None:
            continue
        earlier = scratch.claim_key(txn, kind, key, line.line_no)
        if earlier is not None:
            warnings.append(LineWarning(
                f"same {kind} as an earlier line under another NNBS (one product)",
                f"{kind} {key!r} also on line {earlier} under another NNBS: both are one product"))
    return warnings


def unique_lines(path: Path, scratch: FileScratch,
                 on_position: OnPosition | None = None) -> Iterator[ScrapedLine]:
    """Yield the first valid line of each NNBS, in file order."""
    with scratch.env.begin() as txn, InputFile(path) as source:
        for raw, record in numbered_records(source, on_position=on_position):
            if isinstance(record, LineRejected):
                continue
            try:
                line = parse_line(raw.line_no, record)
            except LineRejected:
                continue
            if scratch.first_line_of(txn, line.nnbs) == raw.line_no:
                yield line
