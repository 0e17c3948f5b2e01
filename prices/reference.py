"""A special's reference price: the lowest price its store charged in the days before the special began.

The rule of the EU's Omnibus Directive (2019/2161): an announced reduction shows the lowest price of the 30
days before it. A special whose price is not below that is no real reduction (the "illusory discounts" the
ACCC took Coles and Woolworths to court over in 2024: a price raised shortly before a was/now special).

On plain values. A price is charged from the date it was set until the next change, across any gap
between files (the catalog shows it all that time); a delisting (price None) charges nothing until the
product returns. Only the store's own prices count: a product new to a store has no reference there.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal


def reference_price(charged: dict[date, Decimal | None], began: date, window_days: int) -> Decimal | None:
    """The lowest price in force on any of the ``window_days`` days before ``began``, or None when none was.

    ``charged`` maps each date a price was set on (a history row, or the current price's own date) to the
    price in force from it; it must hold the last date at or before the window's first day, if any.
    """
    first_day = began - timedelta(days=window_days)
    dates = sorted(day for day in charged if day < began)
    lowest = None
    for day, until in zip(dates, dates[1:] + [began]):
        price = charged[day]
        if price is None or until <= first_day:  # a delisting, or replaced before the window opened
            continue
        lowest = price if lowest is None else min(lowest, price)
    return lowest


def is_real_reduction(price: Decimal, reference: Decimal | None) -> bool | None:
    """Whether the special's price is below its reference; None when there is no reference to judge by."""
    return None if reference is None else price < reference
