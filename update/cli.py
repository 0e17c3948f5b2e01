"""``bin/update-products`` (the ``update-products`` console script): the update for cron, the run
ledger, rejected files, and the index's own commands, over the same library as ``manage.py update``.

Paths come from options, else from the environment (UPDATE_INBOX, UPDATE_INDEX_PATH, ... read by the
settings), so a crontab line needs no options at all. Every option value is checked by
``update.options``, the same checks as ``manage.py update``.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from .statuses import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK, EXIT_REJECTED,  # noqa: F401
                       EXIT_STATUSES, EXIT_USAGE, status_of)
from .stop_signals import ignore_after_the_run
from .version import __version__

PROG = "update-products"


def setup_django(*, collector: bool = True) -> None:
    """Django set up. bin/update-products imports with the cyclic collector off (see there): it is on
    again here, what was imported frozen out of it, unless ``collector`` is False (the update's run turns
    it on itself, once the rest of its modules are imported: ``update.memory.quiet_collector``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if collector and not gc.isenabled():
        gc.freeze()
        gc.enable()
    from .operator_errors import refuse_missing_sqlite

    refuse_missing_sqlite()  # ImproperlyConfigured: exit 2, one line, nothing created


def fail(message: str, status: int, *, exc: BaseException | None = None, verbose: bool = False) -> None:
    """One line on stderr that says what to do, the traceback only when asked for; then exit."""
    if verbose and exc is not None:
        traceback.print_exception(exc)
    click.echo(f"{PROG}: {message}", err=True)
    sys.exit(status)


@contextmanager
def operator_errors(verbose: bool) -> Iterator[None]:
    """Turn what an operator can fix into one line and the right exit status."""
    try:
        yield
    except SystemExit:
        raise
    except BaseException as exc:
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(exc, ImproperlyConfigured):
            fail(str(exc), EXIT_USAGE, exc=exc, verbose=verbose)
        from .moves import FolderNotWritable
        from .options import OptionError
        from .orchestrator import UpdateLocked

        if isinstance(exc, (OptionError, FolderNotWritable)):
            fail(str(exc) if isinstance(exc, OptionError) else exc.strerror, EXIT_USAGE, exc=exc, verbose=verbose)
        if isinstance(exc, UpdateLocked):
            fail(str(exc), EXIT_LOCKED)
        from .stop_signals import Interrupted

        if isinstance(exc, (KeyboardInterrupt, Interrupted)):
            fail(f"{exc or 'interrupted'} before the run started; nothing was changed", EXIT_INTERRUPTED)
        from .operator_errors import explain

        # Cron reads the status: a crash must say 4, not Python's own 1, which here means "lines rejected".
        fail(f"failed: {explain(exc)}", EXIT_FAILED, exc=exc, verbose=verbose)


def set_verbosity(verbosity: int) -> None:
    """-v 2 logs what the run does (INFO), -v 3 everything (DEBUG); the default only warnings."""
    if verbosity >= 2:
        for name in ("update", "diskcache_tier"):
            logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 3 else logging.INFO)


verbosity_option = click.option("-v", "--verbosity", type=click.IntRange(0, 3), default=1, show_default=True,
                                help="0: summary line only (warnings still on stderr); 1: a line per file; 2: and the log, tracebacks; "
                                     "3: and every logged detail")
traceback_option = click.option("--traceback", is_flag=True, help="print the traceback of an error")


