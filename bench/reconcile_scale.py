"""`reconcile` at a large synthetic catalog: time and peak memory of the dry run and the real run.

    python -m bench.reconcile_scale --products 1000000 [--work DIR] [--database-url URL]

Seeds a fresh database (SQLite file under --work unless --database-url) with N products, one SKU each;
every 100th product is a respelling of its neighbour's NNBS with spaces (the later scraper generation)
and every 1000th pair shares one GTIN spelled as UPC-A and EAN-13. Runs `manage.py reconcile --dry-run`
and then `manage.py reconcile` as subprocesses and prints one JSON object with their wall time and peak
RSS (from wait4). Nothing here runs in the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SEED_BATCH = 20_000


def _gtin12(n: int) -> str:
    from catalog.gtin import check_digit

    body = f"{n:011d}"
    return body + str(check_digit(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'db.sqlite3'}"
    os.environ["UPDATE_VAR_DIR"] = str(work / "var")
    os.environ["UPDATE_INDEX_AFTER_MIGRATE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT, check=True)
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from django.db import connection, transaction

    from catalog.models import SKU, Company, Product

    figures: dict = {"products": args.products, "database": connection.vendor}
    company = Company.objects.create(name="benchmart")
    product_table, sku_table = Product._meta.db_table, SKU._meta.db_table

    def row(i: int):
        nnbs = f"product {i - 1} brand 500g" if i % 100 == 0 else f"product{i}brand500g"
        barcode = None
        if i % 1000 == 500:
            barcode = _gtin12(i)
        elif i % 1000 == 501:
            barcode = "0" + _gtin12(i - 1)
        return (i, f"Product {i}", barcode, nnbs)

    for start in range(1, args.products + 1, SEED_BATCH):
        ids = range(start, min(start + SEED_BATCH, args.products + 1))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {product_table} (id, name, barcode, normalized_name_brand_size, "
                f"normalized_name_brand_size_variations, size, sizes, url, image_url, brand_name_company_pairs, "
                f"created_at, updated_at) VALUES (%s, %s, %s, %s, '[]', '500g', '[\"500g\"]', NULL, NULL, '[]', "
                f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", [row(i) for i in ids])
            cursor.executemany(f"INSERT INTO {sku_table} (company_id, sku, product_id) VALUES (%s, %s, %s)",
                               [(company.id, f"SKU{i}", i) for i in ids])
    connection.close()
    for name, extra in (("dry_run", ["--dry-run"]), ("run", [])):
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "manage.py", "reconcile", "--quiet", *extra], cwd=PROJECT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        out = child.stdout.read().decode().strip()
        figures[name] = {"s": round(time.perf_counter() - started, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
                         "exit": os.waitstatus_to_exitcode(status), "summary": out.splitlines()[-1] if out else ""}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
