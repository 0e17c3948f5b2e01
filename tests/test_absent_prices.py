"""The walk for absent prices (``PriceManager.delete_absent``) runs only where a count of the store's reading,
per bucket of product ids, says a product may be absent, and then finds what it always found: a product the file does not list loses
its price (and gets an end row in its history), and a product a seen line claimed whose row is gone fails the
file's first attempt, so that the repair path writes it again."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Price, Store
from prices.models import PriceHistory
from update.managers import price
from update.orchestrator import run_update
from update.scratch import FileScratch

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

FILL = [product(f"p{n}", sku=f"S{n}", price_current=1.0 + n / 10) for n in range(40)]


class Walks:
    """Counts the walk's keyset statements (``product_id > last``, in product order) among a run's, and the
    deletions of price rows."""

    def __init__(self):
        self.count = self.deletes = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("SELECT") and 'FROM "catalog_price"' in sql and '"catalog_price"."product_id" > %s' in sql:
            self.count += 1
        self.deletes += sql.startswith('DELETE FROM "catalog_price"')
        return execute(sql, params, many, context)


def counting_walks(workspace, walks: Walks | None = None):
    walks = walks or Walks()
    with connection.execute_wrapper(walks):
        report = run_update(workspace)
    assert all(f.status == "processed" for f in report.files), [(f.file, f.reason) for f in report.files]
    return report, walks.count


def reading(store: Store) -> dict:
    return dict(Price.objects.for_store(store).values_list("product__normalized_name_brand_size", "price"))


def delete_row_by_hand(store: Store, nnbs: str) -> None:
    """A price row deleted in the database, outside the update: no trigger logs price rows, so the index
    still remembers the line that wrote it."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_price WHERE store_id = %s AND product_id = "
                       "(SELECT id FROM catalog_product WHERE normalized_name_brand_size = %s)", [store.id, nnbs])


@pytest.mark.parametrize("skip_unchanged", [True, False], ids=["seen-lines", "every-line-written"])
def test_a_file_where_nothing_is_absent_sends_no_walk_query(workspace, skip_unchanged):
    workspace.skip_unchanged = skip_unchanged
    write_file(workspace.inbox, "iga", "2025-09-01", FILL)
    run_update(workspace)
    changed = [{**line, "price_current": 9.99} if n == 7 else line for n, line in enumerate(FILL)]
    write_file(workspace.inbox, "iga", "2025-09-02", changed)
    report, walks = counting_walks(workspace)
    assert walks == 0
    assert report.files[0].lines_unchanged == (39 if skip_unchanged else 0)
    assert report.files[0].prices_deleted == 0 and report.files[0].prices_updated == 1
    store = Store.objects.get()
    assert len(reading(store)) == 40 and reading(store)["p7"] == Decimal("9.99")


def test_stores_sharing_a_list_with_gaps_send_no_walk_query_when_nothing_is_absent(workspace):
    # G2 lacks five of the list's products (its gaps) and charges its own price for one: its reading is
    # its own rows and the entries it has no row for, and a gap is no price it reads.
    stores = {n: {"store_id": f"G{n}", "store_name": f"aldi {n}", "state": "nsw"} for n in (1, 2, 3)}
    apart = [{**line, "price_current": 0.5} if n == 3 else line for n, line in enumerate(FILL[5:])]
    lines = {1: FILL, 2: apart, 3: FILL}
    for day in ("2025-09-01", "2025-09-02"):
        for n, store in stores.items():
            write_file(workspace.inbox, "aldi", day, lines[n], store=store)
        if day == "2025-09-01":
            run_update(workspace)
            assert Price.objects.filter(store__store_id="G2", price=None).count() == 5
            assert Price.objects.filter(price_list__isnull=False).count() == 40
            before = {n: reading(Store.objects.get(store_id=f"G{n}")) for n in stores}
    report, walks = counting_walks(workspace)
    assert walks == 0
    assert [f.prices_deleted for f in report.files] == [0, 0, 0]
    assert {n: reading(Store.objects.get(store_id=f"G{n}")) for n in stores} == before
    assert len(before[2]) == 35 and before[2]["p8"] == Decimal("0.5")


def test_a_company_wide_file_where_nothing_is_absent_sends_no_walk_query(workspace):
    everywhere = {"store_name": "aldi online", "state": "nsw"}
    for day in ("2025-09-01", "2025-09-02"):
        write_file(workspace.inbox, "aldi", day, FILL, store=everywhere)
        if day == "2025-09-01":
            run_update(workspace)
    report, walks = counting_walks(workspace)
    assert walks == 0 and report.files[0].lines_unchanged == 40


