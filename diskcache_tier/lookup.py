"""Tier 1: the product index the update reads through, and the one writer that keeps it current.

Three key kinds map to a product id: ``barcode``, ``nnbs`` (a product's NNBS and each known variation)
and ``sku`` (a ``(company_id, sku)`` pair). Each product id also maps to a slim record: its NNBS and its
brand's normalized name.

Two backends offer the same interface:

* ``LmdbIndex``: the product. The index lives in a memory-mapped LMDB environment, so its pages are OS
  page cache rather than Python heap, and the process's memory does not grow with the catalog.
* ``MemoryIndex``: the same maps as Python dicts, rebuilt from the database at every start. It is the
  baseline the benchmarks and the differential test compare against.

Writes go through a ``IndexWriter`` opened per input file. Reads made while it is open see its writes
(so the second chunk of a file finds the products the first chunk created); its changes become durable
only on ``commit()``, which the orchestrator calls after the file's database transaction has committed.
An ``abort()`` forgets them, so the index never knows of rows the database rolled back.
"""
from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Iterable, Iterator

import lmdb
import orjson

from .pending import DELETED, PendingWrites
from .keys import id_bytes, id_from_bytes, sku_key, slim_from_bytes, slim_value, text_key

log = logging.getLogger(__name__)

KINDS = ("barcode", "nnbs", "sku")
# 2: the meta names the database by token and holds the change-log watermark and schema state.
FORMAT_VERSION = 2

# The map is address space, not memory or disk: the file grows only as pages are written. 64 GiB holds
# an index for tens of millions of products; MapFullError still grows it if a catalog ever needs more.
DEFAULT_MAP_SIZE = 64 << 30
_DB_NAMES = {"products": b"products", "barcode": b"barcode", "nnbs": b"nnbs", "sku": b"sku", "meta": b"meta"}
# A full map doubles, but by at least this much, so a small map does not grow a page at a time.
MIN_MAP_GROWTH = 64 << 20


def encode_key(kind: str, key) -> bytes:
    if kind == "sku":
        company_id, sku = key
        return sku_key(company_id, sku)
    return text_key(key)


class ProductIndex:
    """What the update needs from tier 1; both backends implement it."""

    backend = "abstract"

    def get_many(self, kind: str, keys: Iterable) -> dict:
        """Map each key of ``kind`` found in the index to its product id; keys not found are absent."""
        raise NotImplementedError

    def slim_many(self, product_ids: Iterable[int]) -> dict[int, dict]:
        raise NotImplementedError

    def writer(self) -> "IndexWriter":
        raise NotImplementedError

    def meta(self) -> dict:
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class IndexWriter:
    """Records what one file created or changed; durable only on commit."""

    def put_product(self, product_id: int, nnbs: str, brand: str | None) -> None:
        raise NotImplementedError

    def delete_product(self, product_id: int) -> None:
        raise NotImplementedError

    def put(self, kind: str, key, product_id: int) -> None:
        raise NotImplementedError

    def delete(self, kind: str, key) -> None:
        raise NotImplementedError

    def set_meta(self, name: str, value) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------- LMDB


def open_environment(path: Path, *, readonly: bool = False,
                     map_size: int = DEFAULT_MAP_SIZE) -> lmdb.Environment:
    return lmdb.open(
        str(path),
        map_size=map_size,
        max_dbs=len(_DB_NAMES),
        subdir=True,
        readonly=readonly,
        # Lookups are random: reading ahead would only pull neighbouring pages nobody asked for.
        readahead=False,
        # Durability comes from the database; a lost index tail is healed by catch-up or rebuild.
        sync=True,
        metasync=True,
        create=not readonly,
    )


def open_databases(env: lmdb.Environment, *, create: bool) -> dict:
    # Without a txn argument lmdb opens each handle in a transaction of its own that it commits; a handle
    # opened in a read transaction of ours would close when that transaction ends.
    return {name: env.open_db(raw, create=create) for name, raw in _DB_NAMES.items()}


