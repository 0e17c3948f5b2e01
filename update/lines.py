"""One scraped line, checked and typed: what the rest of the update may rely on.

Scrapers never promise a type, so every field is coerced here, once, and a line that can't be used
gets a reason instead of an exception. A field that is wrong but not needed (a barcode with letters, a
name longer than its column, sizes that are not a list) does not cost the line: it is dropped or cut,
and the line carries a warning saying so. Nothing here touches a file or the database.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from catalog.gtin import NotAGtin, canonical_gtin
from catalog.models import NAME_MAX_LENGTH, NNBS_MAX_LENGTH, SKU, URL_MAX_LENGTH, Company, Price, Store

MAX_PRICE = Decimal("100000")
CENT = Decimal("0.01")
COMPANY_WIDE_STORE_ID = "company-wide"
SKU_MAX_LENGTH = SKU._meta.get_field("sku").max_length
UNIT_MAX_LENGTH = Price._meta.get_field("unit_of_measure").max_length
COMPANY_MAX_LENGTH = Company._meta.get_field("name").max_length
STORE_ID_MAX_LENGTH = Store._meta.get_field("store_id").max_length


class LineRejected(ValueError):
    """A line that can't be used, with the reason the operator reads.

    ``kind`` is the reason without the line's own values, so the report can count lines by it.
    """

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind or message


@dataclass(frozen=True, slots=True)
class LineWarning:
    """Something dropped or cut from a line that was kept: ``kind`` is counted, ``message`` written out."""
    kind: str
    message: str


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
    company = company_key(_text(raw.get("company")) or _text(raw.get("company_name")))
    if not company:
        raise LineRejected("metadata has no company")
    store_id = _text(raw.get("store_id")) or COMPANY_WIDE_STORE_ID
    if len(company) > COMPANY_MAX_LENGTH or len(store_id) > STORE_ID_MAX_LENGTH:
        raise LineRejected("metadata company or store_id longer than its column")
    scraped = parse_date(raw.get("scraped_date"))
    if scraped is None:
        raise LineRejected(f"metadata scraped_date {_shown(raw.get('scraped_date'))} is not a date",
                           "metadata scraped_date is not a date")
    return FileMeta(
        company=company,
        store_id=store_id,
        store_name=(_text(raw.get("store_name")) or "")[:255],
        state=(_text(raw.get("state")) or "")[:50],
        scraped_date=scraped,
    )


def company_key(spelling: str) -> str:
    """How a company is named in the catalog: "ALDI ", " Aldi" and "aldi" are one company.

    Only case and whitespace are forgiven; "Aldi Stores" is another name, so another company (the
    update creates it and says so in the file's notes).
    """
    return " ".join(spelling.split()).lower()


def store_of(meta: FileMeta) -> str:
    """The store a line's metadata names, as the report spells it: ``company/store_id``."""
    return f"{meta.company}/{meta.store_id}"


def another_store(line_store: str, file_store: str) -> LineRejected:
    """Why a line of another store than the file's is refused (the file's is its lines' majority)."""
    return LineRejected(f"metadata names store {line_store}, but the file is {file_store}",
                        "metadata names another store than the file's")


def check_same_day(file_date: date, line_meta: FileMeta) -> None:
    """Refuse a line dated a day the file's scrape can't have reached.

    A scrape that runs past midnight dates its last lines the next day (the real IGA file does), so a
    line may carry the file's date or the day after; anything else is not this file's scrape.
    """
    day = line_meta.scraped_date
    if day == file_date:  # nearly every line: no timedelta to build
        return
    if not file_date <= day <= file_date + timedelta(days=1):
        raise LineRejected(
            f"metadata scraped_date {day} is neither the file's {file_date} nor the day after",
            "metadata scraped_date is neither the file's date nor the day after")


# Every product field ``parse_line`` reads, and nothing else: a line's digest covers these, so a field
# the update ignores (the product's own scraped_date, ratings, descriptions) never makes a line "changed".
READ_FIELDS = ("normalized_name_brand_size", "name", "price_current", "price_was", "sku", "barcode", "brand",
               "normalized_brand", "size", "sizes", "url", "image_url", "aldi_image_url", "category_path",
               "unit_price", "unit_of_measure", "per_unit_price_string", "is_on_special")


def read_part(product: dict) -> list:
    """The values of the fields the update reads, in one order (what a line's digest is taken of)."""
    return list(map(product.get, READ_FIELDS))


def parse_line(line_no: int, record, warnings: list[LineWarning] | None = None) -> ScrapedLine:
    """Turn one decoded JSON record into a ScrapedLine, or raise LineRejected with the reason.

    What was dropped or cut from a line that is kept is appended to ``warnings`` when one is given.
    """
    noted = warnings if warnings is not None else []
    p, nnbs, name, price = _usable(record)
    if len(name) > NAME_MAX_LENGTH:
        noted.append(LineWarning(f"name cut to {NAME_MAX_LENGTH} characters",
                                 f"name of {len(name)} characters cut to {NAME_MAX_LENGTH}"))
    was_price = parse_money(p.get("price_was"))
    if was_price is None and p.get("price_was") not in (None, ""):
        noted.append(LineWarning("price_was is not a usable price (ignored)",
                                 f"price_was {_shown(p.get('price_was'))} is not a usable price (ignored)"))
    return ScrapedLine(
        line_no=line_no,
        nnbs=nnbs,
        name=name[:NAME_MAX_LENGTH],
        sku=_sku(p.get("sku"), noted),
        barcode=_barcode(p.get("barcode"), noted),
        brand=(_text(p.get("brand")) or "")[:NAME_MAX_LENGTH],
        normalized_brand=(_text(p.get("normalized_brand")) or "")[:NNBS_MAX_LENGTH],
        size=(_text(p.get("size")) or "")[:255],
        sizes=_text_list(p.get("sizes"), "sizes", noted),
        url=_url(p.get("url")),
        image_url=_url(p.get("image_url") or p.get("aldi_image_url")),
        category_path=_text_list(p.get("category_path"), "category_path", noted),
        price=price,
        was_price=was_price if was_price is not None and was_price > price else None,
        unit_price=parse_money(p.get("unit_price"), places="0.0001", allow_zero=True),
        unit_of_measure=((_text(p.get("unit_of_measure")) or "")[:UNIT_MAX_LENGTH] or None),
        per_unit_price_string=((_text(p.get("per_unit_price_string")) or "")[:255] or None),
        is_on_special=_bool(p.get("is_on_special"), noted),
    )


class LineKeys(NamedTuple):
    """What the first pass needs of a usable line: its keys, without building the whole line (a tuple:
    one is built per line)."""
    nnbs: str
    sku: str | None
    barcode: str | None


def read_keys(record) -> LineKeys:
    """The keys of a line ``parse_line`` would keep, or LineRejected with the reason it would give.

    Every check that can refuse a line is made here too, so the first pass counts, de-duplicates and
    groups exactly the lines the second pass will parse; SKU and barcode are read as ``parse_line``
    reads them, dropping the same unusable values (the second pass warns about those).
    """
    p, nnbs, _, _ = _usable(record)
    sku, barcode = p.get("sku"), p.get("barcode")
    # Most lines lack one of the two: nothing to read then (this runs for every line of a day).
    return LineKeys(nnbs, None if sku is None else _sku(sku, []),
                    None if barcode is None else _barcode(barcode, []))


def _usable(record) -> tuple[dict, str, str, Decimal]:
    """The product object, NNBS, name and price a line can't go without, or LineRejected."""
    if not isinstance(record, dict) or not isinstance(record.get("product"), dict):
        raise LineRejected("no product object")
    p = record["product"]
    nnbs = _text(p.get("normalized_name_brand_size"))
    if not nnbs:
        raise LineRejected("missing normalized_name_brand_size")
    if len(nnbs) > NNBS_MAX_LENGTH:
        # Cutting a matching key would make it another product's key: the line goes, not the tail.
        raise LineRejected(f"normalized_name_brand_size longer than {NNBS_MAX_LENGTH} characters")
    name = _text(p.get("name"))
    if not name:
        raise LineRejected("missing name")
    price = parse_money(p.get("price_current"))
    if price is None:
        raise LineRejected(f"price_current {_shown(p.get('price_current'))} is not a usable price",
                           "price_current is not a usable price (missing, not a number, <= 0 or too large)")
    return p, nnbs, name, price


_PLACES = {"0.01": CENT, "0.0001": Decimal("0.0001")}
_CACHED_TEXT = 24  # a longer "price" is not one, and is not kept


def parse_money(value, *, places: str = "0.01", allow_zero: bool = False) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= _CACHED_TEXT):
        return _cached_money(type(value), value, places, allow_zero)
    return _money(value, places, allow_zero)


