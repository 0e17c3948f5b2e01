"""The inbox, the archive and the rejected folder: files are moved between them, never deleted.

Scrapers should write a file under another name (for example ``name.jsonl.part``) and rename it into
place when complete: a rename is atomic, so the update never takes a half-written file. Regular files
whose names end in ``.jsonl`` or in a compression (``.gz``, ``.bz2``, ``.xz``, and those the reader
refuses, see compression.py) are taken; everything else is left where it is and named in the report with
the reason (a symlink is never followed: it could point anywhere).

Files are taken in scrape order: the date their lines give them (scrape_dates.py), whatever the name says;
the name only breaks ties. A name that breaks the pattern, or whose date is not its lines', is warned of
once, when the file is taken.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Callable

from .compression import compression_of, is_compressed
from .moves import move_file, write_text_atomically
from .rejects import REJECTS_SUFFIX

IN_PROGRESS_SUFFIXES = (".part", ".tmp")
NAME_PATTERN = "{company}-{store}-{YYYY-MM-DD}.jsonl"
# Of a name without its compression: the date, then an optional ".N" added when the name was taken in
# the archive or rejected folder.
_DATED_NAME = re.compile(r"-(\d{4}-\d{2}-\d{2})(\.\d+)?\.jsonl$")
# The whole pattern: a company, a store, the date.
_PATTERN = re.compile(r"^[^-.]+-[^.]+-\d{4}-\d{2}-\d{2}(\.\d+)?\.jsonl$")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    name_date: date | None  # what the name says, if it says a date
    date: date | None = None  # what the lines say (scrape_dates.py); None: unreadable, refused when taken

    @property
    def name(self) -> str:
        return self.path.name


def without_compression(name: str) -> str:
    """"aldi-x-2025-09-01.jsonl" of "aldi-x-2025-09-01.jsonl.gz": what the name says of the file's content."""
    suffix = compression_of(name)
    return name[: -len(suffix)] if suffix else name


def date_from_name(name: str) -> date | None:
    match = _DATED_NAME.search(without_compression(name))
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def list_inbox(inbox: Path, settle_s: float = 0) -> tuple[list[InboxFile], list[str]]:
    """Input files by name, and "name: why" for each entry left alone (``in_scrape_order`` orders them).

    ``settle_s`` leaves files modified that recently for the next run: a guard for scrapers that
    write in place instead of renaming a finished file.
    """
    files, ignored = [], []
    if not inbox.is_dir():
        return [], []
    now = time.time()
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        why = why_not_input(entry, now, settle_s)
        if why:
            ignored.append(f"{entry.name}: {why}")
        else:
            files.append(InboxFile(entry, date_from_name(entry.name)))
    return files, ignored


def in_scrape_order(files: list[InboxFile],
                    date_of: Callable[[Path, date | None], date | None]) -> list[InboxFile]:
    """The files dated by their lines (``date_of(path, name_date)``), oldest first, then by name;
    undatable ones last.

    Legacy hazard #1: a newer scrape taken before an older one makes the older one stale, and it is lost.
    """
    dated = [replace(f, date=date_of(f.path, f.name_date)) for f in files]
    return sorted(dated, key=lambda f: (f.date or date.max, f.name))


def name_warning(entry: InboxFile) -> str:
    """What is wrong with the file's name for the order it is taken in, or ""."""
    taken = f"taken in the order of its lines' scrape date, {entry.date}" if entry.date else \
        "its lines give no date: taken last"
    if not _PATTERN.search(without_compression(entry.name)) or entry.name_date is None:
        return f"{entry.name}: the name does not follow {NAME_PATTERN}; {taken}"
    if entry.date is not None and entry.name_date != entry.date:
        return f"{entry.name}: the name says {entry.name_date}, but its lines were scraped {entry.date}; {taken}"
    return ""


def why_not_input(entry: Path, now: float, settle_s: float) -> str | None:
    if entry.is_symlink():
        return "a symlink, not followed (put the file itself in the inbox)"
    if not entry.is_file():
        return "not a regular file"
    if entry.name.endswith(IN_PROGRESS_SUFFIXES):
        return "still being written (taken once renamed to .jsonl)"
    if entry.name.endswith(REJECTS_SUFFIX):
        return "a rejects file written by the update, not input"
    if not (entry.name.endswith(".jsonl") or is_compressed(entry.name)):
        return "not a .jsonl file, nor a compressed one (.gz, .bz2, .xz)"
    age = now - entry.stat().st_mtime
    if settle_s and age < settle_s:
        return f"modified {age:.0f}s ago, left for the next run (it may still be being written)"
    return None


def archive(path: Path, archive_dir: Path) -> Path:
    return move_file(path, archive_dir)


def reject(path: Path, rejected_dir: Path, reason: str) -> Path:
    """Move a refused file aside, then write ``NAME.reason.txt`` beside it that says why.

    The reason is written after the move, so a move that fails leaves no reason behind for a file
    that is still in the inbox.
    """
    target = move_file(path, rejected_dir)
    write_text_atomically(reason_path(target), reason + "\n")
    return target


def reason_path(moved: Path) -> Path:
    return moved.with_name(moved.name + ".reason.txt")
