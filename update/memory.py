"""Peak memory of this process, as the report and the memory guard (``--max-memory``) read it.

RSS counts the LMDB index's mapped pages, which are page cache the kernel can drop at will; anonymous
memory (RssAnon in /proc/self/status) is what the process really holds, and what a small VPS runs out of.
Peaks are sampled by a daemon thread, and read once more at each file boundary.
"""
from __future__ import annotations

import ctypes
import gc
import resource
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.02
_STATUS = Path("/proc/self/status")
# glibc's mallopt parameter, and the size from which an allocation gets pages of its own (glibc's default).
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold() -> bool:
    """Give every allocation of MMAP_THRESHOLD or more its own pages, returned when it is freed.

    glibc starts there too, but raises the threshold to the size of each such block freed, up to 32 MB:
    after the first large transient buffers (a file's read blocks, a bulk statement, a big result) later
    ones come from the heap, and what they leave free between live blocks stays resident. Fixing it kept
    the update's peak lower on a 100k day of 3 files (56.1 to 52.8 MiB, CPU unchanged); at 1M it did not
    move (72 MiB), so it is not what holds that peak. True where it was set (glibc); elsewhere nothing
    changes.
    """
    try:
        # The symbols the process already has, libc's among them: ctypes.util.find_library would run
        # ldconfig in a child process, about 15 ms of every run's start.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


# Container allocations between young-generation collections during a run (Python's default is 700).
YOUNG_COLLECTION_EVERY = 10_000


@contextmanager
def quiet_collector():
    """The cyclic garbage collector, tuned for the run: what was alive when it started (modules, Django's
    registries, settings) is frozen out of every collection, and the young generation is collected every
    10,000 allocations, not 700.

    Each line decodes into dozens of short-lived containers, most freed at once by their reference counts;
    at the default the collector ran over 1,100 times on a day of 75,000 lines, and each full collection
    walked every object the process had imported. By hand on the 24 files of real size: the collector's
    time from 0.10-0.14 s to 0.05-0.07 s of about 1.9 s. The collector is on for the run (bin/update-products
    imports with it off), and all of it is undone at the end, for a process that goes on (the tests run
    many updates in one).
    """
    saved, enabled, frozen = gc.get_threshold(), gc.isenabled(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *saved[1:])
    gc.enable()  # bin/update-products imports with it off
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if not frozen:  # unfreezing is all or nothing: what someone froze before stays frozen
            gc.unfreeze()
        if not enabled:
            gc.disable()


def anon_bytes() -> int:
    """Anonymous resident memory, or RSS where /proc does not say (not Linux)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return psutil.Process().memory_info().rss


def over_limit(limit_bytes: int) -> int:
    """The anonymous bytes in use when they exceed ``limit_bytes`` (0: no limit), else 0.

    Garbage is collected first, so cycles left by the last file don't count against the next.
    """
    if not limit_bytes:
        return 0
    gc.collect()
    used = anon_bytes()
    return used if used > limit_bytes else 0


def peak_rss_bytes() -> int:
    """The kernel's own high-water mark of RSS (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class MemoryWatch:
    def __init__(self, interval: float = SAMPLE_INTERVAL_S):
        self.interval = interval
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def sample(self) -> int:
        current = anon_bytes()
        self.peak_anon = max(self.peak_anon, current)
        return current

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
