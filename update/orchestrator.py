"""The product update: every inbox file, oldest scrape first, each in one database transaction.

Per file (domain.md §3): survey the file (its store and date from the majority of its lines, unique
lines, bad lines, groups of lines sharing a key), refuse it if it names no store by 90% of its lines, is
stale or a partial scrape, then stream its unique lines, each group whole, in chunks through the product,
price and category managers,
delete the store's prices of products the file no longer lists, commit the database, then commit the
index writes, and move the file to the archive (or, refused, to the rejected folder with its reason).
"""
from __future__ import annotations

import copy
import logging
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterable, Iterator

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Price
from catalog.writer_lock import hold_writer_lock
from diskcache_tier.build_index import open_index
from diskcache_tier.lookup import ProductIndex
from diskcache_tier.run_lock import UpdateLocked, run_lock  # noqa: F401 (UpdateLocked: callers import it from here)
from ledger.models import UpdateRun

from . import inbox as inbox_files
from .context import FileContext
from .lines import COMPANY_WIDE_STORE_ID, store_of
from .managers.brand import BrandManager
from .managers.category import CategoryManager
from .managers.price import PriceManager
from .managers.product import ProductManager
from .managers.store import company_exists, find_store, get_or_create_store
from .memory import MemoryWatch, fix_mmap_threshold, over_limit, peak_rss_bytes, quiet_collector
from .progress import NullProgress
from .reader import ReadLine, Survey, finish, note_outcome, read_units, survey
from .rejects import RejectsLog
from .report import FileResult, RunReport
from .scratch import FileScratch
from .scrape_dates import scrape_date
from .unchanged import UnchangedLines
from .dry_run_index import open_dry_run_index
from .ledger import Ledger, already_applied, file_digest
from .moves import FolderNotWritable, check_writable
from .operator_errors import explain, one_line
from .report_file import folder_to_check, write_report
from .statuses import EXIT_FAILED, status_of
from .stop_signals import Interrupted, StopSignals
from .version import __version__

log = logging.getLogger(__name__)

# Lines per chunk: each chunk costs a fixed handful of batched queries, and holds its lines and their
# products in memory. 500 keeps every IN (...) list under SQLite's parameter limit and a chunk's
# objects to a few MB, while the per-query overhead is already small next to the rows it moves.
CHUNK_SIZE = 500
# The lines to update of up to this many chunks go to the managers together (update/unchanged.py): on a day
# of real change rates most chunks hold a changed line or two, and each batch costs its queries.
BATCH_CHUNKS = 10
# A complete scrape lists at least this share of the products the store currently has prices for.
PARTIAL_SCRAPE_RATIO = 0.9
# Scrapers run in Australia, up to 11 hours ahead of a server on UTC: their "today" may be our tomorrow.
FUTURE_DAYS_ALLOWED = 1


def skip_unchanged_default() -> bool:
    """The setting UPDATE_SKIP_UNCHANGED (environment, default on): off only to compare or to debug."""
    from django.conf import settings

    return bool(getattr(settings, "UPDATE_SKIP_UNCHANGED", True))


class DryRunRollback(Exception):
    """Raised inside a file's transaction so a dry run writes nothing."""


@dataclass
class UpdateOptions:
    inbox: Path
    archive: Path
    rejected: Path
    index_path: Path
    index_backend: str = "lmdb"
    chunk_size: int = CHUNK_SIZE
    dry_run: bool = False
    # Lines their store sent before, unchanged, skip the managers and the database (update/unchanged.py).
    skip_unchanged: bool = field(default_factory=lambda: skip_unchanged_default())
    lock_path: Path | None = None
    progress: object = field(default_factory=NullProgress)
    # Stop between files once the process's anonymous memory passes this (0: no limit); see memory.py.
    max_memory_bytes: int = 0
    # Leave files modified in the last N seconds for the next run (for scrapers that can't rename).
    settle_s: float = 0
    # Opens tier 1 in place of ``open_index``: how the benchmarks plug in the designs they compare.
    index_factory: Callable[["UpdateOptions"], tuple[ProductIndex, object]] | None = None
    # Where the run report goes: a file, a folder (one timestamped file per run), "-" (stdout), or None.
    report: Path | str | None = None
    # Set by run_update for the run: the stop signals and the run's ledger.
    stop: StopSignals | None = None
    ledger: Ledger | None = None


