"""Catch-up: apply to the index the changes the database logged since the index's watermark.

Changes made outside the update (the admin, a merge script, raw SQL) and the update's own writes whose
index commit a crash cut off all sit in the change log. Applying them costs time in proportion to the
changes, not to the catalog: each batch of log rows names the products, SKUs and old keys it touched; the
current truth for exactly those is read back in a few batched queries, and their index entries are
rewritten. The watermark advances in the same LMDB transaction as the writes, and the log is pruned only
after that commit, so a crash anywhere leaves either the old watermark (the batch is applied again, which
changes nothing) or the new one.

A key's truth, per kind: a barcode or an SKU belongs to the product the database's unique column names.
An NNBS belongs to the product whose canonical NNBS it is (a unique column); failing that, to a product
carrying it as a variation (``keying.nnbs_owner``). Variations are not an indexed column, so for them only the touched products are asked, and an
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

from . import changelog
from .keying import ProductRow, nnbs_key, nnbs_owner, product_entries, row_from_select, usable_variations
from .lookup import LmdbIndex
from .source import product_model, product_select, sku_model

log = logging.getLogger(__name__)

# Log rows per LMDB write transaction: each batch costs a handful of queries over at most this many
# products, and its transaction holds only their keys, so memory and transaction size stay small.
CHANGE_BATCH = 2_000
# A catch-up costs about 30 us per logged change and a rebuild about 10 us per product (1M products: 2M
# changes took 59.5 s, the rebuild 9.5 s), so past a third of the catalog's size a rebuild is sooner. Below
# the floor either takes well under a second, and small catalogs keep the cheaper-to-test catch-up.
REBUILD_RATIO = 0.3
REBUILD_FLOOR = 50_000
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
    products = index.counts()["products"]
    limit = max(REBUILD_FLOOR, REBUILD_RATIO * products)
    # The id range is an upper bound (the update deletes its own rows); only past the limit are they counted.
    if through - after > limit and (logged := changelog.pending(after)) > limit:
        raise RebuildNeeded(f"{logged} changes logged since the index's watermark, more than a rebuild of "
                            f"{products} products costs")
    own_txids = index.meta().get("own_txids") or []  # files of this index's whose rows are still logged
    if through > after:
        for rows in changelog.read_changes(after, through, batch_size, own_txids=own_txids):
            _apply_batch(index, rows, stats)
            stats.changes += len(rows)
            stats.watermark = rows[-1][0]
        # Everything up to ``through`` is now applied, including ids the batches skipped.
        _set_watermark(index, through)
        stats.watermark = through
        changelog.record_consumer(index.meta().get("consumer"), watermark=through)
        changelog.prune(through)
    elif own_txids:
        _set_watermark(index, after)  # the rows of those files are gone: forget their transactions
    stats.elapsed_s = time.perf_counter() - started
    if stats.changes:
        log.info("index caught up with %d changes to %d products in %.3fs (watermark %d)",
                 stats.changes, stats.products, stats.elapsed_s, stats.watermark)
    return stats


def _set_watermark(index: LmdbIndex, through: int) -> None:
    writer = index.writer()
    try:
        writer.set_meta("changes_applied_through", through)
        # Every row of this index's own files is at or below ``through`` (high_water waited for them).
        writer.set_meta("own_txids", [])
        writer.set_meta("caught_up_at", datetime.now(timezone.utc).isoformat())
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def _apply_batch(index: LmdbIndex, rows: list[tuple], stats: CatchupStats) -> None:
    writer = index.writer()
    try:
        apply_changes(index, writer, rows, stats)
        writer.set_meta("changes_applied_through", rows[-1][0])
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def apply_changes(index, writer, rows: list[tuple], stats: CatchupStats) -> None:
    """Rewrite, through ``writer``, the index entries of everything the log rows touched.

    Also used in the middle of a file, with the file's own writer, when another connection changed the
    catalog since the file began (``freshness.FileFreshness``).
    """
    touched: set[int] = set()
    brands: set[int] = set()
    barcodes: set[str] = set()
    spellings: set[str] = set()  # raw NNBS and variations as the database spells them
    skus: set[tuple[int, str]] = set()
    for _, kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, old_variations in rows:
        if kind == "r":
            raise RebuildNeeded("catalog tables were truncated")
        if kind == "p":
            touched.add(product_id)
            if old_nnbs:
                spellings.add(old_nnbs)
            if old_barcode:
                barcodes.add(old_barcode)
            spellings.update(usable_variations(_json_list(old_variations), product_id))
        elif kind == "s":
            skus.add((company_id, sku))
        elif kind == "b":
            brands.add(brand_id)
    if brands:
        touched.update(_products_of_brands(brands))

    current = products_by_id(touched)
    entries = {pid: product_entries(row) for pid, row in current.items()}
    for pid, row in current.items():
        spellings.add(row.nnbs)
        spellings.update(v for v in row.variations if v)
        if row.barcode:
            barcodes.add(row.barcode)

    by_key: dict[str, set[str]] = {}
    for spelling in spellings:
        by_key.setdefault(nnbs_key(spelling), set()).add(spelling)
    barcode_owner = _owners(product_model(), "barcode", barcodes)
    # By the canonical column, unique: a key's own-NNBS owner is one product, however it spells the key.
    nnbs_owners = _owners(product_model(), "canonical_nnbs", by_key)
    sku_owner = _sku_owners(skus)
    variation_carrier: dict[str, int] = {}
    for pid in sorted(entries):
        for key in entries[pid].variations:
            variation_carrier.setdefault(key, pid)

    in_index = index.get_many("nnbs", by_key)
    # What each store's file last applied to these products may no longer hold (diskcache_tier.seen).
    writer.forget_seen(touched)
    for pid in touched:
        if pid in current:
            writer.put_product(pid, entries[pid].slim)
        else:
            writer.delete_product(pid)
    for key in barcodes:
        _set(writer, stats, "barcode", key, barcode_owner.get(key))
    for key in skus:
        _set(writer, stats, "sku", key, sku_owner.get(key))
    orphans = []
    owners: dict[str, int | None] = {}
    for key in by_key:
        indexed = in_index.get(key)
        # An untouched product the index gives the key to did not change, so it still carries it (and was
        # the lowest untouched carrier); a touched one carries it if its current row says so.
        carriers = [pid for pid in (indexed if indexed not in touched else None, variation_carrier.get(key))
                    if pid is not None]
        owner = nnbs_owner(nnbs_owners.get(key), carriers)
        if owner is None:
            orphans.append(key)
        owners[key] = owner
    if orphans:
        # A key the touched products dropped may still be a variation of a product nobody touched (whose
        # entry an own NNBS had taken over): the database says, not the changed products alone.
        carriers = variation_carriers({s for key in orphans for s in by_key[key]}, exclude=touched)
        for key in orphans:
            owners[key] = carriers.get(key)
    for key, owner in owners.items():
        _set(writer, stats, "nnbs", key, owner)
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


def products_by_id(ids) -> dict[int, ProductRow]:
    """id -> ``ProductRow``, for the ids that still exist."""
    found = {}
    sql = product_select() + " WHERE p.id IN ({})"
    for chunk in chunks(ids):
        with connection.cursor() as cursor:
            cursor.execute(sql.format(", ".join(["%s"] * len(chunk))), chunk)
            for values in cursor.fetchall():
                row = row_from_select(values, _json_list)
                found[row.id] = row
    return found


def _products_of_brands(brand_ids) -> set[int]:
    ids: set[int] = set()
    for chunk in chunks(brand_ids):
        ids.update(product_model().objects.filter(brand_id__in=chunk).values_list("id", flat=True))
    return ids


def variation_carriers(spellings: set[str], exclude: set[int]) -> dict[str, int]:
    """canonical key -> lowest id of a product, not in ``exclude``, listing one of ``spellings`` as a
    variation. Variations are a JSON column without an index: one scan of the products that have any,
    done only for keys about to leave the index, and by the update's repair path for keys it missed."""
    if not spellings:
        return {}
    table = product_model()._meta.db_table
    column = "normalized_name_brand_size_variations"
    wanted = sorted(spellings)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} ?| %s::text[]", [wanted])
        else:
            marks = ", ".join(["%s"] * len(wanted))
            cursor.execute(f"SELECT DISTINCT p.id, p.{column} FROM {table} p, json_each(p.{column}) j "
                           f"WHERE p.{column} <> '[]' AND j.value IN ({marks})", wanted)
        rows = cursor.fetchall()
    carriers: dict[str, int] = {}
    for pid, variations in sorted(rows):
        if pid in exclude:
            continue
        for variation in _json_list(variations):
            if variation in spellings:
                carriers.setdefault(nnbs_key(variation), pid)
    return carriers


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
            rows = sku_model().objects.filter(company_id=company_id, sku__in=chunk).values_list("sku", "product_id")
            owners.update(((company_id, sku), pid) for sku, pid in rows)
    return owners
