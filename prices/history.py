"""Which price writes are changes, and the history rows they give, on plain values.

A change is a created price, or a price whose price, was_price, is_on_special or unit price differ from
the stored row; the other fields (the unit's wording, the hash) change the current price but not what a
shopper was charged, so they write no history. A price deleted as absent gives an end row.
"""
from __future__ import annotations

from datetime import date

# The columns of a history row after (store, product, date), in insert order.
HISTORY_FIELDS = ["price", "was_price", "is_on_special", "unit_price"]
ROW_FIELDS = ["store", "product", "date", *HISTORY_FIELDS]


def changed(stored, fields: dict) -> bool:
    """Whether the decided ``fields`` differ from the ``stored`` row (one with HISTORY_FIELDS) in what
    history records."""
    # Decimals compare by amount: a stored 1.2000 equals a scraped 1.2.
    return any(getattr(stored, name) != fields[name] for name in HISTORY_FIELDS)


def change_row(store_id: int, product_id: int, day: date, fields: dict) -> tuple:
    return (store_id, product_id, day, *(fields[name] for name in HISTORY_FIELDS))


def end_row(store_id: int, product_id: int, day: date) -> tuple:
    """The delisting: no price from ``day``."""
    return (store_id, product_id, day, None, None, False, None)

