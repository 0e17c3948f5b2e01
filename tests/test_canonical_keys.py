"""Keys compare in one canonical form across files: companies, barcodes (GTIN) and NNBS."""
from __future__ import annotations

import pytest

from catalog.models import SKU, Company, Product, Store
from update.orchestrator import run_update

from .factories import STORES, product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_file_spelling_the_company_in_lower_case_reaches_the_catalogs_company(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats500g", sku="S1")])
    run_update(workspace)
    Company.objects.filter(name="iga").update(name="IGA")  # as domain.md spells it
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats500g", sku="S1")])
    report = run_update(workspace)
    assert report.files[0].status == "processed"
    assert list(Company.objects.values_list("name", flat=True)) == ["IGA"]
    assert Store.objects.count() == 1
    assert Product.objects.count() == 1 and SKU.objects.count() == 1
    assert not any("not in the catalog yet" in note for note in report.files[0].notes)


def test_upc_a_and_ean_13_of_one_item_are_one_product(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("colacan375ml", sku="S1", barcode="012345678905")])
    write_file(workspace.inbox, "aldi", "2025-09-02", [product("cola can 375ml", sku="A1",
                                                               barcode="0012345678905")])
    run_update(workspace)
    assert list(Product.objects.values_list("barcode", flat=True)) == ["0012345678905"]
    assert SKU.objects.count() == 2


def test_a_brand_is_created_only_when_a_product_takes_it_and_a_variation_means_its_brand(workspace):
    from catalog.models import ProductBrand
    from diskcache_tier.lookup import LmdbIndex
    from diskcache_tier.verify import verify_index

    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("cocacola375ml", sku="S1", barcode="9300000000019", brand="Coca-Cola", normalized_brand="cocacola")])
    # Same barcode, another brand spelling: the product keeps its brand; "coke" is only a candidate variation.
    write_file(workspace.inbox, "aldi", "2025-09-02", [
        product("coke375ml", sku="A1", barcode="9300000000019", brand="Coke", normalized_brand="coke")])
    run_update(workspace)
    assert list(ProductBrand.objects.values_list("normalized_name", "normalized_name_variations")) == [
        ("cocacola", ["coke"])]

    # A new product whose line says "coke" links to the brand that lists it as a variation.
    write_file(workspace.inbox, "aldi", "2025-09-03", [
        product("coke375ml", sku="A1", barcode="9300000000019", brand="Coke", normalized_brand="coke"),
        product("cokezero1l", sku="A2", brand="Coke", normalized_brand="coke")])
    assert run_update(workspace).files[0].status == "processed"
    assert ProductBrand.objects.count() == 1
    assert Product.objects.get(normalized_name_brand_size="cokezero1l").brand.normalized_name == "cocacola"
    with LmdbIndex(workspace.index_path) as index:
        verified = verify_index(index)
    assert verified.clean, dict(verified.mismatches)


@pytest.mark.parametrize("first, later", [
    ("milkfull2l", "milk full 2l"),                                    # a later scraper generation's spaces
    ("caf\u00e9200g", "cafe\u0301200g"),                               # NFC against NFD
])
def test_an_nnbs_equal_apart_from_whitespace_or_normal_form_is_the_same_product(workspace, first, later):
    write_file(workspace.inbox, "iga", "2025-09-01", [product(first, sku="S1")])
    write_file(workspace.inbox, "iga", "2025-09-02", [product(later, sku="S2")])  # the SKU changed too
    run_update(workspace)
    only = Product.objects.get()
    assert only.normalized_name_brand_size == first
    assert only.normalized_name_brand_size_variations == [later]  # the spelling as scraped is kept
    assert set(only.skus.values_list("sku", flat=True)) == {"S1", "S2"}
