"""Shared price lists (issue 21, docs/price-lists.md): what a chain's stores share is stored once, each store
reads exactly its own newest file's prices, and one store's file never changes what another store reads."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection

from catalog.models import Company, Price, PriceList, Product, Store
from prices.sharing import placement
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

READ = ("product__normalized_name_brand_size", "price", "was_price", "save_amount", "is_on_special")


def aldi(n: int) -> dict:
    return {"store_id": f"G{n}", "store_name": f"aldi store {n}", "state": "nsw"}


def reading(store_id: str) -> dict:
    store = Store.objects.get(store_id=store_id)
    return {nnbs: (price, was) for nnbs, price, was, _, _ in Price.objects.for_store(store).values_list(*READ)}


def day_file(workspace, day: str, n: int, prices: dict[str, float]) -> None:
    write_file(workspace.inbox, "aldi", day, [product(nnbs, sku=nnbs, price_current=p) for nnbs, p in prices.items()],
               store=aldi(n))


def chain_with_one_store_apart(workspace) -> None:
    """Stores G1 and G2 charge the list's ten prices; G3 charges its own for p1 and does not carry p0."""
    chain = {f"p{i}": 1.0 + i for i in range(10)}
    for n in (1, 2):
        day_file(workspace, "2025-09-01", n, chain)
    day_file(workspace, "2025-09-01", 3, {**{k: v for k, v in chain.items() if k != "p0"}, "p1": 0.99})
    run_update(workspace)


def test_placement_keeps_a_tie_and_takes_what_costs_fewer_rows():
    assert placement(None, ["a"]) == "a"  # (the update never places for a list of one store)
    assert placement(None, ["a", "a"]) == "a"  # two stores: one entry instead of two rows
    assert placement("a", ["a", "a", None]) == "a"  # an entry and a gap cost what two own rows cost: kept
    assert placement("a", ["a", None]) is None  # one own row is cheaper than an entry and a gap
    assert placement(None, ["a", None]) is None
    assert placement("a", ["b", "b", "a"]) == "b"  # the others confirmed the new price: the entry moves
    assert placement("a", ["b", "a", "a"]) == "a"
    assert placement("a", [None, None, "a"]) is None  # an entry read by one store of three: its own row


def test_for_store_is_one_queryset_of_own_prices_list_entries_and_gaps():
    company = Company.objects.create(name="aldi")
    price_list = PriceList.objects.create(company=company, state="nsw")
    a, b = (Store.objects.create(company=company, store_id=f"G{n}", state="nsw", price_list=price_list)
            for n in (1, 2))
    oats, milk, jam = (Product.objects.create(name=n, normalized_name_brand_size=n) for n in ("oats", "milk", "jam"))
    day = date(2025, 9, 1)
    for p, amount in ((oats, "2.50"), (milk, "1.20")):
        Price.objects.create(product=p, price_list=price_list, scraped_date=day, price=D(amount), price_hash="h")
    Price.objects.create(product=milk, store=a, scraped_date=day, price=D("1.10"), price_hash="h")  # a's own
    Price.objects.create(product=oats, store=b, scraped_date=day, price=None, price_hash="")  # b lacks oats
    Price.objects.create(product=jam, store=b, scraped_date=day, price=D("4.00"), price_hash="h")  # b only

    assert dict(Price.objects.for_store(a).values_list("product__name", "price")) == {
        "oats": D("2.50"), "milk": D("1.10")}
    assert dict(Price.objects.for_store(b).values_list("product__name", "price")) == {
        "milk": D("1.20"), "jam": D("4.00")}
    assert Price.objects.for_store(b).count() == 2
    assert not Price.objects.for_store(b).filter(product_id=oats.id).exists()
    assert Price.objects.for_store(a).filter(product_id=milk.id).get().price == D("1.10")
    assert list(Price.objects.for_store(a).filter(is_on_special=True).values("product_id")) == []
    # A store that follows no list yet reads its own rows only.
    c = Store.objects.create(company=company, store_id="G3", state="nsw")
    Price.objects.create(product=jam, store=c, scraped_date=day, price=D("3.90"), price_hash="h")
    assert list(Price.objects.for_store(c).values_list("price", flat=True)) == [D("3.90")]


