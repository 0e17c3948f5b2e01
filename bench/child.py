"""The process that does one measured step, so its memory is its own.

    python -m bench.child seed    --database-url URL --inbox DIR --work DIR --out FILE.json
    python -m bench.child prepare --database-url URL --index DIR --design NAME --out FILE.json
    python -m bench.child update  --database-url URL --inbox DIR --work DIR --index DIR --design NAME --out FILE.json
    python -m bench.child digest  --database-url URL --out FILE.json

``prepare`` is what a design needs once, before its first run: the LMDB index build (also the floor's,
which reads against it), the no-index design's alias table; nothing for the designs that load at every
start. ``update`` with ``--design floor`` runs no update: it reads the inbox as ``bench.floor`` does
(orjson, two digests, 3 LMDB gets per line) and writes nothing, the floor every design is compared to. ``digest`` is the catalog's
digest, taken in a process of its own after an update so it never counts in the update's figures.

The parent (bench.run) starts it, possibly inside a memory cgroup, and reads FILE.json. Nothing is
imported from Django before DATABASE_URL is set, because the settings read it once.

It also runs as a script from another checkout (``--baseline-tree``): the parent then starts
``python /this/tree/bench/child.py`` in the other tree with that tree first on PYTHONPATH, so the project
code measured is the other tree's and only this file is ours. Hence only the standard library at module
level, and designs other than lmdb and memory imported only when asked for.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench.child")
    parser.add_argument("step", choices=["seed", "prepare", "update", "digest"])
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
    result = {"seed": seed, "prepare": prepare, "update": update, "digest": digest}[args.step](args)
    result["vm_hwm_bytes"] = vm_hwm_bytes()
    # Which checkout's code ran: this tree's, or the --baseline-tree's.
    result["code_root"] = str(Path(sys.modules["update"].__file__).resolve().parent.parent)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


def vm_hwm_bytes() -> int:
    """The kernel's own peak RSS of this process (VmHWM): no sampler can miss a spike inside a C call."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
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


def prepare(args) -> dict:
    """A design's one-off preparation on the seeded database, timed and measured."""
    from update.memory import MemoryWatch

    cpu_started = time.process_time()
    with MemoryWatch() as watch:
        if args.design in ("lmdb", "baseline", "floor"):
            result = build(args)
        elif args.design == "nocache":
            from bench.no_cache import prepare_alias_table

            result = prepare_alias_table()
        else:
            result = {}
    return {**result, "cpu_s": round(time.process_time() - cpu_started, 3), "peak_anon_bytes": watch.peak_anon}


def build(args) -> dict:
    """``build_lmdb_index`` on the seeded database, and the index it wrote."""
    from diskcache_tier.build_index import build_lmdb_index

    stats = build_lmdb_index(args.index, reason="benchmark")
    return {"products": stats.products, "skus": stats.skus, "elapsed_s": round(stats.elapsed_s, 3),
            "products_per_s": round(stats.products_per_s),
            "rows_per_s": round((stats.products + stats.skus) / stats.elapsed_s), **lmdb_usage(args.index)}


def lmdb_usage(path: Path) -> dict:
    """The index's size on disk: the file, and the pages its trees hold now."""
    import lmdb

    data = Path(path) / "data.mdb"
    env = lmdb.open(str(path), readonly=True, max_dbs=16, lock=False)
    try:
        page = env.stat()["psize"]
        live = 0
        with env.begin() as txn:
            names = [bytes(key) for key, _ in txn.cursor()]
            for raw in names:
                s = txn.stat(env.open_db(raw, txn=txn, create=False))
                live += (s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * page
        s = env.stat()  # the main database, which names the others
        live += (s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]) * page
    finally:
        env.close()
    return {"file_bytes": data.stat().st_size, "live_bytes": live, "page_bytes": page}


