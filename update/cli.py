"""``bin/update-products``: the update for cron, and the index's own commands, over the same library.

Paths come from options, else from the environment (UPDATE_INBOX, UPDATE_INDEX_PATH, ... read by the
settings), so a crontab line needs no options at all.
"""
from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

# Exit statuses, also listed in the README and in --help.
EXIT_OK = 0
EXIT_REJECTED = 1  # the run finished, but some files or lines were refused (see the report)
EXIT_USAGE = 2  # bad options or arguments (click's own status for usage errors)
EXIT_LOCKED = 3  # another update holds the lock; nothing was done
EXIT_FAILED = 4  # a file failed, the memory guard stopped the run, or the run could not start

EXIT_STATUSES = f"""\b
Exit statuses:
  {EXIT_OK}  success
  {EXIT_REJECTED}  success, but files or lines were rejected (see the report)
  {EXIT_USAGE}  usage error
  {EXIT_LOCKED}  another run holds the lock
  {EXIT_FAILED}  failure: a file failed, --max-memory stopped the run early, or it could not start
"""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def status_of(report) -> int:
    if report.count("failed") or report.stopped_early:
        return EXIT_FAILED
    if report.count("rejected") or any(f.lines_rejected for f in report.files):
        return EXIT_REJECTED
    return EXIT_OK


@click.group(invoke_without_command=True, epilog=EXIT_STATUSES)
@click.pass_context
def main(ctx):
    """Update products and prices from the inbox (the default), or manage the index."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@main.command(epilog=EXIT_STATUSES)
@click.option("--inbox", type=click.Path(path_type=Path), help="folder of input files [$UPDATE_INBOX]")
@click.option("--archive", type=click.Path(path_type=Path), help="processed files go here [$UPDATE_ARCHIVE]")
@click.option("--rejected", type=click.Path(path_type=Path), help="refused files go here [$UPDATE_REJECTED]")
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--index-backend", type=click.Choice(["lmdb", "memory"]), default="lmdb", show_default=True)
@click.option("--chunk-size", type=click.IntRange(1, 5000), default=None, help="lines per batch of queries")
@click.option("--report", type=click.Path(path_type=Path), help="write the run report as JSON here")
@click.option("--dry-run", is_flag=True, help="compute and report everything, write nothing")
@click.option("--silent", is_flag=True, help="print only the summary line")
@click.option("--max-memory", type=click.IntRange(1), envvar="UPDATE_MAX_MEMORY_MB", metavar="MB",
              help="stop between files once anonymous memory passes MB [$UPDATE_MAX_MEMORY_MB]")
@click.option("--settle-seconds", type=click.FloatRange(0), default=0, metavar="S",
              help="leave files modified in the last S seconds for the next run")
def run(inbox=None, archive=None, rejected=None, index_path=None, index_backend="lmdb", chunk_size=None,
        report=None, dry_run=False, silent=False, max_memory=None, settle_seconds=0):
    """Run the product update over every file in the inbox, oldest first.

    Prints one line per file (a progress bar too, on a terminal) and ends on a summary line.
    """
    if max_memory is None and os.environ.get("UPDATE_MAX_MEMORY_MB"):
        # A bare ``bin/update-products`` invokes this command with defaults, past click's envvar lookup.
        max_memory = click.IntRange(1).convert(os.environ["UPDATE_MAX_MEMORY_MB"], None, None)
    try:
        setup_django()
        import orjson
        from django.conf import settings

        from update.orchestrator import CHUNK_SIZE, UpdateLocked, UpdateOptions, run_update
        from update.progress import for_stream
    except Exception as exc:
        _failed(exc)

    options = UpdateOptions(
        inbox=inbox or settings.UPDATE_INBOX,
        archive=archive or settings.UPDATE_ARCHIVE,
        rejected=rejected or settings.UPDATE_REJECTED,
        index_path=index_path or settings.UPDATE_INDEX_PATH,
        index_backend=index_backend,
        chunk_size=chunk_size or CHUNK_SIZE,
        dry_run=dry_run,
        progress=for_stream(sys.stdout, silent=silent),
        max_memory_bytes=(max_memory or 0) * 2**20,
        settle_s=settle_seconds,
    )
    if not Path(options.inbox).is_dir():
        raise click.UsageError(f"inbox {options.inbox} is not a folder")
    try:
        result = run_update(options)
        if report:
            report.write_bytes(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2))
    except UpdateLocked as exc:
        click.echo(f"update-products: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except Exception as exc:
        _failed(exc)
    click.echo(result.summary_line())
    sys.exit(status_of(result))


def _failed(exc: Exception) -> None:
    # Cron reads the status: a crash must say 4, not Python's own 1, which here means "lines rejected".
    traceback.print_exc()
    click.echo(f"update-products: failed: {type(exc).__name__}: {exc}", err=True)
    sys.exit(EXIT_FAILED)


INDEX_EXIT_STATUSES = f"""\b
Exit statuses of the index commands:
  {EXIT_OK}  success (verify: the index matches the database)
  1  verify: the index differs from the database (counts by kind are printed)
  {EXIT_LOCKED}  an update holds the lock; nothing was done
  {EXIT_FAILED}  the index is missing or unreadable (verify), or the build failed
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
        click.echo(f"update-products: {exc}", err=True)
        sys.exit(EXIT_LOCKED)


def _index_path(index_path) -> Path:
    setup_django()
    from django.conf import settings

    return Path(index_path or settings.UPDATE_INDEX_PATH)


@index.command("build", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
def index_build(index_path=None):
    """Build the index from the database into a new folder, swapped in when complete."""
    path = _index_path(index_path)
    from diskcache_tier.build_index import build_lmdb_index

    with _run_lock_or_exit(path):
        stats = build_lmdb_index(path)
    click.echo(f"built {path}: {stats.products} products, {stats.skus} SKUs in {stats.elapsed_s:.2f}s "
               f"({stats.products_per_s:,.0f} products/s), {stats.size_bytes / 2**20:.1f} MB")


@index.command("verify", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--json", "as_json", is_flag=True, help="print the counts and examples as JSON")
def index_verify(index_path=None, as_json=False):
    """Compare every key of every sub-database with the database, both ways, streaming."""
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
            click.echo(f"update-products: {path}: {problem}", err=True)
            sys.exit(EXIT_FAILED)
        if problem is not None:
            click.echo(f"note: the next update will rebuild this index ({problem})", err=True)
        with LmdbIndex(path, readonly=True) as idx:
            result = verify_index(idx)
    if as_json:
        click.echo(orjson.dumps({"clean": result.clean, "mismatches": dict(result.mismatches),
                                 "checked": dict(result.checked), "examples": result.samples},
                                option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(describe(result))
        for kind, examples in sorted(result.samples.items()):
            click.echo(f"  {kind}: e.g. {examples}")
    sys.exit(EXIT_OK if result.clean else 1)


@index.command("stats", epilog=INDEX_EXIT_STATUSES)
@click.option("--index-path", type=click.Path(path_type=Path), help="LMDB index folder [$UPDATE_INDEX_PATH]")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
def index_stats(index_path=None, as_json=False):
    """Counts, size on disk, bytes per product, format and lmdb versions, age, pending changes."""
    path = _index_path(index_path)
    import orjson

    from diskcache_tier.stats import format_stats, index_stats as gather

    stats = gather(path)
    click.echo(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode() if as_json else format_stats(stats))
    sys.exit(EXIT_OK if "counts" in stats else EXIT_FAILED)
