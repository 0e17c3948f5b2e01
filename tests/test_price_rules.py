"""The price rule, per (product, store), on plain objects."""
from datetime import date
from decimal import Decimal

from catalog.models import Price
from update.lines import parse_line
from update.managers.price import decide

from .factories import product

DAY = date(2025, 9, 12)


def line(**fields):
    return parse_line(1, {"product": product("a", **fields)})


def stored(**fields):
    base = line()
    price = Price(price=base.price, unit_price=base.unit_price, unit_of_measure=base.unit_of_measure,
                  per_unit_price_string=base.per_unit_price_string, is_on_special=False,
                  price_hash=base.price_hash, was_price=None, save_amount=None, scraped_date=date(2025, 9, 9))
    for name, value in fields.items():
        setattr(price, name, value)
    return price


def test_new_price_takes_the_retailers_was_price():
    change = decide(None, line(price_current=4.5, price_was=6, is_on_special=True), DAY)
    assert change.action == "create"
    assert (change.fields["price"], change.fields["was_price"], change.fields["save_amount"]) == (
        Decimal("4.50"), Decimal("6.00"), Decimal("1.50"))


def test_unchanged_price_is_left_untouched():
    assert decide(stored(), line(), DAY).action == "unchanged"


def test_changed_price_records_previous_as_was_price():
    change = decide(stored(price=Decimal("3.00")), line(price_current=2.5), DAY)
    assert change.action == "update"
    assert (change.fields["was_price"], change.fields["save_amount"]) == (Decimal("3.00"), Decimal("0.50"))
    assert change.fields["scraped_date"] == DAY


def test_change_of_other_price_fields_keeps_was_price():
    change = decide(stored(was_price=Decimal("9.99")), line(per_unit_price_string="$2.50 / kg"), DAY)
    assert change.action == "update"
    assert "was_price" not in change.fields


def test_equal_price_of_another_product_does_not_count_as_unchanged():
    # The legacy bug: a hash equal to *some* price of the store hid a new product's price.
    assert decide(None, line(), DAY).action == "create"
