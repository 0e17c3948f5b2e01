"""What a batch of prices going on special needs from history: the prices each product was charged at
the store in the reference window, read in one query for the batch (prices/reference.py decides)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import DateField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from .models import PriceHistory


def charged_in_window(store_id: int, product_ids: list[int], began: date, window_days: int) -> dict[int, dict]:
    """product id -> {date: price} of the store's history rows from the one in force on the window's first
    day up to the day before ``began``; products without such rows are left out."""
    if not product_ids:
        return {}
    first_day = began - timedelta(days=window_days)
    # The row in force on the first day may be older than the window: a correlated subquery finds its
    # date on the (store, product, date) index, so the batch stays one statement.
    in_force = (PriceHistory.objects.filter(store_id=OuterRef("store_id"), product_id=OuterRef("product_id"),
                                            date__lte=first_day).order_by("-date").values("date")[:1])
    rows = (PriceHistory.objects.filter(store_id=store_id, product_id__in=product_ids, date__lt=began)
            .filter(date__gte=Coalesce(Subquery(in_force), Value(first_day), output_field=DateField()))
            .values_list("product_id", "date", "price"))
    charged: dict[int, dict] = defaultdict(dict)
    for product_id, day, price in rows:
        charged[product_id][day] = price
    return dict(charged)