@functools.lru_cache(maxsize=4096)
def _cached_money(kind: type, value, places: str, allow_zero: bool) -> Decimal | None:
    """Prices repeat (3.5 is on hundreds of lines): each distinct one is parsed once. ``kind`` keeps
    "3.5" and 3.5 apart; a Decimal is immutable, so sharing it is safe."""
    return _money(value, places, allow_zero)


def _money(value, places: str, allow_zero: bool) -> Decimal | None:
    try:
        # A number's text has no spaces or "$" to take off (most prices are numbers).
        amount = Decimal(value.strip().lstrip("$") if isinstance(value, str) else str(value))
        if not amount.is_finite():
            return None
        # Checked after rounding, as stored: 0.004 would be stored as 0.00 and 99999.999 as 100000.00.
        amount = amount.quantize(_PLACES.get(places) or Decimal(places))
    except (InvalidOperation, ValueError):
        return None
    if amount < 0 or amount >= MAX_PRICE or (amount == 0 and not allow_zero):
        return None
    return amount


def parse_barcode(value) -> str | None:
    """The canonical (13-digit) GTIN of a scraped barcode, or None when it is not a usable GTIN."""
    text = _text(value)
    try:
        return canonical_gtin(text) if text else None
    except NotAGtin:
        return None


_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