def run_update(options: UpdateOptions) -> RunReport:
    """Run the update over the inbox; the report says what became of every file.

    Raises FolderNotWritable (nothing touched) and UpdateLocked (nothing done) before the run starts;
    once it has started, a stop signal ends it with ``report.interrupted`` set, not an exception.
    """
    check_folders(options)
    fix_mmap_threshold()
    lock_path = options.lock_path or options.index_path.parent / "update.lock"
    started = time.perf_counter()
    with run_lock(lock_path), quiet_collector(), MemoryWatch() as watch, StopSignals() as stop:
        report = RunReport(index_backend=options.index_backend, dry_run=options.dry_run, version=__version__,
                           started_at=_now_iso())
        # The first query of the run: an unmigrated or unreachable database says so here, before the
        # index is opened (which would otherwise report the index as the problem).
        ledger = Ledger.start(dry_run=options.dry_run, index_backend=options.index_backend)
        report.run_id = ledger.run.pk
        log.info("run %s started: version %s, inbox %s, %s index%s", report.run_id, __version__, options.inbox,
                 options.index_backend, ", dry run" if options.dry_run else "")
        options = replace(options, stop=stop, ledger=ledger)
        index = None
        try:
            index, build = _open_index(options, report)
            if build is not None:
                report.index_build = {"reason": build.reason, "products": build.products, "skus": build.skus,
                                      "elapsed_s": round(build.elapsed_s, 3), "size_bytes": build.size_bytes}
            if getattr(index, "catchup", None) is not None:
                report.index_catchup = index.catchup.as_dict()
            report.startup_s = time.perf_counter() - started
            files, report.ignored = inbox_files.list_inbox(options.inbox, options.settle_s)
            # One streaming scan per file: the order is the lines' scrape dates, not the names'.
            files = inbox_files.in_scrape_order(files, scrape_date)
            for ignored in report.ignored:
                options.progress.warn(f"ignored {ignored}")
            report.max_memory_bytes = options.max_memory_bytes
            with FileScratch() as scratch:
                failed_stores: set[str] = set()
                for n, entry in enumerate(files):
                    stop.raise_if_received()
                    report.stopped_early = memory_guard(options.max_memory_bytes, files[n:])
                    if report.stopped_early:
                        options.progress.warn(f"stopped early: {report.stopped_early}")
                        break
                    process_file(entry, index, scratch, options, failed_stores, report)
                    watch.sample()
        except Interrupted as exc:
            drop_connection_cut_mid_query()
            report.interrupted = str(exc)
            if not report.count("interrupted"):  # else the file's own line said it
                options.progress.warn(f"{exc} between files; the rest stay in the inbox")
        except BaseException as exc:
            stop.shield()  # a signal now would cut off the run's own record of how it ended
            _finish(report, ledger, watch, started, options, status=UpdateRun.FAILED, reason=one_line(exc),
                    crashed=True)
            raise
        finally:
            stop.shield()
            if index is not None:
                index.close()
        status = UpdateRun.INTERRUPTED if report.interrupted else (
            UpdateRun.FAILED if report.count("failed") or report.stopped_early else UpdateRun.FINISHED)
        _finish(report, ledger, watch, started, options, status=status,
                reason=report.interrupted or report.stopped_early)
    return report


def _open_index(options: UpdateOptions, report: RunReport):
    if options.index_factory is not None:
        return options.index_factory(options)
    if options.dry_run and options.index_backend == "lmdb":
        # A dry run must leave the index and the change log as they are: see dry_run_index.py.
        index, report.index_note = open_dry_run_index(options.index_path)
        if not report.index_note:
            report.index_path = str(options.index_path)
        else:
            report.index_backend = "memory"
        return index, None
    if options.index_backend == "lmdb":
        report.index_path = str(options.index_path)
    return open_index(options.index_backend, options.index_path)


