"""Compare the index with the database, both ways, streaming: what `index verify` reports.

Database to index: every product's slim record, own NNBS, variations and barcode, and every SKU, must
be in the index, pointing at that product (a variation may point at another product that carries the
same spelling; an own NNBS always wins). Index to database: every entry of every sub-database must name
a product that exists and still carries the key. Keys are compared in their byte spelling (long keys end
in a digest and can't be read back), by computing the spelling of what the database says.

Mismatches are counted by ``<sub-database>.<kind>``: ``missing`` (the database has it, the index not),
``wrong`` (the index names another product), ``differs`` (a slim record with another NNBS or brand),
``stale`` (the index has it, the database no longer does).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .build_index import stream_product_rows, stream_sku_rows
from . import changelog
from .catchup import IN_CHUNK, _products_of_brands, chunks, products_by_id
from .keying import decode_slim, product_entries
from .keys import id_bytes, id_from_bytes
from .lookup import LmdbIndex, encode_key
from .source import product_model, sku_model

# Entries per short read transaction and per batched query when walking the index.
VERIFY_BATCH = 5_000
SAMPLES_PER_KIND = 3


@dataclass
class VerifyResult:
    checked: Counter = field(default_factory=Counter)
    mismatches: Counter = field(default_factory=Counter)
    samples: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    # Change-log rows after the index's watermark: the next run's start applies them.
    pending_changes: int = 0
    # Differences on products or SKUs those rows name: not errors, the catch-up's work to do.
    pending: Counter = field(default_factory=Counter)
    _pending_ids: set = field(default_factory=set, repr=False)
    _pending_skus: set = field(default_factory=set, repr=False)

    @property
    def clean(self) -> bool:
        return not self.mismatches

    def note(self, kind: str, detail) -> None:
        if self._is_pending(kind, detail):
            self.pending[kind] += 1
            return
        self.mismatches[kind] += 1
        examples = self.samples.setdefault(kind, [])
        if len(examples) < SAMPLES_PER_KIND:
            examples.append(detail)


    def _is_pending(self, kind: str, detail) -> bool:
        if not self.pending_changes:
            return False
        if isinstance(detail, int):
            return detail in self._pending_ids
        if kind.startswith("sku.") and tuple(detail[:2]) in self._pending_skus:
            return True
        return any(isinstance(v, int) and v in self._pending_ids for v in detail[1:])


def _note_pending(index: LmdbIndex, result: VerifyResult) -> None:
    """Which products and SKUs the changes after the index's watermark touch.

    A crash between a file's database commit and its index commit leaves exactly these behind; they
    are few (one file's worth), so their ids are held in sets.
    """
    watermark = index.meta().get("changes_applied_through")
    if watermark is None:
        return
    result.pending_changes = changelog.pending(watermark)
    if not result.pending_changes:
        return
    brands = set()
    for rows in changelog.read_changes(watermark, changelog.high_water(), VERIFY_BATCH):
        for _, kind, product_id, brand_id, company_id, sku, *_ in rows:
            if product_id is not None:
                result._pending_ids.add(product_id)
            if kind == "s":
                result._pending_skus.add((company_id, sku))
            elif kind == "b" and brand_id is not None:
                brands.add(brand_id)
    if brands:
        result._pending_ids.update(_products_of_brands(brands))


def verify_index(index: LmdbIndex, *, batch_size: int = VERIFY_BATCH) -> VerifyResult:
    started = time.perf_counter()
    result = VerifyResult()
    _note_pending(index, result)
    _database_to_index(index, result, batch_size)
    _index_to_database(index, result, batch_size)
    result.elapsed_s = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------ database -> index


def _database_to_index(index: LmdbIndex, result: VerifyResult, batch_size: int) -> None:
    dbs = index.dbs
    for rows in stream_product_rows(batch_size):
        # One short read transaction per batch: none is held across the walk.
        with index.env.begin(buffers=True) as txn:
            for row in rows:
                pid, entries = row.id, product_entries(row)
                result.checked["products"] += 1
                raw = txn.get(id_bytes(pid), db=dbs["products"])
                if raw is None:
                    result.note("products.missing", pid)
                elif decode_slim(raw) != entries.slim:
                    result.note("products.differs", pid)
                _expect(txn, dbs, result, "nnbs", entries.nnbs, pid, exact=True)
                for variation in entries.variations:
                    _expect(txn, dbs, result, "nnbs", variation, pid, exact=False)
                if entries.barcode:
                    _expect(txn, dbs, result, "barcode", entries.barcode, pid, exact=True)
    for rows in stream_sku_rows(batch_size):
        with index.env.begin(buffers=True) as txn:
            for company_id, sku, pid in rows:
                _expect(txn, dbs, result, "sku", (company_id, sku), pid, exact=True)


def _expect(txn, dbs, result: VerifyResult, kind: str, key, pid: int, *, exact: bool) -> None:
    result.checked[kind] += 1
    raw = txn.get(encode_key(kind, key), db=dbs[kind])
    if raw is None:
        result.note(f"{kind}.missing", [key, pid] if kind != "sku" else [*key, pid])
    elif exact and id_from_bytes(raw) != pid:
        result.note(f"{kind}.wrong", [key, pid, id_from_bytes(raw)] if kind != "sku"
                    else [*key, pid, id_from_bytes(raw)])
    # A variation pointing elsewhere is fine if that product carries it: the other direction checks that.


# ------------------------------------------------------------------------------ index -> database


def _index_to_database(index: LmdbIndex, result: VerifyResult, batch_size: int) -> None:
    for entries in _walk(index, "products", batch_size):
        ids = [id_from_bytes(key) for key, _ in entries]
        existing = _existing_ids(ids)
        for pid in ids:
            if pid not in existing:
                result.note("products.stale", pid)
    for kind in ("barcode", "nnbs"):
        for entries in _walk(index, kind, batch_size):
            products = products_by_id({id_from_bytes(value) for _, value in entries})
            for key, value in entries:
                pid = id_from_bytes(value)
                state = products.get(pid)
                if state is None or key not in _spellings(kind, state):
                    result.note(f"{kind}.stale", [_readable(key), pid])
    for entries in _walk(index, "sku", batch_size):
        spellings = _sku_spellings({id_from_bytes(value) for _, value in entries})
        for key, value in entries:
            pid = id_from_bytes(value)
            if key not in spellings.get(pid, ()):
                result.note("sku.stale", [_readable(key), pid])


def _walk(index: LmdbIndex, name: str, batch_size: int):
    """Every (key, value) of a sub-database, a batch per short read transaction."""
    db = index.dbs[name]
    last = None
    while True:
        batch = []
        with index.env.begin() as txn:
            cursor = txn.cursor(db=db)
            positioned = cursor.first() if last is None else cursor.set_range(last)
            if positioned and last is not None and cursor.key() == last:
                positioned = cursor.next()
            while positioned and len(batch) < batch_size:
                batch.append((cursor.key(), cursor.value()))
                positioned = cursor.next()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _spellings(kind: str, row) -> set[bytes]:
    entries = product_entries(row)
    if kind == "barcode":
        return {encode_key("barcode", entries.barcode)} if entries.barcode else set()
    return {encode_key("nnbs", n) for n in [entries.nnbs, *entries.variations]}


def _existing_ids(ids) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(ids, IN_CHUNK):
        found.update(product_model().objects.filter(id__in=chunk).values_list("id", flat=True))
    return found


def _sku_spellings(product_ids) -> dict[int, set[bytes]]:
    spellings: dict[int, set[bytes]] = {}
    for chunk in chunks(product_ids, IN_CHUNK):
        for company_id, sku, pid in sku_model().objects.filter(product_id__in=chunk).values_list(
                "company_id", "sku", "product_id"):
            spellings.setdefault(pid, set()).add(encode_key("sku", (company_id, sku)))
    return spellings


def _readable(key: bytes) -> str:
    return key.decode("utf-8", "replace")


def describe(result: VerifyResult) -> str:
    checked = ", ".join(f"{n} {kind}" for kind, n in sorted(result.checked.items()))
    if result.pending_changes:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(result.pending.items())) or "none visible"
        checked += (f"; {result.pending_changes} logged changes pending, applied at the next run's start "
                    f"(their differences: {counts})")
    if result.clean:
        return f"index matches the database: checked {checked} in {result.elapsed_s:.2f}s"
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(result.mismatches.items()))
    return f"index differs from the database: {counts} (checked {checked} in {result.elapsed_s:.2f}s)"

