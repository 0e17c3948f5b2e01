"""Where the run report is written: a file, a folder of one timestamped file per run, or stdout ("-")."""
from __future__ import annotations

import sys
from pathlib import Path

import orjson

from .moves import write_text_atomically


def report_target(report, where: Path | str) -> Path | None:
    """The file a report goes to; None for stdout. A folder gets ``update-<start>-run<id>.json``."""
    if str(where) == "-":
        return None
    where = Path(where)
    if where.is_dir():
        stamp = report.started_at.replace("-", "").replace(":", "").replace("+0000", "Z")[:15] + "Z"
        return where / f"update-{stamp}-run{report.run_id}.json"
    return where


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
