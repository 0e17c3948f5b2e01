"""Price history, changes only (issue 22, item 1): a row for each created or changed price and for each
delisting, none for an unchanged price, in the file's transaction and one batch at a time."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Price
from prices.models import PriceHistory
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

FILL = [product(f"p{n}", sku=f"S{n}") for n in range(40)]


def history_of(nnbs: str) -> list[tuple]:
    return list(PriceHistory.objects.filter(product__normalized_name_brand_size=nnbs).order_by("date")
                .values_list("date", "price", "was_price", "is_on_special", "unit_price"))


def day(workspace, when: str, lines, company="iga"):
    write_file(workspace.inbox, company, when, lines)
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"], report.files[0].reason
    return report.files[0]


def with_line(n: int, **fields) -> list[dict]:
    return [{**line, **fields} if i == n else line for i, line in enumerate(FILL)]


@pytest.mark.parametrize("skip", [True, False], ids=["skip-on", "skip-off"])
def test_a_first_price_is_a_row_and_an_unchanged_price_writes_none(workspace, skip):
    workspace.skip_unchanged = skip
    assert day(workspace, "2025-09-01", FILL).history_rows == 40
    assert PriceHistory.objects.count() == 40
    assert history_of("p3") == [(date(2025, 9, 1), Decimal("2.50"), None, False, Decimal("0.2500"))]

    result = day(workspace, "2025-09-02", FILL)

    assert result.prices_unchanged == 40 and PriceHistory.objects.count() == 40
    assert result.history_rows == 0


def test_a_changed_price_writes_one_row_with_the_decided_was_price(workspace):
    day(workspace, "2025-09-01", FILL)
    day(workspace, "2025-09-02", with_line(3, price_current=1.99))
    day(workspace, "2025-09-03", with_line(3, price_current=1.99, is_on_special=True, price_was=2.5))

    assert history_of("p3") == [
        (date(2025, 9, 1), Decimal("2.50"), None, False, Decimal("0.2500")),
        # A fall shows the previous price as was_price for the scrape that saw it (update/managers/price.py).
        (date(2025, 9, 2), Decimal("1.99"), Decimal("2.50"), False, Decimal("0.2500")),
        (date(2025, 9, 3), Decimal("1.99"), Decimal("2.50"), True, Decimal("0.2500")),
    ]
    assert PriceHistory.objects.count() == 42


def test_a_unit_price_change_is_a_row_and_a_wording_change_is_not(workspace):
    day(workspace, "2025-09-01", FILL)
    day(workspace, "2025-09-02", with_line(3, unit_price=0.3))
    result = day(workspace, "2025-09-03", with_line(3, unit_price=0.3, per_unit_price_string="$0.30/100g"))

    assert result.prices_updated == 1  # the current price took the new wording ...
    assert Price.objects.get(product__normalized_name_brand_size="p3").per_unit_price_string == "$0.30/100g"
    # ... but what the shopper pays did not change
    assert [row[0] for row in history_of("p3")] == [date(2025, 9, 1), date(2025, 9, 2)]
    assert history_of("p3")[1][4] == Decimal("0.3000")


def test_a_delisted_product_writes_an_end_row_and_its_return_a_new_first_row(workspace):
    day(workspace, "2025-09-01", FILL)
    result = day(workspace, "2025-09-02", FILL[:3] + FILL[4:])
    assert result.prices_deleted == 1 and result.history_rows == 1
    day(workspace, "2025-09-05", FILL)

    assert history_of("p3") == [
        (date(2025, 9, 1), Decimal("2.50"), None, False, Decimal("0.2500")),
        (date(2025, 9, 2), None, None, False, None),
        (date(2025, 9, 5), Decimal("2.50"), None, False, Decimal("0.2500")),
    ]
    assert PriceHistory.objects.count() == 42


def test_history_is_per_store(workspace):
    day(workspace, "2025-09-01", FILL[:5], company="iga")
    day(workspace, "2025-09-01", FILL[:5], company="aldi")
    assert PriceHistory.objects.count() == 10
    assert PriceHistory.objects.values("store").distinct().count() == 2


def test_a_file_that_fails_leaves_no_history(workspace, monkeypatch):
    day(workspace, "2025-09-01", FILL)
    from update.managers import price

    def broken(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(price.PriceManager, "delete_absent", broken)
    write_file(workspace.inbox, "iga", "2025-09-02", with_line(3, price_current=1.0))
    report = run_update(workspace)

    assert [f.status for f in report.files] == ["failed"]
    assert PriceHistory.objects.count() == 40


HISTORY_INSERT = re.compile(r'INSERT INTO "prices_pricehistory"|COPY "prices_pricehistory"')


def history_inserts(workspace) -> int:
    """How many history statements the next run sends (COPY, PostgreSQL's bulk insert, counted at the cursor)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += bool(HISTORY_INSERT.search(sql))
        return execute(sql, params, many, context)

    cursor_type = type(connection.cursor().cursor) if connection.vendor == "postgresql" else None
    original_copy = cursor_type.copy if cursor_type else None
    if cursor_type:
        def copy(cursor, statement, *args, **kwargs):
            counter(lambda *a: None, statement, None, False, None)
            return original_copy(cursor, statement, *args, **kwargs)
        cursor_type.copy = copy
    try:
        with connection.execute_wrapper(counter):
            run_update(workspace)
    finally:
        if cursor_type:
            cursor_type.copy = original_copy
    return count


def test_history_is_one_insert_per_price_batch_with_changes_and_none_without(workspace):
    from update.managers.price import PRICE_BATCH

    workspace.chunk_size = 100
    lines = [product(f"q{n}", sku=f"Q{n}") for n in range(PRICE_BATCH + 500)]
    write_file(workspace.inbox, "aldi", "2025-09-01", lines)
    assert history_inserts(workspace) == 2  # two price batches: 2,000 and 500 created prices

    write_file(workspace.inbox, "aldi", "2025-09-02", lines)
    assert history_inserts(workspace) == 0

    changed = [{**line, "price_current": 9.0} if n in (5, 2100) else line for n, line in enumerate(lines)]
    write_file(workspace.inbox, "aldi", "2025-09-03", changed[:-1])  # and the last one delisted
    # Seen lines never reach the price batch: the two changed lines, 2,000 lines apart, are one batch and
    # one insert; the end row is the other.
    assert history_inserts(workspace) == 1 + 1
    assert PriceHistory.objects.count() == len(lines) + 3


def test_a_deleted_product_leaves_its_history_and_the_update_goes_on(workspace):
    day(workspace, "2025-09-01", FILL)
    from catalog.models import Product

    gone = Product.objects.get(normalized_name_brand_size="p3").id
    Product.objects.get(id=gone).delete()  # the admin, say: its price goes with it, its history stays

    assert PriceHistory.objects.filter(product_id=gone).count() == 1
    day(workspace, "2025-09-02", FILL)  # p3 comes back as a new product, with a first row of its own
    assert history_of("p3") == [(date(2025, 9, 2), Decimal("2.50"), None, False, Decimal("0.2500"))]
