"""Streaming reads of one inbox file, in two passes that never hold the file in memory.

Pass one (``survey``) decodes every line, keeps the first line of each NNBS in the scratch store, takes
the file's metadata from the first valid line and counts what the partial-scrape check needs. Pass two
(``unique_lines``) reads again and yields only each NNBS's first line, in file order.
"""
from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import orjson

from .lines import FileMeta, LineRejected, ScrapedLine, parse_line, parse_meta
from .scratch import FileScratch

# Lines per scratch write transaction: the commit is cheap, but one per line would dominate pass one.
SCRATCH_COMMIT_EVERY = 5_000


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

    @property
    def lines_rejected(self) -> int:
        return sum(self.rejected.values())


MAX_PROBLEMS_KEPT = 100


def open_input(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def numbered_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, decoded JSON or a LineRejected) for each non-blank line."""
    with open_input(path) as handle:
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                yield line_no, orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield line_no, LineRejected(f"not valid JSON ({str(exc).split(':')[0]})")


def survey(path: Path, scratch: FileScratch, on_bytes: Callable[[int], None] | None = None) -> Survey:
    result = Survey()
    txn = scratch.begin()
    try:
        for line_no, record in numbered_records(path):
            result.lines += 1
            try:
                if isinstance(record, LineRejected):
                    raise record
                line = parse_line(line_no, record)
                if result.meta is None:
                    result.meta = parse_meta(record.get("metadata"))
            except LineRejected as exc:
                result.rejected[str(exc)] += 1
                if len(result.problems) < MAX_PROBLEMS_KEPT:
                    result.problems.append(LineProblem(line_no, str(exc)))
                continue
            if scratch.claim_nnbs(txn, line.nnbs, line_no):
                result.unique_lines += 1
            else:
                result.duplicate_lines += 1
            if result.lines % SCRATCH_COMMIT_EVERY == 0:
                txn.commit()
                txn = scratch.begin()
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    return result


def unique_lines(path: Path, scratch: FileScratch) -> Iterator[ScrapedLine]:
    """Yield the first valid line of each NNBS, in file order."""
    with scratch.env.begin() as txn:
        for line_no, record in numbered_records(path):
            if isinstance(record, LineRejected):
                continue
            try:
                line = parse_line(line_no, record)
            except LineRejected:
                continue
            if scratch.first_line_of(txn, line.nnbs) == line_no:
                yield line
