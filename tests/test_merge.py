"""Merging duplicate products: everything moves to the survivor, and the index follows by its change log."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from catalog.merge import MergeError, MergeResult, merge_products
from catalog.models import SKU, Category, Company, Price, Product, ProductCategory, Store
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.orchestrator import run_update

from .factories import legacy_product, product, write_file


def _price(product_, store, day, amount):
    return Price.objects.create(product=product_, store=store, scraped_date=day, price=Decimal(amount),
                                price_hash=f"h{amount}")


@pytest.mark.django_db
def test_merge_moves_skus_newest_prices_links_variations_and_barcode():
    company = Company.objects.create(name="iga")
    north, south = (Store.objects.create(company=company, store_id=s) for s in ("1", "2"))
    survivor = Product.objects.create(name="Oats", normalized_name_brand_size="oats500g", sizes=["500g"],
                                      brand_name_company_pairs=[["Acme", "iga"]])
    dup = legacy_product(name="Oats", normalized_name_brand_size="oats 500g", barcode="9300000000019",
                                 normalized_name_brand_size_variations=["oats 500 g"], sizes=["500g", "0.5kg"],
                                 brand_name_company_pairs=[["ACME", "iga"], ["Acme", "aldi"]])
    SKU.objects.create(company=company, sku="S1", product=survivor)
    SKU.objects.create(company=company, sku="S2", product=dup)
    _price(survivor, north, date(2025, 9, 1), "3.00")
    newer = _price(dup, north, date(2025, 9, 2), "2.80")  # newer than the survivor's: wins
    only_dup = _price(dup, south, date(2025, 9, 1), "2.90")  # the survivor has none here: moves
    shared, own = (Category.objects.create(company=company, name=n, slug=n) for n in ("cereal", "breakfast"))
    ProductCategory.objects.create(product=survivor, category=shared)
    ProductCategory.objects.create(product=dup, category=shared)
    ProductCategory.objects.create(product=dup, category=own)

    result = merge_products(survivor.id, [dup.id])

    assert result == MergeResult(skus_moved=1, prices_moved=2, prices_dropped=1, category_links_moved=1,
                                 variations_added=2, barcode_moved=1, products_deleted=1)
    survivor.refresh_from_db()
    assert not Product.objects.filter(id=dup.id).exists()
    assert survivor.barcode == "9300000000019"
    assert survivor.normalized_name_brand_size_variations == ["oats 500g", "oats 500 g"]
    assert survivor.sizes == ["500g", "0.5kg"]
    assert survivor.brand_name_company_pairs == [["Acme", "iga"], ["Acme", "aldi"]]
    assert set(SKU.objects.filter(product=survivor).values_list("sku", flat=True)) == {"S1", "S2"}
    assert set(Price.objects.filter(product=survivor).values_list("id", flat=True)) == {newer.id, only_dup.id}
    assert set(ProductCategory.objects.filter(product=survivor).values_list("category__slug", flat=True)) == {
        "cereal", "breakfast"}


@pytest.mark.django_db
def test_merge_keeps_the_survivors_barcode_and_its_price_on_a_tie():
    company = Company.objects.create(name="iga")
    store = Store.objects.create(company=company, store_id="1")
    survivor = Product.objects.create(name="A", normalized_name_brand_size="a", barcode="9300000000026")
    dup = legacy_product(name="A", normalized_name_brand_size="a ", barcode="9300000000019")
    kept = _price(survivor, store, date(2025, 9, 1), "1.00")
    _price(dup, store, date(2025, 9, 1), "2.00")
    result = merge_products(survivor.id, [dup.id])
    assert (result.barcode_moved, result.prices_moved, result.prices_dropped) == (0, 0, 1)
    assert list(Price.objects.values_list("id", flat=True)) == [kept.id]
    assert Product.objects.get().barcode == "9300000000026"


@pytest.mark.django_db
def test_merge_of_an_unknown_product_changes_nothing():
    survivor = Product.objects.create(name="A", normalized_name_brand_size="a")
    dup = Product.objects.create(name="A", normalized_name_brand_size="a2")
    with pytest.raises(MergeError, match="no product with id 999999"):
        merge_products(survivor.id, [dup.id, 999999])
    assert Product.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_after_a_merge_the_next_update_matches_the_merged_nnbs_to_the_survivor(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats500g", sku="S1"), product("milk1l", sku="S2")])
    assert run_update(workspace).files[0].status == "processed"
    survivor = Product.objects.get(normalized_name_brand_size="oats500g")
    store = Store.objects.get()
    # A duplicate made behind the pipeline's back, as an earlier release left them.
    dup = legacy_product(name="Oats", normalized_name_brand_size="oats 500g")
    SKU.objects.create(company=store.company, sku="S9", product=dup)
    _price(dup, store, date(2025, 9, 1), "9.99")

    merge_products(survivor.id, [dup.id])

    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("oats500g", sku="S1"), product("milk1l", sku="S2"),
        product("oats 500g", sku="S10", price_current=2.0)])  # the merged spelling, under a new SKU
    report = run_update(workspace)
    assert report.files[0].status == "processed"
    assert report.files[0].products_created == 0
    assert SKU.objects.get(sku="S10").product_id == survivor.id
    assert SKU.objects.get(sku="S9").product_id == survivor.id
    assert Product.objects.count() == 2
    with LmdbIndex(workspace.index_path) as index:
        verified = verify_index(index)
    assert verified.clean, dict(verified.mismatches)
