"""Where the run report is written: a file, a folder of one timestamped file per run, or stdout ("-")."""
from __future__ import annotations

import sys
from pathlib import Path

import orjson

from .moves import write_text_atomically


def is_folder(where: Path | str) -> bool:
    """A folder: one that exists, or a name ending in "/" (created at the first run)."""
    return str(where).endswith("/") or Path(where).is_dir()


def folder_to_check(where: Path | str) -> Path:
    """The folder the report is written in, created first when named with a trailing "/"."""
    if str(where).endswith("/"):
        Path(where).mkdir(parents=True, exist_ok=True)
    return Path(where) if is_folder(where) else Path(where).parent


def report_target(report, where: Path | str) -> Path | None:
    """The file a report goes to; None for stdout. A folder gets ``update-<start>-run<id>.json``."""
    if str(where) == "-":
        return None
    if is_folder(where):
        where = Path(where)
        stamp = report.started_at.replace("-", "").replace(":", "").replace("+0000", "Z")[:15] + "Z"
        return where / f"update-{stamp}-run{report.run_id}.json"
    return Path(where)


def write_report(report, where: Path | str) -> str:
    """Write the report whole (never half a file) and return where it went ("-" for stdout)."""
    data = orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2) + b"\n"
    target = report_target(report, where)
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return "-"
    write_text_atomically(target, data.decode())
    return str(target)