def test_stores_share_one_list_and_each_reads_exactly_its_own_file(workspace):
    chain = {f"p{i}": 1.0 + i / 10 for i in range(20)}
    assortments = {1: list(chain), 2: list(chain)[:18], 3: list(chain)[2:]}
    own = {3: {"p5": 9.99}}  # store 3 prices p5 its own way
    for n, names in assortments.items():
        day_file(workspace, "2025-09-01", n, {name: own.get(n, {}).get(name, chain[name]) for name in names})

    report = run_update(workspace)

    assert [f.status for f in report.files] == ["processed"] * 3
    for n, names in assortments.items():
        expected = {name: D(str(own.get(n, {}).get(name, chain[name]))).quantize(D("0.01")) for name in names}
        assert {k: price for k, (price, _) in reading(f"G{n}").items()} == expected
    # 56 prices in 25 rows: 20 entries, 4 gaps (store 2 lacks p18 and p19, store 3 p0 and p1: an entry
    # and a gap cost what two own rows would, and a tie prefers the entry), and store 3's own p5.
    assert sum(len(names) for names in assortments.values()) == 56
    assert Price.objects.filter(price_list__isnull=False).count() == 20
    assert Price.objects.filter(store__isnull=False, price__isnull=True).count() == 4
    assert Price.objects.filter(store__isnull=False, price__isnull=False).count() == 1
    assert Store.objects.filter(price_list__isnull=False).values("price_list").distinct().count() == 1


def test_a_new_price_is_the_first_stores_alone_until_the_others_confirm_it(workspace):
    chain = {"oats": 2.50, "milk": 1.20, "jam": 4.00}
    for n in (1, 2, 3):
        day_file(workspace, "2025-09-01", n, chain)
    run_update(workspace)
    assert Price.objects.count() == 3  # three entries, no store rows

    day_file(workspace, "2025-09-02", 1, {**chain, "oats": 2.00})
    run_update(workspace)
    assert reading("G1")["oats"] == (D("2.00"), D("2.50"))  # the fall shows a saving in store 1
    assert reading("G2")["oats"] == reading("G3")["oats"] == (D("2.50"), None)  # yesterday's, unchanged

    day_file(workspace, "2025-09-02", 2, {**chain, "oats": 2.00})
    run_update(workspace)
    assert reading("G2")["oats"] == (D("2.00"), D("2.50"))  # the was-price rule read store 2's own previous
    assert reading("G3")["oats"] == (D("2.50"), None)
    # Two stores read the new price, one the old: the entry moved to the new one, store 3 keeps the old.
    assert Price.objects.filter(store__isnull=False).count() == 1

    day_file(workspace, "2025-09-02", 3, {**chain, "oats": 2.00})
    run_update(workspace)
    assert reading("G1") == reading("G2") == reading("G3")
    assert Price.objects.count() == 3  # shared again: no store rows left over


def test_a_file_that_gives_what_its_store_reads_writes_no_price_row(workspace):
    chain = {"oats": 2.50, "milk": 1.20}
    for n in (1, 2):
        day_file(workspace, "2025-09-01", n, chain)
    run_update(workspace)
    day_file(workspace, "2025-09-02", 2, chain)
    writes = []

    def spy(execute, sql, params, many, context):
        if "catalog_price" in sql and sql.lstrip().split()[0] in ("INSERT", "UPDATE", "DELETE", "COPY"):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        report = run_update(workspace)

    assert report.files[0].status == "processed" and report.files[0].prices_unchanged == 2
    assert writes == []
    assert Store.objects.get(store_id="G2").last_scraped == date(2025, 9, 2)


def test_absent_prices_are_deleted_in_the_files_store_only(workspace):
    chain = {f"p{i}": 1.0 + i for i in range(20)}
    for n in (1, 2, 3):
        day_file(workspace, "2025-09-01", n, chain)
    run_update(workspace)
    day_file(workspace, "2025-09-02", 2, {name: price for name, price in chain.items() if name != "p7"})
    report = run_update(workspace)
    assert report.files[0].prices_deleted == 1
    assert set(reading("G2")) == set(chain) - {"p7"}
    assert set(reading("G1")) == set(reading("G3")) == set(chain)
    assert Price.objects.filter(store__isnull=False).count() == 1  # store 2's gap under the shared p7


def test_one_stores_file_changes_no_other_stores_reading(workspace):
    chain = {f"p{i}": 1.0 + i for i in range(40)}
    for n in (1, 2, 3, 4):
        day_file(workspace, "2025-09-01", n, chain)
    run_update(workspace)
    before = {n: reading(f"G{n}") for n in (2, 3, 4)}
    changed = {name: (price + 0.5 if i < 30 else price) for i, (name, price) in enumerate(chain.items())}
    day_file(workspace, "2025-09-02", 1, changed)
    run_update(workspace)
    assert {n: reading(f"G{n}") for n in (2, 3, 4)} == before
    assert sum(1 for price, _ in reading("G1").values() if price != D("0")) == 40
    assert reading("G1")["p0"][0] == D("1.50") and reading("G1")["p39"][0] == D("40.00")


