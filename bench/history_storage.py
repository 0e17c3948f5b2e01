"""Disk per price-history row on SQLite, after VACUUM: the figure behind docs/history.md's storage per
million changes.

    python -m bench.history_storage [--rows 200000] [--work var/historybench]

A new SQLite file under --work, migrated; then ``--rows`` history rows written the way the update writes
them (``update.bulk.insert_rows``, 5,000 a statement) with values shaped like a year of real changes: 40
stores, 25,000 products, each series of dates rising, prices of 2 decimals up to $50, a was-price and a
special on about 15% of rows, a unit price of 4 decimals on 80%, an end row on 1%. Foreign keys are off
while writing (there are no product rows: only the history table is measured). Then VACUUM, and SQLite's
dbstat gives the pages of the table and of each of its indexes. Prints bytes per row and MB per million
rows. Nothing here runs in the tests.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

BATCH = 5_000
STORES, PRODUCTS = 40, 25_000


def rows(count: int, seed: int = 22):
    """(store, product, date, price, was_price, is_on_special, unit_price): each (store, product) series
    gets the next day after its last, so the unique (store, product, date) holds."""
    rng = random.Random(seed)
    last_day: dict[tuple[int, int], date] = {}
    start = date(2025, 1, 1)
    for _ in range(count):
        key = (rng.randint(1, STORES), rng.randint(1, PRODUCTS))
        day = last_day.get(key, start) + timedelta(days=rng.randint(1, 20))
        last_day[key] = day
        if rng.random() < 0.01:
            yield (*key, day, None, None, False, None)
            continue
        price = Decimal(rng.randint(50, 5_000)) / 100
        special = rng.random() < 0.15
        was = price + Decimal(rng.randint(10, 300)) / 100 if special else None
        unit = (price / rng.choice([1, 2, 5, 10])).quantize(Decimal("0.0001")) if rng.random() < 0.8 else None
        yield (*key, day, price, was, special, unit)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=Path("var/historybench"))
    options = parser.parse_args(argv)
    options.work.mkdir(parents=True, exist_ok=True)
    db = options.work.resolve() / "history.sqlite3"
    db.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["UPDATE_VAR_DIR"] = str(options.work.resolve())
    os.environ["UPDATE_INDEX_AFTER_MIGRATE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from prices.history import ROW_FIELDS
    from prices.models import PriceHistory
    from update.bulk import insert_rows

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")
    batch = []
    with transaction.atomic():
        for row in rows(options.rows):
            batch.append(row)
            if len(batch) == BATCH:
                insert_rows(PriceHistory, ROW_FIELDS, batch)
                batch = []
        insert_rows(PriceHistory, ROW_FIELDS, batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
        cursor.execute("SELECT d.name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                       "WHERE m.tbl_name = 'prices_pricehistory' GROUP BY d.name ORDER BY d.name")
        sizes = cursor.fetchall()
        cursor.execute("SELECT COUNT(*) FROM prices_pricehistory")
        (count,) = cursor.fetchone()
    total = sum(size for _, size in sizes)
    print(f"{count} rows, SQLite {connection.Database.sqlite_version}, after VACUUM:")
    for name, size in sizes:
        print(f"  {name:<45} {size / count:6.1f} bytes a row")
    print(f"  {'total':<45} {total / count:6.1f} bytes a row = {total / count:.0f} MB per million rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
