"""Every writer of keys canonicalizes and validates them at the model layer, and a bad value already stored
never stops a run or a build (issue 19, cases 4 and 8)."""
from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from catalog.admin.products import ProductForm
from catalog.models import Company, Product
from diskcache_tier.build_index import build_lmdb_index, load_memory_index
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {"name": "Oats", "normalized_name_brand_size": "oats500g", "normalized_name_brand_size_variations": "[]",
        "sizes": "[]", "brand_name_company_pairs": "[]"}


def test_a_barcode_typed_in_the_admin_is_stored_as_its_canonical_gtin_and_the_next_line_finds_it(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("milk", sku="S1")])
    run_update(workspace)
    form = ProductForm(data={**FORM, "barcode": "012345678905"})  # UPC-A, as printed
    assert form.is_valid(), form.errors
    oats = form.save()
    assert oats.barcode == "0012345678905"
    # A script saving the UPC-A spelling gets the same.
    script = Product(name="Tea", normalized_name_brand_size="tea", barcode="036000291452")
    script.save()
    assert Product.objects.get(id=script.id).barcode == "0036000291452"
    # A scraped line spelling it the canonical way is the same product, not a second one.
    write_file(workspace.inbox, "iga", "2025-09-02", [product("milk", sku="S1"),
                                                         product("oats 500 g", sku="S2", barcode="0012345678905")])
    report = run_update(workspace)
    assert report.files[0].products_created == 0
    assert Product.objects.count() == 3


@pytest.mark.parametrize("typed", ['[" "]', "[5]", '"rolled oats"', '[""]', "{}"])
def test_the_admin_refuses_variations_that_are_not_a_list_of_non_empty_strings(typed):
    form = ProductForm(data={**FORM, "normalized_name_brand_size_variations": typed})
    assert not form.is_valid()
    assert "non-empty string" in str(form.errors["normalized_name_brand_size_variations"])
    with pytest.raises(ValidationError):
        Product(name="Oats", normalized_name_brand_size="oats", normalized_name_brand_size_variations=[5]).save()
    assert not Product.objects.exists()


def test_a_company_name_must_have_letters():
    with pytest.raises(ValidationError):
        Company(name="   ").full_clean()


def test_bad_variations_already_stored_are_skipped_with_one_warning_naming_the_product(workspace, caplog):
    write_file(workspace.inbox, "iga", "2025-09-01", [product(n, sku=f"S{n}") for n in ("aa", "bb", "cc", "dd")])
    run_update(workspace)
    ids = dict(Product.objects.values_list("normalized_name_brand_size", "id"))
    with connection.cursor() as cursor:  # what raw SQL (or an earlier admin) could store
        for nnbs, stored in (("aa", '[" "]'), ("bb", "[5]"), ("cc", '"rolled oats"'), ("dd", '["d d", ""]')):
            cursor.execute("UPDATE catalog_product SET normalized_name_brand_size_variations = %s "
                           "WHERE normalized_name_brand_size = %s", [stored, nnbs])
    with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
        write_file(workspace.inbox, "iga", "2025-09-02", [product(n, sku=f"S{n}", sizes=["1kg", "2kg"])
                                                             for n in ("aa", "bb", "cc", "dd")])
        report = run_update(workspace)  # catch-up, then a file that enriches every one of them
        assert report.exit_status == 0 and report.files[0].status == "processed", report.files[0].reason
        build_lmdb_index(workspace.index_path)
        load_memory_index()
    for nnbs in ("aa", "bb", "cc", "dd"):
        named = [r for r in caplog.records if f"product {ids[nnbs]}:" in r.getMessage()]
        assert len(named) == 1, (nnbs, [r.getMessage() for r in named])
    with LmdbIndex(workspace.index_path) as index:
        assert index.get_many("nnbs", ["dd"]) == {"dd": ids["dd"]}
        assert verify_index(index).clean
