"""A memory cgroup for one child process: the benchmark's stand-in for a small VPS.

cgroup v1 (``memory.limit_in_bytes``) or v2 (``memory.max``), as root. The child joins the group between
fork and exec (``preexec_fn``), so everything it ever allocates is charged to the group. Page cache the
child causes (input files, the database, LMDB's mapped pages) is charged too but is reclaimable, as on a
real VPS; the OOM killer only fires when what cannot be reclaimed outgrows the limit.
"""
from __future__ import annotations

import os
import time
from itertools import count
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/memory")
V2_ROOT = Path("/sys/fs/cgroup")
_serial = count()


def unavailable_reason() -> str | None:
    """Why no memory cgroup can be made here, or None when one can."""
    if os.geteuid() != 0:
        return "not root: no memory cgroup (runs under the limit skipped)"
    if (V1_ROOT / "memory.limit_in_bytes").exists() and os.access(V1_ROOT, os.W_OK):
        return None
    controllers = V2_ROOT / "cgroup.subtree_control"
    if controllers.exists() and "memory" in controllers.read_text().split():
        return None
    return "no writable cgroup v1 memory controller or v2 memory controller (runs under the limit skipped)"


class MemoryCgroup:
    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self.v1 = (V1_ROOT / "memory.limit_in_bytes").exists()
        root = V1_ROOT if self.v1 else V2_ROOT
        self.path = root / f"bench-{os.getpid()}-{next(_serial)}"
        self.path.mkdir()
        self.notes: list[str] = []
        if self.v1:
            self._write("memory.limit_in_bytes", limit_bytes)
            if (self.path / "memory.memsw.limit_in_bytes").exists():
                # Memory plus swap: without it a machine with swap would page out instead of failing.
                self._write("memory.memsw.limit_in_bytes", limit_bytes)
            else:
                self.notes.append("memory.memsw not available: the limit covers RAM only")
        else:
            self._write("memory.max", limit_bytes)
            self._write("memory.swap.max", 0)

    def _write(self, name: str, value) -> None:
        (self.path / name).write_text(f"{value}\n")

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def join(self) -> None:
        """Move the calling process into the group: the ``preexec_fn`` of the child."""
        with open(self.path / "cgroup.procs", "w") as procs:
            procs.write(str(os.getpid()))

    def outcome(self) -> dict:
        if self.v1:
            oom = dict(line.split() for line in self._read("memory.oom_control").splitlines() if line.strip())
            return {"max_usage_bytes": int(self._read("memory.max_usage_in_bytes") or 0),
                    "failcnt": int(self._read("memory.failcnt") or 0),
                    "oom_kills": int(oom.get("oom_kill", 0))}
        events = dict(line.split() for line in self._read("memory.events").splitlines() if line.strip())
        return {"max_usage_bytes": int(self._read("memory.peak") or 0), "failcnt": int(events.get("max", 0)),
                "oom_kills": int(events.get("oom_kill", 0))}

    def remove(self) -> None:
        # rmdir fails while the dying child is still being reaped; the kernel lets go within moments.
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        self.notes.append(f"could not remove {self.path}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
