"""The history row in force before a date, for a replay of archived files (update/backfill.py): what the
store charged before the file, and whether the file's date already has a row (a replay adds none twice)."""
from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Q, Subquery

from catalog.models import Product

from .history import HISTORY_FIELDS
from .models import PriceHistory


def _latest_before(day: date) -> Subquery:
    return Subquery(PriceHistory.objects.filter(store_id=OuterRef("store_id"), product_id=OuterRef("product_id"),
                                                date__lt=day).order_by("-date").values("date")[:1])


def rows_around(store_id: int, product_ids: list[int], day: date) -> tuple[dict, set[int]]:
    """For the products: {product id: its row in force before ``day``} (named rows with HISTORY_FIELDS; an
    end row has price None), and the ids that already have a row on ``day``. One query."""
    if not product_ids:
        return {}, set()
    rows = (PriceHistory.objects.filter(store_id=store_id, product_id__in=product_ids, date__lte=day)
            .filter(Q(date=day) | Q(date=_latest_before(day)))
            .values_list("product_id", "date", *HISTORY_FIELDS, named=True))
    before, present = {}, set()
    for row in rows:
        if row.date == day:
            present.add(row.product_id)
        else:
            before[row.product_id] = row
    return before, present


def priced_before(store_id: int, day: date, after_product: int, limit: int) -> list[int]:
    """Up to ``limit`` product ids above ``after_product``, in order, that had a price at the store the
    day before ``day`` (their row in force is not an end row): keyset batches over the store's products.
    Products deleted since are left out: their price went with them, and no file delisted them."""
    return list(PriceHistory.objects.filter(store_id=store_id, product_id__gt=after_product, date__lt=day,
                                            price__isnull=False)
                .filter(Exists(Product.objects.filter(id=OuterRef("product_id"))), date=_latest_before(day))
                .order_by("product_id")
                .values_list("product_id", flat=True)[:limit])