class RunByDefault(click.Group):
    """Options without a command are ``run``'s: ``update-products --inbox DIR`` is ``update-products run
    --inbox DIR``, as the bare command is ``run``."""

    def parse_args(self, ctx, args):
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=RunByDefault, invoke_without_command=True, epilog=EXIT_STATUSES)
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
@click.pass_context
def main(ctx):
    """Update products and prices from the inbox (the default), list runs and rejected files, or
    manage the index."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command(epilog=EXIT_STATUSES)
@click.option("--inbox", type=click.Path(path_type=Path), help="folder of input files [$UPDATE_INBOX]")
@click.option("--archive", type=click.Path(path_type=Path), help="processed files go here [$UPDATE_ARCHIVE]")
@click.option("--rejected", type=click.Path(path_type=Path), help="refused files go here [$UPDATE_REJECTED]")
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--index-backend", default="lmdb", show_default=True, help="lmdb or memory")
@click.option("--chunk-size", type=int, default=None, help="lines per batch of queries (1-5000) [500]")
@click.option("--report", metavar="FILE|DIR|-",
              help="write the run report as JSON to FILE, to a new timestamped file in DIR, or to stdout (-)")
@click.option("--dry-run", is_flag=True, help="compute and report everything, write nothing")
@click.option("--silent", is_flag=True, help="print only the summary line and warnings (as -v 0)")
@click.option("--max-memory", type=int, envvar="UPDATE_MAX_MEMORY_MB", metavar="MB",
              help="stop between files once anonymous memory passes MB [$UPDATE_MAX_MEMORY_MB]")
@click.option("--settle-seconds", type=float, default=0, metavar="S",
              help="leave files modified in the last S seconds for the next run")
@verbosity_option
@traceback_option
def run(inbox=None, archive=None, rejected=None, index_path=None, index_backend="lmdb", chunk_size=None,
        report=None, dry_run=False, silent=False, max_memory=None, settle_seconds=0, verbosity=1,
        traceback=False):
    """Run the product update over every file in the inbox, oldest first.

    Prints one line per file (a progress bar too, on a terminal) and ends on a summary line.
    """
    verbose = traceback or verbosity >= 2
    if max_memory is None and os.environ.get("UPDATE_MAX_MEMORY_MB"):
        # A bare ``bin/update-products`` invokes this command with defaults, past click's envvar lookup.
        max_memory = click.INT.convert(os.environ["UPDATE_MAX_MEMORY_MB"], None, None)
    with operator_errors(verbose):
        setup_django(collector=False)  # the run turns it on: update.memory.quiet_collector
        from django.conf import settings

        from .options import update_options
        from .orchestrator import run_update
        from .progress import for_stream

        set_verbosity(verbosity)
        # With the report on stdout, everything else goes to stderr so the JSON stays parseable.
        out = sys.stderr if report == "-" else sys.stdout
        options = update_options(
            inbox=inbox or settings.UPDATE_INBOX, archive=archive or settings.UPDATE_ARCHIVE,
            rejected=rejected or settings.UPDATE_REJECTED, index_path=index_path or settings.UPDATE_INDEX_PATH,
            index_backend=index_backend, chunk_size=chunk_size, dry_run=dry_run, max_memory_mb=max_memory,
            settle_seconds=settle_seconds,
            progress=for_stream(out, silent=silent, verbosity=verbosity, errors=sys.stderr))
        options.report = report
        ignore_after_the_run()
        result = run_update(options)
    print_summary(result, out)
    sys.exit(result.exit_status)


def print_summary(result, out) -> None:
    """Cron's convention: nothing when nothing happened; the summary on ``out`` (the log), or on stderr
    (the operator's mail) when the run failed or was stopped."""
    from .progress import log_line

    if not result.anything_to_say:
        return
    stream = sys.stderr if result.exit_status in (EXIT_FAILED, EXIT_INTERRUPTED) else out
    stream.write(log_line(result.summary_line(), stream) + "\n")
    stream.flush()


# ------------------------------------------------------------------------------------ the run ledger


@main.group(invoke_without_command=True, epilog=EXIT_STATUSES)
@click.option("--last", type=click.IntRange(1), default=20, show_default=True, help="how many runs")
@click.option("--json", "as_json", is_flag=True, help="print them as JSON")
@click.pass_context
def runs(ctx, last=20, as_json=False):
    """List the last runs, newest first: start, status, exit status, files and what they changed."""
    if ctx.invoked_subcommand is not None:
        return
    with operator_errors(False):
        setup_django()
        from ledger.view import list_runs

        click.echo(list_runs(last, as_json))


@runs.command("show", epilog=EXIT_STATUSES)
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print it as JSON")
def runs_show(run_id, as_json=False):
    """One run and every file it handled."""
    with operator_errors(False):
        setup_django()
        from ledger.view import show_run

        text = show_run(run_id, as_json)
    if text is None:
        fail(f"no run {run_id}: `{PROG} runs` lists them", EXIT_USAGE)
    click.echo(text)


@main.command("rejected", epilog=EXIT_STATUSES)
@click.option("--json", "as_json", is_flag=True, help="print them as JSON")
def rejected_files(as_json=False):
    """Rejected files still waiting in the rejected folder, with their reasons."""
    with operator_errors(False):
        setup_django()
        from ledger.view import list_rejected

        click.echo(list_rejected(as_json))


@main.command(epilog=EXIT_STATUSES)
@click.argument("name")
@click.option("--inbox", type=click.Path(path_type=Path), help="[$UPDATE_INBOX]")
def retry(name, inbox=None):
    """Move the rejected file NAME back to the inbox; the ledger keeps its old reason."""
    with operator_errors(False):
        setup_django()
        from django.conf import settings

        from .retry import RetryError, retry_rejected

        try:
            target = retry_rejected(name, Path(inbox or settings.UPDATE_INBOX))
        except RetryError as exc:
            fail(str(exc), EXIT_USAGE)
    click.echo(f"{name}: back in the inbox as {target}; the next run takes it")


# ------------------------------------------------------------------------------------ price history


HISTORY_EXIT_STATUSES = f"""\b
Exit statuses of history, prune-history and backfill-history:
  {EXIT_OK}  success (also when the product has no history yet)
  {EXIT_USAGE}  usage error: no such store, SKU or product, both or neither of SKU and --product, or
     (prune-history) --keep-days shorter than the reference window, (backfill-history) no archive folder
  {EXIT_LOCKED}  (backfill-history) an update holds the lock; nothing was done
  {EXIT_FAILED}  failure: the database could not be read or written
"""


@main.command("history", epilog=HISTORY_EXIT_STATUSES)
@click.argument("store", metavar="COMPANY/STORE_ID", required=False)
@click.argument("sku", required=False)
@click.option("--product", "product_id", type=int, metavar="ID", help="every store's history of product ID")
@click.option("--json", "as_json", is_flag=True, help="print it as JSON (amounts as strings of decimals)")
def history(store=None, sku=None, product_id=None, as_json=False):
    """A product's price changes at a store (found by the company's SKU), oldest first, and its reference
    price; or, with --product ID, at every store."""
    if (product_id is None) == (sku is None):
        fail(f"give COMPANY/STORE_ID SKU, or --product ID (`{PROG} history --help`)", EXIT_USAGE)
    with operator_errors(False):
        setup_django()
        from prices.view import NotFound, as_json as json_of, as_text, product_history, store_history

        try:
            if product_id is not None:
                if store is not None:
                    fail(f"give COMPANY/STORE_ID SKU, or --product ID, not both (`{PROG} history --help`)",
                         EXIT_USAGE)
                histories = product_history(product_id, prog=PROG)
                text = (json_of([{"store": h.store, **h.as_dict()} for h in histories]) if as_json
                        else "\n".join(as_text(h) for h in histories) or f"product {product_id}: no price history yet")
            else:
                found = store_history(store, sku, prog=PROG)
                text = json_of(found.as_dict()) if as_json else as_text(found)
        except NotFound as exc:
            fail(str(exc), EXIT_USAGE)
    click.echo(text)


@main.command("prune-history", epilog=HISTORY_EXIT_STATUSES)
@click.option("--keep-days", type=click.IntRange(1), required=True, metavar="N",
              help="keep the last N days (at least REFERENCE_WINDOW_DAYS) and the price in force N days ago")
def prune_history(keep_days):
    """Drop price history older than N days, in batches; by default history is kept for ever."""
    with operator_errors(False):
        setup_django()
        from datetime import date

        from django.conf import settings

        from prices.retention import RetentionTooShort, check_keep_days, cutoff_of, prune_history as prune

        try:
            check_keep_days(keep_days, settings.REFERENCE_WINDOW_DAYS)
        except RetentionTooShort as exc:
            fail(str(exc), EXIT_USAGE)
        cutoff = cutoff_of(keep_days, date.today())
        deleted = prune(cutoff)
    click.echo(f"{deleted} history rows from before {cutoff} dropped; each product's price in force on "
               f"{cutoff} kept")


@main.command("backfill-history", epilog=HISTORY_EXIT_STATUSES)
@click.option("--archive", type=click.Path(path_type=Path), help="folder of applied files [$UPDATE_ARCHIVE]")
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--silent", is_flag=True, help="print only the summary line and warnings")
@traceback_option
def backfill_history(archive=None, index_path=None, silent=False, traceback=False):
    """Replay the archived files, oldest first, into price history only (current prices untouched);
    running it again adds nothing."""
    with operator_errors(traceback):
        path = _index_path(index_path)
        from django.conf import settings

        from diskcache_tier.build_index import open_index

        from .backfill import backfill
        from .progress import for_stream

        folder = Path(archive or settings.UPDATE_ARCHIVE)
        if not folder.is_dir():
            fail(f"no archive folder {folder}: give it with --archive or $UPDATE_ARCHIVE", EXIT_USAGE)
        progress = for_stream(sys.stdout, silent=silent, errors=sys.stderr)
        with _run_lock_or_exit(path):  # no update writes prices or history meanwhile
            index, _ = open_index("lmdb", path)
            try:
                result = backfill(folder, index, progress)
            finally:
                index.close()
    click.echo(result.summary())


# ------------------------------------------------------------------------------------------ the index


INDEX_EXIT_STATUSES = f"""\b
Exit statuses of the index commands:
  {EXIT_OK}  success (verify: the index matches the database)
  1  verify: the index differs from the database (counts by kind are printed)
  {EXIT_USAGE}  usage error
  {EXIT_LOCKED}  an update holds the lock; nothing was done
  {EXIT_FAILED}  the index is missing or unreadable, or the command failed
"""


@main.group(epilog=INDEX_EXIT_STATUSES)
def index():
    """Build and inspect the tier-1 index."""


@contextmanager
def _run_lock_or_exit(path: Path) -> Iterator[None]:
    """Hold the update's run lock on the index, or exit 3 when an update holds it."""
    from diskcache_tier.build_index import index_lock_path
    from update.orchestrator import UpdateLocked, run_lock

    try:
        with run_lock(index_lock_path(path)):
            yield
    except UpdateLocked as exc:
        fail(str(exc), EXIT_LOCKED)


def _index_path(index_path) -> Path:
    setup_django()
    from django.conf import settings

    return Path(index_path or settings.UPDATE_INDEX_PATH)


@index.command("build", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--batch-size", type=int, default=None, help="rows per batch (1-1000000) [20000]")
@traceback_option
def index_build(index_path=None, batch_size=None, traceback=False):
    """Build the index from the database into a new folder, swapped in when complete."""
    with operator_errors(traceback):
        path = _index_path(index_path)
        from diskcache_tier.build_index import build_lmdb_index

        from .options import build_batch_size

        batch = build_batch_size(batch_size)
        with _run_lock_or_exit(path):
            stats = build_lmdb_index(path, **({"batch_size": batch} if batch else {}))
    click.echo(f"built {path}: {stats.products} products, {stats.skus} SKUs in {stats.elapsed_s:.2f}s "
               f"({stats.products_per_s:,.0f} products/s), {stats.size_bytes / 2**20:.1f} MB")


@index.command("verify", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--json", "as_json", is_flag=True, help="print the counts and examples as JSON")
@traceback_option
def index_verify(index_path=None, as_json=False, traceback=False):
    """Compare every key of every sub-database with the database, both ways, streaming."""
    # A verify that crashes exits 4: 1 is kept for "the index differs from the database".
    with operator_errors(traceback):
        path = _index_path(index_path)
        import orjson

        from diskcache_tier.build_index import why_rebuild
        from diskcache_tier.lookup import LmdbIndex
        from diskcache_tier.verify import describe, verify_index

        # Under the lock: an update commits the database before the index, so a verify beside one would
        # report its in-flight file as differences.
        with _run_lock_or_exit(path):
            problem = why_rebuild(path)
            if problem is not None and problem.startswith(("index missing", "index unreadable")):
                fail(f"{path}: {problem}", EXIT_FAILED)
            if problem is not None:
                click.echo(f"note: the next update will rebuild this index ({problem})", err=True)
            with LmdbIndex(path, readonly=True) as idx:
                result = verify_index(idx)
        if as_json:
            click.echo(orjson.dumps({"clean": result.clean, "mismatches": dict(result.mismatches),
                                     "checked": dict(result.checked), "examples": result.samples,
                                     "pending_changes": result.pending_changes,
                                     "pending": dict(result.pending)},
                                    option=orjson.OPT_INDENT_2).decode())
        else:
            click.echo(describe(result))
            for kind, examples in sorted(result.samples.items()):
                click.echo(f"  {kind}: e.g. {examples}")
    sys.exit(EXIT_OK if result.clean else 1)


@index.command("stats", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@traceback_option
def index_stats(index_path=None, as_json=False, traceback=False):
    """Counts, size on disk, bytes per product, format and lmdb versions, age, pending changes."""
    with operator_errors(traceback):
        path = _index_path(index_path)
        import orjson

        from diskcache_tier.stats import format_stats, index_stats as gather

        stats = gather(path)
    click.echo(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode() if as_json else format_stats(stats))
    sys.exit(EXIT_OK if "counts" in stats else EXIT_FAILED)
