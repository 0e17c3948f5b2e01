"""History on the seven real scraped files (skipped when ../shared/data/real is absent): for every store
and product, the runs of equal prices across the store's files in date order, a row only where the price
differs from the scrape before, and an end row where the product left the store's file."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import orjson
import pytest

from catalog.models import SKU, Store
from prices.models import PriceHistory
from tests.conftest import drop
from update.lines import LineRejected, parse_line
from update.orchestrator import run_update

from .test_update_real_files import unique_lines

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def scraped(files: list[Path]) -> dict[tuple[str, str], list[tuple[date, dict]]]:
    """Per store, its files in date order: product id -> (price, was_price, is_on_special, unit_price) of
    the product's first line, was_price replayed as the domain defines it (the retailer's when above the
    price, else the previous price when the price fell)."""
    sku_owner = {(company, sku): pid for company, sku, pid in
                 SKU.objects.values_list("company__name", "sku", "product_id")}
    by_store = defaultdict(list)
    for f in files:
        meta = orjson.loads(f.open("rb").readline())["metadata"]
        by_store[(meta["company"], meta["store_id"])].append((date.fromisoformat(meta["scraped_date"]), f))
    result = {}
    for store, dated in by_store.items():
        days, current = [], {}
        for day, f in sorted(dated):
            prices = {}
            for n, record in enumerate(unique_lines(f)):
                try:
                    line = parse_line(n, record)
                except LineRejected:
                    continue
                pid = sku_owner[(store[0], line.sku)]
                if pid in prices:
                    continue
                previous = current.get(pid)
                was = line.was_price or (previous[0] if previous and previous[0] > line.price else None)
                prices[pid] = (line.price, was, line.is_on_special, line.unit_price)
            days.append((day, prices))
            current = prices
        result[store] = days
    return result


def runs(days: list[tuple[date, dict]]) -> dict[int, list[tuple]]:
    """product id -> [(date, price, was_price, is_on_special, unit_price)] where its value differs from the
    file before; (date, None, None, False, None) where it is absent after having been present."""
    expected = defaultdict(list)
    last: dict[int, tuple | None] = {}
    for day, prices in days:
        for pid in set(prices) | {pid for pid, value in last.items() if value is not None}:
            value = prices.get(pid)
            if value != last.get(pid, None):
                expected[pid].append((day, *(value or (None, None, False, None))))
            last[pid] = value
    return dict(expected)


def test_history_is_the_runs_of_equal_prices_in_each_stores_files(workspace, real_files):
    drop(real_files, workspace.inbox)
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"] * 7

    total = 0
    for (company, store_id), days in scraped(real_files).items():
        store = Store.objects.get(company__name=company, store_id=store_id)
        actual = defaultdict(list)
        for pid, *row in PriceHistory.objects.filter(store=store).order_by("product_id", "date").values_list(
                "product_id", "date", "price", "was_price", "is_on_special", "unit_price"):
            actual[pid].append(tuple(row))
        expected = runs(days)
        assert dict(actual) == expected, f"history of {company}/{store_id} differs from its files' runs"
        total += sum(len(rows) for rows in expected.values())
        # Changes only: far fewer rows than lines, the first file's prices and then what moved.
        lines = sum(len(prices) for _, prices in days)
        assert sum(len(rows) for rows in actual.values()) <= len(days[0][1]) + 0.2 * (lines - len(days[0][1]))
    assert PriceHistory.objects.count() == total