def _finish(report: RunReport, ledger: Ledger, watch, started: float, options: UpdateOptions, *,
            status: str, reason: str, crashed: bool = False) -> None:
    """Close the run: figures, the report file, the ledger's row. Under the lock, signals held off."""
    report.elapsed_s = time.perf_counter() - started
    watch.sample()
    report.peak_anon_bytes = watch.peak_anon
    report.peak_rss_bytes = peak_rss_bytes()
    report.finished_at = _now_iso()
    report.status = status
    # A run that raised exits 4 whatever its files did; otherwise the files decide.
    report.exit_status = EXIT_FAILED if crashed else status_of(report)
    written = ""
    if options.report is not None:
        try:
            written = write_report(report, options.report)
        except OSError as exc:
            report.report_error = f"could not write the report to {options.report}: {one_line(exc)}"
            report.exit_status = EXIT_FAILED
            options.progress.warn(report.report_error)
    ledger.finish(report, status, report.exit_status, reason=reason, report_path=written)
    log.info("run %s %s with exit status %s in %.1fs", report.run_id, status, report.exit_status, report.elapsed_s)


def _now_iso() -> str:
    return timezone.now().isoformat(timespec="seconds")


def check_folders(options: UpdateOptions) -> None:
    """Before anything is touched: every folder the run writes must take a file (FolderNotWritable)."""
    check_writable("inbox", options.inbox, "--inbox", create=False)
    if not options.dry_run:
        check_writable("archive", options.archive, "--archive", create=True)
        check_writable("rejected", options.rejected, "--rejected", create=True)
    lock_folder = (options.lock_path or options.index_path.parent / "update.lock").parent
    check_writable("index folder", lock_folder, "--index-path", create=True)
    if options.report not in (None, "-"):
        try:
            folder = folder_to_check(options.report)
        except OSError as exc:
            raise FolderNotWritable(exc.errno or 13, f"report folder {options.report} can't be created "
                                                     f"({exc.strerror}): give another with --report") from None
        check_writable("report folder", folder, "--report", create=False)


def process_file(entry: inbox_files.InboxFile, index: ProductIndex, scratch: FileScratch,
                 options: UpdateOptions, failed_stores: set[str], report: RunReport | None = None) -> FileResult:
    started = time.perf_counter()
    started_at = timezone.now()
    result = FileResult(file=entry.name)
    if report is not None:
        report.files.append(result)
    options.progress.file_started(entry.name, _size(entry.path))
    # Said when the file is taken: it then leaves the inbox, so it is said once.
    result.name_warning = inbox_files.name_warning(entry)
    if result.name_warning:
        options.progress.warn(result.name_warning)
    scratch.reset()
    rejects = RejectsLog(scratch.path / "rejects.jsonl")
    stop = options.stop
    interrupted = None
    try:
        try:
            result.size, result.sha256 = file_digest(entry.path)
            log.debug("%s: %d bytes, sha256 %s", entry.name, result.size, result.sha256)
            if not _archive_if_applied(entry, options, result):
                _process(entry, index, scratch, options, failed_stores, result, rejects)
        except OSError as exc:
            if result.status == "pending":
                result.status, result.reason = "failed", f"unreadable: {one_line(exc)}"
        except Interrupted as exc:
            interrupted = exc
            drop_connection_cut_mid_query()
            result.roll_back()
            result.status = "interrupted"
            result.reason = f"{exc}: rolled back, left in the inbox for the next run"
        finally:
            rejects.discard()  # unless it was moved beside the input: a dry run, a failure, a skip
            result.elapsed_s = time.perf_counter() - started
            if stop is not None:
                stop.unshield()
        if options.dry_run:
            result.status = {"processed": "would process", "rejected": "would reject"}.get(result.status,
                                                                                          result.status)
        if options.ledger is not None:
            options.ledger.record(result, result.status, size=result.size or None, sha256=result.sha256,
                                  started_at=started_at, row=result.ledger_row)
    finally:
        options.progress.file_done(result)
    if interrupted is not None:
        raise interrupted
    if stop is not None:
        stop.raise_if_received()
    return result