def grow_map(env: lmdb.Environment) -> int:
    """Enlarge a full map; only valid while this process has no transaction open on ``env``."""
    current = env.info()["map_size"]
    new_size = current + max(current, MIN_MAP_GROWTH)
    env.set_mapsize(new_size)
    log.info("index map full at %d MB: grown to %d MB", current >> 20, new_size >> 20)
    return new_size


def write_with_growth(env: lmdb.Environment, write) -> None:
    """Run ``write(txn)`` in one write transaction, growing the map and redoing it when the map fills."""
    while True:
        try:
            with env.begin(write=True) as txn:
                write(txn)
            return
        except lmdb.MapFullError:
            grow_map(env)


class LmdbIndex(ProductIndex):
    backend = "lmdb"

    def __init__(self, path: Path, *, readonly: bool = False, map_size: int = DEFAULT_MAP_SIZE):
        self.path = Path(path)
        self.env = open_environment(self.path, readonly=readonly, map_size=map_size)
        self.dbs = open_databases(self.env, create=not readonly)
        self._pending: PendingWrites | None = None
        self.catchup = None  # what the catch-up at opening applied (diskcache_tier.catchup.CatchupStats)

    def _lookup(self, db_name: str, raw_keys: Iterable[tuple[object, bytes]]) -> Iterator[tuple[object, bytes]]:
        """(key, value) for each (key, raw key) found, the open writer's pending writes first.

        Each call takes a short read transaction, so none is held across a run.
        """
        pending, db = self._pending, self.dbs[db_name]
        with self.env.begin(buffers=True) as txn:
            for key, raw_key in raw_keys:
                value = pending.get(db_name, raw_key) if pending is not None else None
                if value is DELETED:
                    continue
                if value is None:
                    value = txn.get(raw_key, db=db)
                if value is not None:
                    yield key, value

    def get_many(self, kind: str, keys: Iterable) -> dict:
        pairs = ((key, encode_key(kind, key)) for key in keys)
        return {key: id_from_bytes(raw) for key, raw in self._lookup(kind, pairs)}

    def slim_many(self, product_ids: Iterable[int]) -> dict[int, dict]:
        pairs = ((pid, id_bytes(pid)) for pid in product_ids)
        return {pid: slim_from_bytes(raw) for pid, raw in self._lookup("products", pairs)}

    def meta(self) -> dict:
        with self.env.begin(buffers=True) as txn:
            meta = {bytes(k).decode(): orjson.loads(bytes(v)) for k, v in txn.cursor(db=self.dbs["meta"])}
        if self._pending is not None:
            for key, value in self._pending.items("meta"):
                if value is DELETED:
                    meta.pop(key.decode(), None)
                else:
                    meta[key.decode()] = orjson.loads(value)
        return meta

    def counts(self) -> dict[str, int]:
        with self.env.begin() as txn:
            return {name: txn.stat(self.dbs[name])["entries"] for name in ("products", *KINDS)}

    def writer(self) -> "LmdbWriter":
        if self._pending is not None:
            raise RuntimeError("an index writer is already open: one file at a time")
        self._pending = PendingWrites(_DB_ORDER)
        return LmdbWriter(self)

    def _finish_write(self) -> None:
        if self._pending is not None:
            self._pending.close()
            self._pending = None

    def close(self) -> None:
        self._finish_write()
        self.env.close()


_DB_ORDER = tuple(_DB_NAMES)  # "meta" last: a watermark is applied only after the writes it covers
# Writes per index transaction when a file's writes are applied: each transaction holds its dirty pages
# in this process until it commits, so this bounds that memory (at most a few MB) whatever the file.
APPLY_BATCH = 2_000


