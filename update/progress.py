"""What the operator sees while a run goes: nothing, one plain line per file (cron's log), or a bar.

Cron's convention (as ``chronic``): routine lines (a processed file, its notes) go to the output stream,
trouble (a refused, failed, skipped or interrupted file, refused lines, a file that could not be moved, an
ignored file, a stopped run) to the errors stream, once, so cron mails stderr and logs stdout.

The orchestrator always talks to a progress object, so it never asks whether there is one. A bar is
drawn over the bytes of the file read so far, once per pass (checking, then updating), only when the
output is a terminal; ``for_stream`` picks the right object for a stream.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ledger.figures import rolled_back_in_words

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

    def warn(self, message: str) -> None:
        pass


# A file that ended so is trouble the operator hears of (stderr); the others are the log's (stdout).
TROUBLE = ("rejected", "failed", "skipped", "interrupted")


def for_stream(stream: TextIO, *, silent: bool = False, verbosity: int = 1,
               errors: TextIO | None = None) -> NullProgress:
    """``silent`` or verbosity 0: trouble only, on ``errors``; 1: a line per file with its first refused
    lines; 3: all of them the report holds (the first 100). ``errors`` defaults to ``stream``."""
    errors = stream if errors is None else errors
    if silent or verbosity <= 0:
        return PlainProgress(stream, PROBLEMS_SHOWN, errors=errors, routine=False)
    shown = PROBLEMS_SHOWN_VERBOSE if verbosity >= 3 else PROBLEMS_SHOWN
    if is_terminal(stream):
        return BarProgress(stream, shown, errors=errors)
    return PlainProgress(stream, shown, errors=errors)


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def stamp() -> str:
    """ISO 8601 UTC to the second: what each line of a log starts with."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class UtcFormatter(logging.Formatter):
    """The log's lines in the progress lines' format: ISO 8601 UTC to the second, ``Z``."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", self.converter(record.created))


def log_line(text: str, stream) -> str:
    """A line for ``stream``: time-stamped for a log, as it is on a terminal."""
    return text if is_terminal(stream) else f"{stamp()} {text}"


def plural_lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def file_line(result) -> str:
    """The file, what became of it, and why when it was refused: one line."""
    if result.status in ("processed", "would process"):
        detail = (f"{result.unique_lines} products: {result.products_created} new, "
                  f"{result.products_updated} updated; prices {result.prices_created} new, "
                  f"{result.prices_updated} changed, {result.prices_deleted} deleted")
    else:
        detail = result.reason
    if result.rolled_back:
        detail += f"; not kept: {rolled_back_in_words(result.rolled_back)}"
    rejected = f", {plural_lines(result.lines_rejected)} rejected" if result.lines_rejected else ""
    warned = ""
    if result.lines_with_warnings:
        where = f" (in {Path(result.rejects_file).name})" if result.rejects_file else ""
        warned = f", {plural_lines(result.lines_with_warnings)} kept with warnings{where}"
    return f"{result.file}: {result.status} ({detail}{rejected}{warned}) in {result.elapsed_s:.1f}s"


def detail_lines(result, limit: int = PROBLEMS_SHOWN) -> list[str]:
    """The first refused lines and a failed move, each naming the file."""
    shown = result.problems[:limit]
    lines = [f"  {result.file} line {line_no}: {reason}" for line_no, reason in shown]
    if result.move_error:
        lines.append(f"  {result.file}: {result.move_error}")
    more = result.lines_rejected - min(len(result.problems), limit)
    if more > 0:
        where = f" in {result.rejects_file}" if result.rejects_file else " in the report"
        lines.append(f"  {result.file}: {more} more rejected {plural_lines(more).split()[1]}{where}")
    return lines


def note_lines(result) -> list[str]:
    return [f"  {result.file}: note: {note}" for note in result.notes]


class PlainProgress(NullProgress):
    """One line per file, for logs, and under it the first refused lines and the file's notes."""

    def __init__(self, stream: TextIO, problems_shown: int = PROBLEMS_SHOWN, *, errors: TextIO | None = None,
                 routine: bool = True):
        self.stream = stream
        self.errors = stream if errors is None else errors
        self.problems_shown = problems_shown
        self.routine = routine  # False (-v 0): the trouble only

    def file_done(self, result) -> None:
        details = detail_lines(result, self.problems_shown)
        if result.status in TROUBLE:
            self._write([file_line(result), *details, *note_lines(result)], self.errors)
            return
        if self.routine:
            self._write([file_line(result), *note_lines(result)], self.stream)
        if details:
            # Refused lines in a kept file: the file's line is the log's, its problems the operator's.
            self._write(details, self.errors)

    def note(self, message: str) -> None:
        if self.routine:
            self._write([message], self.stream)

    def warn(self, message: str) -> None:
        self._write([message], self.errors)

    def _write(self, lines: list[str], stream: TextIO) -> None:
        # Time-stamped: cron appends every run to one log.
        now = stamp()
        stream.write("".join(f"{now} {line}\n" for line in lines))
        stream.flush()


class BarProgress(PlainProgress):
    """A bar over the bytes of the current file, redrawn in place, then the file's plain line."""

    def __init__(self, stream: TextIO, problems_shown: int = PROBLEMS_SHOWN, *, errors: TextIO | None = None):
        super().__init__(stream, problems_shown, errors=errors)
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

    def warn(self, message: str) -> None:
        self.stream.write("\r\x1b[K")
        super().warn(message)

    def _write(self, lines: list[str], stream: TextIO) -> None:
        # On a terminal the time is on the clock; lines stay as the operator reads them.
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()
