"""Tier 1: the product index the update reads through, and the one writer that keeps it current.

Three key kinds map to a product id: ``barcode``, ``nnbs`` (a product's NNBS and each known variation,
in the canonical form of ``keys.canonical_nnbs``) and ``sku`` (a ``(company_id, sku)`` pair). Each
product id also maps to a slim record (``keying.slim_record``): what deciding a line needs without
fetching the product. Which keys and record a product gives is decided by ``keying.product_entries``.

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
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

import lmdb
import orjson

from .pending import DELETED, PendingWrites
from .keying import ProductRow, decode_slim, encode_slim, nnbs_key, product_entries
from .keys import id_bytes, id_from_bytes, sku_key, text_key
from .seen import SEEN_SIZE, SeenLine, decode_seen, encode_seen, seen_key
from .seen_sharing import LIST_OWNER, SharedSeen, decode_sharing, sharing_key

log = logging.getLogger(__name__)

KINDS = ("barcode", "nnbs", "sku")
# 2: the meta names the database by token and holds the change-log watermark and schema state.
# 3: the ``seen`` database: what each store's file last applied to each product (``seen.py``).
FORMAT_VERSION = 3

# The map is address space, not memory or disk: the file grows only as pages are written. 64 GiB holds
# an index for tens of millions of products; MapFullError still grows it if a catalog ever needs more.
DEFAULT_MAP_SIZE = 64 << 30
_DB_NAMES = {"products": b"products", "barcode": b"barcode", "nnbs": b"nnbs", "sku": b"sku", "seen": b"seen",
             "meta": b"meta"}
# A full map doubles, but by at least this much, so a small map does not grow a page at a time.
MIN_MAP_GROWTH = 64 << 20


def encode_key(kind: str, key) -> bytes:
    if kind == "sku":
        company_id, sku = key
        return sku_key(company_id, sku)
    if kind == "nnbs":
        return text_key(nnbs_key(key))
    return text_key(key)


def memory_key(kind: str, key):
    """The memory backend's spelling of a key: NNBS canonical, as in LMDB."""
    return nnbs_key(key) if kind == "nnbs" else key


