"""The update on small synthetic files: one rule of domain.md §3 per test."""
from __future__ import annotations

import pytest

from catalog.models import SKU, Category, Price, Product, ProductBrand, ProductCategory
from diskcache_tier.models import IndexChange
from diskcache_tier.build_index import build_lmdb_index, load_memory_index
from diskcache_tier.lookup import LmdbIndex
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_sku_or_barcode_under_two_nnbs_in_one_file_is_one_product(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("oats500g", sku="S1"), product("oats 500g", sku="S1"),
        product("milk1l", sku="S2", barcode="9300000000019"), product("milk 1l", sku="S3", barcode="9300000000019"),
    ])
    report = run_update(workspace)
    assert report.files[0].status == "processed"
    assert Product.objects.count() == 2
    oats = Product.objects.get(normalized_name_brand_size="oats500g")
    assert oats.normalized_name_brand_size_variations == ["oats 500g"]
    milk = Product.objects.get(barcode="9300000000019")
    assert set(SKU.objects.filter(product=milk).values_list("sku", flat=True)) == {"S2", "S3"}
    # Several NNBS resolving to one product yield one price: the first line's.
    assert Price.objects.count() == 2


def test_second_day_matches_by_sku_and_learns_the_new_spelling(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("2kgchicken", sku="A1", price_current=6.89)])
    write_file(workspace.inbox, "aldi", "2025-09-02", [product("2000g chicken", sku="A1", price_current=6.49)])
    run_update(workspace)
    product_ = Product.objects.get()
    assert product_.normalized_name_brand_size_variations == ["2000g chicken"]
    price = Price.objects.get()
    assert (str(price.price), str(price.was_price), str(price.save_amount)) == ("6.49", "6.89", "0.40")
    # The variation is in the index, so it is matched from then on.
    with LmdbIndex(workspace.index_path) as index:
        assert index.get_many("nnbs", ["2000g chicken"]) == {"2000g chicken": product_.id}


def test_absent_products_lose_their_price_in_that_store_only(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product(f"p{i}") for i in range(20)])
    write_file(workspace.inbox, "aldi", "2025-09-02", [product(f"p{i}") for i in range(19)])
    report = run_update(workspace)
    assert [f.prices_deleted for f in report.files] == [0, 1]
    assert not Price.objects.filter(product__normalized_name_brand_size="p19").exists()
    assert Product.objects.filter(normalized_name_brand_size="p19").exists()


def test_brands_and_categories_are_linked(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [
        product("a", category_path=["Christmas", "Chocolate"]), product("b", category_path=["Snacks", "Chocolate"]),
        product("c", brand="", normalized_brand="", category_path=[]),
    ])
    run_update(workspace)
    assert ProductBrand.objects.get().normalized_name == "acme"
    assert Product.objects.get(normalized_name_brand_size="c").brand is None
    slugs = set(Category.objects.values_list("slug", flat=True))
    assert slugs == {"christmas", "christmas--chocolate", "snacks", "snacks--chocolate"}
    leaf = Category.objects.get(slug="christmas--chocolate")
    assert list(leaf.parents.values_list("slug", flat=True)) == ["christmas"]
    assert ProductCategory.objects.count() == 2


def test_stale_index_hit_is_repaired_not_trusted(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [product("a", sku="S1")])
    run_update(workspace)
    # Behind the pipeline's back: the product is deleted, and a new one takes over the SKU.
    Product.objects.all().delete()
    # ... and the change log loses the rows, so the start-of-run catch-up can't heal the index: the
    # check of each hit against the database is what must catch it.
    IndexChange.objects.all().delete()
    write_file(workspace.inbox, "aldi", "2025-09-02", [product("a", sku="S1")])
    report = run_update(workspace)
    assert report.files[0].status == "processed"
    assert report.files[0].index_repairs >= 1
    assert Product.objects.count() == 1
    new_id = Product.objects.get().id
    with LmdbIndex(workspace.index_path) as index:
        assert index.get_many("sku", [(SKU.objects.get().company_id, "S1")]) == {(SKU.objects.get().company_id, "S1"): new_id}


def test_index_built_from_the_database_equals_the_memory_backend(workspace, tmp_path):
    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("舒适刀片" * 40, sku="S1", barcode="9300000000026"), product("x", sku="S2"), product("x2", sku="S2"),
    ])
    run_update(workspace)
    build_lmdb_index(tmp_path / "fresh")
    memory, _ = load_memory_index()
    with LmdbIndex(tmp_path / "fresh") as lmdb_index:
        for kind, table in memory.maps.items():
            assert lmdb_index.get_many(kind, list(table)) == table
        assert lmdb_index.slim_many(list(memory.products)) == memory.slim_many(list(memory.products))
        assert lmdb_index.counts() == memory.counts()