def parse_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value) if isinstance(value, (bool, int)) else False


def _bool(value, noted: list[LineWarning]) -> bool:
    known = value is None or isinstance(value, (bool, int)) or (
        isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE)
    if not known:
        noted.append(LineWarning("is_on_special is not a boolean (taken as false)",
                                 f"is_on_special {_shown(value)} is not a boolean (taken as false)"))
    return parse_bool(value)


def _barcode(value, noted: list[LineWarning]) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        return canonical_gtin(text)
    except NotAGtin as why:
        noted.append(LineWarning(f"barcode dropped: {why.kind}", f"barcode {_shown(value)} dropped: {why}"))
        return None


def _sku(value, noted: list[LineWarning]) -> str | None:
    sku = _text(value) or None
    if sku is not None and len(sku) > SKU_MAX_LENGTH:
        noted.append(LineWarning(f"sku longer than {SKU_MAX_LENGTH} characters dropped",
                                 f"sku of {len(sku)} characters dropped (longer than {SKU_MAX_LENGTH})"))
        return None
    return sku


def parse_date(value) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _text(value) -> str:
    if isinstance(value, str):
        # PostgreSQL refuses NUL in text and JSON columns (SQLite stores it): it never means anything here.
        return value.replace("\x00", "").strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _text_list(value, field_name: str = "", noted: list[LineWarning] | None = None) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        if value not in (None, "") and noted is not None:
            noted.append(LineWarning(f"{field_name} is not a list (ignored)",
                                     f"{field_name} {_shown(value)} is not a list (ignored)"))
        return ()
    texts = tuple(t[:255] for t in (_text(v) for v in value) if t)
    if len(texts) < len(value) and noted is not None:
        noted.append(LineWarning(f"empty names dropped from {field_name}",
                                 f"{len(value) - len(texts)} empty names dropped from {field_name}"))
    return texts


def _shown(value, limit: int = 60) -> str:
    """A field's value as a reason quotes it: short enough for one line of a log."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _url(value) -> str | None:
    text = _text(value)
    return text[:URL_MAX_LENGTH] if text else None
