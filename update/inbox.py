"""The inbox, the archive and the rejected folder: files are moved between them, never deleted.

Scrapers should write a file under another name (for example ``name.jsonl.part``) and rename it into
place when complete: a rename is atomic, so the update never takes a half-written file. Only names
ending in ``.jsonl`` or ``.jsonl.gz`` are taken.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

INPUT_SUFFIXES = (".jsonl", ".jsonl.gz")
_DATED_NAME = re.compile(r"-(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?$")


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


def list_inbox(inbox: Path) -> tuple[list[InboxFile], list[str]]:
    """Input files oldest date first (then by name), and the names of entries that are not input."""
    files, ignored = [], []
    if not inbox.is_dir():
        return [], []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.name.endswith(INPUT_SUFFIXES):
            files.append(InboxFile(entry, date_from_name(entry.name)))
        else:
            ignored.append(entry.name)
    files.sort(key=lambda f: (f.date or date.max, f.name))
    return files, ignored


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{name}.{n}"
        n += 1
    return target


def archive(path: Path, archive_dir: Path) -> Path:
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(archive_dir, path.name)
    path.replace(target)
    return target


def reject(path: Path, rejected_dir: Path, reason: str) -> Path:
    """Move a refused file aside with a ``.reason.txt`` beside it that says why."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = _free_name(rejected_dir, path.name)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    path.replace(target)
    return target
