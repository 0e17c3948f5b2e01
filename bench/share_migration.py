"""The upgrade to shared price lists at scale (issue 21): the time and peak memory of the migration that
carries the previous release's price rows forward, and every store reading the same prices after it.

    python -m bench.share_migration [--sizes 10000x100,100000x100] [--companies 4] [--states 3] [--seed 1]
                                    [--check-stores all|K] [--work DIR] [--out DIR] [--name share-migration]

Per size ``NxS`` (N products, S stores in all, spread evenly over ``--companies`` chains, each chain's stores
over ``--states`` states, so ``companies x states`` price lists), each step a process of its own on an
SQLite file under --work:

1. **The previous release.** ``manage.py migrate`` to catalog 0011 and prices 0002 (what prices 0003 and
   its catalog 0012 start from: their dependencies), every other app to its latest.
2. **Its catalog, in bulk SQL** (not through the update, which would take hours at 1M x 100): N products,
   the companies and stores, and per store a row for each product it carries, written by ``INSERT ...
   SELECT`` over products x stores in product order. Deterministic from --seed: each store carries a
   share of its chain's range drawn from 85-95%; a chain prices by (company, state) (a few products differ
   between its states); ~1% of a store's prices are its own (20 cents more, its own date); ~8% are specials
   with a was-price, a save amount and a reference price.
3. **Before.** Every store's rows (read with the previous release's model, from the migration state),
   per store in keyset windows of product ids, hashed (SHA-256 of each row's fields) as it streams.
4. **The migration, timed**: ``manage.py migrate prices 0003_share_prices -v 2`` (catalog 0012, which
   remakes catalog_price on SQLite, then prices 0003, which shares the rows), wall and CPU seconds (wait4),
   each migration's own seconds (from its output), peak anonymous memory (RssAnon polled every 10 ms from
   /proc/PID/status by the parent, as bench.run does) and the peak RSS (ru_maxrss, the kernel's VmHWM).
5. **After.** The same digest, every store read through ``Price.objects.for_store``, and the rows by kind.
   The readings before and after must be equal, store by store (scraped dates included), or the size is
   marked failed and the command exits with status 2.

``--check-stores K`` hashes the first K stores of every list only (a sample, said so in the results).
Results: ``<out>/<name>.json`` and ``.md``, written after every size; the tree must be clean (the results
name their commit) unless --allow-dirty. SQLite only. The databases are deleted unless --keep.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The previous release: what prices 0003 (and catalog 0012, its dependency) start from.
PREVIOUS = (("catalog", "0011_price_not_real_reduction_index"), ("prices", "0002_pricehistory_date_index"))
FORWARD = ("prices", "0003_share_prices")
OTHER_APPS = ("contenttypes", "auth", "admin", "sessions", "diskcache_tier", "update")
STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")
LAST_DAY = "2025-09-08"
# Products per statement of the build: 2,000 x 100 stores is ~180,000 rows a transaction.
BUILD_PRODUCTS = 2_000
# Product ids per window of the digests: at most this many rows of one store in memory at once.
DIGEST_WINDOW = 5_000
# Every field a store reads of a price, its date included: equal digests mean equal readings.
READ_FIELDS = ("product_id", "scraped_date", "price", "was_price", "save_amount", "unit_price",
               "unit_of_measure", "per_unit_price_string", "is_on_special", "price_hash", "reference_price",
               "is_real_reduction")
MB = 1 << 20


# ------------------------------------------------------------------------------------------ the children


def _django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()


def build(args) -> dict:
    """The previous release's catalog in bulk SQL (the schema is already migrated to PREVIOUS)."""
    _django(args.database_url)
    from django.db import connection, transaction
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    applied = loader.applied_migrations
    plan = [f"{app}.{name}" for app, name in
            loader.graph.forwards_plan(FORWARD) if (app, name) not in applied]
    if applied is not None and not all(node in applied for node in PREVIOUS):
        raise SystemExit(f"not at the previous release: {PREVIOUS} not all applied")
    started = time.perf_counter()
    rng = random.Random(args.seed)
    n, companies, states = args.products, args.companies, args.states
    stores_of = [args.stores // companies + (1 if c < args.stores % companies else 0)
                 for c in range(companies)]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("CREATE TEMP TABLE bench_p (id INTEGER PRIMARY KEY, base INTEGER, div INTEGER, "
                       "dayoff INTEGER)")
        cursor.execute("CREATE TEMP TABLE bench_s (id INTEGER PRIMARY KEY, list INTEGER, thr INTEGER, "
                       "a INTEGER, b INTEGER, c INTEGER, d INTEGER, ca INTEGER, la INTEGER, lb INTEGER, "
                       "sa INTEGER, sb INTEGER)")
        with transaction.atomic():
            for start in range(1, n + 1, 50_000):
                cursor.executemany("INSERT INTO bench_p VALUES (%s, %s, %s, %s)", [
                    (i, rng.randint(50, 2_000), rng.randint(1, 10), rng.randint(0, 6))
                    for i in range(start, min(start + 50_000, n + 1))])
            now = datetime.now(timezone.utc).isoformat(sep=" ")
            cursor.execute(
                "INSERT INTO catalog_product (id, name, barcode, normalized_name_brand_size, "
                "normalized_name_brand_size_variations, size, sizes, url, image_url, "
                "brand_name_company_pairs, created_at, updated_at, brand_id, canonical_nnbs) "
                "SELECT id, 'Product ' || id, NULL, 'product ' || id || ' brand 500g', '[]', '500g', "
                "'[\"500g\"]', NULL, NULL, '[]', %s, %s, NULL, 'product' || id || 'brand500g' "
                "FROM bench_p ORDER BY id", [now, now])
            # The change log the product triggers wrote: no index reads this database.
            cursor.execute("DELETE FROM catalog_indexchange")
            number = 0
            for c in range(companies):
                cursor.execute("INSERT INTO catalog_company (name, folded_name) VALUES (%s, %s)",
                               [f"chain{c}", f"chain{c}"])
                company_id = cursor.lastrowid
                # Per chain, and per state of it, the multipliers that say which products differ.
                chain = rng.randrange(1, 1_000_003)
                lists = [(rng.randrange(1, 1_000_003), rng.randrange(1_000_003), rng.randrange(1, 1_000_003),
                          rng.randrange(1_000_003)) for _ in range(states)]
                for k in range(stores_of[c]):
                    number += 1
                    state = k % states
                    cursor.execute("INSERT INTO catalog_store (store_id, store_name, state, last_scraped, "
                                   "company_id) VALUES (%s, %s, %s, %s, %s)",
                                   [f"S{number:04d}", f"Chain {c} store {k}", STATES[state], LAST_DAY,
                                    company_id])
                    la, lb, sa, sb = lists[state]
                    # A Weyl sequence per store (p * a + b mod a prime) says which products it carries
                    # (thr/1000 of them) and which of its prices are its own (1%).
                    cursor.execute("INSERT INTO bench_s VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                                   "%s)", [cursor.lastrowid, c * states + state, rng.randint(850, 950),
                                           rng.randrange(1, 1_000_003), rng.randrange(1_000_003),
                                           rng.randrange(1, 1_000_003), rng.randrange(1_000_003), chain,
                                           la, lb, sa, sb])
        # cents: the chain's price, 10 cents more in 5% of products in a state; own: 20 cents more in 1%.
        insert = f"""
            INSERT INTO catalog_price (product_id, store_id, scraped_date, price, was_price, save_amount,
                unit_price, unit_of_measure, per_unit_price_string, is_on_special, price_hash,
                reference_price, is_real_reduction)
            SELECT id, store,
                CASE WHEN own THEN '{LAST_DAY}' ELSE date('{LAST_DAY}', '-' || day || ' days') END,
                cents / 100.0, CASE WHEN special THEN was / 100.0 END,
                CASE WHEN special THEN (was - cents) / 100.0 END,
                round(cents / 100.0 / div, 4), '100g', printf('$%.2f / 100g', cents / 100.0 / div), special,
                printf('%08x%08x%d', cents, CASE WHEN special THEN was ELSE 0 END, special),
                CASE WHEN special THEN (was - 10) / 100.0 END, CASE WHEN special THEN id % 3 != 0 END
            FROM (SELECT id, store, div, own, special, day, base + CASE WHEN own THEN 20 ELSE 0 END AS cents,
                         base + 50 + (id % 20) * 10 AS was
                  FROM (SELECT p.id AS id, s.id AS store, p.div AS div, (p.dayoff + s.list) % 7 AS day,
                               p.base + ((p.id * s.ca) % 5) * 10
                               + CASE WHEN (p.id * s.la + s.lb) % 1000003 < 50000 THEN 10 ELSE 0 END AS base,
                               (p.id * s.c + s.d) % 1000003 < 10000 AS own,
                               (p.id * s.sa + s.sb) % 1000003 < 80000 AS special
                        FROM bench_p p CROSS JOIN bench_s s
                        WHERE p.id BETWEEN %s AND %s AND (p.id * s.a + s.b) % 1000003 < s.thr * 1000
                        ORDER BY p.id, s.id))
        """
        for start in range(1, n + 1, BUILD_PRODUCTS):
            with transaction.atomic():
                cursor.execute(insert, [start, start + BUILD_PRODUCTS - 1])
        cursor.execute("SELECT COUNT(*) FROM catalog_price")
        (rows,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"products": n, "stores": args.stores, "companies": companies, "states": states,
            "stores_per_company": stores_of, "price_rows": rows,
            "elapsed_s": round(time.perf_counter() - started, 1), "forward_plan": plan,
            "code_root": str(Path(sys.modules["prices"].__file__).resolve().parent.parent)}


