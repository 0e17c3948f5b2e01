"""Writing the run ledger (``ledger.models``): a run's row at start and end, a row per file.

An applied file's row is written inside that file's transaction (``record_applied``), so the
database can't hold its prices without the record that they came from this file, nor the record
without the prices. Every other outcome is written after the fact, one row per file.
"""
from __future__ import annotations

import hashlib
import os
import socket
from datetime import date
from pathlib import Path

from django.db import connection
from django.utils import timezone

from ledger.models import RunFile, UpdateRun

from .file_stores import store_of_file
from .report import FileResult, RunReport
from .version import __version__

# Per-file figures kept in RunFile.counts (the rest of FileResult has its own column or is in the report).
COUNTED = ("lines", "lines_rejected", "duplicate_lines", "unique_lines", "products_created", "products_updated",
           "skus_linked", "prices_created", "prices_updated", "prices_unchanged", "prices_deleted",
           "history_rows", "categories_created", "category_links_created", "index_repairs", "lines_with_warnings")


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, read into one reused buffer (a new megabyte block per read was where
    a 1M run's memory peaked in one run by hand, on top of what the last file left)."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(1 << 18)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            size += read
    return size, digest.hexdigest()


def already_applied(sha256: str) -> RunFile | None:
    """The ledger row of the run that applied these very bytes, if one did."""
    return RunFile.objects.filter(sha256=sha256, status=RunFile.PROCESSED).order_by("id").first()


class Ledger:
    def __init__(self, run: UpdateRun):
        self.run = run

    @classmethod
    def start(cls, *, dry_run: bool, index_backend: str) -> "Ledger":
        died = UpdateRun.objects.filter(status=UpdateRun.RUNNING, hostname=socket.gethostname())
        # Under the run lock, a run still "running" on this host is one whose process is gone.
        for run in died.only("id", "pid"):
            if not _alive(run.pid):
                UpdateRun.objects.filter(pk=run.pk, status=UpdateRun.RUNNING).update(
                    status=UpdateRun.DIED, reason="the process ended without recording its end (killed?)")
        run = UpdateRun.objects.create(started_at=timezone.now(), version=__version__,
                                       hostname=socket.gethostname(), pid=os.getpid(), dry_run=dry_run,
                                       index_backend=index_backend)
        return cls(run)

    def record_applied(self, result: FileResult, *, store, size: int, sha256: str, started_at) -> RunFile:
        """Inside the file's transaction: the file's row, committed or rolled back with its data."""
        row = _row(self.run, result, RunFile.PROCESSED, size=size, sha256=sha256, started_at=started_at)
        row.store = store
        row.save()
        return row

    def record(self, result: FileResult, status: str, *, size: int | None, sha256: str, started_at,
               row: RunFile | None = None) -> RunFile:
        """A file's final row; ``row`` is the one written in its transaction, completed with the move."""
        if row is not None:
            # The line counts too: the warned lines are only counted once the file's rejects log is written.
            RunFile.objects.filter(pk=row.pk).update(moved_to=result.moved_to, rejects_file=result.rejects_file,
                                                     reason=result.reason, finished_at=timezone.now(),
                                                     counts=counts_of(result))
            return row
        created = _row(self.run, result, status, size=size, sha256=sha256, started_at=started_at)
        # Refused, stale and partial files too: the store's page counts every file it sent.
        created.store = store_of_file(result.store, result.file)
        if created.store is not None and not created.store_code:
            created.company, created.store_code = created.store.company.name[:100], created.store.store_id[:100]
        created.save()
        return created

    def finish(self, report: RunReport, status: str, exit_status: int, reason: str = "",
               report_path: str = "") -> None:
        fields = dict(finished_at=timezone.now(), status=status, exit_status=exit_status,
                      peak_anon_bytes=report.peak_anon_bytes, peak_rss_bytes=report.peak_rss_bytes,
                      totals={**report.totals(), "files": report.files_by_status(),
                              # What files wrote before they rolled back (interrupted, failed): not in the totals.
                              **({"rolled_back": report.rolled_back_totals()} if report.rolled_back_totals() else {}),
                              # Why the index was rebuilt at the start (a restored backup, say), if it was.
                              **({"index_rebuild": report.index_build["reason"]} if report.index_build else {})},
                      reason=reason[:2000],
                      report_path=report_path)
        try:
            UpdateRun.objects.filter(pk=self.run.pk).update(**fields)
        except Exception:
            # The connection may have died with the file that was being written (a signal in the middle
            # of a query, the server restarted): one fresh connection, one more try.
            connection.close()
            UpdateRun.objects.filter(pk=self.run.pk).update(**fields)


def counts_of(result: FileResult) -> dict:
    """The file's figures for ``RunFile.counts``; what it wrote before it rolled back, apart."""
    counts = {k: getattr(result, k) for k in COUNTED}
    if result.rolled_back:
        counts["rolled_back"] = dict(result.rolled_back)
    return counts


def _row(run: UpdateRun, result: FileResult, status: str, *, size, sha256: str, started_at) -> RunFile:
    company, _, store_code = result.store.partition("/")
    return RunFile(run=run, name=result.file[:255], size=size, sha256=sha256, company=company[:100],
                   store_code=store_code[:100], scraped_date=_date(result.date), status=status,
                   reason=result.reason, counts=counts_of(result),
                   moved_to=result.moved_to, rejects_file=result.rejects_file, started_at=started_at,
                   finished_at=timezone.now())


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
