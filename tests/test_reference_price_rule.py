"""The reference-price rule on plain values (prices/reference.py): the lowest price in force on any of the
window's days before a special began; a special not below it is no real reduction."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from prices.reference import is_real_reduction, reference_price

D = Decimal
SEP_20 = date(2025, 9, 20)  # the special begins; the 30-day window is 21 Aug to 19 Sep


def test_a_special_on_the_first_day_seen_has_no_reference_and_is_not_flagged():
    assert reference_price({}, SEP_20, 30) is None
    assert is_real_reduction(D("2.00"), None) is None


def test_a_rise_inside_the_window_does_not_raise_the_reference():
    # 3.00 for months, raised to 4.00 ten days before a "was 4.00, now 3.50" special.
    charged = {date(2025, 6, 1): D("3.00"), date(2025, 9, 10): D("4.00")}
    assert reference_price(charged, SEP_20, 30) == D("3.00")
    assert is_real_reduction(D("3.50"), D("3.00")) is False
    assert is_real_reduction(D("3.00"), D("3.00")) is False  # equal is no reduction either
    assert is_real_reduction(D("2.80"), D("3.00")) is True


def test_a_price_holds_across_a_gap_between_files():
    # The store's last file before the special was 50 days earlier: its price was in force all along.
    assert reference_price({date(2025, 8, 1): D("2.00")}, SEP_20, 30) == D("2.00")


def test_a_price_replaced_before_the_window_opened_does_not_count():
    charged = {date(2025, 6, 1): D("1.00"), date(2025, 7, 1): D("2.00")}
    assert reference_price(charged, SEP_20, 30) == D("2.00")
    # replaced on the window's first day: never charged inside it
    assert reference_price({date(2025, 6, 1): D("1.00"), date(2025, 8, 21): D("2.00")}, SEP_20, 30) == D("2.00")
    # replaced the day after: charged on the first day
    assert reference_price({date(2025, 6, 1): D("1.00"), date(2025, 8, 22): D("2.00")}, SEP_20, 30) == D("1.00")


def test_the_day_the_special_began_and_later_days_do_not_count():
    charged = {date(2025, 9, 1): D("3.00"), SEP_20: D("1.00"), date(2025, 9, 25): D("0.50")}
    assert reference_price(charged, SEP_20, 30) == D("3.00")


def test_an_earlier_special_inside_the_window_counts():
    # Omnibus: the lowest price applied, whatever it was called then.
    charged = {date(2025, 8, 1): D("3.00"), date(2025, 9, 1): D("2.20"), date(2025, 9, 8): D("3.00")}
    assert reference_price(charged, SEP_20, 30) == D("2.20")


def test_a_delisting_charges_nothing_until_the_product_returns():
    # Delisted before the window and back 15 days before the special: only the price since its return.
    charged = {date(2025, 7, 1): D("1.00"), date(2025, 8, 1): None, date(2025, 9, 5): D("3.00")}
    assert reference_price(charged, SEP_20, 30) == D("3.00")
    # delisted for the whole window: no reference
    assert reference_price({date(2025, 7, 1): D("1.00"), date(2025, 8, 1): None}, SEP_20, 30) is None


def test_the_window_is_a_parameter():
    charged = {date(2025, 8, 1): D("2.00"), date(2025, 9, 10): D("4.00")}
    assert reference_price(charged, SEP_20, 30) == D("2.00")
    assert reference_price(charged, SEP_20, 7) == D("4.00")
