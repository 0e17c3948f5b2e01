"""What SQLite lets pass and PostgreSQL does not: column lengths, NUL characters, held cursors, and
concurrent writers. Every test runs on both (bin/test, and .ci/run with DATABASE_URL); the checks are
written so that they fail on SQLite too where SQLite would stay silent."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, models, transaction

from catalog.models import SKU, Category, Company, Price, Product, ProductBrand, Store
from catalog.writer_lock import WRITER_LOCK_KEY
from diskcache_tier.build_index import stream_product_rows, stream_sku_rows
from update.orchestrator import run_update
from update.progress import NullProgress

from .factories import STORES, product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

OVERLONG = {
    "name": "N" * 600, "brand": "B" * 600, "normalized_brand": "b" * 300, "size": "s" * 300,
    "sizes": ["z" * 300], "url": "https://shop.example/" + "u" * 1200,
    "image_url": "https://img.example/" + "i" * 1200,
    "category_path": ["C" * 300, "D" * 300], "unit_of_measure": "m" * 60, "per_unit_price_string": "p" * 300,
    "sku": "k" * 100,
}


def char_columns():
    for model in (Company, Store, ProductBrand, Product, SKU, Price, Category):
        for field in model._meta.fields:
            if isinstance(field, models.CharField):
                yield model, field


def test_every_text_column_gets_a_value_that_fits_it(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a", **OVERLONG), product("b")],
               store={"store_id": "G" * 100, "store_name": "n" * 300, "state": "q" * 60},
               name="aldi-long-2025-09-01.jsonl")
    report = run_update(workspace)

    assert report.files[0].status == "processed", report.files[0].reason
    assert Product.objects.count() == 2
    # PostgreSQL refuses a longer value outright; SQLite would store it whole, so look at every column.
    for model, field in char_columns():
        longest = max((len(v) for v in model.objects.values_list(field.attname, flat=True) if v), default=0)
        assert longest <= field.max_length, f"{model.__name__}.{field.name} holds {longest} characters"
    assert SKU.objects.get(product__normalized_name_brand_size="a").sku == "k" * 100


def test_nul_characters_are_dropped_not_fatal(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [
        product("oats\x00 500g", name="Oats\x00", brand="Ac\x00me", normalized_brand="ac\x00me", sku="S\x001",
                sizes=["500\x00g"], category_path=["Pan\x00try"], unit_of_measure="100\x00g"),
        product("milk", name='Milk "full"\tcream\\1\nL'),
    ])
    report = run_update(workspace)

    assert report.files[0].status == "processed", report.files[0].reason
    assert Product.objects.get(normalized_name_brand_size="milk").name == 'Milk "full"\tcream\\1\nL'
    oats = Product.objects.get(normalized_name_brand_size="oats 500g")
    assert (oats.name, oats.brand.normalized_name, oats.sizes) == ("Oats", "acme", ["500g"])
    assert SKU.objects.filter(product=oats, sku="S1").exists()
    assert Price.objects.get(product=oats).unit_of_measure == "100g"


@pytest.mark.parametrize("cursors_disabled", [False, True], ids=["server-side cursors", "pooler: keyset"])
def test_index_streams_read_in_id_order_without_a_held_cursor(monkeypatch, cursors_disabled):
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", cursors_disabled)
    company = Company.objects.create(name="aldi")
    brand = ProductBrand.objects.create(name="Acme", normalized_name="acme")
    products = [Product.objects.create(name=f"p{i}", normalized_name_brand_size=f"p{i}",
                                       brand=brand if i % 2 else None,
                                       normalized_name_brand_size_variations=[f"p {i}"]) for i in range(7)]
    for p in reversed(products):
        SKU.objects.create(company=company, sku=f"S{p.id}", product=p)

    stream = stream_product_rows(batch_size=3)
    first = next(stream)
    if connection.vendor == "postgresql":
        # Between batches the rows come from a server-side cursor that is not WITH HOLD, i.e. PostgreSQL
        # streams it rather than copying the whole result aside (what Django does in autocommit mode);
        # with server-side cursors disabled, from keyset queries that leave no cursor open.
        with connection.cursor() as cursor:
            cursor.execute("SELECT is_holdable FROM pg_cursors")
            assert cursor.fetchall() == ([] if cursors_disabled else [(False,)])
    batches = [first, *stream]

    assert [len(b) for b in batches] == [3, 3, 1]
    assert [(r.id, r.nnbs, r.variations, r.barcode, r.brand_name) for b in batches for r in b] == [
        (p.id, p.normalized_name_brand_size, [f"p {i}"], None, "acme" if i % 2 else None)
        for i, p in enumerate(products)]
    assert [row for b in stream_sku_rows(batch_size=2) for row in b] == [
        (company.id, f"S{p.id}", p.id) for p in reversed(products)]


class WriterProbe(NullProgress):
    """While the update writes a file, asks from another connection whether a second writer could start."""

    def __init__(self):
        self.writing = False
        self.other_writer_could_start: list[bool] = []

    def pass_started(self, label: str) -> None:
        self.writing = label == "updating"

    def bytes_read(self, position: int) -> None:
        if self.writing and not self.other_writer_could_start:
            answer = []
            thread = threading.Thread(target=lambda: answer.append(try_writer_lock()))
            thread.start()
            thread.join()
            self.other_writer_could_start.append(answer[0])


def try_writer_lock() -> bool:
    """From this thread's own connection: could another update take the writer lock right now?"""
    from django.db import connection as own

    try:
        with transaction.atomic(), own.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [WRITER_LOCK_KEY])
            return cursor.fetchone()[0]
    finally:
        own.close()


def test_a_second_writer_waits_for_the_file_being_written(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers itself: the settings begin every transaction IMMEDIATE")
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a"), product("b")])
    probe = WriterProbe()
    workspace.progress = probe
    report = run_update(workspace)

    assert report.files[0].status == "processed"
    assert probe.other_writer_could_start == [False]
    assert try_writer_lock() is True  # released at commit


def test_lookups_by_text_are_exact_on_both_databases(workspace):
    # Matching is by exact text on both (SQLite's = is binary, like PostgreSQL's): company spellings are
    # folded on input, category slugs are lower-case, and brands are taken as the scraper normalized them.
    write_file(workspace.inbox, "aldi", "2025-09-01", [
        product("a", category_path=["Pantry", "Oats"], normalized_brand="acme"),
        product("b", category_path=["PANTRY", "oats"], normalized_brand="ACME"),
    ], name="aldi-case-2025-09-01.jsonl")
    write_file(workspace.inbox, "ALDI ", "2025-09-02", [product(n, category_path=[]) for n in "ab"],
               store=STORES["aldi"], name="aldi-case-2025-09-02.jsonl")
    report = run_update(workspace)

    assert [f.status for f in report.files] == ["processed", "processed"]
    assert list(Company.objects.values_list("name", flat=True)) == ["aldi"]
    assert sorted(Category.objects.values_list("slug", flat=True)) == ["pantry", "pantry--oats"]
    assert sorted(ProductBrand.objects.values_list("normalized_name", flat=True)) == ["ACME", "acme"]
