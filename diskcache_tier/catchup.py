"""Catch-up: apply to the index the changes the database logged since the index's watermark.

Changes made outside the update (the admin, a merge script, raw SQL) and the update's own writes whose
index commit a crash cut off all sit in the change log. Applying them costs time in proportion to the
changes, not to the catalog: each batch of log rows names the products, SKUs and old keys it touched; the
current truth for exactly those is read back in a few batched queries, and their index entries are
rewritten. The watermark advances in the same LMDB transaction as the writes, and the log is pruned only
after that commit, so a crash anywhere leaves either the old watermark (the batch is applied again, which
changes nothing) or the new one.

A key's truth, per kind: a barcode or an SKU belongs to the product the database's unique column names.
An NNBS belongs to the product whose own NNBS it is; failing that, to a product carrying it as a
variation. Variations are not an indexed column, so for them only the touched products are asked, and an
index entry pointing at an untouched product is kept: that product did not change, so it still carries
the key.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson
from django.db import connection

from catalog.models import SKU, Product, ProductBrand

from . import changelog
from .lookup import LmdbIndex

log = logging.getLogger(__name__)

# Log rows per LMDB write transaction: each batch costs a handful of queries over at most this many
# products, and its transaction holds only their keys, so memory and transaction size stay small.
CHANGE_BATCH = 2_000
# Ids per IN (...) list: under SQLite's parameter limit, and short enough for any planner.
IN_CHUNK = 500


class RebuildNeeded(Exception):
    """The log says something a catch-up cannot apply (a TRUNCATE, a log older than the index)."""


@dataclass
class CatchupStats:
    changes: int = 0
    products: int = 0
    keys_written: int = 0
    keys_deleted: int = 0
    watermark: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict:
        return {"changes": self.changes, "products": self.products, "keys_written": self.keys_written,
                "keys_deleted": self.keys_deleted, "watermark": self.watermark,
                "elapsed_s": round(self.elapsed_s, 3)}


def watermark_of(index: LmdbIndex) -> int | None:
    return index.meta().get("changes_applied_through")


def catch_up(index: LmdbIndex, *, batch_size: int = CHANGE_BATCH) -> CatchupStats:
    started = time.perf_counter()
    stats = CatchupStats()
    after = watermark_of(index)
    if after is None:
        raise RebuildNeeded("index has no change watermark")
    through = changelog.high_water()
    stats.watermark = after
    if through and through < after:
        raise RebuildNeeded(f"change log ends at {through}, before the index's watermark {after} "
                            f"(database restored from a backup?)")
    if through > after:
        for rows in changelog.read_changes(after, through, batch_size):
            _apply_batch(index, rows, stats)
            stats.changes += len(rows)
            stats.watermark = rows[-1][0]
        # Everything up to ``through`` is now applied, including ids the batches skipped.
        _set_watermark(index, through)
        stats.watermark = through
        changelog.prune(through)
    stats.elapsed_s = time.perf_counter() - started
    if stats.changes:
        log.info("index caught up with %d changes to %d products in %.3fs (watermark %d)",
                 stats.changes, stats.products, stats.elapsed_s, stats.watermark)
    return stats


def _set_watermark(index: LmdbIndex, through: int) -> None:
    writer = index.writer()
    try:
        writer.set_meta("changes_applied_through", through)
        writer.set_meta("caught_up_at", datetime.now(timezone.utc).isoformat())
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def _apply_batch(index: LmdbIndex, rows: list[tuple], stats: CatchupStats) -> None:
    touched: set[int] = set()
    brands: set[int] = set()
    barcodes: set[str] = set()
    names: set[str] = set()
    skus: set[tuple[int, str]] = set()
    for _, kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, old_variations in rows:
        if kind == "r":
            raise RebuildNeeded("catalog tables were truncated")
        if kind == "p":
            touched.add(product_id)
            if old_nnbs:
                names.add(old_nnbs)
            if old_barcode:
                barcodes.add(old_barcode)
            names.update(v for v in _json_list(old_variations) if v)
        elif kind == "s":
            skus.add((company_id, sku))
        elif kind == "b":
            brands.add(brand_id)
    if brands:
        touched.update(_products_of_brands(brands))

    current = products_by_id(touched)
    for nnbs, variations, barcode, _ in current.values():
        names.add(nnbs)
        names.update(v for v in variations if v)
        if barcode:
            barcodes.add(barcode)

    barcode_owner = _owners(Product, "barcode", barcodes)
    nnbs_owner = _owners(Product, "normalized_name_brand_size", names)
    sku_owner = _sku_owners(skus)
    variation_carrier: dict[str, int] = {}
    for pid in sorted(current):
        for variation in current[pid][1]:
            variation_carrier.setdefault(variation, pid)

    writer = index.writer()
    try:
        in_index = index.get_many("nnbs", names)
        for pid in touched:
            if pid in current:
                writer.put_product(pid, current[pid][0], current[pid][3])
            else:
                writer.delete_product(pid)
        for key in barcodes:
            _set(writer, stats, "barcode", key, barcode_owner.get(key))
        for key in skus:
            _set(writer, stats, "sku", key, sku_owner.get(key))
        for key in names:
            owner = nnbs_owner.get(key)
            if owner is None:
                indexed = in_index.get(key)
                if indexed is not None and indexed not in touched:
                    owner = indexed
                else:
                    owner = variation_carrier.get(key)
            _set(writer, stats, "nnbs", key, owner)
        writer.set_meta("changes_applied_through", rows[-1][0])
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    stats.products += len(touched)


def _set(writer, stats: CatchupStats, kind: str, key, owner: int | None) -> None:
    if owner is None:
        writer.delete(kind, key)
        stats.keys_deleted += 1
    else:
        writer.put(kind, key, owner)
        stats.keys_written += 1


def _json_list(value) -> list:
    # SQLite hands JSON columns back as text, PostgreSQL as parsed lists.
    if value is None:
        return []
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def chunks(items, size: int = IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def products_by_id(ids) -> dict[int, tuple[str, list, str | None, str | None]]:
    """id -> (nnbs, variations, barcode, brand's normalized name), for the ids that still exist."""
    found = {}
    sql = (f"SELECT p.id, p.normalized_name_brand_size, p.normalized_name_brand_size_variations, p.barcode, "
           f"b.normalized_name FROM {Product._meta.db_table} p "
           f"LEFT JOIN {ProductBrand._meta.db_table} b ON b.id = p.brand_id WHERE p.id IN ({{}})")
    for chunk in chunks(ids):
        with connection.cursor() as cursor:
            cursor.execute(sql.format(", ".join(["%s"] * len(chunk))), chunk)
            for pid, nnbs, variations, barcode, brand_nn in cursor.fetchall():
                found[pid] = (nnbs, _json_list(variations), barcode, brand_nn)
    return found


def _products_of_brands(brand_ids) -> set[int]:
    ids: set[int] = set()
    for chunk in chunks(brand_ids):
        ids.update(Product.objects.filter(brand_id__in=chunk).values_list("id", flat=True))
    return ids


def _owners(model, column: str, keys) -> dict[str, int]:
    owners = {}
    for chunk in chunks(keys):
        owners.update(model.objects.filter(**{f"{column}__in": chunk}).values_list(column, "id"))
    return owners


def _sku_owners(keys) -> dict[tuple[int, str], int]:
    by_company: dict[int, list[str]] = {}
    for company_id, sku in keys:
        by_company.setdefault(company_id, []).append(sku)
    owners = {}
    for company_id, codes in by_company.items():
        for chunk in chunks(codes):
            rows = SKU.objects.filter(company_id=company_id, sku__in=chunk).values_list("sku", "product_id")
            owners.update(((company_id, sku), pid) for sku, pid in rows)
    return owners
