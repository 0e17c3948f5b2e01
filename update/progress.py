"""What the operator sees while a run goes: nothing, one plain line per file (cron's log), or a bar.

The orchestrator always talks to a progress object, so it never asks whether there is one. A bar is
drawn over the bytes of the file read so far, once per pass (checking, then updating), only when the
output is a terminal; ``for_stream`` picks the right object for a stream.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TextIO

# Refused lines listed under a file's line; the rest are in its rejects file and the report.
PROBLEMS_SHOWN = 5
PROBLEMS_SHOWN_VERBOSE = 100
# A terminal redraw costs a write; ten a second is smooth enough.
_REDRAW_EVERY_S = 0.1
_BAR_WIDTH = 30


class NullProgress:
    def file_started(self, name: str, size_bytes: int) -> None:
        pass

    def pass_started(self, label: str) -> None:
        pass

    def bytes_read(self, position: int) -> None:
        pass

    def file_done(self, result) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def for_stream(stream: TextIO, *, silent: bool = False, verbosity: int = 1) -> NullProgress:
    """``silent`` or verbosity 0: nothing; 1: a line per file with its first refused lines; 3: all of them
    the report holds (the first 100)."""
    if silent or verbosity <= 0:
        return NullProgress()
    shown = PROBLEMS_SHOWN_VERBOSE if verbosity >= 3 else PROBLEMS_SHOWN
    return BarProgress(stream, shown) if is_terminal(stream) else PlainProgress(stream, shown)


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def stamp() -> str:
    """ISO 8601 UTC to the second: what each line of a log starts with."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_line(text: str, stream) -> str:
    """A line for ``stream``: time-stamped for a log, as it is on a terminal."""
    return text if is_terminal(stream) else f"{stamp()} {text}"


def file_line(result) -> str:
    """The file, what became of it, and why when it was refused: one line."""
    if result.status in ("processed", "would process"):
        detail = (f"{result.unique_lines} products: {result.products_created} new, "
                  f"{result.products_updated} updated; prices {result.prices_created} new, "
                  f"{result.prices_updated} changed, {result.prices_deleted} deleted")
    else:
        detail = result.reason
    rejected = f", {result.lines_rejected} lines rejected" if result.lines_rejected else ""
    warned = f", {result.lines_with_warnings} lines kept with warnings" if result.lines_with_warnings else ""
    return f"{result.file}: {result.status} ({detail}{rejected}{warned}) in {result.elapsed_s:.1f}s"


def detail_lines(result, limit: int = PROBLEMS_SHOWN) -> list[str]:
    """The first refused lines and the file's notes, each naming the file."""
    shown = result.problems[:limit]
    lines = [f"  {result.file} line {line_no}: {reason}" for line_no, reason in shown]
    if result.move_error:
        lines.append(f"  {result.file}: {result.move_error}")
    more = result.lines_rejected - min(len(result.problems), limit)
    if more > 0:
        where = f" in {result.rejects_file}" if result.rejects_file else " in the report"
        lines.append(f"  {result.file}: {more} more rejected lines{where}")
    lines += [f"  {result.file}: note: {note}" for note in result.notes]
    return lines


class PlainProgress(NullProgress):
    """One line per file, for logs, and under it the first refused lines and the file's notes."""

    def __init__(self, stream: TextIO, problems_shown: int = PROBLEMS_SHOWN):
        self.stream = stream
        self.problems_shown = problems_shown

    def file_done(self, result) -> None:
        self._write([file_line(result), *detail_lines(result, self.problems_shown)])

    def note(self, message: str) -> None:
        self._write([message])

    def _write(self, lines: list[str]) -> None:
        # Time-stamped: cron appends every run to one log.
        now = stamp()
        self.stream.write("".join(f"{now} {line}\n" for line in lines))
        self.stream.flush()


class BarProgress(PlainProgress):
    """A bar over the bytes of the current file, redrawn in place, then the file's plain line."""

    def __init__(self, stream: TextIO, problems_shown: int = PROBLEMS_SHOWN):
        super().__init__(stream, problems_shown)
        self.name, self.size, self.label = "", 0, ""
        self._drawn_at = 0.0
        self._started = 0.0

    def file_started(self, name: str, size_bytes: int) -> None:
        self.name, self.size = name, max(size_bytes, 1)

    def pass_started(self, label: str) -> None:
        self.label, self._started, self._drawn_at = label, time.monotonic(), 0.0
        self.bytes_read(0)

    def bytes_read(self, position: int) -> None:
        now = time.monotonic()
        if now - self._drawn_at < _REDRAW_EVERY_S and position < self.size:
            return
        self._drawn_at = now
        done = min(position / self.size, 1.0)
        filled = int(done * _BAR_WIDTH)
        rate = position / (now - self._started) / 2**20 if now > self._started else 0.0
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label} {self.name} [{bar}] {done:4.0%} "
                          f"{position / 2**20:.1f}/{self.size / 2**20:.1f} MB {rate:.1f} MB/s\x1b[K")
        self.stream.flush()

    def file_done(self, result) -> None:
        self.stream.write("\r\x1b[K")
        super().file_done(result)

    def note(self, message: str) -> None:
        self.stream.write("\r\x1b[K")
        super().note(message)

    def _write(self, lines: list[str]) -> None:
        # On a terminal the time is on the clock; lines stay as the operator reads them.
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
