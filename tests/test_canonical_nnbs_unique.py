"""A canonical NNBS belongs to one product, enforced by the database (issue 19, cases 6 and 7): the admin,
a script and the update can't make two products of one canonical key, migration 0007 merges the pairs an
earlier release left (or refuses, with the list, where a merge would lose a barcode), and every writer of
the index gives a key to the same product."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from catalog.admin.products import ProductForm
from catalog.models import Product
from diskcache_tier.build_index import build_lmdb_index, load_memory_index, open_index
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0006_company_folded_name_unique")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest():
    # Every app: going back before catalog 0009 unapplies prices 0001 too, and it must come back.
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_no_writer_can_make_two_products_of_one_canonical_nnbs(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("rolledoats500g", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(name="Oats", normalized_name_brand_size="rolled oats 500g")
    form = ProductForm(data={"name": "Oats", "normalized_name_brand_size": "rolled oats 500g",
                             "normalized_name_brand_size_variations": "[]", "sizes": "[]",
                             "brand_name_company_pairs": "[]"})
    assert not form.is_valid()
    assert "has this NNBS but for spaces" in form.errors["normalized_name_brand_size"][0]
    # A line spelling it with spaces is the same product, found by the canonical column.
    write_file(workspace.inbox, "iga", "2025-09-02", [product("rolled oats 500g", sku="S9"), product("milk", sku="S2")])
    report = run_update(workspace)
    assert report.files[0].products_created == 0
    assert Product.objects.count() == 2


def test_the_build_the_memory_load_and_catch_up_give_a_key_to_the_same_product(workspace):
    # Two products carry one variation; a third's own NNBS is another's variation.
    write_file(workspace.inbox, "iga", "2025-09-01", [product(n, sku=f"S{n}") for n in ("aa", "bb", "cc")])
    run_update(workspace)
    a, b, c = (Product.objects.get(normalized_name_brand_size=n) for n in ("aa", "bb", "cc"))
    Product.objects.filter(id=c.id).update(normalized_name_brand_size_variations=["shared", "a a"])
    Product.objects.filter(id=b.id).update(normalized_name_brand_size_variations=["shared"])
    index, _ = open_index("lmdb", workspace.index_path)  # catch-up
    try:
        caught_up = index.get_many("nnbs", ["shared", "aa"])
    finally:
        index.close()
    build_lmdb_index(workspace.index_path)
    with LmdbIndex(workspace.index_path) as built_index:
        built = built_index.get_many("nnbs", ["shared", "aa"])
        assert verify_index(built_index).clean
    memory, _ = load_memory_index()
    loaded = memory.get_many("nnbs", ["shared", "aa"])
    assert caught_up == built == loaded == {"shared": b.id, "aa": a.id}


def test_migration_merges_products_equal_but_for_spaces_into_the_oldest():
    apps = migrate(BEFORE)
    try:
        Product = apps.get_model("catalog", "Product")
        Company, Store, SKU, Price = (apps.get_model("catalog", n) for n in ("Company", "Store", "SKU", "Price"))
        company = Company.objects.create(name="IGA", folded_name="iga")
        store = Store.objects.create(company=company, store_id="1")
        oldest = Product.objects.create(name="Oats", normalized_name_brand_size="rolledoats500g")
        dup = Product.objects.create(name="Oats", normalized_name_brand_size="rolled oats 500g", barcode="9300000000019")
        other = Product.objects.create(name="Milk", normalized_name_brand_size="milk 1l")
        SKU.objects.create(company=company, sku="S2", product=dup)
        Price.objects.create(product=dup, store=store, scraped_date=date(2025, 9, 2), price=Decimal("2.80"),
                             price_hash="h")
    finally:
        new = migrate(latest())
    Product = new.get_model("catalog", "Product")
    rows = {p.id: p for p in Product.objects.all()}
    assert set(rows) == {oldest.id, other.id}
    survivor = rows[oldest.id]
    assert (survivor.canonical_nnbs, survivor.barcode) == ("rolledoats500g", "9300000000019")
    assert survivor.normalized_name_brand_size_variations == ["rolled oats 500g"]
    assert new.get_model("catalog", "SKU").objects.get(sku="S2").product_id == oldest.id
    assert new.get_model("catalog", "Price").objects.get().product_id == oldest.id
    assert rows[other.id].canonical_nnbs == "milk1l"


def test_migration_refuses_with_the_list_where_a_merge_would_lose_a_barcode():
    apps = migrate(BEFORE)
    Product = apps.get_model("catalog", "Product")
    first = Product.objects.create(name="Oats", normalized_name_brand_size="oats500g", barcode="9300000000026")
    Product.objects.create(name="Oats", normalized_name_brand_size="oats 500g", barcode="9300000000019")
    try:
        with pytest.raises(RuntimeError, match=rf"1 groups .* different barcodes.*{first.id} 'oats500g' barcode "
                                               r"9300000000026.*then run migrate again"):
            migrate(latest())
        assert Product.objects.count() == 2  # nothing changed
    finally:
        Product.objects.filter(normalized_name_brand_size="oats 500g").delete()
        migrate(latest())


def test_the_upgrade_keeps_the_change_log_triggers_both_ways():
    """SQLite remakes the product table for 0008's AlterField (and for 0007's reverse), which drops its
    triggers; without them the index never hears of an edit made outside the update."""
    from diskcache_tier.models import IndexChange

    def an_edit_is_logged(apps):
        Product = apps.get_model("catalog", "Product")
        oats = Product.objects.create(name="Oats", normalized_name_brand_size="oats500g")
        IndexChange.objects.all().delete()
        Product.objects.filter(id=oats.id).update(normalized_name_brand_size="rolledoats500g")
        logged = list(IndexChange.objects.filter(product_id=oats.id).values_list("kind", "old_nnbs"))
        Product.objects.filter(id=oats.id).delete()
        return logged == [("p", "oats500g")]

    previous_release = BEFORE + [("diskcache_tier", "0002_log_writer_and_slim_columns")]
    every_app = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        assert an_edit_is_logged(migrate(previous_release))
        assert an_edit_is_logged(migrate(every_app))
        assert an_edit_is_logged(migrate(previous_release))  # and back again
    finally:
        migrate(every_app)
