"""What the operator sees while a run goes: nothing, or one plain line per file (cron's log).

The orchestrator always talks to a progress object, so it never asks whether there is one.
"""
from __future__ import annotations

from typing import TextIO


class NullProgress:
    def file_started(self, name: str, size_bytes: int) -> None:
        pass

    def advance(self, lines: int) -> None:
        pass

    def file_done(self, result) -> None:
        pass


class PlainProgress(NullProgress):
    """One line per file, for logs: the file, what became of it, and why when it was refused."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def file_done(self, result) -> None:
        if result.status == "processed":
            detail = (f"{result.unique_lines} products: {result.products_created} new, "
                      f"{result.products_updated} updated; prices {result.prices_created} new, "
                      f"{result.prices_updated} changed, {result.prices_deleted} deleted")
        else:
            detail = result.reason
        rejected = f", {result.lines_rejected} lines rejected" if result.lines_rejected else ""
        self.stream.write(f"{result.file}: {result.status} ({detail}{rejected}) in {result.elapsed_s:.1f}s\n")
        self.stream.flush()
