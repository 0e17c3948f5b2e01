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

import logging
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import lmdb
import orjson

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
        self._write_txn: lmdb.Transaction | None = None
        self.catchup = None  # what the catch-up at opening applied (diskcache_tier.catchup.CatchupStats)

    @contextmanager
    def _reading(self) -> Iterator[lmdb.Transaction]:
        # Inside a file the writer's transaction is the view: it sees what this file already wrote.
        # Otherwise each call takes a short read transaction, so none is held across a run.
        if self._write_txn is not None:
            yield self._write_txn
        else:
            with self.env.begin(buffers=True) as txn:
                yield txn

    def get_many(self, kind: str, keys: Iterable) -> dict:
        db = self.dbs[kind]
        found = {}
        with self._reading() as txn:
            for key in keys:
                raw = txn.get(encode_key(kind, key), db=db)
                if raw is not None:
                    found[key] = id_from_bytes(raw)
        return found

    def slim_many(self, product_ids: Iterable[int]) -> dict[int, dict]:
        db = self.dbs["products"]
        found = {}
        with self._reading() as txn:
            for product_id in product_ids:
                raw = txn.get(id_bytes(product_id), db=db)
                if raw is not None:
                    found[product_id] = slim_from_bytes(raw)
        return found

    def meta(self) -> dict:
        with self._reading() as txn:
            return {bytes(k).decode(): orjson.loads(bytes(v)) for k, v in txn.cursor(db=self.dbs["meta"])}

    def counts(self) -> dict[str, int]:
        with self.env.begin() as txn:
            return {name: txn.stat(self.dbs[name])["entries"] for name in ("products", *KINDS)}

    def writer(self) -> "LmdbWriter":
        if self._write_txn is not None:
            raise RuntimeError("an index writer is already open: one file at a time")
        self._write_txn = self.env.begin(write=True, buffers=True)
        return LmdbWriter(self)

    def _finish_write(self) -> None:
        self._write_txn = None

    def close(self) -> None:
        if self._write_txn is not None:
            self._write_txn.abort()
            self._write_txn = None
        self.env.close()


_DB_ORDER = tuple(_DB_NAMES)
_JOURNAL_HEAD = struct.Struct(">BBII")  # put or delete, database, key length, value length
_PUT, _DELETE = 1, 2


class LmdbWriter(IndexWriter):
    """One file's write transaction, with a journal of its writes on disk.

    When the map fills half-way through a file, LMDB's transaction is lost; the journal lets the writer
    grow the map, begin again and replay the file's writes, so the file goes on as if nothing happened.
    The journal is a temporary file, so it costs disk, not memory, however many keys the file writes.
    """

    def __init__(self, index: LmdbIndex):
        self.index = index
        self.txn = index._write_txn
        self.dbs = index.dbs
        self.journal = tempfile.TemporaryFile(prefix="index-journal-")

    def put_product(self, product_id, nnbs, brand):
        self._write(_PUT, "products", id_bytes(product_id), slim_value(nnbs, brand))

    def delete_product(self, product_id):
        self._write(_DELETE, "products", id_bytes(product_id), b"")

    def put(self, kind, key, product_id):
        self._write(_PUT, kind, encode_key(kind, key), id_bytes(product_id))

    def delete(self, kind, key):
        self._write(_DELETE, kind, encode_key(kind, key), b"")

    def set_meta(self, name, value):
        self._write(_PUT, "meta", name.encode(), orjson.dumps(value))

    def _write(self, op: int, db_name: str, key: bytes, value: bytes) -> None:
        self.journal.write(_JOURNAL_HEAD.pack(op, _DB_ORDER.index(db_name), len(key), len(value)))
        self.journal.write(key)
        self.journal.write(value)
        try:
            self._apply(op, self.dbs[db_name], key, value)
        except lmdb.MapFullError:
            self._grow_and_replay()

    def _apply(self, op, db, key, value) -> None:
        if op == _PUT:
            self.txn.put(key, value, db=db)
        else:
            self.txn.delete(key, db=db)

    def _grow_and_replay(self) -> None:
        while True:
            self.txn.abort()
            self.index._write_txn = None
            grow_map(self.index.env)
            self.txn = self.index._write_txn = self.index.env.begin(write=True, buffers=True)
            try:
                self._replay()
                return
            except lmdb.MapFullError:
                continue

    def _replay(self) -> None:
        self.journal.flush()
        self.journal.seek(0)
        try:
            while head := self.journal.read(_JOURNAL_HEAD.size):
                op, db_number, key_len, value_len = _JOURNAL_HEAD.unpack(head)
                key = self.journal.read(key_len)
                value = self.journal.read(value_len)
                self._apply(op, self.dbs[_DB_ORDER[db_number]], key, value)
        finally:
            self.journal.seek(0, 2)

    def commit(self):
        try:
            while True:
                try:
                    self.txn.commit()
                    return
                except lmdb.MapFullError:  # committing allocates pages too (the free list)
                    self._grow_and_replay()
        finally:
            self._done()

    def abort(self):
        try:
            self.txn.abort()
        finally:
            self._done()

    def _done(self) -> None:
        self.index._finish_write()
        self.journal.close()


# ------------------------------------------------------------------------------------------- memory


class MemoryIndex(ProductIndex):
    """The slim-dict plan: every map in the process, rebuilt from the database at each start."""

    backend = "memory"

    def __init__(self):
        self.maps: dict[str, dict] = {kind: {} for kind in KINDS}
        self.products: dict[int, tuple[str, str]] = {}
        self._meta: dict = {}
        self._writer: MemoryWriter | None = None

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
