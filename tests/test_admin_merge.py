"""Merging duplicates in the admin: a confirmation first, then one call of catalog.merge, then the update
and the index agree with the merge."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from catalog.models import SKU, Price, Product, ProductCategory
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:catalog_product_changelist"


@pytest.fixture
def staff(client, django_user_model, settings):
    settings.SECURE_SSL_REDIRECT = False
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "x-long-test-pw-1"))
    return client


@pytest.fixture
def duplicates(workspace):
    """One chocolate under two NNBS the update can't tell are one (word order differs), one per company."""
    write_file(workspace.inbox, "aldi", "2025-01-02", [product("choc dark 100g", sku="a-9"),
                                                       product("tea black 100 bags", sku="a-10")])
    write_file(workspace.inbox, "iga", "2025-01-02", [
        product("dark choc 100 g", sku="iga-9", barcode="0012345678905", category_path=["Sweets", "Chocolate"],
                price_current=3.0)])
    run_update(workspace)
    survivor = Product.objects.get(normalized_name_brand_size="choc dark 100g")
    duplicate = Product.objects.get(normalized_name_brand_size="dark choc 100 g")
    return survivor, duplicate


def _action(staff, ids, **extra):
    return staff.post(reverse(CHANGELIST), {"action": "merge_selected_products", "_selected_action": ids, **extra})


def test_merge_asks_first_then_moves_everything_to_the_survivor(staff, duplicates):
    survivor, duplicate = duplicates
    page = _action(staff, [survivor.pk, duplicate.pk])
    assert page.status_code == 200 and b"Yes, merge them" in page.content
    assert Product.objects.filter(pk=duplicate.pk).exists()  # nothing happens before the confirmation

    done = _action(staff, [survivor.pk, duplicate.pk], confirm="yes", survivor=survivor.pk)
    assert done.status_code == 302
    assert not Product.objects.filter(pk=duplicate.pk).exists()
    survivor.refresh_from_db()
    assert "dark choc 100 g" in survivor.normalized_name_brand_size_variations
    assert survivor.barcode == "0012345678905"  # moved: the survivor had none
    assert set(SKU.objects.filter(product=survivor).values_list("sku", flat=True)) == {"a-9", "iga-9"}
    assert Price.objects.filter(product=survivor).count() == 2  # one per store
    assert ProductCategory.objects.filter(product=survivor, category__name="Chocolate").exists()
    assert "Merged 1 products" in LogEntry.objects.get(object_id=str(survivor.pk)).get_change_message()


def test_the_next_run_matches_the_merged_nnbs_to_the_survivor_and_the_index_verifies(staff, duplicates, workspace):
    survivor, duplicate = duplicates
    _action(staff, [survivor.pk, duplicate.pk], confirm="yes", survivor=survivor.pk)
    products_before = Product.objects.count()
    # A new SKU and no barcode: only the merged NNBS, now a variation, can name the survivor.
    write_file(workspace.inbox, "iga", "2025-01-03", [product("dark choc 100 g", sku="iga-99", price_current=2.5)])
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"]
    assert Product.objects.count() == products_before
    assert SKU.objects.get(sku="iga-99").product_id == survivor.pk
    with LmdbIndex(workspace.index_path, readonly=True) as index:
        result = verify_index(index)
    assert result.clean, result.mismatches


def test_survivor_is_the_one_chosen_not_the_oldest(staff, duplicates):
    survivor, duplicate = duplicates
    _action(staff, [survivor.pk, duplicate.pk], confirm="yes", survivor=duplicate.pk)
    assert not Product.objects.filter(pk=survivor.pk).exists()
    duplicate.refresh_from_db()
    assert "choc dark 100g" in duplicate.normalized_name_brand_size_variations


def test_merging_needs_two_products_and_refuses_select_across(staff, duplicates):
    survivor, duplicate = duplicates
    response = _action(staff, [survivor.pk], confirm="yes", survivor=survivor.pk)
    assert response.status_code == 302 and Product.objects.filter(pk=survivor.pk).exists()
    response = _action(staff, [survivor.pk, duplicate.pk], select_across="1", confirm="yes", survivor=survivor.pk)
    assert Product.objects.filter(pk=duplicate.pk).exists()
