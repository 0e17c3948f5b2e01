"""Retention (issue 22, item 5): ``prune-history --keep-days N`` drops history older than N days in
keyset batches, keeping each product's price in force on the cutoff day, and never reaching into the
reference window."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.db import connection

from catalog.models import Company, Product, Store
from prices.charged import charged_in_window
from prices.models import PriceHistory
from prices.reference import reference_price
from prices.retention import cutoff_of, prune_history
from update import cli

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = date.today()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def series():
    """Three products at one store, prices set 400, 200, 100, 50 and 10 days ago (the third delisted 100
    days ago and never back)."""
    store = Store.objects.create(company=Company.objects.create(name="iga"), store_id="501", store_name="t",
                                 state="nsw")
    products = [Product.objects.create(name=f"p{n}", normalized_name_brand_size=f"p{n}") for n in range(3)]
    rows = []
    for n, product in enumerate(products):
        for age, price in ((400, "1.00"), (200, "2.00"), (100, "3.00"), (50, "4.00"), (10, "5.00")):
            if n == 2 and age < 100:
                continue
            rows.append(PriceHistory(store=store, product=product, date=days_ago(age),
                                     price=None if (n == 2 and age == 100) else Decimal(price)))
    PriceHistory.objects.bulk_create(rows)
    return store, products


def dates_of(product) -> list[int]:
    return [(TODAY - day).days for day in PriceHistory.objects.filter(product=product).order_by("date")
            .values_list("date", flat=True)]


def test_older_rows_go_and_the_price_in_force_at_the_cutoff_stays(series):
    store, (first, _, delisted) = series

    deleted = prune_history(cutoff_of(150, TODAY))

    assert deleted == 3  # the row of 400 days ago of each: replaced 200 days ago, before the cutoff
    assert dates_of(first) == [200, 100, 50, 10]  # 200 days ago is the price in force 150 days ago
    assert dates_of(delisted) == [200, 100]
    assert prune_history(cutoff_of(150, TODAY)) == 0  # run again: nothing more


def test_a_reference_price_is_the_same_after_a_prune_of_the_days_before_its_window(series):
    store, (first, *_) = series
    began = days_ago(0)
    before = reference_price(charged_in_window(store.id, [first.id], began, 60)[first.id], began, 60)

    prune_history(cutoff_of(60, TODAY))

    after = reference_price(charged_in_window(store.id, [first.id], began, 60)[first.id], began, 60)
    assert before == after == Decimal("3.00")  # in force on the window's first day
    assert dates_of(first) == [100, 50, 10]


def test_pruning_goes_in_keyset_batches(series):
    deletes = []

    def counter(execute, sql, params, many, context):
        if sql.startswith("DELETE"):
            deletes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        deleted = prune_history(cutoff_of(150, TODAY), batch=2)

    # 6 rows older than 150 days, looked at 2 at a time; 3 of them replaced before the cutoff
    assert deleted == 3 and len(deletes) == 3


def test_the_command_prunes_and_says_how_much(series, settings):
    settings.REFERENCE_WINDOW_DAYS = 30
    result = CliRunner().invoke(cli.main, ["prune-history", "--keep-days", "150"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    cutoff = cutoff_of(150, TODAY)
    assert result.stdout == (f"3 history rows from before {cutoff} dropped; each product's price in force on "
                             f"{cutoff} kept\n")


def test_a_retention_shorter_than_the_reference_window_is_refused(series, settings):
    settings.REFERENCE_WINDOW_DAYS = 30
    result = CliRunner().invoke(cli.main, ["prune-history", "--keep-days", "29"], catch_exceptions=False)

    assert result.exit_code == 2
    assert result.stderr == ("update-products: --keep-days 29 is shorter than the reference window "
                             "(REFERENCE_WINDOW_DAYS=30): keep at least 30 days\n")
    assert PriceHistory.objects.count() == 13
