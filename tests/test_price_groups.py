"""A product's distinct prices with the stores that charge them, decided on plain values."""
from decimal import Decimal as D

from catalog.price_groups import group_by_price


def test_a_store_charges_its_own_price_else_its_lists_and_a_gap_charges_nothing():
    shared, own = (D("2.50"), None, False), (D("2.20"), D("2.50"), True)
    groups = group_by_price(own={2: own, 3: None, 4: shared}, entries={7: shared, 8: (D("3.00"), None, False)},
                            followers={1: 7, 2: 7, 3: 7, 5: 7, 6: 8})
    assert [(g.price, g.was_price, g.is_on_special, g.store_ids) for g in groups] == [
        (D("2.20"), D("2.50"), True, [2]),      # its own price, cheapest first
        (D("2.50"), None, False, [1, 4, 5]),    # the list's entry, and a store whose own price equals it
        (D("3.00"), None, False, [6]),          # another list's
    ]  # store 3's gap: it does not carry the product, and is in no group


def test_a_store_whose_list_lacks_the_product_is_in_no_group():
    assert group_by_price(own={}, entries={}, followers={1: 7}) == []
