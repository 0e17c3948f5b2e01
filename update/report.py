"""Results of a run: one FileResult per input file, totals for the run, and the closing summary line."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class FileResult:
    file: str
    status: str = "pending"  # processed | rejected | failed | skipped
    reason: str = ""
    date: str = ""
    store: str = ""
    lines: int = 0
    lines_rejected: int = 0
    duplicate_lines: int = 0
    unique_lines: int = 0
    products_created: int = 0
    products_updated: int = 0
    skus_linked: int = 0
    prices_created: int = 0
    prices_updated: int = 0
    prices_unchanged: int = 0
    prices_deleted: int = 0
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
    moved_to: str = ""
    rejects_file: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


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

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def totals(self) -> Counter:
        totals: Counter = Counter()
        for f in self.files:
            for name in ("lines", "lines_rejected", "lines_with_warnings", "products_created",
                         "products_updated", "prices_created", "prices_updated", "prices_deleted", "index_repairs",
                         "products_fetched"):
                totals[name] += getattr(f, name)
        return totals

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
            "index_backend": self.index_backend,
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
            "rejected_lines_by_reason": self.rejected_lines_by_reason,
            "line_warnings_by_reason": self.line_warnings_by_reason,
            "ignored": self.ignored,
            "files": [f.as_dict() for f in self.files],
        }

    def summary_line(self) -> str:
        t = self.totals()
        return (
            f"{len(self.files)} files: {self.count('processed')} processed, {self.count('rejected')} rejected"
            f"{', %d failed' % self.count('failed') if self.count('failed') else ''}"
            f"{', %d skipped' % self.count('skipped') if self.count('skipped') else ''}; "
            f"{t['lines']} lines ({t['lines_rejected']} rejected); products {t['products_created']} created, "
            f"{t['products_updated']} updated; prices {t['prices_created']} created, {t['prices_updated']} updated, "
            f"{t['prices_deleted']} deleted; {self.elapsed_s:.1f}s, peak anon {self.peak_anon_bytes / 2**20:.0f} MB, "
            f"peak RSS {self.peak_rss_bytes / 2**20:.0f} MB ({self.index_backend} index)"
            + (" [dry run: nothing written]" if self.dry_run else "")
            + (f" STOPPED EARLY: {self.stopped_early}" if self.stopped_early else "")
        )
