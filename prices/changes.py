"""The admin's "price changes" page: the biggest drops and rises of a date range, the specials that began
in it, and the current specials that are not real reductions; by company if asked.

Every list is one bounded query (LIMIT), and each reads only the range's rows through an index:
history by date (prices 0002), a row's previous row by the unique (store, product, date) index, current
prices not really reduced by a partial index holding only those (catalog 0011). So the page costs what
the range holds, never the whole history; the range is at most MAX_RANGE_DAYS days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, FloatField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from catalog.models import Price

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


def _in_range(chosen: ChangeFilter):
    rows = PriceHistory.objects.filter(date__gte=chosen.since, date__lte=chosen.until)
    if chosen.company_id is not None:
        rows = rows.filter(store__company_id=chosen.company_id)
    return rows


def _with_previous(rows):
    """Each row with the price and special of the store's row before it (NULL for a first price)."""
    previous = PriceHistory.objects.filter(store_id=OuterRef("store_id"), product_id=OuterRef("product_id"),
                                           date__lt=OuterRef("date")).order_by("-date")
    return rows.annotate(previous_price=Subquery(previous.values("price")[:1]),
                         previous_special=Subquery(previous.values("is_on_special")[:1]))


def _shown(rows):
    return rows.select_related("store__company", "product__brand")


def biggest_moves(chosen: ChangeFilter, *, drops: bool) -> list[PriceHistory]:
    """The range's price changes by their relative size: the largest drops (or rises) first."""
    rows = _with_previous(_in_range(chosen)).filter(price__isnull=False, previous_price__isnull=False)
    rows = rows.filter(price__lt=F("previous_price")) if drops else rows.filter(price__gt=F("previous_price"))
    # As floats: SQLite keeps 3.00 as the integer 3, and 2 / 3 there is 0.
    before = Cast("previous_price", FloatField())
    relative = (Cast("price", FloatField()) - before) / before
    rows = rows.annotate(relative=relative).order_by("relative" if drops else "-relative", "-date", "pk")
    found = list(_shown(rows)[:ROWS_PER_LIST])
    for row in found:
        row.difference = row.price - row.previous_price
        row.percent = f"{row.relative * 100:+.0f}%"
    return found


def new_specials(chosen: ChangeFilter) -> list[PriceHistory]:
    """The range's changes that put a price on special (a first price on special too), newest first,
    each with the verdict of the current price when that is still on special (``current``)."""
    rows = _with_previous(_in_range(chosen)).filter(is_on_special=True, price__isnull=False).filter(
        Q(previous_special=False) | Q(previous_special__isnull=True))
    found = list(_shown(rows).order_by("-date", "store_id", "product_id")[:ROWS_PER_LIST])
    current = _current_specials(found)
    for row in found:
        row.current = current.get((row.product_id, row.store_id))
    return found


def _current_specials(rows) -> dict[tuple[int, int], Price]:
    """The current prices on special of the rows' (product, store) pairs, in one query."""
    if not rows:
        return {}
    pairs = {(row.product_id, row.store_id) for row in rows}
    prices = Price.objects.filter(product_id__in={p for p, _ in pairs}, store_id__in={s for _, s in pairs},
                                  is_on_special=True).only("product_id", "store_id", "price", "reference_price",
                                                           "is_real_reduction")
    return {(p.product_id, p.store_id): p for p in prices if (p.product_id, p.store_id) in pairs}


def not_real_reductions(chosen: ChangeFilter) -> list[Price]:
    """Current specials whose price is not below their reference price, set in the range, newest first.

    A price's scraped_date is the date the update last changed it, so a special's price set in the range.
    """
    rows = Price.objects.filter(is_real_reduction=False, scraped_date__gte=chosen.since,
                                scraped_date__lte=chosen.until)
    if chosen.company_id is not None:
        rows = rows.filter(store__company_id=chosen.company_id)
    return list(rows.select_related("store__company", "product__brand")
                .order_by("-scraped_date", "store_id", "product_id")[:ROWS_PER_LIST])
