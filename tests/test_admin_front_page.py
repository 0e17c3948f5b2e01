"""The admin's front page (last runs, rejected files waiting, stores that stopped sending) and the merge
confirmation (what differs, that it is final, why one is preselected)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, ProductBrand, Store
from ledger.models import RunFile, UpdateRun
from update.orchestrator import run_update

from .admin_catalog import build_catalog
from .factories import product, write_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(workspace):
    return build_catalog(workspace)


@pytest.fixture
def staff(client, django_user_model, settings):
    settings.SECURE_SSL_REDIRECT = False
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "a long random test pw 1")
    client.force_login(user)
    return client


def _section(page: str, section_id: str) -> str:
    return page.split(f'id="{section_id}"', 1)[1].split('<div class="module', 1)[0]


def test_front_page_shows_the_last_runs_with_their_status(staff, catalog):
    run = UpdateRun.objects.get()
    page = staff.get(reverse("admin:index")).content.decode()
    runs = _section(page, "last-runs")
    assert reverse("admin:ledger_updaterun_change", args=[run.pk]) in runs
    assert "finished" in runs and "2 processed" in runs
    UpdateRun.objects.filter(pk=run.pk).update(status=UpdateRun.FAILED, exit_status=4, reason="disk full")
    runs = _section(staff.get(reverse("admin:index")).content.decode(), "last-runs")
    assert 'class="problem">failed (exit 4)' in runs and "disk full" in runs


def test_front_page_counts_the_rejected_files_waiting(staff, catalog, workspace):
    page = staff.get(reverse("admin:index")).content.decode()
    assert "Rejected files waiting: 0" in page
    # A later, much smaller file of the aldi store: refused as a partial scrape, moved to the rejected folder.
    write_file(workspace.inbox, "aldi", "2025-01-03", [product("milk full 2l", sku="a-1")])
    run_update(workspace)
    rejected = RunFile.objects.get(status=RunFile.REJECTED)
    page = staff.get(reverse("admin:index")).content.decode()
    waiting = _section(page, "rejected-waiting")
    assert "Rejected files waiting: 1" in waiting and "aldi-testville-2025-01-03.jsonl" in waiting
    assert reverse("admin:ledger_runfile_change", args=[rejected.pk]) in waiting
    RunFile.objects.filter(pk=rejected.pk).update(retried_at=timezone.now())  # bin/update-products retry
    assert "Rejected files waiting: 0" in staff.get(reverse("admin:index")).content.decode()


def test_front_page_lists_the_stores_that_stopped_sending(staff, catalog, settings):
    settings.ADMIN_STOPPED_SENDING_DAYS = 3
    quiet = Store.objects.get(company__name__iexact="aldi")
    page = staff.get(reverse("admin:index")).content.decode()
    assert "Stores that stopped sending: 0" in page
    RunFile.objects.filter(store=quiet).update(started_at=timezone.now() - dt.timedelta(days=4))
    page = staff.get(reverse("admin:index")).content.decode()
    silent = _section(page, "stopped-sending")
    assert "Stores that stopped sending: 1" in silent and str(quiet) in silent
    assert "for 3 days" in silent and "?silent_for=3" in silent
    listed = staff.get(reverse("admin:catalog_store_changelist"), {"silent_for": "3"})
    assert {s.pk for s in listed.context["cl"].result_list} == {quiet.pk}


def test_front_page_queries_do_not_grow_with_the_stores(staff, catalog):
    with CaptureQueriesContext(connection) as before:
        staff.get(reverse("admin:index"))
    company = Store.objects.first().company
    Store.objects.bulk_create([Store(company=company, store_id=f"x{n}", store_name=f"x {n}") for n in range(30)])
    with CaptureQueriesContext(connection) as after:
        page = staff.get(reverse("admin:index")).content.decode()
    assert len(after) == len(before)
    assert "Stores that stopped sending: 30" in page and "none in the run ledger" in page


def _confirmation(staff, ids):
    return staff.post(reverse("admin:catalog_product_changelist"),
                      {"action": "merge_selected_products", "_selected_action": ids}).content.decode()


def test_merge_confirmation_shows_what_differs_and_that_it_is_final(staff, catalog):
    aldi = Product.objects.get(normalized_name_brand_size="choc dark 100g")
    iga = Product.objects.get(normalized_name_brand_size="dark choc 100 g")
    page = _confirmation(staff, [aldi.pk, iga.pk])
    assert "A merge is final." in page and "cannot be undone" in page
    assert "Brand, size and barcode agree" in page
    other = ProductBrand.objects.create(name="Cocoa Co", normalized_name="cocoa co")
    Product.objects.filter(pk=iga.pk).update(brand=other, size="200 g", barcode="0000000000017")
    Product.objects.filter(pk=aldi.pk).update(barcode="0000000000024")
    page = _confirmation(staff, [aldi.pk, iga.pk])
    assert "Brands differ: Acme, Cocoa Co." in page
    assert "Sizes differ: 1 kg, 200 g." in page
    assert "Barcodes differ: 0000000000024, 0000000000017." in page


def test_merge_confirmation_explains_the_preselection_with_times(staff, catalog, settings):
    settings.TIME_ZONE = "Australia/Brisbane"
    aldi = Product.objects.get(normalized_name_brand_size="choc dark 100g")
    iga = Product.objects.get(normalized_name_brand_size="dark choc 100 g")
    created = dt.datetime(2025, 1, 2, 0, 0, 5, tzinfo=dt.timezone.utc)
    Product.objects.filter(pk=aldi.pk).update(created_at=created)
    Product.objects.filter(pk=iga.pk).update(created_at=created + dt.timedelta(seconds=20))
    page = _confirmation(staff, [iga.pk, aldi.pk])
    first = min(aldi.pk, iga.pk)
    assert f"Preselected: #{first}, the first created (the lowest id" in page
    assert "2 Jan 2025, 10:00:05 AEST" in page and "2 Jan 2025, 10:00:25 AEST" in page
    assert "within the same\nminute, so the order says little" in page
    assert f'value="{first}" id="survivor-{first}" checked' in page
