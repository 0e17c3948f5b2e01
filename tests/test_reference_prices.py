"""Reference prices through the update (issue 22, item 2): a price going on special gets the lowest price
its store charged in the window before, from history read once per price batch; a special that goes on
keeps the reference of the day it began."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Price
from prices.models import PriceHistory
from update.orchestrator import run_update

from .factories import STORES, product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
FILL = [product(f"p{n}", sku=f"S{n}", price_current=3.0) for n in range(20)]


def day(workspace, when: str, *, store=None, **p3):
    """A file of the 20 products, p3 with ``p3``'s fields (p3=None: p3 absent)."""
    lines = [line for line in FILL if not (p3.get("absent") and line["sku"] == "S3")]
    lines = [{**line, **p3} if line["sku"] == "S3" and not p3.get("absent") else line for line in lines]
    write_file(workspace.inbox, "iga", when, lines, store=store,
               name=f"iga-{(store or STORES['iga'])['store_id']}-{when}.jsonl")
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"], report.files[0].reason


def p3(store_id="501") -> tuple:
    row = Price.objects.get(product__normalized_name_brand_size="p3", store__store_id=store_id)
    return row.price, row.is_on_special, row.reference_price, row.is_real_reduction


def special(price, was=None) -> dict:
    return {"price_current": price, "is_on_special": True, "price_was": was}


def test_a_special_on_the_first_day_seen_has_no_reference_and_is_not_flagged(workspace):
    day(workspace, "2025-09-01", **special(2.5, 3.0))
    assert p3() == (D("2.50"), True, None, None)


def test_a_price_raised_inside_the_window_before_a_special_is_flagged(workspace):
    day(workspace, "2025-09-01")
    day(workspace, "2025-09-10", price_current=4.0)
    day(workspace, "2025-09-20", **special(3.5, 4.0))
    assert p3() == (D("3.50"), True, D("3.00"), False)


def test_a_special_spanning_several_files_keeps_the_reference_of_the_day_it_began(workspace):
    day(workspace, "2025-09-01")
    day(workspace, "2025-09-05", **special(2.5))
    assert p3() == (D("2.50"), True, D("3.00"), True)
    day(workspace, "2025-09-06", **special(2.0))
    day(workspace, "2025-09-07", **special(2.9))  # 2.00 yesterday, but the special began at 3.00
    assert p3() == (D("2.90"), True, D("3.00"), True)
    day(workspace, "2025-09-08")
    assert p3() == (D("3.00"), False, None, None)
    # A new special: the window now holds the last one's 2.00.
    day(workspace, "2025-09-09", **special(2.8))
    assert p3() == (D("2.80"), True, D("2.00"), False)


def test_a_price_holds_across_a_gap_between_files(workspace):
    day(workspace, "2025-07-01", price_current=2.0)
    day(workspace, "2025-08-30", **special(1.8))  # 60 days on: the 2.00 was still the price
    assert p3() == (D("1.80"), True, D("2.00"), True)


def test_a_product_new_to_a_store_has_no_reference_there(workspace):
    other = {"store_id": "502", "store_name": "iga otherville", "state": "nsw"}
    day(workspace, "2025-09-01", price_current=1.0)
    day(workspace, "2025-09-02", store=other, **special(3.0))
    assert p3("502") == (D("3.00"), True, None, None)  # 1.00 at store 501 is not this store's price


def test_a_returning_product_is_judged_by_its_price_before_it_was_delisted(workspace):
    day(workspace, "2025-09-01", price_current=2.0)
    day(workspace, "2025-09-02", absent=True)
    day(workspace, "2025-09-10", **special(1.5))
    assert p3() == (D("1.50"), True, D("2.00"), True)


def test_a_price_from_before_history_is_its_own_reference(workspace):
    day(workspace, "2025-09-01", price_current=2.0)
    PriceHistory.objects.all().delete()  # a catalog of the previous release: prices, no history
    day(workspace, "2025-09-10", **special(2.0))
    assert p3() == (D("2.00"), True, D("2.00"), False)


def test_the_window_is_a_setting(workspace, settings):
    settings.REFERENCE_WINDOW_DAYS = 7
    day(workspace, "2025-09-01", price_current=2.0)
    day(workspace, "2025-09-10", price_current=4.0)
    day(workspace, "2025-09-20", **special(3.0))
    assert p3() == (D("3.00"), True, D("4.00"), True)


def test_history_is_read_once_for_a_batch_of_specials(workspace):
    day(workspace, "2025-09-01")
    lines = [{**line, **special(2.0)} for line in FILL]
    write_file(workspace.inbox, "iga", "2025-09-02", lines)
    reads = []

    def counter(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT") and '"prices_pricehistory"' in sql:
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        run_update(workspace)

    assert len(reads) == 1
    assert set(Price.objects.values_list("reference_price", "is_real_reduction")) == {(D("3.00"), True)}
