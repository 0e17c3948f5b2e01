"""A digest of the catalog's contents by natural keys, independent of ids and timestamps.

Two databases hold the same catalog when their digests are equal, even if their ids differ (ids are
consumed by rolled-back transactions on PostgreSQL, and by deleted rows everywhere). Rows stream in
natural-key order, so a digest of a million-product catalog takes constant memory.
"""
from __future__ import annotations

import hashlib

import orjson
from django.db import transaction

from .models import SKU, Category, Price, Product, ProductBrand, ProductCategory, Store

_STREAM_CHUNK = 2_000


def _tables():
    """Each table as (name, queryset of natural-key tuples in a total order)."""
    return {
        "store": Store.objects.order_by("company__name", "store_id").values_list(
            "company__name", "store_id", "store_name", "state", "last_scraped"),
        "brand": ProductBrand.objects.order_by("normalized_name").values_list(
            "normalized_name", "name", "normalized_name_variations"),
        "product": Product.objects.order_by("normalized_name_brand_size").values_list(
            "normalized_name_brand_size", "name", "barcode", "brand__normalized_name",
            "normalized_name_brand_size_variations", "size", "sizes", "url", "image_url",
            "brand_name_company_pairs"),
        "sku": SKU.objects.order_by("company__name", "sku").values_list(
            "company__name", "sku", "product__normalized_name_brand_size"),
        "price": _StorePrices(),
        "category": Category.objects.order_by("company__name", "slug").values_list("company__name", "slug", "name"),
        "category_parent": Category.parents.through.objects.order_by(
            "from_category__company__name", "from_category__slug", "to_category__slug").values_list(
            "from_category__company__name", "from_category__slug", "to_category__slug"),
        "product_category": ProductCategory.objects.order_by(
            "product__normalized_name_brand_size", "category__company__name", "category__slug").values_list(
            "product__normalized_name_brand_size", "category__company__name", "category__slug"),
    }


class _StorePrices:
    """What each store reads (``Price.objects.for_store``), store by store: the same digest whether a price
    is a list's entry or the store's own row (docs/price-lists.md)."""

    def iterator(self, chunk_size: int):
        stores = Store.objects.select_related("company").order_by("company__name", "store_id")
        for store in stores.iterator(chunk_size=chunk_size):
            rows = Price.objects.for_store(store).order_by("product__normalized_name_brand_size").values_list(
                "product__normalized_name_brand_size", "scraped_date", "price", "was_price", "save_amount",
                "unit_price", "unit_of_measure", "per_unit_price_string", "is_on_special", "price_hash")
            for row in rows.iterator(chunk_size=chunk_size):
                yield (store.company.name, store.store_id, *row)


def _default(value):
    return str(value)


def database_digest() -> dict[str, dict]:
    """Per table: the row count and a SHA-256 of its rows in natural-key order."""
    result = {}
    # One transaction: every table from one snapshot, and on PostgreSQL cursors that stream (in autocommit
    # Django declares them WITH HOLD, and PostgreSQL copies the whole result aside before the first row).
    with transaction.atomic():
        for name, rows in _tables().items():
            digest = hashlib.sha256()
            count = 0
            for row in rows.iterator(chunk_size=_STREAM_CHUNK):
                digest.update(orjson.dumps(row, default=_default, option=orjson.OPT_PASSTHROUGH_DATACLASS))
                digest.update(b"\n")
                count += 1
            result[name] = {"rows": count, "sha256": digest.hexdigest()}
    return result
