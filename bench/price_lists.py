"""What shared price lists store (issue 21, docs/price-lists.md): price rows and database size, on SQLite.

    python -m bench.price_lists [--products 2000] [--stores-per-company 10] [--days 2] [--out FILE]

Workloads, each in a fresh database under a temporary folder, through ``bin/update-products run``:

* ``real-one-store``: the real files of one Aldi store (carindale G102, three days).
* ``real-two-stores``: the real files of both Aldi stores held for testing (G102 and G110, three days each),
  then the same database migrated back to the previous release's form (catalog 0010: a row per store and
  product), vacuumed and measured again: the size the previous release would have.
* ``real-diverging``: ``real-two-stores``, then a day later G110's newest file with 20 prices changed: one
  store diverging; G102 must still read its own newest file's prices (checked).
* ``generated``: the generator (Aldi only) with ``--stores-per-company`` stores and ``--products``, for
  ``--days`` days: per list, the rows stored against the prices its stores read (stores x products), and
  the update's peak anonymous memory over all of it (one run, its report's ``peak_anon_bytes``).

Each workload also gives tier 1's remembered lines (diskcache_tier/seen_sharing.py): its list entries and
stores' own entries, against the prices the stores read, and the pages they take.

Every store's reading (``Price.objects.for_store``) is checked against its newest file's prices, line by
line, in every workload. Sizes are the SQLite file after VACUUM.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import orjson

PROJECT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("REAL_DATA_DIR", PROJECT.parent / "shared" / "data" / "real"))
ONE_STORE = "aldi-carindale-g102"
TWO_STORES = ("aldi-carindale-g102", "aldi-highfields-g110")

MEASURE = r"""
import json, os, sys, django
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
from catalog.models import Price, PriceList, Store
readings = {f"{s.company.name}/{s.store_id}": Price.objects.for_store(s).count()
            for s in Store.objects.select_related("company").order_by("company__name", "store_id")}
lists = []
for price_list in PriceList.objects.select_related("company").order_by("id"):
    stores = list(price_list.stores.all())
    own = Price.objects.filter(store__in=stores)
    lists.append({"list": str(price_list), "stores": len(stores),
                  "entries": price_list.entries.count(),
                  "own_prices": own.filter(price__isnull=False).count(),
                  "gaps": own.filter(price__isnull=True).count(),
                  "read": sum(Price.objects.for_store(s).count() for s in stores)})
with connection.cursor() as cursor:
    cursor.execute("VACUUM")
from django.conf import settings
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.seen_sharing import LIST_OWNER
remembered = {"list_entries": 0, "own_entries": 0, "bytes": 0}
with LmdbIndex(settings.UPDATE_INDEX_PATH, readonly=True) as index, index.env.begin() as txn:
    stat = txn.stat(index.dbs["seen"])
    remembered["bytes"] = (stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]) * stat["psize"]
    for key, _ in txn.cursor(db=index.dbs["seen"]):
        if key[:8] != b"\xff" * 8:  # not the bookkeeping of who shares which list
            remembered["list_entries" if int.from_bytes(key[8:16], "big") & LIST_OWNER else "own_entries"] += 1
print(json.dumps({"price_rows": Price.objects.count(), "readings": readings, "lists": lists,
                  "remembered_lines": remembered}))
"""

MEASURE_PREVIOUS = r"""
import json, os, sys, django
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM")
    cursor.execute("SELECT COUNT(*) FROM catalog_price")
    print(json.dumps({"price_rows": cursor.fetchone()[0]}))
"""

CHECK = r"""
import json, os, sys, django
from decimal import Decimal
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
import orjson
from catalog.models import SKU, Price, Store
bad = []
for path in sys.argv[1:]:
    lines = [orjson.loads(raw) for raw in open(path, "rb") if raw.strip()]
    meta = lines[0]["metadata"]
    store = Store.objects.get(company__folded_name=meta["company"], store_id=meta["store_id"])
    skus = dict(SKU.objects.filter(company=store.company).values_list("sku", "product_id"))
    read = dict(Price.objects.for_store(store).values_list("product_id", "price"))
    expected = {}
    for line in lines:
        pid = skus.get(line["product"].get("sku"))
        if pid is not None and pid not in expected:
            expected[pid] = Decimal(str(line["product"]["price_current"])).quantize(Decimal("0.01"))
    differ = set(read) ^ set(expected) | {pid for pid in set(read) & set(expected) if read[pid] != expected[pid]}
    if differ:
        bad.append({"file": os.path.basename(path), "products_differing": len(differ), "read": len(read),
                    "in_file": len(expected)})
