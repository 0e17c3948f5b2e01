"""Scratch folders of this process, and the ones that killed processes left behind.

A scratch LMDB (the index's pending writes, the update's per-file tables) is removed when its owner closes
it. A process killed outright (the kernel's OOM killer, ``kill -9``, a timeout's SIGKILL) cannot, and
leaves its folder behind: a few MB on disk each, an 8 GiB sparse file to ``ls``. A folder's name carries
its process id, so the first scratch folder a process makes removes the ones whose process is gone.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Folders of the release before ids were in the names: removed once nothing has written them for this long.
UNNAMED_MAX_AGE_S = 24 * 3600

_swept: set[tuple[str, str]] = set()


def make(prefix: str, directory: Path | None = None) -> Path:
    """A new scratch folder named ``{prefix}{pid}-...``, after this process's first sweep of ``prefix``."""
    root = Path(directory) if directory is not None else Path(tempfile.gettempdir())
    if (prefix, str(root)) not in _swept:
        _swept.add((prefix, str(root)))
        removed = remove_leftovers(prefix, root)
        if removed:
            log.info("removed %d scratch folder(s) %s* left in %s by killed processes", len(removed), prefix, root)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))


def remove_leftovers(prefix: str, root: Path, *, now: float | None = None) -> list[Path]:
    """Remove the ``prefix`` folders under ``root`` whose process is gone; return them."""
    now = time.time() if now is None else now
    removed = []
    for path in sorted(root.glob(f"{prefix}*")):
        if path.is_dir() and _left_behind(path, path.name[len(prefix):], now):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _left_behind(path: Path, rest: str, now: float) -> bool:
    head, sep, _ = rest.partition("-")
    if sep and head.isdigit():
        return not _alive(int(head))
    try:
        newest = max(entry.stat().st_mtime for entry in [path, *path.iterdir()])
    except OSError:  # removed meanwhile by its owner
        return False
    return now - newest > UNNAMED_MAX_AGE_S


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