class ProductIndex:
    """What the update needs from tier 1; both backends implement it."""

    backend = "abstract"

    def get_many(self, kind: str, keys: Iterable) -> dict:
        """Map each key of ``kind`` found in the index to its product id; keys not found are absent."""
        raise NotImplementedError

    def slim_many(self, product_ids: Iterable[int]) -> dict[int, dict]:
        raise NotImplementedError

    # Whether the index remembers what each store's file last applied (``seen.py``), so that a line
    # identical to it skips the database. Designs that don't answer ``seen_many`` with nothing.
    remembers_lines = False

    def seen_many(self, store_id: int, product_ids: Iterable[int]) -> dict[int, SeenLine]:
        """What the store's last file applied to each product, for the products the index remembers."""
        return {}

    def key_owners(self, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
        """For each (barcode, sku, nnbs), the product each key names (0 for none), in the order a line's
        keys are tried: barcode, then SKU, then NNBS."""
        barcodes = self.get_many("barcode", {b for b, _, _ in keys if b})
        skus = self.get_many("sku", {(company_id, s) for _, s, _ in keys if s})
        nnbs = self.get_many("nnbs", {n for _, _, n in keys})
        return [(barcodes.get(b, 0) if b else 0, skus.get((company_id, s), 0) if s else 0, nnbs.get(n, 0))
                for b, s, n in keys]

    def seen_lines(self, company_id: int, store_id: int, lines: list[tuple]) -> list[int]:
        """For each (digest, barcode, sku, nnbs) of a line of the store, the product the line names if
        the index remembers it as the store's last line of that product, with the same digest and the
        same key owners (it is "seen": ``update/unchanged.py``); 0 otherwise."""
        owners = self.key_owners(company_id, [line[1:] for line in lines])
        product_ids = [next((pid for pid in hits if pid), 0) for hits in owners]
        entries = self.seen_many(store_id, {pid for pid in product_ids if pid})
        seen = []
        for (digest, *_), hits, pid in zip(lines, owners, product_ids):
            entry = entries.get(pid)
            seen.append(pid if entry is not None and entry.digest == digest and entry.hits == hits else 0)
        return seen

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

    def on_commit(self, callback) -> None:
        """Call ``callback()`` once this writer's writes are durable (never after an abort)."""
        self.__dict__.setdefault("_after_commit", []).append(callback)

    def _run_after_commit(self) -> None:
        for callback in self.__dict__.pop("_after_commit", []):
            callback()

    def _forget_after_commit(self) -> None:
        self.__dict__.pop("_after_commit", None)

    def put_product(self, product_id: int, slim: dict) -> None:
        raise NotImplementedError

    def write_product(self, row: ProductRow) -> None:
        """Put a product's slim record and every key it gives the index (``keying.product_entries``).

        The own NNBS always takes its key; a variation never takes a key another product holds.
        """
        entries = product_entries(row)
        self.put_product(row.id, entries.slim)
        # Spellings as the product has them: a backend keys them in its own form (``encode_key``).
        self.put("nnbs", row.nnbs, row.id)
        for variation in entries.variation_spellings:
            self.put_variation(variation, row.id)
        if entries.barcode:
            self.put("barcode", entries.barcode, row.id)

    def put_variation(self, variation: str, product_id: int) -> None:
        """Put a variation's key unless another product holds it (the backends here check; others put)."""
        self.put("nnbs", variation, product_id)

    def delete_product(self, product_id: int) -> None:
        raise NotImplementedError

    def put_seen(self, store_id: int, product_id: int, seen: SeenLine) -> None:
        """Remember the line that priced the product in the store (only an index that remembers lines)."""

    def delete_seen(self, store_id: int, product_id: int) -> None:
        """Forget it: the store's price of the product was written by a line that can't be skipped."""

    def forget_seen(self, product_ids: Iterable[int]) -> None:
        """Forget every store's line of these products: another writer changed them."""

    def share_with(self, store_id: int, list_id: int | None) -> None:
        """The price list the store's remembered lines are shared in, from its first commit on
        (``seen_sharing``); an index that remembers no line ignores it."""

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


def _getter(txn, pending: PendingWrites | None, db_name: str, db) -> Callable[[bytes], object]:
    """``get(key)`` of one database in a read transaction that sees the open writer's pending writes
    first. A database the file has not written to is asked directly: one LMDB get, and no Python call of
    ours around it (this runs 4 times for nearly every line of a day)."""
    if pending is None or not pending.written(db_name):
        return partial(txn.get, default=None, db=db)
    pending_get, plain_get = pending.get, partial(txn.get, default=None, db=db)

    def get(key: bytes):
        value = pending_get(db_name, key)
        if value is None:
            return plain_get(key)
        return None if value is DELETED else value
    return get


# The index's meta: the stores whose files remembered lines since the build (``remembering_stores``).
REMEMBERING_STORES = "remembering_stores"
_NO_OWNER = bytes(8)  # a key no product owns, as a remembered line's hits spell it (id 0)


class LmdbIndex(ProductIndex):
    backend = "lmdb"
    # Kept current by catch-up from the database's change log (diskcache_tier.freshness checks it).
    follows_change_log = True
    # Current with the database when a file starts, so its hits and misses are taken as they are.
    is_current = True

    remembers_lines = True

    def __init__(self, path: Path, *, readonly: bool = False, map_size: int = DEFAULT_MAP_SIZE):
        self.path = Path(path)
        self.env = open_environment(self.path, readonly=readonly, map_size=map_size)
        self.dbs = open_databases(self.env, create=not readonly)
        self._pending: PendingWrites | None = None
        self._spare: PendingWrites | None = None  # the last file's pending store, emptied for the next
        # Products whose remembered lines the open writer forgets at commit: not trusted meanwhile.
        self._forgotten: set[int] = set()
        self._sharings: dict[int, tuple[int, int]] = {}  # store -> (list, ordinal) in ``seen``: recorded once
        self.catchup = None  # what the catch-up at opening applied (diskcache_tier.catchup.CatchupStats)
        self._remembering: set[int] | None | bool = False  # ``remembering_stores``, read once (False: not yet)

    def remembering_stores(self) -> set[int] | None:
        """The stores whose files have remembered a line since the index was built (meta
        ``remembering_stores``); None for an index built before it was kept, which says nothing. A store
        outside the set has no remembered line: the day after a build, its lines are not looked up."""
        if self._remembering is False:
            stores = self.meta().get(REMEMBERING_STORES)
            self._remembering = None if stores is None else set(stores)
        return self._remembering

    def _lookup(self, db_name: str, raw_keys: Iterable[tuple[object, bytes]], decode) -> dict:
        """{key: decode(value)} for each (key, raw key) found, the open writer's pending writes first.

        Each call takes a short read transaction, so none is held across a run. Not a generator: a stop
        signal raised mid-lookup would keep a suspended one (and its transaction) alive in the traceback
        until after the environment is closed.
        """
        pending, db = self._pending, self.dbs[db_name]
        if pending is not None and not pending.written(db_name):
            pending = None  # nothing written to this database yet: one get per key, not two
        found = {}
        with self.env.begin(buffers=True) as txn:
            for key, raw_key in raw_keys:
                value = pending.get(db_name, raw_key) if pending is not None else None
                if value is DELETED:
                    continue
                if value is None:
                    value = txn.get(raw_key, db=db)
                if value is not None:
                    found[key] = decode(value)
        return found

    def get_many(self, kind: str, keys: Iterable) -> dict:
        return self._lookup(kind, ((key, encode_key(kind, key)) for key in keys), id_from_bytes)

    def slim_many(self, product_ids: Iterable[int]) -> dict[int, dict]:
        return self._lookup("products", ((pid, id_bytes(pid)) for pid in product_ids), decode_slim)

    def seen_many(self, store_id: int, product_ids: Iterable[int]) -> dict[int, SeenLine]:
        found = {}
        with self.env.begin(buffers=True) as txn:
            remembered = self._remembered(txn, store_id)
            for pid in product_ids:
                if pid not in self._forgotten:
                    entry = remembered(pid)
                    if entry is not None:
                        found[pid] = decode_seen(entry)
        return found

    def _remembered(self, txn, store_id: int) -> Callable[[int], object]:
        """``remembered(product_id)``: the store's remembered line of the product, or None: the file's own
        pending write first (a forget is final), then its list's entry if its bit is set, then its own
        entry (``seen_sharing.resolve``)."""
        by_key = self._remembered_by_key(txn, store_id)
        return lambda pid: by_key(id_bytes(pid))

    def _remembered_by_key(self, txn, store_id: int) -> Callable[[bytes], object]:
        """As ``_remembered``, given the product's id as the index stores it (``id_bytes``)."""
        seen_db, store_key = self.dbs["seen"], id_bytes(store_id)
        pending = self._pending if self._pending is not None and self._pending.written("seen") else None
        sharing = self._sharing(txn, store_id)
        owner = id_bytes(LIST_OWNER | sharing[0]) if sharing is not None else None
        at = SEEN_SIZE + (sharing[1] >> 3) if sharing is not None else 0
        mask = 1 << (sharing[1] & 7) if sharing is not None else 0
        get = txn.get

        def remembered(product: bytes):
            if pending is not None:
                value = pending.get("seen", product + store_key)
                if value is not None:
                    return None if value is DELETED else value
            if owner is not None:
                shared = get(product + owner, None, seen_db)
                if shared is not None and len(shared) > at and shared[at] & mask:
                    return shared
            return get(product + store_key, None, seen_db)
        return remembered

    def _sharing(self, txn, store_id: int) -> tuple[int, int] | None:
        """The store's (list, ordinal) in the remembered lines, once recorded (it never changes then)."""
        sharing = self._sharings.get(store_id)
        if sharing is None:
            sharing = decode_sharing(txn.get(sharing_key(store_id), db=self.dbs["seen"]))
            if sharing is not None:
                self._sharings[store_id] = sharing
        return sharing

    def key_owners(self, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
        """As ``ProductIndex.key_owners``, in one read transaction, one loop over the keys, spelled as
        ``seen_lines`` spells them: every line a file updates asks it once more for its remembered entry."""
        dbs, pending = self.dbs, self._pending
        sku_prefix = f"{company_id}\x1f"
        from_bytes = int.from_bytes
        owners = []
        with self.env.begin(buffers=True) as txn:
            get_barcode, get_sku, get_nnbs = (_getter(txn, pending, name, dbs[name])
                                              for name in ("barcode", "sku", "nnbs"))
            for barcode, sku, nnbs in keys:
                b = get_barcode(text_key(barcode)) if barcode else None
                s = get_sku(text_key(sku_prefix + sku)) if sku else None
                n = get_nnbs(text_key(nnbs_key(nnbs)))
                owners.append((0 if b is None else from_bytes(b, "big"), 0 if s is None else from_bytes(s, "big"),
                               0 if n is None else from_bytes(n, "big")))
        return owners

    def seen_lines(self, company_id: int, store_id: int, lines: list[tuple]) -> list[int]:
        """As ``ProductIndex.seen_lines``, in one read transaction, one loop over the lines: this runs for
        nearly every line of a day, so its keys are spelled inline and each get goes to the file's pending
        writes only when they may hold the key."""
        remembering = self.remembering_stores()
        if remembering is not None and store_id not in remembering:
            return [0] * len(lines)  # the store remembers no line (its file's own pending ones aside)
        forgotten, dbs, pending = self._forgotten, self.dbs, self._pending
        sku_prefix = f"{company_id}\x1f"
        from_bytes, join, none = int.from_bytes, b"".join, _NO_OWNER
        found = []
        with self.env.begin(buffers=True) as txn:
            get_barcode, get_sku, get_nnbs = (_getter(txn, pending, name, dbs[name])
                                              for name in ("barcode", "sku", "nnbs"))
            remembered = self._remembered_by_key(txn, store_id)
            for digest, barcode, sku, nnbs in lines:
                # Owners as stored (8 bytes, big-endian): an entry's hits are the same 3 ids packed.
                b = get_barcode(text_key(barcode)) if barcode else None
                s = get_sku(text_key(sku_prefix + sku)) if sku else None
                n = get_nnbs(text_key(nnbs_key(nnbs)))
                owner = b or s or n
                if owner is None:
                    found.append(0)
                    continue
                owner = bytes(owner)
                pid = from_bytes(owner, "big")
                if pid in forgotten:
                    found.append(0)
                    continue
                entry = remembered(owner)
                found.append(pid if entry is not None and entry[:SEEN_SIZE] == join(
                    (digest, b or none, s or none, n or none)) else 0)
        return found

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
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.restart()
        self._pending = spare or PendingWrites(_DB_ORDER)
        return LmdbWriter(self)

    def _finish_write(self) -> None:
        self._forgotten = set()
        if self._pending is not None:
            self._spare, self._pending = self._pending, None

    def close(self) -> None:
        self._finish_write()
        if self._spare is not None:
            self._spare.close()
            self._spare = None
        self.env.close()


_DB_ORDER = tuple(_DB_NAMES)  # "meta" last: a watermark is applied only after the writes it covers
# Writes per index transaction when a file's writes are applied. A transaction's dirty pages are memory of
# this process, and LMDB keeps them after the commit, for later transactions, until the environment closes:
# the largest transaction of the run stays resident to its end. A file's remembered lines are scattered
# over the ``seen`` tree (keys lead with the product), so each write can dirty a page of its own: 500
# writes keep that at about 2 MB, where 2,000 held 8-10 MB once the tree was large (bench.price_lists).
APPLY_BATCH = 500


class LmdbWriter(IndexWriter):
    """One file's index writes: pending on disk while the file runs, applied once it is committed.

    ``commit`` applies them in bounded transactions, growing the map when it fills. A crash half-way
    leaves some applied and some not; every one of them is also in the database's change log past the
    index's watermark, so the next run's catch-up applies them again.
    """

    def __init__(self, index: LmdbIndex):
        self.index = index
        self.pending = index._pending
        self.lists: dict[int, int | None] = {}  # the list each store that wrote shares remembered lines in
        self.remembering: set[int] = set()  # stores this file remembered lines of

    def put_product(self, product_id, slim):
        self.pending.put("products", id_bytes(product_id), encode_slim(slim))

    def put_variation(self, variation, product_id):
        if not self.index.get_many("nnbs", [variation]):
            self.put("nnbs", variation, product_id)

    def delete_product(self, product_id):
        self.pending.delete("products", id_bytes(product_id))

    def put_seen(self, store_id, product_id, seen):
        self.pending.put("seen", seen_key(product_id, store_id), encode_seen(seen))
        self.remembering.add(store_id)

    def delete_seen(self, store_id, product_id):
        self.pending.delete("seen", seen_key(product_id, store_id))

    def forget_seen(self, product_ids):
        self.index._forgotten.update(product_ids)

    def share_with(self, store_id, list_id):
        self.lists[store_id] = list_id

    def put(self, kind, key, product_id):
        self.pending.put(kind, encode_key(kind, key), id_bytes(product_id))

    def delete(self, kind, key):
        self.pending.delete(kind, encode_key(kind, key))

    def set_meta(self, name, value):
        self.pending.put("meta", name.encode(), orjson.dumps(value))

    def commit(self):
        env, dbs = self.index.env, self.index.dbs
        known = self.index.remembering_stores()
        if known is not None and not self.remembering <= known:
            # Said before the lines' entries land: a store named without one only costs it its lookups.
            known |= self.remembering
            self.set_meta(REMEMBERING_STORES, sorted(known))
        try:
            # Forgotten first: a line this file remembered after the change that forgot it stays.
            for pids in _batches(sorted(self.index._forgotten), APPLY_BATCH):
                write_with_growth(env, lambda txn: _forget_seen(txn, dbs["seen"], pids))
            for batch in self.pending.writes(APPLY_BATCH):
                write_with_growth(env, lambda txn: _apply(txn, dbs, batch, self.lists))
        except BaseException:
            self._forget_after_commit()
            raise
        finally:
            self.index._finish_write()
        self._run_after_commit()

    def abort(self):
        self._forget_after_commit()
        self.index._finish_write()


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _forget_seen(txn, db, product_ids) -> None:
    """Delete every store's remembered line of each product (keys start with the product's id)."""
    with txn.cursor(db=db) as cursor:
        for pid in product_ids:
            prefix = id_bytes(pid)
            if not cursor.set_range(prefix):
                continue
            while bytes(cursor.key()).startswith(prefix):
                if not cursor.delete():
                    break


def _apply(txn, dbs, batch, lists: dict[int, int | None]) -> None:
    shared = SharedSeen(txn, dbs["seen"], lists)
    for db_name, key, value in batch:
        if db_name == "seen":
            shared.apply(bytes(key), None if value is None else bytes(value))
        elif value is None:
            txn.delete(key, db=dbs[db_name])
        else:
            txn.put(key, value, db=dbs[db_name])


# ------------------------------------------------------------------------------------------- memory


class MemoryIndex(ProductIndex):
    """The slim-dict plan: every map in the process, rebuilt from the database at each start."""

    backend = "memory"
    # Read from the database at the start of the run, and no other update writes during it.
    is_current = True
    # Other writers between files (the admin, the site) reach it through the change log, as they reach
    # the LMDB index: loaded at the log's high-water mark, it applies what others logged since before
    # each file. It is no registered consumer: it holds no row back, and lives only as long as its run.
    follows_change_log = True

    def __init__(self):
        self.maps: dict[str, dict] = {kind: {} for kind in KINDS}
        self.products: dict[int, bytes] = {}  # id -> encoded slim record: compact, as in LMDB
        self._meta: dict = {}
        self._writer: MemoryWriter | None = None
        self._frozen = False

    def get_many(self, kind, keys):
        table = self.maps[kind]
        found = {}
        for key in keys:
            pid = table.get(memory_key(kind, key))
            if pid is not None:
                found[key] = pid
        return found

    def slim_many(self, product_ids):
        return {pid: decode_slim(self.products[pid]) for pid in product_ids if pid in self.products}

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

    def put_product(self, product_id, slim):
        self._set(self.index.products, product_id, encode_slim(slim))

    def delete_product(self, product_id):
        self._set(self.index.products, product_id, _MISSING)

    def put(self, kind, key, product_id):
        self._set(self.index.maps[kind], memory_key(kind, key), product_id)

    def put_variation(self, variation, product_id):
        if memory_key("nnbs", variation) not in self.index.maps["nnbs"]:
            self.put("nnbs", variation, product_id)

    def delete(self, kind, key):
        self._set(self.index.maps[kind], memory_key(kind, key), _MISSING)

    def set_meta(self, name, value):
        self._set(self.index._meta, name, value)

    def commit(self):
        self.undo.clear()
        self.index._writer = None
        self._run_after_commit()

    def abort(self):
        self._forget_after_commit()
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