_FIRST_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE|COPY)\s+"?(\w+)"?', re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """A statement's verb and the first table it names ("SELECT catalog_price", "BEGIN"): where the
    statements go, told by what they are, not by which code sent them."""
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    table = _FIRST_TABLE.search(sql)
    return f"{verb} {table.group(1)}" if table else verb


class StatementCounter:
    """Every SQL statement the update sends, through Django's execute wrapper: what the database is
    asked, whichever design asks it. ``executemany`` is one statement and counts its rows apart; a COPY
    is one statement too. ``kinds`` counts them by ``statement_kind``."""

    def __init__(self):
        self.statements = 0
        self.many_rows = 0
        self.copies = 0
        self.kinds: dict[str, int] = {}

    def _count(self, sql: str) -> None:
        self.statements += 1
        kind = statement_kind(sql)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def count_copies(self) -> None:
        """COPY (bulk inserts on PostgreSQL) goes through psycopg's own cursor, under Django's wrapper:
        count it by wrapping psycopg's ``Cursor.copy`` in this process."""
        try:
            import psycopg
        except ImportError:
            return
        original = psycopg.Cursor.copy
        counter = self

        def copy(cursor, statement, *args, **kwargs):
            counter._count(str(statement))
            counter.copies += 1
            return original(cursor, statement, *args, **kwargs)

        psycopg.Cursor.copy = copy

    def __call__(self, execute, sql, params, many, context):
        self._count(sql)
        if many:
            params = list(params)
            self.many_rows += len(params)
        return execute(sql, params, many, context)


def update(args) -> dict:
    if args.design == "floor":
        return floor(args)
    from django.db import connection

    from update.orchestrator import run_update

    factory = None
    if args.design in ("legacy", "nocache"):
        from bench.designs import DESIGNS

        factory = DESIGNS[args.design].factory
    backend = "memory" if args.design in ("memory", "memory-unfrozen") else "lmdb"
    # What Django and the imports alone cost, so the designs' own memory can be told apart.
    baseline_anon = _anon_bytes()
    options = _options(args, backend, factory)
    options.progress = clock = CpuClock()
    counter = StatementCounter()
    counter.count_copies()
    # Django and the imports are long-lived in every design; out of the collector's way in all of them,
    # so the memory backend's own freeze after loading (MemoryIndex.writer) buys it nothing the others lack.
    gc.freeze()
    if args.design == "memory-unfrozen":
        # The memory backend as it was before issue 10: its maps left to the collector, which walks them
        # on every full collection. Kept to show the artifact, not as a competitor.
        gc.freeze = _ignore
    cpu_started = time.process_time()
    with connection.execute_wrapper(counter):
        report = run_update(options)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"design": args.design, "baseline_anon_bytes": baseline_anon, "report": report.as_dict(),
            "cpu_s": round(time.process_time() - cpu_started, 3),
            "user_s": round(usage.ru_utime, 3), "system_s": round(usage.ru_stime, 3),
            "startup_cpu_s": round(clock.first_file_cpu - cpu_started, 3) if clock.first_file_cpu else None,
            "file_cpu_s": clock.file_cpu, "sql_statements": counter.statements,
            "sql_executemany_rows": counter.many_rows, "sql_copies": counter.copies,
            "sql_by_kind": dict(sorted(counter.kinds.items()))}


def floor(args) -> dict:
    """The read-side floor over the inbox, shaped as an update's outcome: its lines, CPU and memory, no
    statements. Timed from here, as the update is from its run's start: both after Django's setup."""
    from bench.floor import read_floor
    from update.memory import MemoryWatch

    baseline_anon = _anon_bytes()
    gc.freeze()
    per_file, file_cpu, found = [], {}, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with MemoryWatch() as watch:
        for path in sorted(args.inbox.glob("*.jsonl")):
            file_started, file_cpu_started = time.perf_counter(), time.process_time()
            found += read_floor(args.index, [path])
            file_cpu[path.name] = round(time.process_time() - file_cpu_started, 3)
            per_file.append({"file": path.name, "status": "processed", "lines": _count_lines(path),
                             "elapsed_s": round(time.perf_counter() - file_started, 3)})
    report = {"files": per_file, "elapsed_s": round(time.perf_counter() - started, 3), "startup_s": 0.0,
              "peak_anon_bytes": watch.peak_anon, "peak_rss_bytes": 0,
              "totals": {"lines": sum(f["lines"] for f in per_file), "lines_found_in_index": found}}
    return {"design": "floor", "baseline_anon_bytes": baseline_anon, "report": report,
            "cpu_s": round(time.process_time() - cpu_started, 3), "startup_cpu_s": 0.0, "file_cpu_s": file_cpu,
            "sql_statements": 0, "sql_executemany_rows": 0, "sql_copies": 0, "sql_by_kind": {}}


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def digest(args) -> dict:
    import hashlib

    from catalog.digest import database_digest

    started = time.perf_counter()
    tables = database_digest()
    whole = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    return {"digest": whole, "tables": tables, "elapsed_s": round(time.perf_counter() - started, 3)}


def _anon_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


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