def drop_connection_cut_mid_query() -> None:
    """A stop signal raised inside the database driver, between sending a query and reading its result,
    leaves the connection in the middle of that command: every later query, the ledger's record of the
    interruption first, fails with "another command is already in progress". Outside a transaction
    nothing is lost by dropping it, and Django connects again at the next query."""
    if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
        connection.close()


def _archive_if_applied(entry, options: UpdateOptions, result: FileResult) -> bool:
    """A file whose bytes an earlier run applied (its move failed then) is archived, not refused as stale."""
    earlier = already_applied(result.sha256)
    if earlier is None:
        return False
    result.status = "already applied"
    result.reason = f"applied by run {earlier.run_id} as {earlier.name}; archived now"
    result.date, result.store = (earlier.scraped_date.isoformat() if earlier.scraped_date else ""), \
        f"{earlier.company}/{earlier.store_code}"
    if not options.dry_run:
        _move(result, lambda: inbox_files.archive(entry.path, options.archive), "archive")
    return True


def _move(result: FileResult, move: Callable[[], Path], where: str) -> Path | None:
    try:
        target = move()
    except OSError as exc:
        result.move_error = f"could not move it to the {where}: {one_line(exc)}; it stays in the inbox"
        # Said once, by the file's line (progress); the log has it at INFO.
        log.info("%s: %s", result.file, result.move_error)
        return None
    result.moved_to = str(target)
    return target


def _process(entry: inbox_files.InboxFile, index: ProductIndex, scratch: FileScratch, options: UpdateOptions,
             failed_stores: set[str], result: FileResult, rejects: RejectsLog) -> None:
    options.progress.pass_started("checking")
    try:
        surveyed = survey(entry.path, scratch, options.progress.bytes_read,
                          digests=getattr(index, "remembers_lines", False))
    except OSError as exc:  # UnreadableFile says why in the operator's words; any other read error as is
        finish(scratch, Survey(), rejects)
        return _refuse(entry, result, options, f"unreadable file: {exc}", rejects)
    meta = surveyed.meta
    if meta is not None:  # the store its lines name, even if none of them is usable
        result.date = meta.scraped_date.isoformat()
        result.store = store_of(meta)
    if meta is None or not surveyed.unique_lines:
        _fill(result, surveyed, scratch, rejects)
        return _refuse(entry, result, options, _why_unusable(result), rejects)
    store = find_store(meta)  # once: the metadata's notes and the file's checks both want it
    result.notes = surveyed.notes + _meta_notes(meta, store)
    if result.store in failed_stores:
        result.status, result.reason = "skipped", "an earlier file of this store failed in this run"
        return _fill(result, surveyed, scratch, rejects)
    reason = surveyed.no_majority or why_refuse(meta, surveyed.unique_lines, store)
    if reason:
        if not surveyed.no_majority:
            # Lines of another store are refused as such even when the whole file is.
            for _ in read_units(entry.path, scratch, surveyed, emit=False):
                pass
        _fill(result, surveyed, scratch, rejects)
        return _refuse(entry, result, options, reason, rejects)
    try:
        _apply(entry.path, meta, surveyed, index, scratch, options, result)
    except DryRunRollback:
        pass
    except Exception as exc:
        # One line; the traceback with -v 2 or more (the logger at INFO), as for every operator error.
        log.info("update of %s failed; it stays in the inbox: %s", entry.name, explain(exc),
                 exc_info=log.isEnabledFor(logging.INFO))
        failed_stores.add(result.store)
        result.roll_back()
        result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
        # The file's line (stderr) says it once; what to do goes under it.
        if explain(exc) != f"{type(exc).__name__}: {one_line(exc)}":
            result.notes.append(f"{explain(exc)}; it stays in the inbox")
        return _fill(result, surveyed, scratch, None)
    _fill(result, surveyed, scratch, rejects)
    result.status = "processed"
    if not options.dry_run:
        target = _move(result, lambda: inbox_files.archive(entry.path, options.archive), "archive")
        if target is not None:
            result.rejects_file = str(rejects.move_beside(target) or "")
        else:
            result.reason = "applied; the next run archives it as already applied"