def digest(args) -> dict:
    """Every store's reading, streamed in windows of product ids: ``--phase before`` from the previous
    release's rows (its own model, from the migration state), ``--phase after`` through ``for_store``."""
    _django(args.database_url)
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    started = time.perf_counter()
    if args.phase == "before":
        apps = MigrationLoader(connection).project_state(list(PREVIOUS)).apps
        Price, Store = apps.get_model("catalog", "Price"), apps.get_model("catalog", "Store")

        def rows_of(store, low, high):
            return Price.objects.filter(store_id=store.pk, product_id__gt=low, product_id__lte=high)
    else:
        from catalog.models import Price, Store

        def rows_of(store, low, high):
            return Price.objects.for_store(store).filter(product_id__gt=low, product_id__lte=high)

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM catalog_product")
        (last_product,) = cursor.fetchone()
    stores = list(Store.objects.order_by("id").values_list("id", "company_id", "state"))
    checked = _sample(stores, args.check_stores)
    readings = {}
    for store_pk in checked:
        store = Store.objects.get(pk=store_pk)
        sha, count = hashlib.sha256(), 0
        for low in range(0, last_product, DIGEST_WINDOW):
            window = rows_of(store, low, low + DIGEST_WINDOW).order_by("product_id")
            for row in window.values_list(*READ_FIELDS):
                sha.update(repr(row).encode())
                count += 1
        readings[str(store_pk)] = {"rows": count, "sha256": sha.hexdigest()}
    result = {"phase": args.phase, "elapsed_s": round(time.perf_counter() - started, 1),
              "stores": len(stores), "stores_checked": len(checked), "readings": readings,
              "prices_read": sum(r["rows"] for r in readings.values())}
    with connection.cursor() as cursor:
        if args.phase == "before":
            cursor.execute("SELECT COUNT(*) FROM catalog_price")
            result["price_rows"] = cursor.fetchone()[0]
        else:
            cursor.execute("SELECT COUNT(*), COUNT(price_list_id), COUNT(*) - COUNT(price), "
                           "(SELECT COUNT(*) FROM catalog_pricelist) FROM catalog_price")
            rows, entries, gaps, lists = cursor.fetchone()
            result.update(price_rows=rows, list_entries=entries, gaps=gaps, own_prices=rows - entries - gaps,
                          price_lists=lists)
    return result


