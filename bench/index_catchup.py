"""Catch-up of 100 changed products next to a full rebuild, at a large synthetic catalog.

    python -m bench.index_catchup --products 1000000 [--changed 100] [--work DIR] [--database-url URL]

Seeds a fresh database (SQLite file under --work unless --database-url) with N products, one SKU each,
a barcode on 80% and a variation on 10%, builds the index (the full rebuild figure), then changes
``--changed`` products behind the pipeline's back (a third edited: new NNBS and barcode; a third deleted;
a third merged into a neighbour: SKUs moved, NNBS kept as a variation, product deleted), and times the
catch-up that the next run would do. Prints one JSON object. Nothing here runs in the test suite.
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
# Rows per executemany: big enough that the per-statement overhead vanishes.
SEED_BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-catchup-"))
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
    from diskcache_tier.build_index import build_lmdb_index
    from diskcache_tier.catchup import catch_up
    from diskcache_tier.lookup import LmdbIndex
    from diskcache_tier.verify import verify_index

    figures: dict = {"products": args.products, "changed": args.changed, "database": connection.vendor}
    started = time.perf_counter()
    company = Company.objects.create(name="benchmart")
    product_table, sku_table = Product._meta.db_table, SKU._meta.db_table
    for start in range(1, args.products + 1, SEED_BATCH):
        ids = range(start, min(start + SEED_BATCH, args.products + 1))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {product_table} (id, name, barcode, normalized_name_brand_size, "
                f"normalized_name_brand_size_variations, size, sizes, url, image_url, brand_name_company_pairs, "
                f"created_at, updated_at) VALUES (%s, %s, %s, %s, %s, '500g', '[\"500g\"]', NULL, NULL, '[]', "
                f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                [(i, f"Product {i}", f"{9300000000000 + i}" if i % 5 else None, f"product{i}brand{i % 997}500g",
                  json.dumps([f"product {i} brand {i % 997} 500g"] if i % 10 == 0 else [])) for i in ids])
            cursor.executemany(f"INSERT INTO {sku_table} (company_id, sku, product_id) VALUES (%s, %s, %s)",
                               [(company.id, f"SKU{i}", i) for i in ids])
    figures["seed_s"] = round(time.perf_counter() - started, 1)

    index_path = work / "var" / "index"
    build = build_lmdb_index(index_path, reason="benchmark")
    figures["rebuild_s"] = round(build.elapsed_s, 2)
    figures["index_mb"] = round(build.size_bytes / 2**20, 1)

    step = max(1, args.products // (args.changed + 1))
    chosen = [step * (n + 1) for n in range(args.changed)]
    third = len(chosen) // 3
    edited, deleted, merged = chosen[:third], chosen[third:2 * third], chosen[2 * third:]
    with transaction.atomic():
        for pid in edited:
            Product.objects.filter(id=pid).update(normalized_name_brand_size=f"edited{pid}",
                                                  barcode=f"{9400000000000 + pid}")
        SKU.objects.filter(product_id__in=deleted).delete()
        Product.objects.filter(id__in=deleted).delete()
        for pid in merged:
            into = pid + 1
            SKU.objects.filter(product_id=pid).update(product_id=into)
            Product.objects.filter(id=into).update(
                normalized_name_brand_size_variations=[f"product{pid}brand{pid % 997}500g"])
            Product.objects.filter(id=pid).delete()

    with LmdbIndex(index_path) as index:
        stats = catch_up(index)
        figures["catchup_s"] = round(stats.elapsed_s, 4)
        figures["catchup"] = stats.as_dict()
        started = time.perf_counter()
        result = verify_index(index)
        figures["verify_s"] = round(time.perf_counter() - started, 1)
        figures["verify_clean"] = result.clean
        figures["mismatches"] = dict(result.mismatches)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