def _fill(result: FileResult, surveyed: Survey, scratch: FileScratch, rejects: RejectsLog | None) -> None:
    """The file's line counts in its result, once both passes are done; the rejects log in line order."""
    finish(scratch, surveyed, rejects)
    _copy_counts(result, surveyed)
    if not result.notes:
        result.notes = surveyed.notes


def _copy_counts(result: FileResult, surveyed: Survey) -> None:
    result.lines = surveyed.lines
    result.lines_rejected = surveyed.lines_rejected
    result.duplicate_lines = surveyed.duplicate_lines
    result.unique_lines = surveyed.unique_lines
    result.rejected_by_reason = dict(surveyed.rejected)
    result.problems = [[p.line_no, p.reason] for p in surveyed.problems]
    result.lines_with_warnings = surveyed.lines_with_warnings
    result.warnings_by_reason = dict(surveyed.warnings)


def _why_unusable(result: FileResult) -> str:
    if not result.lines:
        return "empty file"
    commonest = max(result.rejected_by_reason.items(), key=lambda item: item[1])[0]
    return f"no usable line: all {result.lines} lines rejected (most often: {commonest})"


def _meta_notes(meta, store) -> list[str]:
    """What the file's metadata says that an operator may want to check, though nothing is refused.
    ``store``: the file's store, if the catalog has it (its company then exists)."""
    notes = []
    if meta.store_id == COMPANY_WIDE_STORE_ID:
        notes.append("no store_id: prices go to the company-wide store "
                     f"{meta.company}/{COMPANY_WIDE_STORE_ID}")
    if store is None and not company_exists(meta):
        notes.append(f"company {meta.company!r} is not in the catalog yet: it is created "
                     "(if it is a known retailer spelled another way, fix the scraper)")
    return notes


def memory_guard(limit_bytes: int, remaining: list[inbox_files.InboxFile]) -> str:
    """Why the run should stop before the next file, or "" to go on.

    Checked between files only: a file is one transaction, so stopping here loses nothing, while
    the kernel's OOM killer would end the run at any point of a file.
    """
    used = over_limit(limit_bytes)
    if not used:
        return ""
    return (f"anonymous memory {used / 2**20:.0f} MB is over the limit of {limit_bytes / 2**20:.0f} MB "
            f"(--max-memory); {len(remaining)} files left in the inbox for the next run, "
            f"from {remaining[0].name}")


def why_refuse(meta, unique_count: int, store) -> str | None:
    """Dated in the future, stale or partial: why a readable file is refused as a whole.
    ``store``: the file's store (``find_store``), None if the catalog does not have it yet."""
    today = date.today()
    if meta.scraped_date > today + timedelta(days=FUTURE_DAYS_ALLOWED):
        return f"scraped_date {meta.scraped_date} is in the future (today is {today})"
    if store is None:
        return None
    if store.last_scraped and meta.scraped_date <= store.last_scraped:
        return (f"stale: scraped {meta.scraped_date}, but the store's prices are from "
                f"{store.last_scraped}")
    current = sum(part.count() for part in Price.objects.for_store_parts(store))
    if current and unique_count < PARTIAL_SCRAPE_RATIO * current:
        return (f"partial scrape: {unique_count} unique lines, fewer than {PARTIAL_SCRAPE_RATIO:.0%} of the "
                f"store's {current} current prices")
    return None


def _apply(path: Path, meta, surveyed: Survey, index: ProductIndex, scratch: FileScratch,
           options: UpdateOptions, result: FileResult) -> None:
    """Write one file trusting the index; if the database refuses it, write it again checking every key."""
    before = copy.deepcopy(result)
    try:
        _write_file(path, meta, surveyed, index, scratch, options, result, verify=False)
    except IntegrityError as exc:
        # The index said a key was free or a product existed, the database says otherwise (a change the
        # log did not show): nothing of the attempt was kept, and the repair path fixes the index.
        log.warning("%s: the database refused what the index said (%s); writing the file again, checking "
                    "every key against the database", path.name, str(exc).splitlines()[0])
        result.__dict__.update(copy.deepcopy(before).__dict__)
        scratch.forget_prices()
        _write_file(path, meta, surveyed, index, scratch, options, result, verify=True)
        result.notes.append("the index disagreed with the database: the file was written again checking "
                            "every key, and the index repaired")


