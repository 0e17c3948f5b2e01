"""The run ledger: one row per run of the update and one per file it handled, kept in the database.

The database is where the catalog's truth is, so the record of what was applied lives beside it: a
file's row is written inside that file's own transaction, so "applied" and "recorded as applied" can't
disagree, whatever happens to the file on disk afterwards.

The models moved here from ``update`` (issue 21) and kept their tables: ``db_table`` names them, so a
database of the previous release keeps its rows (migrations ledger 0001 and update 0003, state only).
"""
from django.db import models

from catalog.models import Store


class UpdateRun(models.Model):
    """One run of ``bin/update-products run`` or ``manage.py update --products``."""

    RUNNING = "running"
    FINISHED = "finished"  # every file was handled; exit_status says whether some were refused
    FAILED = "failed"  # a file failed, the memory guard stopped it, or it could not go on
    INTERRUPTED = "interrupted"  # SIGTERM or SIGINT: the current file rolled back, the rest left
    DIED = "died"  # found still "running" by a later run: the process was killed or the machine stopped
    STATUSES = [(s, s) for s in (RUNNING, FINISHED, FAILED, INTERRUPTED, DIED)]

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=RUNNING)
    exit_status = models.SmallIntegerField(null=True, blank=True)
    version = models.CharField(max_length=50)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    index_backend = models.CharField(max_length=50, blank=True)
    peak_anon_bytes = models.BigIntegerField(default=0)
    peak_rss_bytes = models.BigIntegerField(default=0)
    # The report's totals (lines, products and prices created, ...) and files by status.
    totals = models.JSONField(default=dict, blank=True)
    # Why it stopped early, was interrupted or failed, in one line.
    reason = models.TextField(blank=True)
    report_path = models.CharField(max_length=1000, blank=True)

    class Meta:
        db_table = "update_updaterun"
        ordering = ["-started_at", "-id"]

    def __str__(self):
        # In the site's time zone (settings.TIME_ZONE), labelled, as every time the admin shows.
        from django.utils import timezone

        started = timezone.localtime(self.started_at) if self.started_at else None
        return f"run {self.pk}, {started:%Y-%m-%d %H:%M %Z}, {self.status}" if started else f"run {self.pk}"


class RunFile(models.Model):
    """What one run did with one inbox file."""

    PROCESSED = "processed"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"
    ALREADY_APPLIED = "already applied"  # its bytes were applied by an earlier run; archived again
    WOULD_PROCESS = "would process"  # dry run
    WOULD_REJECT = "would reject"  # dry run
    INTERRUPTED = "interrupted"
    STATUSES = [(s, s) for s in (PROCESSED, REJECTED, FAILED, SKIPPED, ALREADY_APPLIED, WOULD_PROCESS,
                                 WOULD_REJECT, INTERRUPTED)]

    run = models.ForeignKey(UpdateRun, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    size = models.BigIntegerField(null=True, blank=True)
    # Of the file's bytes: how a file applied once is known again under any name.
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="run_files")
    # As the file named them: kept when the store row is gone, and for files refused before a store exists.
    company = models.CharField(max_length=100, blank=True)
    store_code = models.CharField(max_length=100, blank=True)
    scraped_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, db_index=True)
    reason = models.TextField(blank=True)
    # Lines, products and prices created/updated/deleted, ...: the report's per-file figures.
    counts = models.JSONField(default=dict, blank=True)
    moved_to = models.CharField(max_length=1000, blank=True)
    rejects_file = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by ``bin/update-products retry``: the file went back to the inbox; status and reason stay.
    retried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "update_runfile"
        ordering = ["run_id", "id"]
        indexes = [models.Index(fields=["status", "name"], name="runfile_status_name")]

    def __str__(self):
        return f"{self.name}: {self.status}"
