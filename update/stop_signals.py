"""SIGTERM and SIGINT (systemd's stop or timeout, Ctrl-C) end a run cleanly.

The handler raises ``Interrupted`` where the run is, so a file being read or written stops at once and
its transaction rolls back, its index writes are aborted, and it stays in the inbox. Between the
database commit of a file and the end of its move and ledger row, the run is ``shielded``: the signal
is remembered and raised once that is done, so a file is never committed without being filed.
"""
from __future__ import annotations

import signal
import threading

HANDLED = (signal.SIGTERM, signal.SIGINT)

# Set by the commands, whose process ends with the run: see ``ignore_after_the_run``.
_ignore_after_run = False


def ignore_after_the_run() -> None:
    """Once a run has ended and is on record, the commands only print its summary and exit: a stop signal
    then has nothing left to stop, and must not turn the run's exit status into "killed by SIGTERM" (or a
    KeyboardInterrupt traceback). A library caller (the tests) keeps its own handlers afterwards."""
    global _ignore_after_run
    _ignore_after_run = True


class Interrupted(BaseException):
    """A stop signal arrived. BaseException, like KeyboardInterrupt: no ``except Exception`` eats it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class StopSignals:
    def __init__(self):
        self.received: int | None = None
        self._shielded = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        # Signal handlers can only be set from the main thread (a test runner's worker thread can't).
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_IGN if _ignore_after_run else handler)

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        if not self._shielded:
            raise Interrupted(signum)

    def shield(self) -> None:
        self._shielded = True

    def unshield(self) -> None:
        """End the shield; a signal that arrived under it is raised by the next ``raise_if_received``."""
        self._shielded = False

    def raise_if_received(self) -> None:
        if self.received is not None and not self._shielded:
            raise Interrupted(self.received)