print(json.dumps({"checked": len(sys.argv) - 1, "differ": bad}))
"""


def env_for(work: Path) -> dict:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "UPDATE_VAR_DIR": str(work),
            "DJANGO_SETTINGS_MODULE": "config.settings"}


def run(work: Path, *args: str) -> str:
    done = subprocess.run(list(args), cwd=PROJECT, env=env_for(work), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:4])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def update(work: Path, files: list[Path]) -> int:
    """Run the update over ``files``; return the run's peak anonymous memory in bytes (its report's)."""
    inbox = work / "inbox"
    if not inbox.exists():
        inbox.mkdir(parents=True)
        run(work, sys.executable, "manage.py", "migrate", "--verbosity", "0")
    for f in files:
        shutil.copy(f, inbox / f.name)
    report = work / "report.json"
    run(work, sys.executable, "bin/update-products", "run", "--silent", "--inbox", str(inbox), "--report", str(report))
    return json.loads(report.read_text())["peak_anon_bytes"]


def measure(work: Path) -> dict:
    figures = json.loads(run(work, sys.executable, "-c", MEASURE))
    figures["database_bytes"] = (work / "db.sqlite3").stat().st_size
    return figures


def check(work: Path, newest: list[Path]) -> dict:
    return json.loads(run(work, sys.executable, "-c", CHECK, *map(str, newest)))


def newest_files(files: list[Path]) -> list[Path]:
    by_store = {}
    for f in sorted(files):
        by_store[f.name.rsplit("-", 3)[0]] = f
    return list(by_store.values())


def diverged(source: Path, out: Path, changes: int) -> Path:
    """``source`` a day later with the first ``changes`` prices up by 10 cents."""
    day = source.name[-16:-6]
    next_day = f"{day[:8]}{int(day[8:]) + 1:02d}"
    target = out / source.name.replace(day, next_day)
    with open(source, "rb") as reading, open(target, "wb") as writing:
        for n, raw in enumerate(reading):
            line = orjson.loads(raw)
            line["metadata"]["scraped_date"] = next_day
            line["product"]["scraped_date"] = next_day
            if n < changes and line["product"].get("price_current") is not None:
                line["product"]["price_current"] = round(float(line["product"]["price_current"]) + 0.10, 2)
            writing.write(orjson.dumps(line) + b"\n")
    return target


def real_workloads(root: Path) -> dict:
    files = sorted(REAL.glob("aldi-*.jsonl"))
    one = [f for f in files if f.name.startswith(ONE_STORE)]
    two = [f for f in files if f.name.startswith(TWO_STORES)]
    results = {}
    work = root / "real-one-store"
    update(work, one)
    results["real-one-store"] = {**measure(work), "check": check(work, newest_files(one))}
    work = root / "real-two-stores"
    update(work, two)
    results["real-two-stores"] = {**measure(work), "check": check(work, newest_files(two))}
    previous = root / "real-two-stores-previous"
    shutil.copytree(work, previous)
    run(previous, sys.executable, "manage.py", "migrate", "catalog", "0010", "--verbosity", "0")
    results["real-two-stores-previous-release"] = {
        **json.loads(run(previous, sys.executable, "-c", MEASURE_PREVIOUS)),
        "database_bytes": (previous / "db.sqlite3").stat().st_size}
    changed = diverged(newest_files([f for f in two if f.name.startswith(TWO_STORES[1])])[0], root, 20)
    update(work, [changed])
    newest = newest_files([f for f in two if f.name.startswith(TWO_STORES[0])]) + [changed]
    results["real-diverging"] = {**measure(work), "check": check(work, newest)}
    return results


def generated_workload(root: Path, products: int, stores: int, days: int) -> dict:
    work = root / "generated"
    inbox = root / "generated-files"
    run(root, sys.executable, "manage.py", "generate_inbox", "--out", str(inbox),
        "--products", str(products), "--stores-per-company", str(stores), "--days", str(days),
        "--companies", "aldi")
    files = sorted(inbox.glob("*.jsonl"))
    peak = update(work, files)
    return {**measure(work), "check": check(work, newest_files(files)), "peak_anon_bytes": peak,
            "inputs": {"products": products, "stores_per_company": stores, "days": days, "files": len(files)}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--stores-per-company", type=int, default=10)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "results" / "price-lists.json")
    opts = parser.parse_args(argv)
    from bench.machine import git_state

    git = git_state(PROJECT, ignore=opts.out.parent)
    if git["dirty"]:
        print(f"refusing to run: uncommitted changes in {', '.join(git['changed'])} (commit them first: the "
              "results name the commit they measured)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="price-lists-") as tmp:
        root = Path(tmp)
        results = real_workloads(root) if REAL.is_dir() else {}
        results["generated"] = generated_workload(root, opts.products, opts.stores_per_company, opts.days)
    results["_run"] = {"command": "python -m bench.price_lists " + " ".join(argv if argv is not None else sys.argv[1:]),
                       "git": git, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    opts.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(summary(results), indent=2))


def summary(results: dict) -> dict:
    out = {}
    one = results.get("real-one-store")
    for name, figures in results.items():
        if name.startswith("_"):  # the run's own record: command, commit
            continue
        row = {"price_rows": figures["price_rows"], "database_bytes": figures["database_bytes"]}
        if "readings" in figures:
            row["prices_read"] = sum(figures["readings"].values())
        if one:
            row["database_vs_one_store"] = round(figures["database_bytes"] / one["database_bytes"], 2)
        if "check" in figures:
            row["stores_exact"] = not figures["check"]["differ"]
        if "remembered_lines" in figures:
            lines = figures["remembered_lines"]
            row["remembered_entries"] = lines["list_entries"] + lines["own_entries"]
            row["remembered_mib"] = round(lines["bytes"] / 2**20, 2)
        if "peak_anon_bytes" in figures:
            row["peak_anon_mb"] = round(figures["peak_anon_bytes"] / 2**20, 1)
        out[name] = row
    return out


if __name__ == "__main__":
    sys.exit(main())
