"""The date a file's lines give it, read before the run takes any file, so files go in scrape order.

The survey (reader.py) dates a file by the store most of its lines name: that store's first line. This
finds the same date in one streaming scan with a constant amount of memory: the Boyer-Moore majority vote
over the stores the lines name gives the only store that can hold the majority the survey asks for (90%),
and that store's first line is nearly always the file's first line (else a second scan stops at it). A
file with no such majority is refused by the survey whatever its date, so the date found for it matters
to no store.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterator

from .lines import FileMeta, LineRejected, parse_meta, store_of
from .reader import InputFile, decode, numbered_lines


def scrape_date(path: Path, name_date: date | None = None) -> date | None:
    """The file's date as the survey will decide it, or None when no line names a store or the file can't
    be read (the survey then refuses it, saying why).

    When the first line that names a store gives the date the name gives (``name_date``), that is the
    date, read off one line: a second reading of every line would cost most of what an unchanged line
    costs (issue 20). Only a file whose majority store is not its first line's and whose name agrees with
    that stray first line is then dated otherwise than by the survey.
    """
    try:
        if name_date is not None:
            votes = _votes(path)
            try:
                first = next(votes, None)
            finally:
                votes.close()  # the file, at once
            if first is not None and first.scraped_date == name_date:
                return name_date
        first, majority = _majority_store(path)
        if first is None:
            return None
        if store_of(first) == majority:
            return first.scraped_date
        return next(m.scraped_date for m in _votes(path) if store_of(m) == majority)
    except OSError:  # UnreadableFile too
        return None


def _majority_store(path: Path) -> tuple[FileMeta | None, str | None]:
    """The first line's store, and the store holding a majority of the lines if one does."""
    first, candidate, lead = None, None, 0
    for meta in _votes(path):
        store = store_of(meta)
        if first is None:
            first = meta
        if lead == 0:
            candidate = store
        lead += 1 if store == candidate else -1
    return first, candidate


def _votes(path: Path) -> Iterator[FileMeta]:
    """The metadata of every line that names a store: the lines the survey counts as its votes."""
    last: tuple[dict, FileMeta] | None = None
    with InputFile(path) as source:
        for raw in numbered_lines(source):
            record = decode(raw)
            if not isinstance(record, dict):
                continue
            raw_meta = record.get("metadata")
            # Every line of a file repeats its metadata: an equal dict is parsed once in a row.
            if last is not None and raw_meta == last[0]:
                yield last[1]
                continue
            try:
                meta = parse_meta(raw_meta)
            except LineRejected:
                continue
            last = (raw_meta, meta)
            yield meta
