"""What the benchmark ran on: the figures mean little without the machine, its load and the versions."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path


def _meminfo_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _swap_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("SwapTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def git_commit(root: Path, ignore: Path | None = None) -> str:
    """The short commit, with "+uncommitted changes" when tracked files differ from it (``ignore``: the
    benchmark's own output folder, as in ``git_state``, or a results file rewritten by the previous
    invocation would mark every later seed as uncommitted)."""
    state = git_state(root, ignore=ignore)
    if state["commit"] == "unknown":
        return "unknown"
    return state["commit"][:7] + ("+uncommitted changes" if state["dirty"] else "")


def dirty_refusal(git: dict, allow_dirty: bool) -> str | None:
    """Why a benchmark refuses to run on the tree ``git_state`` described, or None."""
    if not git["dirty"] or allow_dirty:
        return None
    return (f"refusing to run: uncommitted changes in {', '.join(git['changed'])} (commit them, or pass "
            "--allow-dirty and accept results that name no commit)")


def git_state(root: Path, ignore: Path | None = None) -> dict:
    """The commit checked out and whether tracked files differ from it (``ignore``: a folder left out, the
    benchmark's own output folder, which the previous invocation rewrote)."""
    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty": True, "changed": []}
    if ignore is not None:
        try:
            skip = str(ignore.resolve().relative_to(root.resolve())) + "/"
            changed = [c for c in changed if not c.startswith(skip)]
        except ValueError:
            pass
    return {"commit": commit, "dirty": bool(changed), "changed": changed[:20]}


def steal_seconds() -> float:
    """CPU time the hypervisor gave other guests, all CPUs together, since boot (/proc/stat "steal")."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe(root: Path, ignore: Path | None = None) -> dict:
    """The machine and the tree a benchmark ran on (``ignore``: its output folder, as in ``git_state``)."""
    import django
    import lmdb

    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "memory_bytes": _meminfo_total(),
        "swap_bytes": _swap_total(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "django": django.get_version(),
        "py_lmdb": lmdb.__version__,
        "lmdb": ".".join(map(str, lmdb.version())),
        "hostname": platform.node(),
        "git": git_commit(root, ignore=ignore),
        "load_average_at_start": load_average(),
    }


def describe_host() -> str:
    return platform.node()


def drop_caches(wanted: bool) -> str:
    """Empty the machine's page cache (root only) so the next run reads its files cold; say what happened."""
    if not wanted:
        return "not cold: not asked to drop caches (--no-cold, the default of --quick)"
    try:
        with open("/proc/sys/vm/drop_caches", "w") as drop:
            drop.write("3\n")
        return "cold: page cache dropped (echo 3 > /proc/sys/vm/drop_caches) before each size and each limited job"
    except OSError as error:
        return (f"not cold: /proc/sys/vm/drop_caches is not writable here ({error.strerror}; a container's /proc/sys "
                "is read-only even to root), so input files and database pages may already be cached")
