"""Design 3, the baseline: the legacy pipeline's caches of full Product objects, built at every start.

domain.md §5 describes them: ``product_by_barcode`` and ``product_by_nnbs`` (the NNBS and every known
variation) hold model instances, and ``product_by_sku[(company_id, sku)]`` holds a separate full copy of
the product per SKU, because the legacy code loaded SKUs with their product. Only the caches are
reproduced, behind the ProductIndex interface, so the same update code runs on them and the comparison
measures the design of the cache, not another pipeline.

Kept in bench/ and out of the product on purpose: it is the design this project replaces.
"""
from __future__ import annotations

import copy
import time
from itertools import islice

from catalog.models import SKU, Product
from diskcache_tier import lookup
from diskcache_tier.build_index import BuildStats
from diskcache_tier.lookup import KINDS, IndexWriter, ProductIndex

# NNBS keys spelled as the product's memory backend spells them (canonical, once tier 1 compares NNBS
# that way), so this design matches what the others match and writes the same catalog.
_memory_key = getattr(lookup, "memory_key", lambda kind, key: key)

# Rows per fetch while loading: only the database client's buffer depends on it, the caches hold every
# row anyway.
LOAD_CHUNK = 2_000
# Ids per IN (...) list when fetching the objects a file created: under SQLite's parameter limit.
FETCH_CHUNK = 500


class LegacyIndex(ProductIndex):
    backend = "legacy"
    # Loaded whole at the start and kept by the run's own writes, as the old pipeline trusted its dicts.
    is_current = True

    def __init__(self):
        self.product_by_barcode: dict[str, Product] = {}
        self.product_by_nnbs: dict[str, Product] = {}
        self.product_by_sku: dict[tuple[int, str], Product] = {}
        self._writer: LegacyWriter | None = None

    def _table(self, kind: str) -> dict:
        return {"barcode": self.product_by_barcode, "nnbs": self.product_by_nnbs, "sku": self.product_by_sku}[kind]

    def get_many(self, kind, keys):
        table = self._table(kind)
        pending = self._writer.pending[kind] if self._writer else {}
        found = {}
        for asked in keys:
            key = _memory_key(kind, asked)
            if key in pending:  # what the open file wrote wins; None means it deleted the key
                if pending[key] is not None:
                    found[asked] = pending[key]
            elif key in table:
                found[asked] = table[key].id
        return found

    def slim_many(self, product_ids):
        # The legacy caches have no by-id map; the update does not call this, so a query is good enough.
        rows = Product.objects.filter(id__in=list(product_ids)).values_list(
            "id", "normalized_name_brand_size", "brand__normalized_name")
        return {pid: {"n": nnbs, "b": brand or ""} for pid, nnbs, brand in rows}

    def writer(self):
        if self._writer is not None:
            raise RuntimeError("an index writer is already open: one file at a time")
        self._writer = LegacyWriter(self)
        return self._writer

    def meta(self):
        return {}

    def counts(self):
        return {"products": len({id(p) for p in self.product_by_nnbs.values()}),
                **{kind: len(self._table(kind)) for kind in KINDS}}


class LegacyWriter(IndexWriter):
    """Keys written during a file are kept as ids, then replaced by full objects on commit, as the legacy
    code cached the instances it created."""

    def __init__(self, index: LegacyIndex):
        self.index = index
        self.pending: dict[str, dict] = {kind: {} for kind in KINDS}
        self.refreshed: set[int] = set()

    def put_product(self, product_id, *record):
        self.refreshed.add(product_id)  # its own NNBS key comes by put("nnbs", ...)

    def delete_product(self, product_id):
        pass  # its keys are deleted one by one

    def put(self, kind, key, product_id):
        self.pending[kind][_memory_key(kind, key)] = product_id

    def put_variation(self, variation, product_id):
        # A variation never takes a key another product holds.
        key = _memory_key("nnbs", variation)
        if key not in self.pending["nnbs"] and key not in self.index.product_by_nnbs:
            self.pending["nnbs"][key] = product_id

    def delete(self, kind, key):
        self.pending[kind][_memory_key(kind, key)] = None

    def set_meta(self, name, value):
        pass

    def commit(self):
        wanted = {pid for keys in self.pending.values() for pid in keys.values() if pid is not None}
        objects = _fetch_products(wanted | self.refreshed)
        for kind, keys in self.pending.items():
            table = self.index._table(kind)
            for key, pid in keys.items():
                if pid is None or pid not in objects:
                    table.pop(key, None)
                else:
                    table[key] = copy.copy(objects[pid]) if kind == "sku" else objects[pid]
        self._reset()
        getattr(self, "_run_after_commit", lambda: None)()

    def abort(self):
        getattr(self, "_forget_after_commit", lambda: None)()
        self._reset()

    def _reset(self):
        self.pending = {kind: {} for kind in KINDS}
        self.refreshed.clear()
        self.index._writer = None


def _fetch_products(ids: set[int]) -> dict[int, Product]:
    found: dict[int, Product] = {}
    iterator = iter(sorted(ids))
    while batch := list(islice(iterator, FETCH_CHUNK)):
        found.update(Product.objects.in_bulk(batch))
    return found


def load_legacy_index() -> tuple[LegacyIndex, BuildStats]:
    """Fill the three caches from the whole catalog, as the legacy pipeline did at every start."""
    started = time.perf_counter()
    index = LegacyIndex()
    stats = BuildStats(backend="legacy", reason="the legacy caches load at every start")
    by_barcode, by_nnbs, by_sku = index.product_by_barcode, index.product_by_nnbs, index.product_by_sku
    variations_of = []
    for product in Product.objects.all().iterator(chunk_size=LOAD_CHUNK):
        by_nnbs[_memory_key("nnbs", product.normalized_name_brand_size)] = product
        if product.barcode:
            by_barcode[product.barcode] = product
        if product.normalized_name_brand_size_variations:
            variations_of.append(product)
        stats.products += 1
    # A product's own NNBS wins over another product's variation of the same spelling.
    for product in variations_of:
        for variation in product.normalized_name_brand_size_variations:
            by_nnbs.setdefault(_memory_key("nnbs", variation), product)
    del variations_of
    # select_related builds a new Product instance per SKU row: the legacy "copy per SKU".
    for sku in SKU.objects.select_related("product").iterator(chunk_size=LOAD_CHUNK):
        by_sku[(sku.company_id, sku.sku)] = sku.product
        stats.skus += 1
    stats.counts = index.counts()
    stats.elapsed_s = time.perf_counter() - started
    return index, stats


def open_legacy(options) -> tuple[LegacyIndex, BuildStats]:
    return load_legacy_index()