class LmdbWriter(IndexWriter):
    """One file's index writes: pending on disk while the file runs, applied once it is committed.

    ``commit`` applies them in bounded transactions, growing the map when it fills. A crash half-way
    leaves some applied and some not; every one of them is also in the database's change log past the
    index's watermark, so the next run's catch-up applies them again.
    """

    def __init__(self, index: LmdbIndex):
        self.index = index
        self.pending = index._pending

    def put_product(self, product_id, nnbs, brand):
        self.pending.put("products", id_bytes(product_id), slim_value(nnbs, brand))

    def delete_product(self, product_id):
        self.pending.delete("products", id_bytes(product_id))

    def put(self, kind, key, product_id):
        self.pending.put(kind, encode_key(kind, key), id_bytes(product_id))

    def delete(self, kind, key):
        self.pending.delete(kind, encode_key(kind, key))

    def set_meta(self, name, value):
        self.pending.put("meta", name.encode(), orjson.dumps(value))

    def commit(self):
        env, dbs = self.index.env, self.index.dbs
        try:
            for batch in self.pending.writes(APPLY_BATCH):
                write_with_growth(env, lambda txn: _apply(txn, dbs, batch))
        finally:
            self.index._finish_write()

    def abort(self):
        self.index._finish_write()


def _apply(txn, dbs, batch) -> None:
    for db_name, key, value in batch:
        if value is None:
            txn.delete(key, db=dbs[db_name])
        else:
            txn.put(key, value, db=dbs[db_name])


# ------------------------------------------------------------------------------------------- memory


class MemoryIndex(ProductIndex):
    """The slim-dict plan: every map in the process, rebuilt from the database at each start."""

    backend = "memory"

    def __init__(self):
        self.maps: dict[str, dict] = {kind: {} for kind in KINDS}
        self.products: dict[int, tuple[str, str]] = {}
        self._meta: dict = {}
        self._writer: MemoryWriter | None = None
        self._frozen = False

    def get_many(self, kind, keys):
        table = self.maps[kind]
        return {key: table[key] for key in keys if key in table}

    def slim_many(self, product_ids):
        return {pid: {"n": self.products[pid][0], "b": self.products[pid][1]}
                for pid in product_ids if pid in self.products}

    def meta(self):
        return dict(self._meta)

    def counts(self):
        return {"products": len(self.products), **{kind: len(self.maps[kind]) for kind in KINDS}}

    def writer(self):
        if self._writer is not None:
            raise RuntimeError("an index writer is already open: one file at a time")
        if not self._frozen:
            # The maps hold millions of entries, and the first tuple a file inserts makes the collector
            # track a map again, after which every full collection walks all of it: a third of the update's
            # CPU at 1M products (issue 10). Loaded maps are long-lived by construction, so they go to the
            # permanent generation once, before the first file; what a file adds is collected as usual.
            gc.freeze()
            self._frozen = True
        self._writer = MemoryWriter(self)
        return self._writer


_MISSING = object()


class MemoryWriter(IndexWriter):
    """Applies writes at once (so reads see them) and keeps an undo log for abort."""

    def __init__(self, index: MemoryIndex):
        self.index = index
        self.undo: list[tuple[dict, object, object]] = []

    def _set(self, table: dict, key, value) -> None:
        self.undo.append((table, key, table.get(key, _MISSING)))
        if value is _MISSING:
            table.pop(key, None)
        else:
            table[key] = value

    def put_product(self, product_id, nnbs, brand):
        self._set(self.index.products, product_id, (nnbs, brand or ""))

    def delete_product(self, product_id):
        self._set(self.index.products, product_id, _MISSING)

    def put(self, kind, key, product_id):
        self._set(self.index.maps[kind], key, product_id)

    def delete(self, kind, key):
        self._set(self.index.maps[kind], key, _MISSING)

    def set_meta(self, name, value):
        self._set(self.index._meta, name, value)

    def commit(self):
        self.undo.clear()
        self.index._writer = None

    def abort(self):
        for table, key, previous in reversed(self.undo):
            if previous is _MISSING:
                table.pop(key, None)
            else:
                table[key] = previous
        self.undo.clear()
        self.index._writer = None


def index_size_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).glob("*.mdb")) if Path(path).exists() else 0


def lmdb_version() -> str:
    return ".".join(map(str, lmdb.version()))