@pytest.mark.parametrize("shared", [False, True], ids=["own-rows", "shared-list"])
def test_a_file_with_one_absent_product_deletes_its_price_and_ends_its_history(workspace, shared):
    stores = [{"store_id": f"G{n}", "store_name": f"aldi {n}", "state": "nsw"} for n in ((1, 2, 3) if shared else (1,))]
    for store in stores:
        write_file(workspace.inbox, "aldi", "2025-09-01", FILL, store=store)
    run_update(workspace)
    write_file(workspace.inbox, "aldi", "2025-09-02", [line for line in FILL if line["sku"] != "S9"], store=stores[0])
    report, walks = counting_walks(workspace)
    assert walks >= 1
    assert report.files[0].prices_deleted == 1
    store = Store.objects.get(store_id="G1")
    assert "p9" not in reading(store) and len(reading(store)) == 39
    ended = PriceHistory.objects.get(store=store, product__normalized_name_brand_size="p9", date=date(2025, 9, 2))
    assert ended.price is None
    if shared:  # the list keeps p9 for G2 and G3, and G1 gets a gap of its own
        assert Price.objects.filter(store=store, price=None).count() == 1
        assert all(len(reading(Store.objects.get(store_id=other))) == 40 for other in ("G2", "G3"))


@pytest.mark.parametrize("batch", [7, 10])
def test_the_absent_products_of_every_batch_are_delisted_together(workspace, monkeypatch, batch):
    # Four absent products in four batches of the walk: one deletion. 40 rows in batches of 7 end on a
    # short batch, with no statement after it; in batches of 10, an empty fifth batch says it ended. One
    # bucket of ids: the walk covers the whole reading. The walk reads the store's own rows, then its list's
    # entries: one statement more, which finds none (a list of one store shares nothing).
    monkeypatch.setattr(price, "DELETE_BATCH", batch)
    monkeypatch.setattr(price.ClaimTally, "BUCKETS", 1)
    write_file(workspace.inbox, "iga", "2025-09-01", FILL)
    run_update(workspace)
    gone = {"S5", "S15", "S25", "S35"}
    write_file(workspace.inbox, "iga", "2025-09-02", [line for line in FILL if line["sku"] not in gone])
    walks = Walks()
    report, _ = counting_walks(workspace, walks)
    assert Store.objects.get().price_list_id is not None
    assert walks.count == 40 // batch + 1 + 1 and walks.deletes == 1
    assert report.files[0].prices_deleted == 4
    store = Store.objects.get()
    assert set(reading(store)) == {line["normalized_name_brand_size"] for line in FILL} - {"p5", "p15", "p25", "p35"}
    assert PriceHistory.objects.filter(store=store, date=date(2025, 9, 2), price=None).count() == 4


def test_the_walk_reads_only_the_buckets_where_a_product_is_absent(workspace, monkeypatch):
    many = [product(f"p{n}", sku=f"S{n}", price_current=1.0 + n / 10) for n in range(640)]
    write_file(workspace.inbox, "iga", "2025-09-01", many)
    run_update(workspace)
    walked = []
    price_claims = FileScratch.price_claims
    monkeypatch.setattr(FileScratch, "price_claims", lambda self, txn, ids: walked.append(len(ids)) or price_claims(
        self, txn, ids))
    gone = {"p100", "p101"}
    write_file(workspace.inbox, "iga", "2025-09-02", [line for line in many if line["normalized_name_brand_size"]
                                                      not in gone])
    report, walks = counting_walks(workspace)
    assert report.files[0].prices_deleted == 2 and report.files[0].lines_unchanged == 638
    # 640 products in 64 buckets of ids: the two absent ones are in two buckets of 10 products each (one
    # statement for the store's own rows, one for its list's entries, of which it has none).
    assert walks == 2 and sum(walked) == 20
    assert set(reading(Store.objects.get())) == {line["normalized_name_brand_size"] for line in many} - gone


def test_a_seen_products_price_deleted_behind_the_index_is_found_and_written_again(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", FILL)
    run_update(workspace)
    store = Store.objects.get()
    delete_row_by_hand(store, "p3")
    write_file(workspace.inbox, "iga", "2025-09-02", FILL)
    report, walks = counting_walks(workspace)
    result = report.files[0]
    assert walks >= 1
    assert any("written again" in note for note in result.notes)
    # The repair path takes no line as seen: p3's line prices it again.
    assert result.lines_unchanged == 0 and result.prices_created == 1
    assert len(reading(store)) == 40


def test_a_missing_seen_price_does_not_hide_behind_an_absent_product(workspace):
    # As many rows read as products claimed (p3 claimed but gone, p9 read but absent): the store still
    # reads the wrong products, and the count alone would say nothing is absent.
    write_file(workspace.inbox, "iga", "2025-09-01", FILL)
    run_update(workspace)
    store = Store.objects.get()
    delete_row_by_hand(store, "p3")
    write_file(workspace.inbox, "iga", "2025-09-02", [line for line in FILL if line["sku"] != "S9"])
    report, walks = counting_walks(workspace)
    result = report.files[0]
    assert walks >= 1
    assert any("written again" in note for note in result.notes)
    assert result.prices_created == 1 and result.prices_deleted == 1
    assert "p9" not in reading(store) and "p3" in reading(store) and len(reading(store)) == 39
