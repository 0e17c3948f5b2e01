"""Find products that are one item under the canonical keys, and merge each group into its oldest.

Two keys make products equal: the canonical GTIN of their barcodes (catalog.gtin: UPC-A `012345678905`
is EAN-13 `0012345678905`) and the canonical form of their own NNBS (diskcache_tier.keys.canonical_nnbs:
NFC, whitespace removed). Variations are not grouping keys: one mis-parsed line upstream can make an
NNBS a variation of the wrong product, and merging on it would chain unrelated products together.

Finding groups is bounded in memory at any catalog size:
- GTIN: only a barcode not in canonical form can share a GTIN with another (the column is unique), and
  migration 0004 leaves such barcodes only where the canonical form was taken. Those are read in keyset
  batches and their canonical owners looked up per batch.
- NNBS: the canonical form can't be computed by the database (NFC), so (canonical key -> product id)
  pairs are streamed in keyset batches into a temporary on-disk LMDB with sorted duplicate values, then
  read back in key order: a key with two or more ids is a group. Memory holds one batch, not the catalog.

GTIN groups are merged first, then the NNBS groups are found on what is left, so a product never sits in
two groups. Each group is merged in its own transaction (``catalog.merge.merge_products``).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Callable, Iterator

import lmdb
from django.db import transaction
from django.db.models.functions import Length

from diskcache_tier.keys import canonical_nnbs, id_bytes, id_from_bytes, text_key

from .gtin import CANONICAL_LENGTH, canonical_or_none
from .merge import MergeResult, merge_products
from .models import Product, ProductBrand

# Products per keyset batch when streaming keys: one query and one LMDB write transaction each.
BATCH = 20_000
# Address space for the temporary LMDB, not memory: about 60 bytes a product, so 1M products use ~60 MB.
_SCRATCH_MAP_SIZE = 8 * 2**30
# Names per IN (...) list: under SQLite's parameter limit.
_IN_CHUNK = 500


@dataclass
class Group:
    key_kind: str  # "gtin" or "nnbs"
    key: str
    survivor_id: int
    merged_ids: list[int]
    spellings: list[str] = field(default_factory=list)  # NNBS of the products, survivor first
    result: MergeResult | None = None


@dataclass
class ReconcileReport:
    groups: list[Group] = field(default_factory=list)
    totals: MergeResult = field(default_factory=MergeResult)
    # Brands no product uses whose name another brand lists as a variation (the legacy `coke` beside
    # `cocacola`): deleted, so the next line saying `coke` links to `cocacola` instead.
    brands_deleted: list[str] = field(default_factory=list)

    def summary(self, dry_run: bool) -> str:
        verb = "would merge" if dry_run else "merged"
        by_kind = {kind: sum(1 for g in self.groups if g.key_kind == kind) for kind in ("gtin", "nnbs")}
        t = self.totals
        return (f"{verb} {len(self.groups)} groups ({by_kind['gtin']} by barcode, {by_kind['nnbs']} by NNBS): "
                f"{t.products_deleted} products into their oldest duplicate; {t.skus_moved} SKUs, "
                f"{t.prices_moved} prices and {t.category_links_moved} category links moved, {t.prices_dropped} "
                f"older prices dropped, {t.variations_added} variations added, {t.barcode_moved} barcodes moved; "
                f"{len(self.brands_deleted)} unused brands that are another brand's variation deleted")


class _DryRunRollback(Exception):
    pass


def reconcile(*, dry_run: bool = False, on_group: Callable[[Group], None] | None = None,
              before_group: Callable[[], None] | None = None, batch_size: int = BATCH) -> ReconcileReport:
    """Merge every group of duplicates; with ``dry_run`` do exactly that, then roll it all back.

    ``before_group`` runs first inside each group's transaction (the command takes the writer lock there);
    ``on_group`` is told of each group once it is merged.
    """
    report = ReconcileReport()

    def run() -> None:
        for find in (_gtin_groups, _nnbs_groups):
            for group in find(batch_size):
                _merge(group, before_group)
                report.groups.append(group)
                report.totals.add(group.result)
                if on_group:
                    on_group(group)
        with transaction.atomic():
            if before_group:
                before_group()
            report.brands_deleted = _delete_unused_variation_brands()

    if not dry_run:
        run()
        return report
    try:
        # One outer transaction undone at the end: the dry run reports what the real run would merge,
        # group after group, including groups that only form once an earlier one is merged.
        with transaction.atomic():
            run()
            raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _merge(group: Group, before_group) -> None:
    with transaction.atomic():
        if before_group:
            before_group()
        group.result = merge_products(group.survivor_id, group.merged_ids)
        if group.key_kind == "gtin":
            # The survivor may hold the short spelling; the canonical one is free now its holder is gone.
            Product.objects.filter(id=group.survivor_id).exclude(barcode=group.key).update(barcode=group.key)


def _survivor_first(ids) -> list[tuple[int, str]]:
    """(id, nnbs) of the products, oldest first (created_at, then id)."""
    return list(Product.objects.filter(id__in=list(ids)).order_by("created_at", "id")
                .values_list("id", "normalized_name_brand_size"))


def _group(kind: str, key: str, ids) -> Group | None:
    members = _survivor_first(ids)
    if len(members) < 2:
        return None
    spellings = [nnbs for _, nnbs in members]
    # An NNBS group's key is read back from a spelling: the LMDB key of a long NNBS ends in a digest.
    return Group(kind, key or canonical_nnbs(spellings[0]), members[0][0], [pid for pid, _ in members[1:]],
                 spellings)


def _gtin_groups(batch_size: int) -> Iterator[Group]:
    not_canonical = (Product.objects.exclude(barcode=None).annotate(barcode_length=Length("barcode"))
                     .exclude(barcode_length=CANONICAL_LENGTH).order_by("id"))
    last = 0
    while True:
        rows = list(not_canonical.filter(id__gt=last).values_list("id", "barcode")[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        canonical = {pid: canonical_or_none(code) for pid, code in rows}
        owner = dict(Product.objects.filter(barcode__in=[c for c in canonical.values() if c])
                     .values_list("barcode", "id"))
        # Two short spellings of one GTIN with no canonical holder (EAN-8 and its UPC-A) meet here too.
        ids_by_key: dict[str, set[int]] = {}
        for pid, key in canonical.items():
            if key:
                ids_by_key.setdefault(key, {owner[key]} if key in owner else set()).add(pid)
        for key, ids in ids_by_key.items():
            group = _group("gtin", key, ids)
            if group:
                yield group


def _nnbs_groups(batch_size: int) -> Iterator[Group]:
    with tempfile.TemporaryDirectory(prefix="reconcile-") as folder:
        env = lmdb.open(folder, map_size=_SCRATCH_MAP_SIZE, max_dbs=1, sync=False, metasync=False,
                        writemap=True, lock=False)
        try:
            keys = env.open_db(b"nnbs", dupsort=True)
            _collect_nnbs_keys(env, keys, batch_size)
            for _, ids in _keys_with_several_ids(env, keys):
                group = _group("nnbs", "", ids)
                if group:
                    yield group
        finally:
            env.close()


def _collect_nnbs_keys(env, keys, batch_size: int) -> None:
    last = 0
    products = Product.objects.order_by("id")
    while True:
        rows = list(products.filter(id__gt=last).values_list("id", "normalized_name_brand_size")[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        with env.begin(write=True, db=keys) as txn:
            for pid, nnbs in rows:
                txn.put(text_key(canonical_nnbs(nnbs)), id_bytes(pid), dupdata=True)


def _keys_with_several_ids(env, keys) -> Iterator[tuple[bytes, list[int]]]:
    """Keys in byte order with their ids, where there are two or more; one short read per key found."""
    after: bytes | None = None
    while True:
        found = None
        with env.begin(db=keys) as txn:
            cursor = txn.cursor()
            positioned = cursor.set_range(after) if after is not None else cursor.first()
            if positioned and after is not None and cursor.key() == after:
                positioned = cursor.next_nodup()
            while positioned:
                if cursor.count() > 1:
                    found = (bytes(cursor.key()), [id_from_bytes(v) for v in cursor.iternext_dup()])
                    break
                positioned = cursor.next_nodup()
        if found is None:
            return
        after = found[0]
        # Yielded outside the read transaction: the merge that follows writes the database, not this LMDB.
        yield found


def _delete_unused_variation_brands() -> list[str]:
    """Delete brands that no product uses and that another brand lists as a variation; their names."""
    listed: set[str] = set()
    # Only brands with variations are read: a small share of the brand table.
    for variations in (ProductBrand.objects.exclude(normalized_name_variations=[])
                       .values_list("normalized_name_variations", flat=True).iterator(chunk_size=BATCH)):
        listed.update(variations or [])
    names = sorted(listed)
    deleted = []
    for start in range(0, len(names), _IN_CHUNK):
        unused = ProductBrand.objects.filter(product__isnull=True, normalized_name__in=names[start:start + _IN_CHUNK])
        doomed = list(unused.values_list("id", "normalized_name"))
        if doomed:
            ProductBrand.objects.filter(id__in=[bid for bid, _ in doomed]).delete()
            deleted += sorted(name for _, name in doomed)
    return deleted
