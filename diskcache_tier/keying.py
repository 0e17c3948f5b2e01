"""The one rule for what a product gives the index: its slim record and its keys of each kind.

The build, the memory backend's loader, catch-up, verify and the update's own writes all go through
``product_entries`` (and ``sku_entry``), so no two writers can disagree on how a product is keyed.

The slim record holds what deciding a line needs without fetching the product (tier 2): its NNBS, its
brand (id and normalized name), and what enrichment could still add to it: whether barcode, url and
image_url are set, its sizes and variations as scraped, and the companies it already has a raw brand for. A line that would add
nothing is priced and filed from the slim record alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson

from .keys import canonical_nnbs


log = logging.getLogger(__name__)

# Products already warned about in this process: one warning each, however many batches read them.
_WARNED: set[int] = set()
_WARNED_MAX = 10_000


def forget_warnings() -> None:
    """At the start of a run: each bad product is named once per run, not once per process."""
    _WARNED.clear()


def usable_variations(value, product_id=None) -> list[str]:
    """The variations the index can key: a stored value that is not a list of non-empty strings (raw SQL
    could write `[" "]`, `[5]` or a bare string) loses its bad entries, with one warning naming the
    product, so it never stops a run or a build."""
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) and canonical_nnbs(v) for v in value):
        return value
    kept = [v for v in value if isinstance(v, str) and canonical_nnbs(v)] if isinstance(value, list) else []
    if product_id not in _WARNED and len(_WARNED) < _WARNED_MAX:
        _WARNED.add(product_id)
        log.warning("product %s: its stored NNBS variations %.200r are not a list of non-empty strings; the "
                    "index leaves out %s (fix them in the admin)", product_id, value,
                    "the bad ones" if kept else "all of them")
    return kept


@dataclass
class ProductRow:
    """A product as the index needs it, whoever read it (a build stream, catch-up, the update)."""
    id: int
    nnbs: str
    variations: list = field(default_factory=list)
    barcode: str | None = None
    brand_id: int | None = None
    brand_name: str | None = None  # the brand's normalized name
    has_url: bool = False
    has_image_url: bool = False
    sizes: list = field(default_factory=list)
    brand_companies: list = field(default_factory=list)  # companies of brand_name_company_pairs


@dataclass
class ProductEntries:
    slim: dict
    nnbs: str                 # the own NNBS, canonical
    variations: list[str]     # the other spellings, canonical, without the own NNBS, in order
    barcode: str | None
    # The same variations as the product spells them (the first spelling of each key), for backends
    # that key by what they are given (the benchmark's legacy design).
    variation_spellings: list[str] = field(default_factory=list)


def product_entries(row: ProductRow) -> ProductEntries:
    own = canonical_nnbs(row.nnbs)
    spelling_of: dict[str, str] = {}
    for variation in row.variations:
        if variation:
            key = canonical_nnbs(variation)
            if key != own:
                spelling_of.setdefault(key, variation)
    return ProductEntries(slim=slim_record(row), nnbs=own, variations=list(spelling_of),
                          barcode=row.barcode or None, variation_spellings=list(spelling_of.values()))


def slim_record(row: ProductRow) -> dict:
    return {
        "n": row.nnbs,
        "b": row.brand_name or "",
        "bi": row.brand_id,
        "bc": bool(row.barcode),
        "u": row.has_url,
        "i": row.has_image_url,
        "s": list(row.sizes),
        "v": [v for v in row.variations if v],
        "c": sorted(set(row.brand_companies)),
    }


# Stored as a list in this order, with the three flags in one integer: field names in every record would
# cost about 30 bytes per product.
_SLIM_ORDER = ("n", "b", "bi", "s", "v", "c")
_FLAGS = ("bc", "u", "i")


def encode_slim(slim: dict) -> bytes:
    flags = sum(1 << bit for bit, name in enumerate(_FLAGS) if slim[name])
    return orjson.dumps([*(slim[name] for name in _SLIM_ORDER), flags])


def decode_slim(raw) -> dict:
    *values, flags = orjson.loads(bytes(raw))
    slim = dict(zip(_SLIM_ORDER, values))
    slim.update((name, bool(flags >> bit & 1)) for bit, name in enumerate(_FLAGS))
    return slim


def sku_entry(company_id: int, sku: str) -> tuple[int, str]:
    return (company_id, sku)


def nnbs_owner(own: int | None, carriers=()) -> int | None:
    """Who owns a canonical NNBS key, for every writer of the index (build, catch-up, memory, verify):
    the product whose own canonical NNBS it is (one at most: ``Product.canonical_nnbs`` is unique);
    failing that, the lowest id among the products carrying it as a variation. The build writes
    variations in id order without overwriting, the memory load likewise, to the same effect."""
    if own is not None:
        return own
    return min(carriers, default=None)


def nnbs_key(text: str) -> str:
    """The index key of an NNBS or a variation: one canonical form, whatever the scraper's spacing."""
    return canonical_nnbs(text)


def companies_of(pairs) -> list:
    return [pair[1] for pair in (pairs or []) if isinstance(pair, (list, tuple)) and len(pair) > 1]


# Columns of the product rows every reader selects (with ``brand`` the brand's normalized name, LEFT
# JOINed), in ``ProductRow`` order after the id. ``{product}`` and ``{brand}`` are the table names.
PRODUCT_SELECT = (
    "SELECT p.id, p.normalized_name_brand_size, p.normalized_name_brand_size_variations, p.barcode, p.brand_id, "
    "b.normalized_name, p.url, p.image_url, p.sizes, p.brand_name_company_pairs "
    "FROM {product} p LEFT JOIN {brand} b ON b.id = p.brand_id"
)


def row_from_select(values, loads) -> ProductRow:
    """A ``ProductRow`` from one row of ``PRODUCT_SELECT``; ``loads`` parses a JSON column."""
    pid, nnbs, variations, barcode, brand_id, brand_name, url, image_url, sizes, pairs = values
    return ProductRow(id=pid, nnbs=nnbs, variations=usable_variations(loads(variations), pid), barcode=barcode,
                      brand_id=brand_id,
                      brand_name=brand_name, has_url=bool(url), has_image_url=bool(image_url),
                      sizes=loads(sizes), brand_companies=companies_of(loads(pairs)))
