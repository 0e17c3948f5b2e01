"""Results of a run: one FileResult per input file, totals for the run, and the closing summary line."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from ledger.figures import rolled_back_in_words

# What a file wrote: when its transaction rolls back (interrupted, failed) these move to ``rolled_back``,
# so a run's totals are what was committed. Line counts stay: they say what was read, not written.
WRITTEN_COUNTS = ("lines_unchanged", "products_created", "products_updated", "products_fetched", "skus_linked",
                  "prices_created", "prices_updated", "prices_unchanged", "prices_deleted", "categories_created",
                  "category_links_created", "index_repairs", "history_rows")


@dataclass
class FileResult:
    file: str
    # processed | rejected | failed | skipped | already applied | interrupted;
    # a dry run says "would process" and "would reject" instead of processed and rejected.
    status: str = "pending"
    reason: str = ""
    date: str = ""
    store: str = ""
    lines: int = 0
    lines_rejected: int = 0
    duplicate_lines: int = 0
    unique_lines: int = 0
    # Lines that were their store's last applied line again: no SQL, no manager (update/unchanged.py).
    lines_unchanged: int = 0
    products_created: int = 0
    products_updated: int = 0
    skus_linked: int = 0
    prices_created: int = 0
    prices_updated: int = 0
    prices_unchanged: int = 0
    prices_deleted: int = 0
    # Rows of price history written: a created or changed price's, a deleted one's end row (prices app).
    history_rows: int = 0
    categories_created: int = 0
    category_links_created: int = 0
    index_repairs: int = 0
    # Products fetched whole (tier 2): only those a line changes; the rest is decided on the slim record.
    products_fetched: int = 0
    elapsed_s: float = 0.0
    rejected_by_reason: dict = field(default_factory=dict)
    # The first refused lines as [line number, reason]; all of them are in the rejects file.
    problems: list = field(default_factory=list)
    lines_with_warnings: int = 0
    warnings_by_reason: dict = field(default_factory=dict)
    # What was unusual about the file as a whole but refused nothing (BOM, new company, ...).
    notes: list = field(default_factory=list)
    # The name breaks {company}-{store}-{date}, or its date is not its lines' (inbox.name_warning).
    name_warning: str = ""
    moved_to: str = ""
    rejects_file: str = ""
    # Why the file could not be moved out of the inbox after it was handled (it stays there).
    move_error: str = ""
    size: int = 0
    sha256: str = ""
    # What the file had written when its transaction rolled back: not in the run's totals.
    rolled_back: dict = field(default_factory=dict)
    # The ledger row written in the file's transaction (not in the report).
    ledger_row: object = field(default=None, repr=False, compare=False)
    # Set once the file's database transaction committed (not in the report): nothing after rolls it back.
    committed: bool = field(default=False, repr=False, compare=False)

    def as_dict(self) -> dict:
        fields = asdict(self)
        del fields["ledger_row"], fields["committed"]
        return fields

    def roll_back(self) -> None:
        """The file's transaction rolled back: what it wrote is counted as rolled back, not as done."""
        if self.committed:
            return  # what failed came after the commit (the index's): the database keeps the file
        for name in WRITTEN_COUNTS:
            if getattr(self, name):
                self.rolled_back[name] = self.rolled_back.get(name, 0) + getattr(self, name)
                setattr(self, name, 0)
        self.ledger_row = None  # written in the transaction that rolled back: it is gone too