def _write_file(path: Path, meta, surveyed: Survey, index: ProductIndex, scratch: FileScratch,
                options: UpdateOptions, result: FileResult, *, verify: bool) -> None:
    """Write one file: the database first, in one transaction; the index only once that committed."""
    writer = index.writer()
    try:
        with transaction.atomic():
            hold_writer_lock()
            store = get_or_create_store(meta)
            ctx = FileContext(path=path, meta=meta, store=store, index=index, writer=writer, scratch=scratch,
                              result=result, now=timezone.now())
            trusted = not verify and getattr(index, "is_current", False)
            products = ProductManager(ctx, BrandManager(), verify=not trusted)
            # The repair path checks every line against the database: none is taken as seen there.
            unchanged = UnchangedLines(ctx, skip=options.skip_unchanged and trusted,
                                       batch_lines=options.chunk_size, max_lines=BATCH_CHUNKS * options.chunk_size)
            prices = PriceManager(ctx, unchanged.origin_of)
            categories = CategoryManager(ctx)

            def update_batch() -> None:
                changed, seen = unchanged.take()
                pairs = []
                # A batch can pass a chunk by the last chunk added; the managers still take a chunk at most.
                for part in chunked(changed, options.chunk_size):
                    pairs += products.process([read.line for unit in part for read in unit])
                unchanged.settle(pairs)
                prices.apply(unchanged.in_stream_order(pairs, seen))
                categories.apply(pairs)
                note_outcome(scratch, changed, pairs)

            options.progress.pass_started("updating")
            # closing(): an interrupted file ends the reader while the scratch it reads is still open.
            with closing(read_units(path, scratch, surveyed, options.progress.bytes_read)) as units:
                for chunk in chunked(units, options.chunk_size):
                    products.check_freshness()  # before any line is taken as seen
                    if unchanged.add(chunk):
                        update_batch()
            update_batch()
            products.finish()
            prices.finish()
            categories.finish()
            prices.delete_absent()
            store.last_scraped = meta.scraped_date
            store.save(update_fields=["last_scraped"])
            if options.dry_run:
                raise DryRunRollback()
            if options.ledger is not None:
                _copy_counts(result, surveyed)  # all but the warned lines, counted once the file is filed
                result.ledger_row = options.ledger.record_applied(
                    result, store=store, size=result.size, sha256=result.sha256,
                    started_at=ctx.now)
            if options.stop is not None:
                # From the commit until the file is filed, a stop signal waits (see stop_signals.py).
                options.stop.shield()
    except BaseException:
        writer.abort()
        raise
    result.committed = True
    writer.commit()


def _refuse(entry, result: FileResult, options: UpdateOptions, reason: str, rejects: RejectsLog) -> None:
    result.status, result.reason = "rejected", reason
    log.info("rejected %s: %s", entry.name, reason)  # the file's line says it, once
    if not options.dry_run:
        target = _move(result, lambda: inbox_files.reject(entry.path, options.rejected, reason), "rejected folder")
        if target is not None:
            result.rejects_file = str(rejects.move_beside(target) or "")


def chunked(units: Iterable[list[ReadLine]], size: int) -> Iterator[list[list[ReadLine]]]:
    """Units of lines, about ``size`` lines a chunk; a unit (lines sharing a key) is never split."""
    chunk: list[list[ReadLine]] = []
    lines = 0
    for unit in units:
        if chunk and lines + len(unit) > size:
            yield chunk
            chunk, lines = [], 0
        chunk.append(unit)
        lines += len(unit)
        if lines >= size:
            yield chunk
            chunk, lines = [], 0
    if chunk:
        yield chunk


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
