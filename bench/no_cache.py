"""Design 4: no cache in the process; every key asked of the database, in batches, chunk by chunk.

What a Django user might write first, made correct. Barcodes and (company, SKU) pairs are asked of the
database's unique columns, one ``IN (...)`` query per key kind and chunk. The known NNBS *variations*
live in a JSON column no database can index, so NNBS keys get a table of their own: the alias table
below, one row per NNBS key (a product's own spelling and each variation), with a unique index on the
key, read in one query per chunk and written in the file's own transaction. Without it this design
matched no variation and wrote a different catalog (issue 10).

The alias table belongs to the benchmark, not the catalog: ``prepare_alias_table`` creates it with raw
SQL on the run's database copy and fills it from the product's own memory-index loader, so its keys are
spelled exactly as the product keys its index, whatever keying function that is.

The design answers every key itself, so it does not depend on the update confirming index misses.
"""
from __future__ import annotations

import time
from itertools import islice

from django.db import connection, transaction

from catalog.models import SKU, Product
from diskcache_tier import lookup
from diskcache_tier.lookup import IndexWriter, ProductIndex

# The spelling the product's memory backend keys NNBS in (canonical, once tier 1 compares NNBS that way);
# the alias table is filled from that backend, so lookups and writes must spell keys the same way.
_memory_key = getattr(lookup, "memory_key", lambda kind, key: key)

ALIAS_TABLE = "bench_nnbs_alias"
# Keys per IN (...) list and rows per executemany: under SQLite's 999-parameter floor with room to spare.
BATCH = 500


def prepare_alias_table() -> dict:
    """Create and fill the alias table on the current database; return what it took."""
    from diskcache_tier.build_index import load_memory_index

    started = time.perf_counter()
    index, _ = load_memory_index()
    rows = list(index.maps["nnbs"].items())
    del index
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {ALIAS_TABLE}")
        cursor.execute(f"CREATE TABLE {ALIAS_TABLE} (nnbs_key TEXT NOT NULL, product_id BIGINT NOT NULL)")
        for start in range(0, len(rows), 10_000):
            cursor.executemany(f"INSERT INTO {ALIAS_TABLE} (nnbs_key, product_id) VALUES (%s, %s)",
                               rows[start:start + 10_000])
        # Built after the rows are in: one sort instead of a million index insertions.
        cursor.execute(f"CREATE UNIQUE INDEX {ALIAS_TABLE}_key ON {ALIAS_TABLE} (nnbs_key)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {ALIAS_TABLE}")
    return {"alias_rows": len(rows), "elapsed_s": round(time.perf_counter() - started, 3)}


def _batches(items, size=BATCH):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class NoCacheIndex(ProductIndex):
    backend = "nocache"
    # It asks the database itself, so its answers are current: the update takes them as they are, as it
    # takes a current LMDB index's (asking every key a second time would charge this design twice).
    is_current = True

    def __init__(self):
        self._writer: NoCacheWriter | None = None

    def get_many(self, kind, keys):
        """Every key asked of the database, one IN (...) query per key kind, chunk and 500 keys."""
        if kind == "barcode":
            return self._ask(f"SELECT barcode, id FROM {Product._meta.db_table} WHERE barcode IN", keys)
        if kind == "sku":
            by_company: dict[int, list] = {}
            for company_id, sku in keys:
                by_company.setdefault(company_id, []).append(sku)
            return {(company_id, sku): pid for company_id, skus in by_company.items()
                    for sku, pid in self._ask(f"SELECT sku, product_id FROM {SKU._meta.db_table} "
                                              f"WHERE company_id = {int(company_id)} AND sku IN", skus).items()}
        if self._writer is not None:
            self._writer.flush()  # a later chunk of the file must see what an earlier one wrote
        asked: dict[str, list] = {}
        for key in keys:
            asked.setdefault(_memory_key("nnbs", key), []).append(key)
        found = self._ask(f"SELECT nnbs_key, product_id FROM {ALIAS_TABLE} WHERE nnbs_key IN", asked)
        return {key: pid for stored, pid in found.items() for key in asked[stored]}

    @staticmethod
    def _ask(select: str, keys) -> dict:
        found = {}
        with connection.cursor() as cursor:
            for batch in _batches(keys):
                cursor.execute(f"{select} ({', '.join(['%s'] * len(batch))})", batch)
                found.update(cursor.fetchall())
        return found

    def slim_many(self, product_ids):
        return {}

    def writer(self):
        self._writer = NoCacheWriter(self)
        return self._writer

    def meta(self):
        return {}

    def counts(self):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {ALIAS_TABLE}")
            aliases = cursor.fetchone()[0]
        return {"products": 0, "barcode": 0, "nnbs": aliases, "sku": 0}


class NoCacheWriter(IndexWriter):
    """NNBS keys go to the alias table inside the file's database transaction, so a rolled-back file
    rolls them back too; everything else the database already holds in its own columns."""

    def __init__(self, index: NoCacheIndex):
        self.index = index
        self.pending: dict[str, int | None] = {}  # key -> product id, None: delete
        self.variations: dict[str, int] = {}  # keys put only where no product holds them yet

    def put_product(self, product_id, *record):
        pass

    def delete_product(self, product_id):
        pass

    def put(self, kind, key, product_id):
        if kind == "nnbs":
            self.pending[_memory_key(kind, key)] = product_id

    def put_variation(self, variation, product_id):
        # A variation never takes a key another product holds: inserted with DO NOTHING on conflict.
        self.variations.setdefault(_memory_key("nnbs", variation), product_id)

    def delete(self, kind, key):
        if kind == "nnbs":
            self.pending[_memory_key(kind, key)] = None

    def set_meta(self, name, value):
        pass

    def flush(self) -> None:
        if not self.pending and not self.variations:
            return
        deletes = [[k] for k, pid in self.pending.items() if pid is None]
        puts = [(k, pid) for k, pid in self.pending.items() if pid is not None]
        variations = [(k, pid) for k, pid in self.variations.items() if k not in self.pending]
        self.pending, self.variations = {}, {}
        with connection.cursor() as cursor:
            for batch in _batches(deletes):
                cursor.executemany(f"DELETE FROM {ALIAS_TABLE} WHERE nnbs_key = %s", batch)
            for batch in _batches(puts):
                cursor.executemany(
                    f"INSERT INTO {ALIAS_TABLE} (nnbs_key, product_id) VALUES (%s, %s) "
                    "ON CONFLICT (nnbs_key) DO UPDATE SET product_id = excluded.product_id", batch)
            for batch in _batches(variations):
                cursor.executemany(f"INSERT INTO {ALIAS_TABLE} (nnbs_key, product_id) VALUES (%s, %s) "
                                   "ON CONFLICT (nnbs_key) DO NOTHING", batch)

    def commit(self):
        # The orchestrator commits the index after the file's transaction: whatever is still pending
        # (the last chunk's keys) is written in a transaction of its own.
        with transaction.atomic():
            self.flush()
        self.index._writer = None
        getattr(self, "_run_after_commit", lambda: None)()

    def abort(self):
        getattr(self, "_forget_after_commit", lambda: None)()
        self.pending, self.variations = {}, {}
        self.index._writer = None


def open_no_cache(options) -> tuple[NoCacheIndex, None]:
    return NoCacheIndex(), None
