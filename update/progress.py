"""What the operator sees while a run goes: nothing, one plain line per file (cron's log), or a bar.

The orchestrator always talks to a progress object, so it never asks whether there is one. A bar is
drawn over the bytes of the file read so far, once per pass (checking, then updating), only when the
output is a terminal; ``for_stream`` picks the right object for a stream.
"""
from __future__ import annotations

import time
from typing import TextIO

# Refused lines listed under a file's line; the rest are in its rejects file and the report.
PROBLEMS_SHOWN = 5
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


def for_stream(stream: TextIO, *, silent: bool = False) -> NullProgress:
    if silent:
        return NullProgress()
    isatty = getattr(stream, "isatty", None)
    return BarProgress(stream) if isatty is not None and isatty() else PlainProgress(stream)


def file_line(result) -> str:
    """The file, what became of it, and why when it was refused: one line."""
    if result.status == "processed":
        detail = (f"{result.unique_lines} products: {result.products_created} new, "
                  f"{result.products_updated} updated; prices {result.prices_created} new, "
                  f"{result.prices_updated} changed, {result.prices_deleted} deleted")
    else:
        detail = result.reason
    rejected = f", {result.lines_rejected} lines rejected" if result.lines_rejected else ""
    warned = f", {result.lines_with_warnings} lines kept with warnings" if result.lines_with_warnings else ""
    return f"{result.file}: {result.status} ({detail}{rejected}{warned}) in {result.elapsed_s:.1f}s"


def detail_lines(result) -> list[str]:
    """The first refused lines and the file's notes, each naming the file."""
    shown = result.problems[:PROBLEMS_SHOWN]
    lines = [f"  {result.file} line {line_no}: {reason}" for line_no, reason in shown]
    more = result.lines_rejected - min(len(result.problems), PROBLEMS_SHOWN)
    if more > 0:
        where = f" in {result.rejects_file}" if result.rejects_file else " in the report"
        lines.append(f"  {result.file}: {more} more rejected lines{where}")
    lines += [f"  {result.file}: note: {note}" for note in result.notes]
    return lines


class PlainProgress(NullProgress):
    """One line per file, for logs, and under it the first refused lines and the file's notes."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def file_done(self, result) -> None:
        self._write([file_line(result), *detail_lines(result)])

    def note(self, message: str) -> None:
        self._write([message])

    def _write(self, lines: list[str]) -> None:
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()


class BarProgress(PlainProgress):
    """A bar over the bytes of the current file, redrawn in place, then the file's plain line."""

    def __init__(self, stream: TextIO):
        super().__init__(stream)
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
