"""Moving a file between the inbox, the archive and the rejected folder without ever losing it.

A rename is atomic within one filesystem. Across two (an inbox on its own mount), ``rename`` fails
with EXDEV, so the file is copied under a hidden temporary name, fsynced, renamed into place, the
folder fsynced, and only then is the original unlinked: a crash at any point leaves at least one
whole copy, and never a half-written file under the final name.
"""
from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

from .compression import compression_of

# Left by a move across filesystems that was cut short; never an input name (see inbox.why_not_input).
MOVING_PREFIX = ".moving-"


class FolderNotWritable(OSError):
    """One of the run's folders can't be written; the message says which and what to do."""


def split_suffix(name: str) -> tuple[str, str]:
    """("aldi-x-2025-09-01", ".jsonl.gz"): the stem and the input suffix (``.jsonl``, its compression, or
    both), or the whole name and ""."""
    compression = compression_of(name)
    for suffix in (".jsonl" + compression, compression, ".jsonl"):
        if suffix and name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``NAME.1.jsonl``, ``NAME.2.jsonl``... when taken: the extension stays last,
    so a file moved back to the inbox is still taken as input."""
    target = folder / name
    stem, suffix = split_suffix(name)
    n = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{stem}.{n}{suffix}"
        n += 1
    return target


def move_file(source: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``source`` into ``folder`` under a free name and return where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    target = free_name(folder, name or source.name)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_then_unlink(source, target)
    _fsync_dir(folder)
    return target


def _copy_then_unlink(source: Path, target: Path) -> None:
    temporary = target.parent / f"{MOVING_PREFIX}{uuid.uuid4().hex[:8]}-{target.name}"
    try:
        with open(source, "rb") as src, open(temporary, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(source, temporary)
        os.rename(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    source.unlink()
    _fsync_dir(source.parent)


def write_text_atomically(path: Path, text: str) -> None:
    """A small file (a reason, a report) that is either whole or absent."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename itself is still atomic
    finally:
        os.close(fd)


def check_writable(what: str, folder: Path, option: str, *, create: bool) -> None:
    """Raise FolderNotWritable unless a file can be created (and removed) in ``folder``.

    A real write, not ``os.access``: root passes every permission check but a read-only mount, and
    a full disk shows only when writing.
    """
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise FolderNotWritable(errno.ENOTDIR, f"{what} {folder} is not a folder")
        probe = folder / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        with open(probe, "xb") as handle:
            handle.write(b"x")
        probe.unlink()
    except FolderNotWritable:
        raise
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise FolderNotWritable(exc.errno or errno.EACCES,
                                f"{what} {folder} can't be written ({reason}): fix its permissions or "
                                f"mount, or give another with {option}") from None