def _sample(stores: list[tuple], wanted: str) -> list[int]:
    """Every store, or the first K of each (company, state)."""
    if wanted == "all":
        return [pk for pk, _, _ in stores]
    taken: dict[tuple, int] = {}
    chosen = []
    for pk, company, state in stores:
        if taken.get((company, state), 0) < int(wanted):
            taken[(company, state)] = taken.get((company, state), 0) + 1
            chosen.append(pk)
    return chosen


# ------------------------------------------------------------------------------------------ the parent


def _env(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UPDATE_VAR_DIR", "PYTHONPATH")}
    # This checkout's code, whichever checkout the environment's package was installed from.
    return {**env, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT),
            "UPDATE_INDEX_AFTER_MIGRATE": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}


def measured_child(cmd: list[str], log: Path, database_url: str) -> dict:
    """Run ``cmd``: wall and CPU seconds and peak RSS from wait4; peak anonymous memory polled by the
    parent."""
    from .run import StatusPoller

    started = time.perf_counter()
    with open(log, "ab") as log_file:
        log_file.write(f"$ {shlex.join(cmd)}\n".encode())
        log_file.flush()
        child = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=_env(database_url), stdout=log_file,
                                 stderr=subprocess.STDOUT)
        poller = StatusPoller(child.pid)
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            poller.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
    return {"returncode": child.returncode, "wall_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "user_s": round(usage.ru_utime, 2),
            "system_s": round(usage.ru_stime, 2), "parent_polled_peak_anon_bytes": poller.peak_anon,
            "max_rss_bytes": usage.ru_maxrss * 1024}


