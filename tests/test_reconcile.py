"""`manage.py reconcile`: products equal under the canonical GTIN or NNBS are merged into the oldest."""
from __future__ import annotations

import unicodedata
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import SKU, Company, Product
from catalog.reconcile import reconcile
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.orchestrator import run_update

from .factories import legacy_product, product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

CAFE_NFC = unicodedata.normalize("NFC", "café200g")
CAFE_NFD = unicodedata.normalize("NFD", "café 200g")


def old_catalog():
    """Duplicates an earlier release left: each pair is one item under the canonical keys."""
    company = Company.objects.create(name="iga")
    made = {}
    for nnbs, barcode, sku in [("milkfull2l", None, "S1"), ("bread700g", None, "S5"),
                               ("milk full 2l", None, "S2"),                          # whitespace
                               (CAFE_NFC, None, "S3"), (CAFE_NFD, None, "S4"),       # NFC, whitespace
                               ("cola375ml", "036000291452", "S6"),                  # UPC-A ...
                               ("cola can 375ml", "0036000291452", "S7")]:           # ... and its EAN-13
        # An NNBS equal to another's but for spaces, a barcode not in canonical form: rows an earlier release left.
        make = legacy_product if nnbs in ("milk full 2l", CAFE_NFD, "cola375ml") else Product.objects.create
        made[nnbs] = make(name=nnbs, normalized_name_brand_size=nnbs, barcode=barcode)
        SKU.objects.create(company=company, sku=sku, product=made[nnbs])
    return made


def test_dry_run_lists_the_groups_and_changes_nothing():
    made = old_catalog()
    out = StringIO()
    call_command("reconcile", "--dry-run", "--batch-size", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("would merge 3 groups (1 by barcode, 2 by NNBS): 3 products")
    assert f"would merge {made['cola can 375ml'].id} into {made['cola375ml'].id} by gtin '0036000291452'" in lines[0]
    assert Product.objects.count() == 7 and SKU.objects.filter(product=made["milk full 2l"]).exists()


def test_each_group_is_merged_into_its_oldest_product():
    made = old_catalog()
    report = reconcile(batch_size=2)
    assert len(report.groups) == 3 and report.totals.products_deleted == 3
    assert set(Product.objects.values_list("normalized_name_brand_size", flat=True)) == {
        "milkfull2l", "bread700g", CAFE_NFC, "cola375ml"}
    milk = Product.objects.get(id=made["milkfull2l"].id)
    assert milk.normalized_name_brand_size_variations == ["milk full 2l"]
    assert set(milk.skus.values_list("sku", flat=True)) == {"S1", "S2"}
    assert Product.objects.get(id=made[CAFE_NFC].id).normalized_name_brand_size_variations == [CAFE_NFD]
    # The survivor of a barcode group holds the canonical GTIN afterwards.
    assert Product.objects.get(id=made["cola375ml"].id).barcode == "0036000291452"
    assert reconcile().groups == []  # nothing left to merge


def test_after_reconcile_the_next_update_matches_the_merged_nnbs_to_the_survivor(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("milkfull2l", sku="S1"), product("tea100g", sku="S9")])
    run_update(workspace)
    survivor = Product.objects.get(normalized_name_brand_size="milkfull2l")
    # The next scraper generation spelled it with spaces under a new SKU: a duplicate, as before the fix.
    duplicate = legacy_product(name="Milk", normalized_name_brand_size="milk full 2l")
    SKU.objects.create(company=Company.objects.get(), sku="S2", product=duplicate)

    call_command("reconcile", stdout=StringIO())

    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("milk full 2l", sku="S3"), product("milkfull2l", sku="S1"), product("tea100g", sku="S9")])
    report = run_update(workspace)
    assert report.files[0].products_created == 0
    assert set(SKU.objects.filter(product=survivor).values_list("sku", flat=True)) == {"S1", "S2", "S3"}
    with LmdbIndex(workspace.index_path) as index:
        verified = verify_index(index)
    assert verified.clean, dict(verified.mismatches)


def test_an_unused_brand_that_is_another_brands_variation_is_deleted():
    from catalog.models import ProductBrand

    coke = ProductBrand.objects.create(name="Coke", normalized_name="coke")
    cola = ProductBrand.objects.create(name="Coca-Cola", normalized_name="cocacola",
                                       normalized_name_variations=["coke", "pepsi"])
    pepsi = ProductBrand.objects.create(name="Pepsi", normalized_name="pepsi")
    ProductBrand.objects.create(name="Fanta", normalized_name="fanta")  # unused, but nobody's variation: kept
    Product.objects.create(name="Cola", normalized_name_brand_size="cola375ml", brand=cola)
    Product.objects.create(name="Pepsi", normalized_name_brand_size="pepsi375ml", brand=pepsi)  # used: kept

    out = StringIO()
    call_command("reconcile", "--dry-run", stdout=out)
    assert "1 unused brands that are another brand's variation deleted" in out.getvalue()
    assert ProductBrand.objects.filter(id=coke.id).exists()

    assert reconcile().brands_deleted == ["coke"]
    assert set(ProductBrand.objects.values_list("normalized_name", flat=True)) == {"cocacola", "pepsi", "fanta"}


def test_a_group_that_forms_only_after_an_earlier_merge_is_reported_by_the_dry_run_too():
    oldest = legacy_product(name="Tea", normalized_name_brand_size="tea 100g")
    # Equal to `oldest` by NNBS, and to `short` by GTIN: after the barcode merge, all three are one.
    legacy_product(name="Tea", normalized_name_brand_size="tea100g", barcode="036000291452")
    Product.objects.create(name="Tea bags", normalized_name_brand_size="teabags", barcode="0036000291452")
    out = StringIO()
    call_command("reconcile", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("would merge 2 groups (1 by barcode, 1 by NNBS): 2 products")
    assert Product.objects.count() == 3
    reconcile()
    survivor = Product.objects.get()
    assert (survivor.id, survivor.barcode) == (oldest.id, "0036000291452")
    assert sorted(survivor.normalized_name_brand_size_variations) == ["tea100g", "teabags"]
