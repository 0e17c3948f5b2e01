"""The inbox, the archive and the rejected folder: files are moved between them, never deleted.

Scrapers should write a file under another name (for example ``name.jsonl.part``) and rename it into
place when complete: a rename is atomic, so the update never takes a half-written file. Only regular
files whose names end in ``.jsonl`` or ``.jsonl.gz`` are taken; everything else is left where it is and
named in the report with the reason (a symlink is never followed: it could point anywhere).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .moves import move_file, write_text_atomically
from .rejects import REJECTS_SUFFIX

INPUT_SUFFIXES = (".jsonl", ".jsonl.gz")
IN_PROGRESS_SUFFIXES = (".part", ".tmp")
# The date, then an optional ".N" added when the name was taken in the archive or rejected folder.
_DATED_NAME = re.compile(r"-(\d{4}-\d{2}-\d{2})(\.\d+)?\.jsonl(\.gz)?$")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    date: date | None  # from the name; None sorts last and the file's metadata decides

    @property
    def name(self) -> str:
        return self.path.name


def date_from_name(name: str) -> date | None:
    match = _DATED_NAME.search(name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def list_inbox(inbox: Path, settle_s: float = 0) -> tuple[list[InboxFile], list[str]]:
    """Input files oldest date first (then by name), and "name: why" for each entry left alone.

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
    files.sort(key=lambda f: (f.date or date.max, f.name))
    return files, ignored


def why_not_input(entry: Path, now: float, settle_s: float) -> str | None:
    if entry.is_symlink():
        return "a symlink, not followed (put the file itself in the inbox)"
    if not entry.is_file():
        return "not a regular file"
    if entry.name.endswith(IN_PROGRESS_SUFFIXES):
        return "still being written (taken once renamed to .jsonl)"
    if entry.name.endswith(REJECTS_SUFFIX):
        return "a rejects file written by the update, not input"
    if not entry.name.endswith(INPUT_SUFFIXES):
        return "not a .jsonl or .jsonl.gz file"
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
