"""The admin speaks the owner's language: names not keys, money and units as on a shelf label, specials
that agree with was-prices, counts that say what is known, and local times with their zone."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from catalog.admin import paging
from catalog.admin.formatting import count_phrase, money, special, unit_label, unit_price, words
from catalog.models import Price, Product, Store
from ledger.models import UpdateRun

from .admin_catalog import BARCODE, build_catalog

pytestmark = pytest.mark.django_db
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def catalog(workspace):
    return build_catalog(workspace)


@pytest.fixture
def staff(client, django_user_model, settings):
    settings.SECURE_SSL_REDIRECT = False
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "a long random test pw 1")
    client.force_login(user)
    return client


def _page(staff, name, *args, **params) -> str:
    response = staff.get(reverse(f"admin:{name}", args=args), params)
    assert response.status_code == 200
    return response.content.decode()


def test_titles_and_lists_name_the_product_with_its_brand_and_size_not_its_nnbs(staff, catalog):
    milk = Product.objects.select_related("brand").get(barcode=BARCODE)
    assert str(milk) == f"{milk.name} (Farm, 1 kg)"  # the factory's brand and size; the name says neither
    page = _page(staff, "catalog_product_change", milk.pk)
    title = page.split("<title>")[1].split("</title>")[0]
    assert milk.name in title and milk.normalized_name_brand_size not in title
    listed = _page(staff, "catalog_product_changelist")
    assert f">{milk.name} (Farm, 1 kg)</a>" in listed


def test_stores_and_inline_rows_have_readable_labels(staff, catalog):
    aldi = Store.objects.select_related("company").get(company__name__iexact="aldi")
    assert str(aldi) == "Aldi Testville (G1)"  # the files say "aldi" and "testville"
    iga = Store.objects.select_related("company").get(company__name__iexact="iga")
    assert str(iga) == "Iga Testville (501)"  # the store's name "iga testville" already says the company
    iga.company.name = "IGA"  # as the owner may rename it
    assert str(iga) == "IGA Testville (501)"
    milk = Product.objects.get(barcode=BARCODE)
    page = _page(staff, "catalog_product_change", milk.pk)
    assert " object (" not in page  # no "Price object (193)", "ProductCategory object (193)"
    assert "$2.50 at Iga Testville (501)" in page
    # The milk is filed under each company's "Snacks": the labels tell the two apart.
    assert "filed under Snacks (Aldi)" in page and "filed under Snacks (Iga)" in page
    assert "Iga Testville (501)" in _page(staff, "catalog_price_changelist")
    assert "Iga Testville (501)" in _page(staff, "ledger_runfile_changelist")


def test_run_totals_read_as_words(staff, catalog):
    run = UpdateRun.objects.get()
    page = _page(staff, "ledger_updaterun_change", run.pk)
    assert "files: 2 processed" in page and "{&#x27;processed" not in page
    assert "1 line rejected" in page and "lines_rejected&nbsp;" not in page
    assert "2 processed" in _page(staff, "ledger_updaterun_changelist")
    assert words({"processed": 1, "rejected": 2}) == "1 processed, 2 rejected"
    assert words({"lines": 1, "lines_rejected": 2, "index_repairs": 1}) == \
        "1 line, 2 lines rejected, 1 index repair"


def test_money_and_unit_prices_read_as_a_shelf_label(staff, catalog):
    assert money(Decimal("4.5")) == "$4.50" and money(None) == "-"
    assert unit_label("1.0each") == "each" and unit_label("1.0kg") == "kg" and unit_label("100g") == "100 g"
    price = Price(price=Decimal("5.99"), unit_price=Decimal("0.0600"), unit_of_measure="1.0kg",
                  per_unit_price_string="$5.99 per 1 kg")
    assert unit_price(price) == "$5.99 per kg"  # the retailer's text, not 0.0600 per 1.0kg
    price.per_unit_price_string = "$4.50/kg"
    assert unit_price(price) == "$4.50 per kg"
    price.per_unit_price_string, price.unit_price, price.unit_of_measure = None, Decimal("0.45"), "100g"
    assert unit_price(price) == "$0.45 per 100 g"
    page = _page(staff, "catalog_price_changelist")
    assert "$2.50" in page and "$0.25 per 100 g" in page
    assert "0.0000" not in page and "1.0each" not in page and "2.50000" not in page


def test_a_was_price_with_a_saving_is_a_saving_whatever_the_flag(staff, catalog):
    cheese = Price.objects.get(product__normalized_name_brand_size="cheese tasty 500g")
    # A price that fell: the update gives it a was-price, and the retailer's flag says nothing.
    Price.objects.filter(pk=cheese.pk).update(is_on_special=False)
    cheese.refresh_from_db()
    assert special(cheese) == "save $1.50 (was $7.50)"
    page = _page(staff, "catalog_price_changelist", store=cheese.store.store_id)
    assert "save $1.50 (was $7.50)" in page and "icon-no.svg" not in page
    specials = staff.get(reverse("admin:catalog_price_changelist"), {"special": "yes"})
    assert {p.pk for p in specials.context["cl"].result_list} == {cheese.pk}
    store_page = _page(staff, "catalog_store_change", cheese.store_id)
    assert "1 specials</a> (a saving or on special)" in store_page


def test_list_counts_say_what_is_known(staff, catalog, monkeypatch):
    from catalog.admin.products import ProductAdmin

    assert count_phrase(1001, "lower bound", "product", "products") == "more than 1,000 products"
    assert count_phrase(4902, "exact", "product", "products") == "4,902 products"
    assert count_phrase(1203442, "estimate", "price", "prices") == "about 1,203,442 prices"
    monkeypatch.setattr(ProductAdmin, "list_per_page", 1)
    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 2)
    page = _page(staff, "catalog_product_changelist", q="e")  # a search shows the count beside the box too
    assert " results" not in page and "Select all 3" not in page
    if paging.connections["default"].vendor == "sqlite":
        assert page.count("more than 2 products") == 2


def test_times_are_local_with_the_zone_labelled(staff, catalog, settings):
    settings.TIME_ZONE = "Australia/Brisbane"  # UTC+10 all year
    run = UpdateRun.objects.get()
    UpdateRun.objects.filter(pk=run.pk).update(started_at=dt.datetime(2025, 1, 2, 23, 30, tzinfo=dt.timezone.utc))
    page = _page(staff, "ledger_updaterun_change", run.pk)
    assert "3 Jan 2025, 09:30 AEST" in page
    assert "3 Jan 2025, 09:30 AEST" in _page(staff, "ledger_updaterun_changelist")


def _settings_in_a_subprocess(time_zone: str) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.TIME_ZONE)"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_TIME_ZONE": time_zone, "PATH": "/usr/bin:/bin",
           "DATABASE_URL": "sqlite:////tmp/unused-by-this-test.sqlite3"}
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)


def test_time_zone_comes_from_the_environment_and_a_misspelt_one_is_refused():
    done = _settings_in_a_subprocess("Australia/Sydney")
    assert done.returncode == 0 and done.stdout.strip() == "Australia/Sydney"
    refused = _settings_in_a_subprocess("Australia/Sidney")
    assert refused.returncode != 0
    assert "DJANGO_TIME_ZONE='Australia/Sidney' is not a time zone" in refused.stderr
