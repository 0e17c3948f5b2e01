"""One scraped line, checked and typed: what the rest of the update may rely on.

Scrapers never promise a type, so every field is coerced here, once, and a line that can't be used
gets a reason instead of an exception. Nothing here touches a file or the database.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from catalog.models import NAME_MAX_LENGTH, NNBS_MAX_LENGTH, URL_MAX_LENGTH

MAX_PRICE = Decimal("100000")
CENT = Decimal("0.01")
_BARCODE = re.compile(r"^\d{8}$|^\d{12,13}$")
COMPANY_WIDE_STORE_ID = "company-wide"


class LineRejected(ValueError):
    """A line that can't be used, with the reason the operator reads."""


@dataclass(frozen=True, slots=True)
class FileMeta:
    company: str
    store_id: str
    store_name: str
    state: str
    scraped_date: date


@dataclass(slots=True)
class ScrapedLine:
    line_no: int
    nnbs: str
    name: str
    sku: str | None
    barcode: str | None
    brand: str
    normalized_brand: str
    size: str
    sizes: tuple[str, ...]
    url: str | None
    image_url: str | None
    category_path: tuple[str, ...]
    price: Decimal
    was_price: Decimal | None
    unit_price: Decimal | None
    unit_of_measure: str | None
    per_unit_price_string: str | None
    is_on_special: bool

    @property
    def price_hash(self) -> str:
        return price_hash(self.price, self.unit_price, self.unit_of_measure, self.per_unit_price_string,
                          self.is_on_special)


def price_hash(price, unit_price, unit_of_measure, per_unit_price_string, is_on_special) -> str:
    """Digest of the fields that make a price "changed"; compared per (product, store), never store-wide."""
    parts = (_money_text(price), _money_text(unit_price, "0.0001"), unit_of_measure or "",
             per_unit_price_string or "", "1" if is_on_special else "0")
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _money_text(value, places="0.01") -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal(places)))


def parse_meta(raw) -> FileMeta:
    if not isinstance(raw, dict):
        raise LineRejected("no metadata object")
    company = _text(raw.get("company")) or _text(raw.get("company_name"))
    if not company:
        raise LineRejected("metadata has no company")
    scraped = parse_date(raw.get("scraped_date"))
    if scraped is None:
        raise LineRejected(f"metadata scraped_date {raw.get('scraped_date')!r} is not a date")
    return FileMeta(
        company=company.lower(),
        store_id=_text(raw.get("store_id")) or COMPANY_WIDE_STORE_ID,
        store_name=(_text(raw.get("store_name")) or "")[:255],
        state=(_text(raw.get("state")) or "")[:50],
        scraped_date=scraped,
    )


def parse_line(line_no: int, record) -> ScrapedLine:
    """Turn one decoded JSON record into a ScrapedLine, or raise LineRejected with the reason."""
    if not isinstance(record, dict) or not isinstance(record.get("product"), dict):
        raise LineRejected("no product object")
    p = record["product"]
    nnbs = _text(p.get("normalized_name_brand_size"))
    if not nnbs:
        raise LineRejected("missing normalized_name_brand_size")
    if len(nnbs) > NNBS_MAX_LENGTH:
        raise LineRejected(f"normalized_name_brand_size longer than {NNBS_MAX_LENGTH} characters")
    name = _text(p.get("name"))
    if not name:
        raise LineRejected("missing name")
    price = parse_money(p.get("price_current"))
    if price is None:
        raise LineRejected(f"price_current {p.get('price_current')!r} is not a usable price")
    was_price = parse_money(p.get("price_was"))
    return ScrapedLine(
        line_no=line_no,
        nnbs=nnbs,
        name=name[:NAME_MAX_LENGTH],
        sku=(_text(p.get("sku")) or None),
        barcode=parse_barcode(p.get("barcode")),
        brand=(_text(p.get("brand")) or "")[:NAME_MAX_LENGTH],
        normalized_brand=(_text(p.get("normalized_brand")) or "")[:NNBS_MAX_LENGTH],
        size=(_text(p.get("size")) or "")[:255],
        sizes=_text_list(p.get("sizes")),
        url=_url(p.get("url")),
        image_url=_url(p.get("image_url") or p.get("aldi_image_url")),
        category_path=_text_list(p.get("category_path")),
        price=price,
        was_price=was_price if was_price is not None and was_price > price else None,
        unit_price=parse_money(p.get("unit_price"), places="0.0001", allow_zero=True),
        unit_of_measure=(_text(p.get("unit_of_measure")) or None),
        per_unit_price_string=((_text(p.get("per_unit_price_string")) or "")[:255] or None),
        is_on_special=parse_bool(p.get("is_on_special")),
    )


def parse_money(value, *, places: str = "0.01", allow_zero: bool = False) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE or (amount == 0 and not allow_zero):
        return None
    return amount.quantize(Decimal(places))


def parse_barcode(value) -> str | None:
    text = _text(value)
    return text if text and _BARCODE.match(text) else None


def parse_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y"}
    return bool(value) if isinstance(value, (bool, int)) else False


def parse_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _text(value) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _text_list(value) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(t[:255] for t in (_text(v) for v in value) if t)


def _url(value) -> str | None:
    text = _text(value)
    return text[:URL_MAX_LENGTH] if text else None
