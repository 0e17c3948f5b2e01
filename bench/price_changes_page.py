"""Server time of the admin's price changes page (and a product's history) over a large price history.

    python -m bench.price_changes_page [--rows 1000000] [--work var/changesbench] [--repeat 5] [--reuse]

A new SQLite file under --work (or DATABASE_URL's database, which must hold no history), migrated (with
--reuse, the history already built there is measured again); then 2 companies, 40 stores, 2,500 products, and ``--rows`` history rows written as the update
writes them (``update.bulk.insert_rows``): 100,000 (store, product) series of equal length (rows rounded down
to a multiple of 100,000, at least one each), each on dates
drawn from one year, so a day holds about rows / 365 changes (1M rows: about 2,700 a day, what 7M current
prices moving 0.04% a day give, docs/history.md). A price moves by up to 30% either way; 15% of rows are
specials. Each series' last row becomes its current price; a special's reference is drawn so that a third
are not real reductions. Then each page is fetched through Django's test client in this process (server
time: queries and rendering), once to warm up, then --repeat times: median and worst ms, and queries.
Nothing here runs in the tests.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

BATCH = 5_000
STORES, PRODUCTS, SERIES = 40, 2_500, 100_000
START = date(2025, 1, 1)


def series_rows(rows: int, seed: int = 22):
    """Per (store, product) series: its history rows, oldest first, as insert_rows' tuples."""
    rng = random.Random(seed)
    length = max(1, rows // SERIES)
    for n in range(SERIES):
        store, product = n % STORES, n // STORES
        days = sorted(rng.sample(range(365), length))
        price = Decimal(rng.randint(100, 2_000)) / 100
        series = []
        for offset in days:
            price = max(Decimal("0.10"), (price * Decimal(rng.uniform(0.7, 1.3))).quantize(Decimal("0.01")))
            special = rng.random() < 0.15
            series.append((store, product, START + timedelta(days=offset), price, None, special, None))
        yield series


def build(rows: int) -> None:
    from django.db import connection, transaction

    from catalog.models import Company, Price, Product, Store
    from prices.history import ROW_FIELDS
    from prices.models import PriceHistory
    from update.bulk import insert_rows

    companies = [Company.objects.create(name=name, folded_name=name) for name in ("benchaldi", "benchiga")]
    stores = Store.objects.bulk_create(Store(company=companies[n % 2], store_id=f"B{n}", store_name=f"bench {n}",
                                             last_scraped=START + timedelta(days=364)) for n in range(STORES))
    products = Product.objects.bulk_create(
        Product(name=f"bench {n}", normalized_name_brand_size=f"bench {n}", canonical_nnbs=f"bench{n}")
        for n in range(PRODUCTS))
    rng = random.Random(7)
    history, current = [], []
    with transaction.atomic():
        for series in series_rows(rows):
            for store, product, day, price, was, special, unit in series:
                history.append((stores[store].pk, products[product].pk, day, price, was, special, unit))
            store, product, day, price, _, special, _ = series[-1]
            reference = (price + (Decimal("-0.50") if rng.random() < 1 / 3 else Decimal("0.50"))) if special else None
            current.append(Price(product_id=products[product].pk, store_id=stores[store].pk, scraped_date=day,
                                 price=price, is_on_special=special, price_hash="bench", reference_price=reference,
                                 is_real_reduction=None if reference is None else price < reference))
            if len(history) >= BATCH:
                insert_rows(PriceHistory, ROW_FIELDS, history)
                history = []
            if len(current) >= BATCH:
                Price.objects.bulk_create(current)
                current = []
        insert_rows(PriceHistory, ROW_FIELDS, history)
        Price.objects.bulk_create(current)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def pages(latest: date) -> list[tuple[str, dict]]:
    from catalog.models import Company, Product

    company = Company.objects.get(name="benchiga")
    day = latest.isoformat()
    month = (latest - timedelta(days=30)).isoformat()
    product = Product.objects.get(normalized_name_brand_size="bench 7")
    changes = "/admin/prices/pricehistory/"
    return [("price changes, default (7 days)", changes, {}),
            ("price changes, one day", changes, {"since": day, "until": day}),
            ("price changes, 31 days (the most)", changes, {"since": month, "until": day}),
            ("price changes, 31 days, one company", changes, {"since": month, "until": day, "company": company.pk}),
            ("product page (its history at 40 stores)", f"/admin/catalog/product/{product.pk}/change/", {})]


def measure(repeat: int, latest: date) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-admin",
                                                     defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    results = []
    for label, path, params in pages(latest):
        executed.clear()
        with connection.execute_wrapper(count):
            status = {client.get(path, params, secure=True).status_code}  # warm-up
        queries = len(executed)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            status.add(client.get(path, params, secure=True).status_code)
            timings.append((time.perf_counter() - started) * 1000)
        results.append((label, sorted(status), statistics.median(timings), max(timings), queries))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("var/changesbench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the history already built again")
    options = parser.parse_args(argv)
    options.work.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DATABASE_URL"):
        db = options.work.resolve() / "changes.sqlite3"
        if not options.reuse:
            db.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["UPDATE_VAR_DIR"] = str(options.work.resolve())
    os.environ["UPDATE_INDEX_AFTER_MIGRATE"] = "0"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from prices.changes import latest_history_date
    from prices.models import PriceHistory

    call_command("migrate", verbosity=0)
    if not options.reuse:
        if PriceHistory.objects.exists():
            sys.exit("the database already has price history: give an empty one, or --reuse to measure it again")
        started = time.perf_counter()
        build(options.rows)
        print(f"history written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"{PriceHistory.objects.count():,} history rows ({connection.vendor}); load average "
          f"{os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", file=sys.stderr)
    latest = latest_history_date()
    print("| page | median ms | worst ms | queries |\n| --- | ---: | ---: | ---: |")
    for label, status, median, worst, queries in measure(options.repeat, latest):
        shown = "" if status == [200] else f" (HTTP {status})"
        print(f"| {label}{shown} | {median:.1f} | {worst:.1f} | {queries} |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
