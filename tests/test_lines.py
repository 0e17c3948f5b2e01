"""Coercion of scraped fields: never trust a type."""
from decimal import Decimal

import pytest

from update.lines import LineRejected, parse_line, parse_meta

from .factories import product


def line(**fields):
    return parse_line(7, {"product": product("500gacmeoats", **fields), "metadata": {}})


@pytest.mark.parametrize("raw, expected", [
    (2.5, Decimal("2.50")), (3, Decimal("3.00")), ("4.10", Decimal("4.10")), ("$1.99", Decimal("1.99")),
])
def test_price_accepts_numbers_and_numeric_text(raw, expected):
    assert line(price_current=raw).price == expected


@pytest.mark.parametrize("raw", [None, "", "free", -1, 0, float("nan"), float("inf"), 1e9, True, [], {},
                                 0.004, "0.004", 99999.999, "99999.995", "1e40"])
def test_unusable_price_rejects_the_line_with_a_reason(raw):
    with pytest.raises(LineRejected, match="price_current"):
        line(price_current=raw)


def test_missing_or_overlong_nnbs_rejects_the_line():
    with pytest.raises(LineRejected, match="missing normalized_name_brand_size"):
        line(normalized_name_brand_size="  ")
    with pytest.raises(LineRejected, match="longer than 255"):
        line(normalized_name_brand_size="x" * 256)


def test_barcode_kept_only_when_digits_of_a_barcode_length():
    assert line(barcode="9300633601232").barcode == "9300633601232"
    assert line(barcode="93006336O1234").barcode is None
    assert line(barcode="123").barcode is None
    assert line(barcode=9300633601232).barcode == "9300633601232"


def test_lists_booleans_and_was_price_are_coerced():
    parsed = line(sizes="500g", category_path=["Pantry", "", None, "Oats"], is_on_special="true",
                  price_current=3, price_was=2)
    assert parsed.sizes == ()
    assert parsed.category_path == ("Pantry", "Oats")
    assert parsed.is_on_special is True
    assert parsed.was_price is None  # a was-price below the price is no special
    assert line(price_current=3, price_was="4.5").was_price == Decimal("4.50")


def test_price_hash_depends_on_price_fields_only():
    a, b = line(price_current=2), line(price_current=2, name="Other name", url="https://x")
    assert a.price_hash == b.price_hash
    assert a.price_hash != line(price_current=2.01).price_hash
    assert a.price_hash != line(price_current=2, is_on_special=True).price_hash


def test_meta_lower_cases_company_and_fills_missing_store_id():
    meta = parse_meta({"company_name": "IGA", "scraped_date": "2025-09-19"})
    assert (meta.company, meta.store_id) == ("iga", "company-wide")
    with pytest.raises(LineRejected, match="scraped_date"):
        parse_meta({"company": "aldi", "scraped_date": "19/09/2025"})


@pytest.mark.parametrize("raw, expected", [(0.006, Decimal("0.01")), (99999.994, Decimal("99999.99"))])
def test_price_range_is_checked_after_rounding(raw, expected):
    # The edges: what rounds into the range is kept, what rounds out of it (0.004, 99999.999) is refused.
    assert line(price_current=raw).price == expected


@pytest.mark.parametrize("raw", ["012345678905", "0012345678905", "00012345678905"])
def test_upc_a_ean_13_and_gtin_14_of_one_item_are_one_barcode(raw):
    assert line(barcode=raw).barcode == "0012345678905"


def test_ean_8_is_zero_padded_to_13_digits():
    assert line(barcode="96385074").barcode == "0000096385074"


@pytest.mark.parametrize("raw, reason", [
    ("2414764000008", "check digit does not match"),  # a real IGA barcode (in-store code) that fails it
    ("9300633601234", "check digit does not match"),
    ("10012345678902", "a GTIN-14 of a case or pack (indicator digit not 0)"),
    ("930063360123", "check digit does not match"),
    ("123456789", "not 8, 12, 13 or 14 digits"),
    ("９３００６３３６０１２３２", "not 8, 12, 13 or 14 digits"),  # full-width digits are digits to isdigit()
])
def test_barcode_that_is_not_a_gtin_is_dropped_with_a_warning(raw, reason):
    warnings = []
    kept = parse_line(7, {"product": product("a", barcode=raw)}, warnings)
    assert kept.barcode is None
    assert [w.kind for w in warnings] == [f"barcode dropped: {reason}"]
