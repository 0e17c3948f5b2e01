"""The price rule, per (product, store), on plain objects."""
from datetime import date
from decimal import Decimal

import pytest

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


def test_change_of_other_price_fields_without_a_fall_or_retailer_was_price_clears_it():
    change = decide(stored(was_price=Decimal("9.99"), save_amount=Decimal("7.49")),
                    line(per_unit_price_string="$2.50 / kg"), DAY)
    assert change.action == "update"
    assert (change.fields["was_price"], change.fields["save_amount"]) == (None, None)


def test_price_rise_is_no_saving():
    change = decide(stored(price=Decimal("4.00")), line(price_current=4.5), DAY)
    assert change.action == "update"
    assert (change.fields["was_price"], change.fields["save_amount"]) == (None, None)


def test_ended_special_drops_the_was_price():
    special = stored(price=Decimal("5.00"), was_price=Decimal("6.00"), save_amount=Decimal("1.00"))
    special.price_hash = line(price_current=5).price_hash
    change = decide(special, line(price_current=5), DAY)
    assert change.action == "update"
    assert (change.fields["was_price"], change.fields["save_amount"]) == (None, None)


def test_new_retailer_was_price_on_an_unchanged_price_is_taken():
    plain = stored(price=Decimal("5.00"))
    plain.price_hash = line(price_current=5).price_hash
    change = decide(plain, line(price_current=5, price_was=7), DAY)
    assert change.action == "update"
    assert (change.fields["was_price"], change.fields["save_amount"]) == (Decimal("7.00"), Decimal("2.00"))


def test_retailer_was_price_wins_over_the_previous_price():
    change = decide(stored(price=Decimal("5.00")), line(price_current=4, price_was=6), DAY)
    assert (change.fields["was_price"], change.fields["save_amount"]) == (Decimal("6.00"), Decimal("2.00"))


def test_unchanged_special_is_left_untouched():
    special = stored(price=Decimal("5.00"), was_price=Decimal("6.00"), save_amount=Decimal("1.00"))
    assert decide(special, line(price_current=5, price_was=6), DAY).action == "unchanged"


def test_equal_price_of_another_product_does_not_count_as_unchanged():
    # The legacy bug: a hash equal to *some* price of the store hid a new product's price.
    assert decide(None, line(), DAY).action == "create"


@pytest.mark.django_db(transaction=True)
def test_was_price_over_a_week_of_files(workspace):
    from update.orchestrator import run_update

    from .factories import write_file

    week = [(1, 4.0, None, (None, None)), (2, 4.5, None, (None, None)),  # a rise is no saving
            (3, 5.0, 6.0, ("6.00", "1.00")), (4, 5.0, None, (None, None)),  # a special, then its end
            (5, 5.0, 7.0, ("7.00", "2.00")), (6, 4.0, None, ("5.00", "1.00"))]  # a new price_was; a fall
    for day, price, was, (want_was, want_save) in week:
        write_file(workspace.inbox, "iga", f"2025-09-0{day}", [product("a", price_current=price, price_was=was)])
        assert run_update(workspace).files[0].status == "processed"
        stored = Price.objects.get()
        assert (stored.was_price, stored.save_amount) == (
            want_was and Decimal(want_was), want_save and Decimal(want_save)), day