def test_a_company_wide_file_is_one_store_of_its_list(workspace):
    chain = {f"p{i}": 1.0 + i for i in range(10)}
    for n in (1, 2):
        day_file(workspace, "2025-09-01", n, chain)
    write_file(workspace.inbox, "aldi", "2025-09-01",
               [product(name, sku=name, price_current=price) for name, price in {**chain, "p9": 0.5}.items()],
               store={"store_name": "aldi online", "state": "nsw"})
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"] * 3
    wide = Store.objects.exclude(store_id__in=["G1", "G2"]).get()
    assert wide.price_list_id == Store.objects.get(store_id="G1").price_list_id
    assert reading(wide.store_id)["p9"] == (D("0.50"), None) and reading("G1")["p9"] == (D("10.00"), None)
    assert Price.objects.count() == 11  # ten entries and the company-wide store's own p9


def test_merging_products_keeps_what_each_store_reads_of_them(workspace):
    from catalog.merge import merge_products

    # Two stores share "oats" as one product, a third store sells it under another spelling only.
    for n in (1, 2):
        day_file(workspace, "2025-09-01", n, {"oats": 2.50, "milk": 1.20, "jam": 4.00})
    day_file(workspace, "2025-09-01", 3, {"rolled oats": 2.40, "milk": 1.20, "jam": 4.00})
    run_update(workspace)
    oats = Product.objects.get(normalized_name_brand_size="oats")
    rolled = Product.objects.get(normalized_name_brand_size="rolled oats")

    merge_products(oats.id, [rolled.id])

    assert reading("G1")["oats"] == reading("G2")["oats"] == (D("2.50"), None)
    assert reading("G3")["oats"] == (D("2.40"), None)  # its gap for the list's oats went: it carries them
    assert "rolled oats" not in reading("G3")


def test_the_store_page_shows_its_list_the_stores_sharing_it_and_its_own_differences(workspace, admin_client,
                                                                                      settings):
    from django.urls import reverse

    settings.SECURE_SSL_REDIRECT = False
    chain_with_one_store_apart(workspace)
    store = Store.objects.get(store_id="G3")
    page = admin_client.get(reverse("admin:catalog_store_change", args=[store.pk])).content.decode()
    assert "Aldi NSW price list</a> (10 entries), shared with" in page
    assert "Aldi Store 1 (G1)</a>, " in page and "Aldi Store 2 (G2)</a>" in page
    assert "its own: 1 price that differs, 1 product not carried" in page


def test_a_list_page_shows_its_stores_with_their_differences_and_links_its_prices(workspace, admin_client,
                                                                                   settings):
    from django.urls import reverse

    from catalog.models import PriceList

    settings.SECURE_SSL_REDIRECT = False
    chain_with_one_store_apart(workspace)
    price_list = PriceList.objects.get()
    listed = admin_client.get(reverse("admin:catalog_pricelist_changelist")).content.decode()
    assert "Aldi NSW price list" in listed
    page = admin_client.get(reverse("admin:catalog_pricelist_change", args=[price_list.pk])).content.decode()
    assert "10 shared prices" in page
    assert "Aldi Store 1 (G1)</a>: 0 prices of its own, 0 products not carried" in page
    assert "Aldi Store 3 (G3)</a>: 1 price of its own, 1 product not carried" in page
    entries = admin_client.get(reverse("admin:catalog_price_changelist") + f"?price_list__id__exact={price_list.pk}")
    assert entries.status_code == 200 and entries.context["cl"].result_count == 10


def test_the_product_page_shows_each_price_with_the_stores_that_charge_it(workspace, admin_client, settings):
    from django.urls import reverse

    settings.SECURE_SSL_REDIRECT = False
    chain_with_one_store_apart(workspace)
    p1, p0 = (Product.objects.get(normalized_name_brand_size=n) for n in ("p1", "p0"))
    page = admin_client.get(reverse("admin:catalog_product_change", args=[p1.pk])).content.decode()
    assert "<strong>$0.99</strong> at 1 store: Aldi Store 3 (G3)" in page
    assert "<strong>$2.00</strong> at 2 stores: Aldi Store 1 (G1), Aldi Store 2 (G2)" in page
    page = admin_client.get(reverse("admin:catalog_product_change", args=[p0.pk])).content.decode()
    # G3 does not carry p0 (its gap): one price, charged by the two others only.
    assert "<ul><li><strong>$1.00</strong> at 2 stores: Aldi Store 1 (G1), Aldi Store 2 (G2)</li></ul>" in page
