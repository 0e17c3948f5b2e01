"""The process that does one measured step, so its memory is its own: seed, build the index, or update.

    python -m bench.child seed   --database-url URL --inbox DIR --work DIR --out FILE.json
    python -m bench.child build  --database-url URL --index DIR --out FILE.json
    python -m bench.child update --database-url URL --inbox DIR --work DIR --index DIR --design NAME --out FILE.json

The parent (bench.run) starts it, possibly inside a memory cgroup, and reads FILE.json. Nothing is
imported from Django before DATABASE_URL is set, because the settings read it once.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench.child")
    parser.add_argument("step", choices=["seed", "build", "update"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--inbox", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--design", default="lmdb")
    parser.add_argument("--chunk-size", type=int, default=0)
    args = parser.parse_args(argv)

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if args.work:
        os.environ["UPDATE_VAR_DIR"] = str(args.work)
    import django

    django.setup()
    result = {"seed": seed, "build": build, "update": update}[args.step](args)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


def _options(args, backend: str, factory=None):
    from update.orchestrator import UpdateOptions

    work = args.work
    kwargs = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    return UpdateOptions(inbox=args.inbox, archive=work / "archive", rejected=work / "rejected",
                         index_path=args.index or work / "index", index_backend=backend,
                         lock_path=work / "update.lock", index_factory=factory, **kwargs)


def seed(args) -> dict:
    """Migrate an empty database and run day 1 into it: the catalog every design then updates."""
    from django.core.management import call_command
    from django.db import connection

    from update.orchestrator import run_update

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    report = run_update(_options(args, "lmdb"))
    if connection.vendor == "sqlite":
        # Fold the WAL into the main file, so copying that one file copies the whole database.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return {"migrate_s": round(migrate_s, 3), "report": report.as_dict(), **_catalog_counts()}


def _catalog_counts() -> dict:
    from catalog.models import SKU, Price, Product

    return {"products": Product.objects.count(), "skus": SKU.objects.count(), "prices": Price.objects.count()}


def build(args) -> dict:
    """Time ``build_lmdb_index`` on the seeded database, and measure the index it wrote."""
    from diskcache_tier.build_index import build_lmdb_index
    from update.memory import MemoryWatch, peak_rss_bytes

    with MemoryWatch() as watch:
        stats = build_lmdb_index(args.index, reason="benchmark")
    return {"products": stats.products, "skus": stats.skus, "elapsed_s": round(stats.elapsed_s, 3),
            "products_per_s": round(stats.products_per_s), "rows_per_s": round((stats.products + stats.skus)
                                                                               / stats.elapsed_s),
            "counts": stats.counts, "peak_anon_bytes": watch.peak_anon, "peak_rss_bytes": peak_rss_bytes(),
            **lmdb_usage(args.index)}


def lmdb_usage(path: Path) -> dict:
    """The index's size on disk three ways: the file, the pages ever used, the pages its trees hold now."""
    import lmdb

    from diskcache_tier.lookup import _DB_NAMES

    data = Path(path) / "data.mdb"
    env = lmdb.open(str(path), readonly=True, max_dbs=len(_DB_NAMES), lock=False)
    try:
        page = env.stat()["psize"]
        info = env.info()
        live = 0
        with env.begin() as txn:
            for raw in _DB_NAMES.values():
                s = txn.stat(env.open_db(raw, txn=txn, create=False))
                live += (s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * page
            s = env.stat()  # the main database, which names the others
            live += (s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * page
    finally:
        env.close()
    return {"file_bytes": data.stat().st_size, "allocated_bytes": data.stat().st_blocks * 512,
            "used_bytes": (info["last_pgno"] + 1) * page, "live_bytes": live, "page_bytes": page}


def update(args) -> dict:
    from bench.designs import DESIGNS
    from update.memory import anon_bytes
    from update.orchestrator import run_update

    design = DESIGNS[args.design]
    # What Django and the imports alone cost, so the designs' own memory can be told apart.
    baseline_anon = anon_bytes()
    options = _options(args, design.name, design.factory)
    options.progress = clock = CpuClock()
    cpu_started = time.process_time()
    report = run_update(options)
    return {"design": design.name, "baseline_anon_bytes": baseline_anon, "report": report.as_dict(),
            "cpu_s": round(time.process_time() - cpu_started, 3),
            "startup_cpu_s": round(clock.first_file_cpu - cpu_started, 3) if clock.first_file_cpu else None,
            "file_cpu_s": clock.file_cpu}


class CpuClock:
    """CPU seconds per file: on a shared machine, wall time also measures the neighbours' load."""

    def __init__(self):
        self.first_file_cpu = None
        self.file_cpu: dict[str, float] = {}
        self._started = 0.0

    def file_started(self, name, size_bytes):
        self._started = time.process_time()
        if self.first_file_cpu is None:
            self.first_file_cpu = self._started

    def file_done(self, result):
        self.file_cpu[result.file] = round(time.process_time() - self._started, 3)

    def __getattr__(self, name):
        # Every other progress hook (notes, bytes read, passes): nothing to record.
        return _ignore


def _ignore(*args, **kwargs) -> None:
    return None


if __name__ == "__main__":
    sys.exit(main())
