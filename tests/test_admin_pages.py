"""The admin's pages on a catalog the update made: what they show, what they refuse, what they query."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin import paging
from catalog.models import SKU, Category, Company, Price, Product, ProductBrand, Store
from ledger.models import RunFile, UpdateRun

from .admin_catalog import BARCODE, IGA_SKU, build_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def plain_http(settings):
    # The test client speaks plain HTTP; production settings redirect it to HTTPS.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def catalog(workspace):
    return build_catalog(workspace)


@pytest.fixture
def staff(client, django_user_model, plain_http):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "a long random test pw 1")
    client.force_login(user)
    return client


def _listed_ids(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_every_page_needs_a_staff_login(client, catalog, plain_http):
    for url in ("/admin/", reverse("admin:catalog_product_changelist"),
                reverse("admin:ledger_updaterun_changelist")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_every_list_and_change_page_renders(staff, catalog):
    run_file = RunFile.objects.filter(status="processed").first()
    objects = {"company": Company.objects.first(), "store": Store.objects.first(),
               "productbrand": ProductBrand.objects.first(), "product": Product.objects.first(),
               "sku": SKU.objects.first(), "price": Price.objects.first(), "category": Category.objects.first()}
    for name, obj in objects.items():
        assert staff.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200, name
        assert staff.get(reverse(f"admin:catalog_{name}_change", args=[obj.pk])).status_code == 200, name
    for name, obj in {"updaterun": run_file.run, "runfile": run_file}.items():
        assert staff.get(reverse(f"admin:ledger_{name}_changelist")).status_code == 200, name
        assert staff.get(reverse(f"admin:ledger_{name}_change", args=[obj.pk])).status_code == 200, name
    assert staff.get(reverse("admin:catalog_category_tree")).status_code == 200


@pytest.mark.parametrize("term", [BARCODE, BARCODE[1:], IGA_SKU, "NNBS"])
def test_search_by_an_exact_key_finds_the_one_product_without_a_text_scan(staff, catalog, term):
    if term == "NNBS":
        term = Product.objects.get(barcode=BARCODE).normalized_name_brand_size
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(reverse("admin:catalog_product_changelist"), {"q": term})
    assert _listed_ids(response) == {Product.objects.get(barcode=BARCODE).pk}
    assert not [q["sql"] for q in queries if " LIKE " in q["sql"].upper()]


def test_search_falls_back_to_name_and_variations(staff, catalog):
    milk = Product.objects.get(barcode=BARCODE)
    response = staff.get(reverse("admin:catalog_product_changelist"), {"q": "FULL"})
    assert milk.pk in _listed_ids(response)
    Product.objects.filter(pk=milk.pk).update(normalized_name_brand_size_variations=["lait entier 2l"])
    response = staff.get(reverse("admin:catalog_product_changelist"), {"q": "entier"})
    assert _listed_ids(response) == {milk.pk}


def test_company_and_brand_filters(staff, catalog):
    url = reverse("admin:catalog_product_changelist")
    iga = Company.objects.get(name__iexact="iga")
    iga_products = set(SKU.objects.filter(company=iga).values_list("product_id", flat=True))
    assert _listed_ids(staff.get(url, {"company": iga.pk})) == iga_products
    farm = ProductBrand.objects.get(normalized_name="farm")
    farm_products = set(Product.objects.filter(brand=farm).values_list("pk", flat=True))
    assert len(farm_products) >= 2
    assert _listed_ids(staff.get(url, {"brand": "farm"})) == farm_products
    assert _listed_ids(staff.get(url, {"brand": str(farm.pk)})) == farm_products


def test_product_page_shows_its_skus_prices_and_category_links(staff, catalog):
    milk = Product.objects.get(barcode=BARCODE)
    page = staff.get(reverse("admin:catalog_product_change", args=[milk.pk])).content.decode()
    assert IGA_SKU in page
    for price in Price.objects.filter(product=milk):  # each price row links its store
        assert reverse("admin:catalog_store_change", args=[price.store_id]) in page
    assert f"?product__id__exact={milk.pk}" in page


def test_list_pages_run_a_fixed_number_of_queries_whatever_the_rows(staff, catalog):
    urls = [reverse(f"admin:catalog_{name}_changelist") for name in ("product", "price", "sku", "store", "category")]
    urls += [reverse("admin:ledger_updaterun_changelist"), reverse("admin:ledger_runfile_changelist")]
    before = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            staff.get(url)
        before[url] = len(queries)
    brand = ProductBrand.objects.create(name="Extra", normalized_name="extra")
    store = Store.objects.first()
    category = Category.objects.first()
    for n in range(20):
        p = Product.objects.create(name=f"extra {n}", normalized_name_brand_size=f"extra {n}", brand=brand)
        SKU.objects.create(company=store.company, sku=f"extra-{n}", product=p)
        Price.objects.create(product=p, store=store, scraped_date=store.last_scraped, price=1, price_hash="x")
        Category.objects.create(company=store.company, name=f"c{n}", slug=f"c{n}").parents.add(category)
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            staff.get(url)
        assert len(queries) == before[url], url


def test_prices_skus_and_runs_are_view_only(staff, catalog):
    price, sku, run = Price.objects.first(), SKU.objects.first(), UpdateRun.objects.first()
    for name, obj in (("catalog_price", price), ("catalog_sku", sku), ("ledger_updaterun", run)):
        change = reverse(f"admin:{name}_change", args=[obj.pk])
        assert staff.get(change).status_code == 200
        assert staff.post(change, {}).status_code == 403
        assert staff.get(reverse(f"admin:{name}_add")).status_code == 403
        assert staff.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert Price.objects.filter(pk=price.pk).exists() and SKU.objects.filter(pk=sku.pk).exists()


def test_price_list_by_store_with_specials(staff, catalog):
    aldi_store = Store.objects.get(company__name__iexact="aldi")
    url = reverse("admin:catalog_price_changelist")
    listed = _listed_ids(staff.get(url, {"store": aldi_store.store_id, "is_on_special__exact": "1"}))
    assert listed == set(Price.objects.filter(store=aldi_store, is_on_special=True).values_list("pk", flat=True))
    assert len(listed) == 1


def test_store_page_counts_prices_and_lists_recent_files(staff, catalog):
    store = Store.objects.get(company__name__iexact="iga")
    page = staff.get(reverse("admin:catalog_store_change", args=[store.pk])).content.decode()
    assert f"{Price.objects.filter(store=store).count()} prices" in page
    assert RunFile.objects.get(store=store).name in page


def test_stopped_sending_filter_lists_stores_without_recent_files(staff, catalog):
    quiet = Store.objects.get(company__name__iexact="aldi")
    RunFile.objects.filter(store=quiet).update(started_at="2020-01-01T00:00:00Z")
    response = staff.get(reverse("admin:catalog_store_changelist"), {"silent_for": "7"})
    assert _listed_ids(response) == {quiet.pk}


def test_the_store_pages_files_received_are_the_ledgers_column_filter_and_field(staff, catalog):
    # The ledger's admin adds them to the catalog's store pages (ledger/admin/stores.py), in their places.
    from django.contrib import admin

    store = Store.objects.get(company__name__iexact="iga")
    # The URLs register the admin.
    listing = staff.get(reverse("admin:catalog_store_changelist")).content.decode()
    assert reverse("admin:ledger_runfile_changelist") + f"?store__id__exact={store.pk}" in listing
    store_admin = admin.site._registry[Store]
    assert store_admin.list_display == ("__str__", "state", "last_scraped", "files_last_7_days",
                                        "prices_link")
    filters = [f if isinstance(f, str) else f.title for f in store_admin.list_filter]
    assert filters == ["company", "files received", "state"]
    assert store_admin.get_fields(None)[-1] == "recent_files"


def test_the_ledgers_pages_at_their_old_addresses_redirect(staff, catalog):
    run_file = RunFile.objects.first()
    response = staff.get(f"/admin/update/runfile/{run_file.pk}/change/")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:ledger_runfile_change", args=[run_file.pk])
    response = staff.get("/admin/update/updaterun/", {"status__exact": "finished"})
    assert response["Location"] == reverse("admin:ledger_updaterun_changelist") + "?status__exact=finished"


def test_category_tree_nests_children_under_their_parents(staff, catalog):
    aldi = Company.objects.get(name__iexact="aldi")
    page = staff.get(reverse("admin:catalog_category_tree"), {"company": aldi.pk}).content.decode()
    rows = re.findall(r'padding-left: ([\d.]+)em">[^<]*<a href="[^"]+">([^<]+)</a>', page)
    assert ("0", "Bakery") in rows and ("1.5", "Bread") in rows
    assert rows.index(("1.5", "Bread")) == rows.index(("0", "Bakery")) + 1


def test_run_file_page_shows_its_rejected_lines(staff, catalog):
    run_file = RunFile.objects.exclude(rejects_file="").get()
    page = staff.get(reverse("admin:ledger_runfile_change", args=[run_file.pk])).content.decode()
    assert "call us" in page and "is not a usable price" in page
    assert reverse("admin:ledger_updaterun_change", args=[run_file.run_id]) in page


def test_a_missing_rejects_file_is_said_in_one_line(staff, catalog):
    run_file = RunFile.objects.exclude(rejects_file="").get()
    RunFile.objects.filter(pk=run_file.pk).update(rejects_file="/nonexistent/x.rejects.jsonl")
    page = staff.get(reverse("admin:ledger_runfile_change", args=[run_file.pk])).content.decode()
    assert "/nonexistent/x.rejects.jsonl is gone" in page


def test_counts_past_the_limit_are_bounded_or_estimated(staff, catalog, monkeypatch):
    from catalog.admin.products import ProductAdmin

    monkeypatch.setattr(ProductAdmin, "list_per_page", 1)  # a full first page, or it is counted as it stands
    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 2)
    total = Product.objects.count()
    assert total > 3
    if connection.vendor == "postgresql":
        # The estimate is the planner's, from the statistics ANALYZE keeps: without them (autovacuum has
        # not come by the new table yet) the planner may guess under the limit, and the page is bounded.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Product._meta.db_table}")
    response = staff.get(reverse("admin:catalog_product_changelist"))
    paginator = response.context["cl"].paginator
    if connection.vendor == "postgresql":
        assert paginator.count_kind == "estimate" and b"about " in response.content
    else:
        assert paginator.count_kind == "lower bound" and b"more than 2 products" in response.content
    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 1000)
    response = staff.get(reverse("admin:catalog_product_changelist"))
    assert response.context["cl"].paginator.count == total
    assert f"{total} products".encode() in response.content


def test_a_result_that_fits_one_page_is_read_once(staff, catalog):
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(reverse("admin:catalog_product_changelist"), {"q": "white"})  # text search
    assert len(response.context["cl"].result_list) == 1
    # icontains on PostgreSQL (its trigram indexes), the FTS5 table's MATCH on SQLite: one query either way.
    assert len([q for q in queries if " LIKE " in q["sql"].upper() or " MATCH " in q["sql"].upper()]) == 1


def test_renaming_a_company_to_another_spelling_of_a_known_one_is_refused_in_the_form(staff, catalog):
    aldi, iga = Company.objects.get(name__iexact="aldi"), Company.objects.get(name__iexact="iga")
    response = staff.post(reverse("admin:catalog_company_change", args=[aldi.pk]), {"name": " I G A "})
    assert response.status_code == 200 and "is this company already" in response.content.decode()
    response = staff.post(reverse("admin:catalog_company_change", args=[aldi.pk]), {"name": "ALDI Stores"})
    assert response.status_code == 302
    assert Company.objects.get(pk=aldi.pk).name == "ALDI Stores" and Company.objects.get(pk=iga.pk).name == iga.name
