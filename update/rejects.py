"""The rejects file of one input: every refused line, and every line kept with a warning, with its number.

The reader keeps the entries by line number in the scratch store while both passes read, and writes
them here in line order once the file is done, in the run's scratch folder; it is moved beside the input
when the input is archived or rejected (``NAME.rejects.jsonl``), so what was refused stays next to where
it came from. A dry run discards it: the report still carries the first lines and the counts.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import orjson

REJECTS_SUFFIX = ".rejects.jsonl"
# Enough of a line to recognise it and see what is wrong; a 10 MB line is not copied whole.
RAW_KEPT_CHARS = 2_000


class RejectsLog:
    """One JSON object per line: ``line_no``, ``action`` (rejected | kept), ``reason``, ``line``."""

    def __init__(self, path: Path):
        self.path = path
        self.entries = 0
        self._handle = None

    def write(self, line_no: int, action: str, reason: str, raw: bytes, raw_length: int) -> None:
        if self._handle is None:
            self._handle = open(self.path, "wb")
        entry = {"line_no": line_no, "action": action, "reason": reason, "line": shown_line(raw)}
        if raw_length > RAW_KEPT_CHARS:
            entry["line_bytes"] = raw_length
        self._handle.write(orjson.dumps(entry) + b"\n")
        self.entries += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def move_beside(self, target: Path) -> Path | None:
        """Put the log next to the moved input (``target``); None when no line needed one."""
        self.close()
        if not self.entries:
            self.discard()
            return None
        destination = target.with_name(target.name + REJECTS_SUFFIX)
        shutil.move(str(self.path), destination)
        return destination

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def shown_line(raw: bytes) -> str:
    # A UTF-8 character is at most 4 bytes, so this slice holds RAW_KEPT_CHARS characters.
    text = raw[:RAW_KEPT_CHARS * 4].decode("utf-8", "replace")
    return text[:RAW_KEPT_CHARS]
