"""The admin's "price changes" page: the biggest drops and rises of a date range, the specials that began
in it, and the current specials that are not real reductions; by company if asked.

The moves and the new specials are one query (three LIMITed lists from one pass over the range), the
specials not really reduced another; each reads only the range's rows through an index: history by date
(prices 0002), a row's previous row by the unique (store, product, date) index, current prices not
really reduced by a partial index holding only those (catalog 0011). So the page costs what the range
holds, never the whole history; the range is at most MAX_RANGE_DAYS days.
"""
from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Q

from catalog.models import Price, Store

from .models import PriceHistory

ROWS_PER_LIST = 25
MAX_RANGE_DAYS = 31
DEFAULT_RANGE_DAYS = 7


class BadFilter(ValueError):
    """A filter the page can't use; the message says what to type."""


@dataclass(frozen=True)
class ChangeFilter:
    since: date
    until: date
    company_id: int | None = None


def parse_filter(params, latest: date | None) -> ChangeFilter:
    """The filter from the page's query string: ``since`` and ``until`` (YYYY-MM-DD, default the last
    DEFAULT_RANGE_DAYS days up to ``latest``, the newest history date) and ``company`` (an id)."""
    until = _day(params.get("until"), "until") or latest or date.today()
    since = _day(params.get("since"), "since") or until - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if since > until:
        raise BadFilter(f"'from' ({since}) is after 'to' ({until}): swap them.")
    if (until - since).days + 1 > MAX_RANGE_DAYS:
        raise BadFilter(f"{(until - since).days + 1} days is too long a range: "
                        f"choose at most {MAX_RANGE_DAYS} days.")
    company = (params.get("company") or "").strip()
    if company and not company.isdigit():
        raise BadFilter(f"company {company!r} is not a company's id: choose one from the list.")
    return ChangeFilter(since, until, int(company) if company else None)


def latest_history_date() -> date | None:
    return PriceHistory.objects.aggregate(latest=Max("date"))["latest"]


