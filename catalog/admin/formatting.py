"""How figures read on the admin's pages: money, unit prices, specials, run totals and counts.

The catalog stores what the scrapers sent ("1.0kg", "1each", a unit price of 0.0600 per gram beside a
text saying "$5.99 per 1 kg"); these turn it into what a shop's shelf label says.
"""
from __future__ import annotations

import re
from decimal import Decimal

# The retailer's own unit-price text is the one that agrees with its shelf label; it is spelled
# "$5.99 per 1 kg", "$0.25 per 100g" or "$4.50/kg". Anything else is shown as sent.
_PER_UNIT_TEXT = re.compile(r"^\s*\$?\s*(?P<amount>\d+(?:[.,]\d+)?)\s*(?:per\s*|/\s*)(?P<unit>.+?)\s*$", re.I)
# A unit of measure: an optional quantity, then the unit ("1.0kg", "100g", "1each", "ea").
_UNIT = re.compile(r"^\s*(?P<qty>\d+(?:\.\d+)?)?\s*(?P<unit>[a-z]+)\s*$", re.I)
_UNIT_NAMES = {"ea": "each", "each": "each", "g": "g", "kg": "kg", "ml": "ml", "l": "L", "lt": "L",
               "litre": "L", "m": "m", "sheet": "sheet", "sheets": "sheets"}


def money(value) -> str:
    """``Decimal("4.5")`` as "$4.50"; None as "-"."""
    if value is None:
        return "-"
    return f"${Decimal(value):,.2f}"


def unit_label(unit_of_measure: str | None) -> str:
    """"1.0kg" as "kg", "100g" as "100 g", "1each" as "each"; unknown spellings as sent."""
    if not unit_of_measure:
        return ""
    match = _UNIT.match(unit_of_measure)
    if not match:
        return unit_of_measure.strip()
    unit = _UNIT_NAMES.get(match["unit"].lower(), match["unit"])
    qty = match["qty"]
    if qty is None or float(qty) == 1:
        return unit
    return f"{float(qty):g} {unit}"


def unit_price(price) -> str:
    """The price per unit as a shelf label says it: "$0.45 per 100 g", from the retailer's text when it
    has one, else from the stored unit price and its unit; "-" when neither says anything."""
    text = (price.per_unit_price_string or "").strip()
    match = _PER_UNIT_TEXT.match(text) if text else None
    if match:
        return f"${Decimal(match['amount'].replace(',', '.')):,.2f} per {unit_label(match['unit'])}"
    if text:
        return text
    if price.unit_price is None or not price.unit_of_measure:
        return "-"
    return f"{money(price.unit_price)} per {unit_label(price.unit_of_measure)}"


def has_saving(price) -> bool:
    return price.was_price is not None and price.save_amount is not None and price.save_amount > 0


def special(price) -> str:
    """One word for the offer, consistent with the was-price: a saving is a saving whatever the retailer's
    flag says (the update derives was-prices from a price that fell, which no flag marks)."""
    if has_saving(price):
        return f"save {money(price.save_amount)} (was {money(price.was_price)})"
    if price.is_on_special:
        return "on special"
    return ""


# Figure names whose words don't follow "first word plural" (lines_rejected: "1 line rejected").
_LABELS = {"index_repairs": ("index repair", "index repairs"),
           "lines_with_warnings": ("line kept with warnings", "lines kept with warnings")}


def label(key: str, count: int) -> str:
    """The words for ``count`` of the figure ``key``: "lines_rejected" as "1 line rejected", "2 lines rejected"."""
    if key in _LABELS:
        return _LABELS[key][count != 1]
    first, _, rest = str(key).replace("_", " ").partition(" ")
    if count == 1 and first.endswith("s") and not first.endswith("ss"):
        first = first[:-1]
    return f"{first} {rest}".strip()


def words(mapping: dict | None, skip_zero: bool = True) -> str:
    """``{"processed": 1, "rejected": 2}`` as "1 processed, 2 rejected"; nested maps in brackets."""
    if not mapping:
        return "-"
    parts = []
    for key, value in mapping.items():
        name = str(key).replace("_", " ")
        if isinstance(value, dict):
            inner = words(value, skip_zero)
            if inner != "-":
                parts.append(f"{name}: {inner}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            parts.append(f"{name}: {value}")
        elif value or not skip_zero:
            parts.append(f"{value:,} {label(key, value)}")
    return ", ".join(parts) or "none"


def count_phrase(count: int, kind: str, singular: str, plural: str) -> str:
    """A change list's count as it is known: "4,902 products", "about 1,203,442 prices" (PostgreSQL's
    estimate) or "more than 1,000 products" (SQLite, where counting further would read every row)."""
    if kind == "lower bound":
        return f"more than {count - 1:,} {plural}"
    noun = singular if count == 1 else plural
    return f"about {count:,} {noun}" if kind == "estimate" else f"{count:,} {noun}"
