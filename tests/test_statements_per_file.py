"""What a file asks the database once, not once per chunk: its categories, its brands, how far the change
log reached; its prices a batch of 2,000 lines at a time; and a chunk's new SKUs in one INSERT. Counted on a file cut into many small chunks, where a per-chunk query would show once per
chunk."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection

from catalog.models import SKU, Category, Product
from update.managers.category import LINK_BATCH
from update.managers.price import PRICE_BATCH
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 100
SHAPES = {
    "category lookup": re.compile(r'FROM "catalog_category" WHERE'),
    "parent-link lookup": re.compile(r'FROM "catalog_category_parents" WHERE'),
    "brand lookup by name": re.compile(r'FROM "catalog_productbrand" WHERE "catalog_productbrand"."normalized_name" IN'),
    "change-log head": re.compile(r"SELECT COALESCE\(MAX\(id\), 0\) FROM catalog_indexchange"),
    "SKU insert": re.compile(r'INSERT INTO "catalog_sku"|COPY "catalog_sku"'),
    "price read": re.compile(r'"catalog_price"."product_id" IN \('),
    "price insert": re.compile(r'INSERT INTO "catalog_price"|COPY "catalog_price"'),
    "product-category link read": re.compile(r'FROM "catalog_productcategory" WHERE'),
}


class ShapeCounter:
    def __init__(self):
        self.counts = Counter()

    def __call__(self, execute, sql, params, many, context):
        for name, pattern in SHAPES.items():
            if pattern.search(sql):
                self.counts[name] += 1
        return execute(sql, params, many, context)


def counted_run(workspace) -> Counter:
    counter = ShapeCounter()
    # COPY (PostgreSQL's bulk insert) goes past the execute wrapper: count it at the cursor.
    original_copy = type(connection.cursor().cursor).copy if connection.vendor == "postgresql" else None
    if original_copy is not None:
        def copy(cursor, statement, *args, **kwargs):
            counter(lambda *a: None, statement, None, False, None)
            return original_copy(cursor, statement, *args, **kwargs)
        type(connection.cursor().cursor).copy = copy
    try:
        with connection.execute_wrapper(counter):
            run_update(workspace)
    finally:
        if original_copy is not None:
            type(connection.cursor().cursor).copy = original_copy
    return counter.counts


def test_a_files_categories_brands_and_log_head_are_asked_once_not_per_chunk(workspace):
    workspace.chunk_size = CHUNK
    old = [product(f"old{n}", sku=f"A{n}") for n in range(600)]
    write_file(workspace.inbox, "iga", "2025-09-01", old)
    run_update(workspace)
    # Day 2: each old product under a second SKU, and a new product beside each: every chunk links SKUs
    # of matched and of new products, under the same brand and categories as day 1.
    day2 = []
    for n, line in enumerate(old):
        day2 += [{**line, "sku": f"B{n}"}, product(f"new{n}", sku=f"C{n}")]
    write_file(workspace.inbox, "iga", "2025-09-02", day2)

    counts = counted_run(workspace)

    chunks = len(day2) // CHUNK
    assert Product.objects.count() == 1200 and SKU.objects.count() == 1800
    assert Category.objects.count() == 2
    assert counts["category lookup"] == 1
    assert counts["parent-link lookup"] == 1
    assert counts["brand lookup by name"] == 1
    # One at the start of the run (the index's catch-up), one at the end of the file.
    assert counts["change-log head"] <= 2
    assert counts["SKU insert"] == chunks
    # 1,200 lines: one batch of prices; category links LINK_BATCH lines at a time.
    assert PRICE_BATCH >= len(day2) and counts["price read"] == 1 and counts["price insert"] == 1
    assert counts["product-category link read"] == -(-len(day2) // LINK_BATCH)


def test_a_known_stores_file_asks_for_its_store_once_before_its_transaction_and_once_in_it(workspace):
    """Its checks (stale, partial) and its metadata's notes (a company new to the catalog) share one lookup
    of the store; the transaction, holding the writer's lock, reads the store again in one query (its
    company joined), and takes the company and the store as get_or_create does only for a new store."""
    SHAPES["company by name"] = re.compile(r'"catalog_company"\."folded_name" = ')
    SHAPES["store or company read"] = re.compile(r'^SELECT .* FROM "catalog_(store|company)"')
    try:
        write_file(workspace.inbox, "iga", "2025-09-01", [product("a")])
        run_update(workspace)
        write_file(workspace.inbox, "iga", "2025-09-02", [product("a")])
        counts = counted_run(workspace)
    finally:
        del SHAPES["company by name"], SHAPES["store or company read"]
    assert counts["company by name"] == 2  # the store's lookup, then the same in the transaction
    assert counts["store or company read"] == 2  # 3 before: get_or_create read the company, then the store


def test_an_enrichment_writes_only_the_columns_it_changed(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    updates = []

    def record(execute, sql, params, many, context):
        if sql.startswith('UPDATE "catalog_product"'):
            updates.append(sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0])
        return execute(sql, params, many, context)

    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("oats", sku="S1", sizes=["1kg", "2kg"]), product("milk", sku="S2", image_url="https://img.example/m.jpg")])
    with connection.execute_wrapper(record):
        report = run_update(workspace)
    assert report.files[0].products_updated == 2
    # Columns a product's line did not change are not set: their indexes are not rewritten.
    assert sorted(updates) == ['"image_url" = %s, "updated_at" = %s', '"sizes" = %s, "updated_at" = %s']
    assert Product.objects.get(normalized_name_brand_size="oats").sizes == ["1kg", "2kg"]
    assert Product.objects.get(normalized_name_brand_size="milk").image_url == "https://img.example/m.jpg"