def _counted(n: int, thing: str) -> str:
    """"1 file", "2 files": the summary line's counts, in English."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


@dataclass
class RunReport:
    index_backend: str
    files: list[FileResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    startup_s: float = 0.0
    peak_rss_bytes: int = 0
    peak_anon_bytes: int = 0
    index_build: dict | None = None
    index_catchup: dict | None = None  # changes logged since the index's watermark, applied at start
    ignored: list[str] = field(default_factory=list)
    stopped_early: str = ""  # why the run stopped before the inbox was done (the memory guard)
    dry_run: bool = False
    max_memory_bytes: int = 0
    run_id: int | None = None
    version: str = ""
    started_at: str = ""  # ISO 8601, UTC
    finished_at: str = ""
    status: str = ""  # finished | failed | interrupted (the ledger's UpdateRun.status)
    exit_status: int | None = None
    interrupted: str = ""  # "interrupted by SIGTERM" when a stop signal ended the run
    index_path: str = ""  # the index actually read ("" for the memory backend)
    index_note: str = ""  # why a dry run read another index than the one asked for
    report_error: str = ""

    @property
    def move_failures(self) -> int:
        return sum(1 for f in self.files if f.move_error)

    def files_by_status(self) -> dict:
        return dict(Counter(f.status for f in self.files))

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def totals(self) -> Counter:
        totals: Counter = Counter()
        for f in self.files:
            for name in ("lines", "lines_rejected", "lines_with_warnings", "lines_unchanged", "products_created",
                         "products_updated", "prices_created", "prices_updated", "prices_deleted", "index_repairs",
                         "products_fetched"):
                totals[name] += getattr(f, name)
        return totals

    def rolled_back_totals(self) -> dict:
        """What files wrote before their transaction rolled back, summed; apart from ``totals``."""
        return self._summed_by_reason("rolled_back")

    def _summed_by_reason(self, field_name: str) -> dict:
        by_reason: Counter = Counter()
        for f in self.files:
            by_reason.update(getattr(f, field_name))
        return dict(by_reason)

    @property
    def rejected_lines_by_reason(self) -> dict:
        return self._summed_by_reason("rejected_by_reason")

    @property
    def line_warnings_by_reason(self) -> dict:
        return self._summed_by_reason("warnings_by_reason")

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "version": self.version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "exit_status": self.exit_status,
            "interrupted": self.interrupted,
            "index_backend": self.index_backend,
            "index_path": self.index_path,
            "index_note": self.index_note,
            # A dry run judges each file against the database as it is, not after the files before it.
            "totals_are": "per-file what-ifs" if self.dry_run else "applied",
            "dry_run": self.dry_run,
            "elapsed_s": round(self.elapsed_s, 3),
            "startup_s": round(self.startup_s, 3),
            "peak_rss_bytes": self.peak_rss_bytes,
            "peak_anon_bytes": self.peak_anon_bytes,
            "index_build": self.index_build,
            "index_catchup": self.index_catchup,
            "stopped_early": self.stopped_early,
            "max_memory_bytes": self.max_memory_bytes,
            "totals": dict(self.totals()),
            "rolled_back": self.rolled_back_totals(),
            "files_by_status": self.files_by_status(),
            "rejected_lines_by_reason": self.rejected_lines_by_reason,
            "line_warnings_by_reason": self.line_warnings_by_reason,
            "ignored": self.ignored,
            "files": [f.as_dict() for f in self.files],
        }

    @property
    def anything_to_say(self) -> bool:
        """Cron's convention: a run over an empty inbox that stopped for nothing prints nothing."""
        return bool(self.files or self.stopped_early or self.interrupted or self.report_error)

    def summary_line(self) -> str:
        t = self.totals()
        rolled_back = self.rolled_back_totals()
        by_status = ", ".join(f"{n} {status}" for status, n in self.files_by_status().items()
                              if status not in ("processed", "rejected", "would process", "would reject"))
        done, refused = ("would process", "would reject") if self.dry_run else ("processed", "rejected")
        index = f"{self.index_backend} index{' at ' + self.index_path if self.index_path else ''}"
        return (
            f"{_counted(len(self.files), 'file')}: {self.count(done)} {done}, {self.count(refused)} {refused}"
            f"{', ' + by_status if by_status else ''}; "
            f"{_counted(t['lines'], 'line')} ({t['lines_rejected']} rejected); products {t['products_created']} created, "
            f"{t['products_updated']} updated; prices {t['prices_created']} created, {t['prices_updated']} updated, "
            f"{t['prices_deleted']} deleted; {self.elapsed_s:.1f}s, peak anon {self.peak_anon_bytes / 2**20:.0f} MB, "
            f"peak RSS {self.peak_rss_bytes / 2**20:.0f} MB ({index})"
            + (" [dry run: nothing written; each file judged on its own, as if alone]" if self.dry_run else "")
            + (f" ({self.index_note})" if self.index_note else "")
            + (f" STOPPED EARLY: {self.stopped_early}" if self.stopped_early else "")
            + (f"; rolled back, not in these totals: {rolled_back_in_words(rolled_back)}" if rolled_back else "")
            # Its file's line (or the run's) said what was rolled back; the summary only that it stopped.
            + (f" INTERRUPTED ({self.interrupted})" if self.interrupted else "")
            + (f"; {self.move_failures} files could not be moved out of the inbox" if self.move_failures else "")
        )
