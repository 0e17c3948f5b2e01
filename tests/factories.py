"""Small synthetic inbox files, in the scrapers' format, for tests that need a precise situation."""
from __future__ import annotations

from pathlib import Path

import orjson

STORES = {
    "aldi": {"store_id": "G1", "store_name": "testville", "state": "qld"},
    "iga": {"store_id": "501", "store_name": "iga testville", "state": "nsw"},
}


def product(nnbs: str, **fields) -> dict:
    base = {
        "normalized_name_brand_size": nnbs,
        "name": fields.pop("name", nnbs.title()),
        "sku": fields.pop("sku", f"sku-{nnbs}"),
        "barcode": None,
        "brand": "Acme",
        "normalized_brand": "acme",
        "size": "1 kg",
        "sizes": ["1kg"],
        "url": f"https://shop.example/{nnbs}",
        "image_url": None,
        "category_path": ["Pantry", "Snacks"],
        "price_current": 2.5,
        "price_was": None,
        "is_on_special": False,
        "unit_price": 0.25,
        "unit_of_measure": "100g",
        "per_unit_price_string": "$0.25 per 100g",
    }
    base.update(fields)
    return base


def write_file(folder: Path, company: str, day: str, products: list[dict], *, store: dict | None = None,
               name: str | None = None) -> Path:
    meta = {"company": company, "scraped_date": day, **(store or STORES[company])}
    path = folder / (name or f"{company}-{meta['store_name'].replace(' ', '-')}-{day}.jsonl")
    with open(path, "wb") as handle:
        for p in products:
            handle.write(orjson.dumps({"product": {**p, "scraped_date": day}, "metadata": meta}) + b"\n")
    return path


def legacy_product(**fields):
    """A product row as an earlier release could leave it: its NNBS equal to another's but for spaces or
    Unicode form, or a barcode not in canonical GTIN form. Such rows can no longer be written
    (``canonical_nnbs`` is unique, catalog migration 0007 merges those it finds, ``Product.save`` stores the
    canonical GTIN); this one is written in bulk, past ``save``, with a canonical key of its own, so tests
    of merging and of ``reconcile`` (which groups by the stored spelling) still have duplicates to work on."""
    from catalog.models import Product

    row = Product(**fields, canonical_nnbs=f"legacy:{fields['normalized_name_brand_size']}")
    Product.objects.bulk_create([row])
    return Product.objects.get(canonical_nnbs=row.canonical_nnbs)
