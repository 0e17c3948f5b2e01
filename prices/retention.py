"""Retention: drop history older than N days, in batches, keeping what the present still needs.

Kept for each (store, product): every row of the last N days, and the row in force on the cutoff day (the
latest at or before it), so the price in force on any kept day is still known. The cutoff may not reach
into the reference window (``REFERENCE_WINDOW_DAYS``): a special's reference price reads that far back.
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from .models import PriceHistory

# Rows looked at per keyset batch, each batch its own short transaction: an update running meanwhile waits
# for at most one batch's DELETE, and an interrupted prune keeps what it dropped and resumes where it was.
PRUNE_BATCH = 5_000


class RetentionTooShort(ValueError):
    pass


def check_keep_days(keep_days: int, window_days: int) -> None:
    if keep_days < window_days:
        raise RetentionTooShort(f"--keep-days {keep_days} is shorter than the reference window "
                                f"(REFERENCE_WINDOW_DAYS={window_days}): keep at least {window_days} days")


def cutoff_of(keep_days: int, today: date) -> date:
    return today - timedelta(days=keep_days)


def prune_history(cutoff: date, *, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows dated before ``cutoff`` that a later row at or before it replaced; their number."""
    superseded = PriceHistory.objects.filter(store_id=OuterRef("store_id"), product_id=OuterRef("product_id"),
                                             date__gt=OuterRef("date"), date__lte=cutoff)
    last, deleted = 0, 0
    while True:
        ids = list(PriceHistory.objects.filter(date__lt=cutoff, id__gt=last).order_by("id")
                   .values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        last = ids[-1]
        with transaction.atomic():
            count, _ = PriceHistory.objects.filter(id__in=ids).filter(Exists(superseded)).delete()
        deleted += count