def phase(name: str, log: Path, database_url: str, out: Path, **options) -> dict:
    cmd = [sys.executable, "-m", "bench.share_migration", "--phase", name, "--database-url", database_url,
           "--result", str(out)]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    outcome = measured_child(cmd, log, database_url)
    if outcome["returncode"] or not out.exists():
        raise SystemExit(f"{name} failed (exit {outcome['returncode']}): see {log}\n{_tail(log)}")
    return {**json.loads(out.read_text()), "process": outcome}


def manage(log: Path, database_url: str, *args: str) -> dict:
    outcome = measured_child([sys.executable, "manage.py", *args], log, database_url)
    if outcome["returncode"]:
        raise SystemExit(f"manage.py {' '.join(args)} failed: see {log}\n{_tail(log)}")
    return outcome


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _database_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def run_size(args, n: int, stores: int, root: Path) -> dict:
    work = root / f"n{n}-s{stores}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db, log = work / "db.sqlite3", work / "log.txt"
    url = f"sqlite:///{db}"
    print(f"{n:,} products x {stores} stores: migrating to the previous release", flush=True)
    for app, target in PREVIOUS:
        manage(log, url, "migrate", app, target, "-v", "0")
    for app in OTHER_APPS:
        manage(log, url, "migrate", app, "-v", "0")
    entry = {"products": n, "stores": stores, "companies": args.companies, "states": args.states}
    entry["build"] = phase("build", log, url, work / "build.json", products=n, stores=stores,
                           companies=args.companies, states=args.states, seed=args.seed)
    entry["build"]["database_bytes"] = _database_bytes(db)
    print(f"  built {entry['build']['price_rows']:,} rows in {entry['build']['elapsed_s']} s; hashing "
          "readings", flush=True)
    entry["before"] = phase("digest", log, url, work / "before.json", phase_of="before",
                            check_stores=args.check_stores)
    print(f"  before: {entry['before']['prices_read']:,} prices read in {entry['before']['elapsed_s']} s; "
          "migrating", flush=True)
    migration_log = work / "migrate.txt"
    migrate = manage(migration_log, url, "migrate", *FORWARD, "-v", "2")
    migrate["migrations"] = {name: float(seconds) for name, seconds in re.findall(
        r"Applying (\S+)\.\.\. OK \(([\d.]+)s\)", migration_log.read_text())}
    migrate["database_bytes"] = _database_bytes(db)
    entry["migrate"] = migrate
    print(f"  migrated in {migrate['wall_s']} s ({migrate['migrations']}), peak anon "
          f"{migrate['parent_polled_peak_anon_bytes'] / MB:.1f} MB; hashing readings", flush=True)
    entry["after"] = phase("digest", log, url, work / "after.json", phase_of="after",
                           check_stores=args.check_stores)
    before, after = entry["before"]["readings"], entry["after"]["readings"]
    entry["stores_differing"] = sorted((s for s in before if before[s] != after.get(s)), key=int)
    entry["same_readings"] = not entry["stores_differing"] and before.keys() == after.keys()
    rows = entry["before"]["price_rows"]
    entry["rows_per_s"] = round(rows / migrate["wall_s"]) if migrate["wall_s"] else None
    print(f"  after: {entry['after']['price_rows']:,} rows (before {rows:,}); readings "
          f"{'the same' if entry['same_readings'] else 'DIFFERENT'} for {len(after)} stores", flush=True)
    if not args.keep:
        shutil.rmtree(work)
    return entry