def _day(text, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{name} {text!r} is not a date: type it as YYYY-MM-DD.") from None


@dataclass
class Moves:
    drops: list[PriceHistory]  # the largest relative drops first
    rises: list[PriceHistory]  # the largest relative rises first
    new_specials: list[PriceHistory]  # newest first


# One pass over the range's rows: each row's previous row is found by two scalar subqueries on the unique
# (store, product, date) index (the second finds the same index entry, in pages just read), and the CTE,
# read three times, is materialized by both databases. Django's ORM repeats the subquery in every clause and
# query that names it: three queries, about three lookups a row each (31 days of 1M rows on SQLite: 1.8 s,
# against about 0.6 s this way). A join to the previous row's id instead made PostgreSQL hash the whole
# table (docs/admin.md).
_MOVES_SQL = """
WITH moves AS (
    SELECT h.id, h.date, h.store_id, h.product_id, h.price, h.is_on_special,
           (SELECT q.price FROM {history} q
            WHERE q.store_id = h.store_id AND q.product_id = h.product_id AND q.date < h.date
            ORDER BY q.date DESC LIMIT 1) AS previous_price,
           (SELECT q.is_on_special FROM {history} q
            WHERE q.store_id = h.store_id AND q.product_id = h.product_id AND q.date < h.date
            ORDER BY q.date DESC LIMIT 1) AS previous_special
    FROM {history} h {company_join}
    WHERE h.date >= %s AND h.date <= %s {company_filter}
)
SELECT * FROM (SELECT 'drop', id, previous_price FROM moves WHERE price < previous_price
               ORDER BY (CAST(price AS DOUBLE PRECISION) - previous_price) / previous_price, date DESC, id
               LIMIT {limit}) drops
UNION ALL
SELECT * FROM (SELECT 'rise', id, previous_price FROM moves WHERE price > previous_price
               ORDER BY (CAST(price AS DOUBLE PRECISION) - previous_price) / previous_price DESC, date DESC, id
               LIMIT {limit}) rises
UNION ALL
SELECT * FROM (SELECT 'special', id, previous_price FROM moves
               WHERE is_on_special AND price IS NOT NULL AND (previous_special IS NULL OR NOT previous_special)
               ORDER BY date DESC, store_id, product_id LIMIT {limit}) specials
"""


def moves(chosen: ChangeFilter) -> Moves:
    """The range's biggest drops and rises (against the store's previous row, by relative size; a first
    price and a delisting are not moves) and its changes onto special (a first price on special too), each
    special with the verdict of the current price while it is still on special (``current``)."""
    params: list = [chosen.since, chosen.until]
    company_join = company_filter = ""
    if chosen.company_id is not None:
        company_join = f"JOIN {Store._meta.db_table} s ON s.id = h.store_id"
        company_filter = "AND s.company_id = %s"
        params.append(chosen.company_id)
    sql = _MOVES_SQL.format(history=PriceHistory._meta.db_table, company_join=company_join,
                            company_filter=company_filter, limit=ROWS_PER_LIST)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = PriceHistory.objects.select_related("store__company", "product__brand").in_bulk(
        [row_id for _, row_id, _ in found])
    lists: dict[str, list[PriceHistory]] = {"drop": [], "rise": [], "special": []}
    for kind, row_id, previous_price in found:
        row = rows[row_id]
        if kind != "special":
            row = _as_move(copy(row), previous_price)  # a row can be on two lists
        lists[kind].append(row)
    current = _current_specials(lists["special"])
    for row in lists["special"]:
        row.current = current.get((row.product_id, row.store_id))
    return Moves(lists["drop"], lists["rise"], lists["special"])


def _as_move(row: PriceHistory, previous_price) -> PriceHistory:
    row.previous_price = Decimal(previous_price).quantize(Decimal("0.01"))
    row.difference = row.price - row.previous_price
    row.percent = f"{row.difference / row.previous_price * 100:+.0f}%"
    return row


def _current_specials(rows) -> dict[tuple[int, int], Price]:
    """The current prices on special of the rows' (product, store) pairs, as each store reads them: its own
    row (a gap: none), else its list's entry (docs/price-lists.md). Two queries, whatever the pairs."""
    if not rows:
        return {}
    pairs = {(row.product_id, row.store_id) for row in rows}
    products = {p for p, _ in pairs}
    lists = dict(Store.objects.filter(id__in={s for _, s in pairs}).values_list("id", "price_list_id"))
    fields = ("product_id", "store_id", "price_list_id", "price", "is_on_special", "reference_price",
              "is_real_reduction")
    own = {(p.product_id, p.store_id): p for p in Price.objects.filter(
        product_id__in=products, store_id__in=lists).only(*fields)}
    entries = {(p.product_id, p.price_list_id): p for p in Price.objects.filter(
        product_id__in=products, price_list_id__in={pl for pl in lists.values() if pl}).only(*fields)}
    current = {}
    for product_id, store_id in pairs:
        price = own.get((product_id, store_id)) or entries.get((product_id, lists.get(store_id)))
        if price is not None and price.price is not None and price.is_on_special:
            current[(product_id, store_id)] = price
    return current


def not_real_reductions(chosen: ChangeFilter) -> list[Price]:
    """Current specials whose price is not below their reference price, set in the range, newest first.

    A price's scraped_date is the date the update last changed it, so a special's price set in the range.
    """
    rows = Price.objects.filter(is_real_reduction=False, scraped_date__gte=chosen.since,
                                scraped_date__lte=chosen.until)
    if chosen.company_id is not None:
        rows = rows.filter(Q(store__company_id=chosen.company_id) | Q(price_list__company_id=chosen.company_id))
    # A shared price is its list's entry: the page names the list where it would name a store.
    found = list(rows.select_related("store__company", "price_list__company", "product__brand")
                 .order_by("-scraped_date", "store_id", "product_id")[:ROWS_PER_LIST])
    for price in found:
        price.held_by = price.store if price.store_id else price.price_list
    return found
