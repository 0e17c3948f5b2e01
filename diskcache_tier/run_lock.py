"""One update, build or catch-up at a time on one index: an advisory lock on a file beside it."""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class UpdateLocked(RuntimeError):
    """Another update holds the lock."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """An advisory lock on a file: the kernel releases it when the process dies, so no stale lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UpdateLocked(f"another update is running (lock held on {path})") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
