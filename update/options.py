"""Every option of the update and of the index build, checked in one place for both commands.

``bin/update-products`` (click) and ``manage.py update`` (argparse) parse text into values and hand
them here untouched, so a value refused by one is refused by the other with the same words, before
anything is opened or written.
"""
from __future__ import annotations

import math
from pathlib import Path

from .memory import anon_bytes
from .orchestrator import CHUNK_SIZE, UpdateOptions
from .progress import NullProgress

# A chunk's IN (...) lists must stay under SQLite's parameter limit; see CHUNK_SIZE.
MAX_CHUNK_SIZE = 5000
INDEX_BACKENDS = ("lmdb", "memory")
# Rows per batch of the index build: each batch is one read of the database and one LMDB transaction.
MAX_BATCH_SIZE = 1_000_000


class OptionError(ValueError):
    """A bad option value, said in one line that names the option."""


def _int_in_range(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise OptionError(f"{name} must be {allowed}, got {value}")
    return value


def update_options(*, inbox, archive, rejected, index_path, index_backend: str = "lmdb",
                   chunk_size: int | None = None, dry_run: bool = False, max_memory_mb: int | None = None,
                   settle_seconds: float = 0, progress=None) -> UpdateOptions:
    """The run's options, every value checked; raises OptionError on the first bad one."""
    if index_backend not in INDEX_BACKENDS:
        raise OptionError(f"--index-backend must be one of {', '.join(INDEX_BACKENDS)}, got {index_backend!r}")
    chunk_size = CHUNK_SIZE if chunk_size is None else _int_in_range("--chunk-size", chunk_size, 1, MAX_CHUNK_SIZE)
    if not isinstance(settle_seconds, (int, float)) or not math.isfinite(settle_seconds) or settle_seconds < 0:
        raise OptionError(f"--settle-seconds must be a number of seconds, 0 or more, got {settle_seconds!r}")
    max_memory_bytes = 0
    if max_memory_mb is not None:
        _int_in_range("--max-memory", max_memory_mb, 1)
        max_memory_bytes = max_memory_mb * 2**20
        floor = anon_bytes()
        # Under what the process holds before reading a line, the guard would stop every run before
        # its first file: that is a mistake in the limit, not a memory problem.
        if max_memory_bytes <= floor:
            raise OptionError(f"--max-memory {max_memory_mb} MB is below what the update holds before reading "
                              f"a file ({floor / 2**20:.0f} MB): give at least {_round_up(floor)} MB")
    for name, value in (("--inbox", inbox), ("--archive", archive), ("--rejected", rejected),
                        ("--index-path", index_path)):
        if value is None or str(value) == "":
            raise OptionError(f"{name} is empty: give a folder")
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise OptionError(f"inbox {inbox} is not a folder")
    return UpdateOptions(inbox=inbox, archive=Path(archive), rejected=Path(rejected), index_path=Path(index_path),
                         index_backend=index_backend, chunk_size=chunk_size, dry_run=dry_run,
                         progress=progress or NullProgress(), max_memory_bytes=max_memory_bytes,
                         settle_s=float(settle_seconds))


def build_batch_size(batch_size: int | None) -> int | None:
    """``--batch-size`` of the index build: None keeps the build's default."""
    if batch_size is None:
        return None
    return _int_in_range("--batch-size", batch_size, 1, MAX_BATCH_SIZE)


def _round_up(floor_bytes: int) -> int:
    return int(math.ceil(floor_bytes / 2**20 / 16) + 1) * 16