def projection(sizes: list[dict], products: int = 1_000_000, stores: int = 100) -> dict | None:
    """The migration at ``products x stores`` from the largest measured size, in proportion to its rows:
    labelled as a projection, never a measurement. None when that size was measured."""
    done = [e for e in sizes if e.get("migrate")]
    if not done or any(e["products"] == products and e["stores"] == stores for e in done):
        return None
    big = max(done, key=lambda e: e["before"]["price_rows"])
    per_row = big["before"]["price_rows"] / (big["products"] * big["stores"])
    rows = round(per_row * products * stores)
    scale = rows / big["before"]["price_rows"]
    return {"measured": False, "products": products, "stores": stores,
            "from_size": f"{big['products']}x{big['stores']}",
            "price_rows": rows, "migrate_wall_s": round(big["migrate"]["wall_s"] * scale),
            "note": f"a projection, not a measurement: the {big['products']:,} x {big['stores']} run's "
                    f"{big['rows_per_s']:,} rows/s applied to {rows:,} rows (linear in rows; memory is not "
                    f"projected: it is measured flat across the sizes above or it is not)"}


def markdown(results: dict) -> str:
    m, git, p = results["machine"], results["git"], results["parameters"]
    lines = ["# The migration to shared price lists at scale (issue 21)", "",
             f"Command: `{results['command']}`  ",
             f"Commit {git['commit']}" + (f", **with uncommitted changes** in {', '.join(git['changed'])}"
                                          if git["dirty"] else ", clean tree") + "  ",
             f"From {results['started_at']} to {results.get('finished_at', '(unfinished)')} on "
             f"{m.get('hostname', '?')}: {m['nproc']} CPUs ({m['cpu']}), {m['memory_bytes'] / 2**30:.1f} GiB "
             f"RAM; load average {m['load_average_at_start']} at start, "
             f"{m.get('load_average_at_end', '?')} at end  ",
             f"Python {m['python']}, SQLite {m['sqlite']}, Django {m['django']}  ",
             f"Catalog: {p['companies']} companies, each over {p['states']} states (a price list per company "
             f"and state), seed {p['seed']}; readings checked: {p['check_stores']} stores"
             f"{'' if p['check_stores'] == 'all' else ' per list'}.",
             "", "The migration is `manage.py migrate prices 0003_share_prices` from catalog 0011 and prices "
             "0002 (catalog 0012, then prices 0003), in a process of its own. Peak anonymous memory: RssAnon "
             "polled "
             "every 10 ms from /proc/PID/status; peak RSS: wait4's ru_maxrss.", "",
             "| products x stores | rows before | rows after (entries / own / gaps) | migrate wall s | CPU s "
             "| "
             "catalog 0012 s | prices 0003 s | rows/s | peak anon MB | peak RSS MB | DB MB before / after | "
             "readings |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for e in results["sizes"]:
        mig, after = e["migrate"], e["after"]
        steps = mig["migrations"]
        lines.append(
            f"| {e['products']:,} x {e['stores']} | {e['before']['price_rows']:,} | {after['price_rows']:,} "
            f"({after['list_entries']:,} / {after['own_prices']:,} / {after['gaps']:,}) | "
            f"{mig['wall_s']:,.1f} | "
            f"{mig['cpu_s']:,.1f} | {steps.get('catalog.0012_price_lists', 0):,.1f} | "
            f"{steps.get('prices.0003_share_prices', 0):,.1f} | {e['rows_per_s']:,} | "
            f"{mig['parent_polled_peak_anon_bytes'] / MB:.1f} | {mig['max_rss_bytes'] / MB:.1f} | "
            f"{e['build']['database_bytes'] / MB:,.0f} / {mig['database_bytes'] / MB:,.0f} | "
            f"{'same' if e['same_readings'] else '**DIFFERENT** in ' + str(len(e['stores_differing']))} "
            f"({e['after']['stores_checked']} of {e['after']['stores']} stores, "
            f"{e['after']['prices_read']:,} prices) |")
    lines += ["", "| products x stores | build s | digest before s | digest after s | price lists |",
              "|---|---:|---:|---:|---:|"]
    for e in results["sizes"]:
        lines.append(f"| {e['products']:,} x {e['stores']} | {e['build']['elapsed_s']:,.1f} | "
                     f"{e['before']['elapsed_s']:,.1f} | {e['after']['elapsed_s']:,.1f} | "
                     f"{e['after']['price_lists']} |")
    if results.get("projection"):
        guess = results["projection"]
        lines += ["", f"**Projection, not measured:** {guess['products']:,} x {guess['stores']}: about "
                  f"{guess['price_rows']:,} rows before, migration about "
                  f"{guess['migrate_wall_s'] / 60:,.0f} min "
                  f"({guess['note']})."]
    return "\n".join(lines) + "\n"


def _size_spec(text: str) -> tuple[int, int]:
    n, _, stores = text.lower().partition("x")
    return int(n), int(stores or 100)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.share_migration",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000x100,100000x100",
                        type=lambda text: [_size_spec(s) for s in text.split(",") if s])
    parser.add_argument("--companies", type=int, default=4)
    parser.add_argument("--states", type=int, default=3, choices=range(1, len(STATES) + 1))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-stores", default="all", help="all, or K: the first K stores of every list")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench" / "share-migration")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    parser.add_argument("--name", default="share-migration")
    parser.add_argument("--keep", action="store_true", help="keep each size's database under --work")
    parser.add_argument("--allow-dirty", action="store_true")
    # A step run by the parent in a process of its own.
    parser.add_argument("--phase", choices=("build", "digest"), help=argparse.SUPPRESS)
    parser.add_argument("--phase-of", dest="digest_phase", choices=("before", "after"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--products", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stores", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.phase:
        if args.phase == "digest":
            args.phase = args.digest_phase
            result = digest(args)
        else:
            result = build(args)
        args.result.write_text(json.dumps(result, indent=1))
        return 0
    from . import machine

    if any(stores < args.companies for _, stores in args.sizes):
        print("every size needs at least one store per company (--companies)", file=sys.stderr)
        return 1
    git = machine.git_state(PROJECT_ROOT, ignore=args.out)
    refusal = machine.dirty_refusal(git, args.allow_dirty)
    if refusal:
        print(refusal, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.share_migration " + shlex.join(argv if argv is not None else sys.argv[1:])
    results = {"command": command,
               "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git": git,
               "machine": machine.describe(PROJECT_ROOT, ignore=args.out),
               "parameters": {"sizes": [f"{n}x{s}" for n, s in args.sizes], "companies": args.companies,
                              "states": args.states, "seed": args.seed, "check_stores": args.check_stores},
               "sizes": []}
    failed = False
    for n, stores in args.sizes:
        entry = run_size(args, n, stores, args.work)
        results["sizes"].append(entry)
        failed |= not entry["same_readings"]
        results["projection"] = projection(results["sizes"])
        _save(args, results)
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = machine.load_average()
    _save(args, results)
    print(args.out / f"{args.name}.md")
    return 2 if failed else 0


def _save(args, results: dict) -> None:
    from .results import _write_atomically

    _write_atomically(args.out / f"{args.name}.json", json.dumps(results, indent=1, default=str) + "\n")
    _write_atomically(args.out / f"{args.name}.md", markdown(results))


if __name__ == "__main__":
    sys.exit(main())
