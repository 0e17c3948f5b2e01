"""Build tier 1 from the database, streaming, and open the index the update reads through.

The build reads products and SKUs in batches (a server-side cursor on PostgreSQL, keyset batches on
SQLite: see ``_stream_in_id_order``), so neither the database client nor this process ever holds a whole
table, and writes each batch in its own LMDB write transaction, so no transaction grows with the
catalog. It builds into a fresh directory beside the index and swaps it in only when complete: a reader
never sees half an index.
"""
from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson
from django.db import connection, transaction

from . import changelog, continuity
from .catchup import RebuildNeeded, catch_up
from .keying import ProductRow, encode_slim, forget_warnings, product_entries, row_from_select, usable_variations
from .keys import id_bytes
from .source import product_model, product_select, sku_model
from .lookup import (
    FORMAT_VERSION,
    LmdbIndex,
    MemoryIndex,
    ProductIndex,
    encode_key,
    index_size_bytes,
    lmdb_version,
    open_databases,
    open_environment,
    write_with_growth,
)

log = logging.getLogger(__name__)

# Rows per keyset query and per LMDB write transaction. 20k rows of slim data is a few MB in flight:
# large enough that per-query and per-commit overhead vanish, small enough to keep memory flat.
BATCH_SIZE = 20_000


@dataclass
class BuildStats:
    backend: str
    products: int = 0
    skus: int = 0
    elapsed_s: float = 0.0
    size_bytes: int = 0
    reason: str = ""
    counts: dict = field(default_factory=dict)

    @property
    def products_per_s(self) -> float:
        return self.products / self.elapsed_s if self.elapsed_s else 0.0


def describe_database() -> str:
    """Where the database is, for people reading the meta; the identity check uses the token."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{Path(str(settings['NAME'])).resolve()}"
    return f"{connection.vendor}:{settings.get('HOST') or 'local'}:{settings.get('PORT') or ''}/{settings['NAME']}"


def _loads_json(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return orjson.loads(value)
    return value


def stream_product_rows(batch_size: int = BATCH_SIZE) -> Iterator[list[ProductRow]]:
    """Yield batches of ``ProductRow``, in id order."""
    for rows in _stream_in_id_order(product_select(), "p.id", batch_size):
        yield [row_from_select(values, _loads_json) for values in rows]


def stream_variation_rows(batch_size: int = BATCH_SIZE) -> Iterator[list[ProductRow]]:
    """Batches of the products that have variations (id, NNBS and variations only), in id order."""
    column = "normalized_name_brand_size_variations"
    sql = f"SELECT id, normalized_name_brand_size, {column} FROM {product_model()._meta.db_table}"
    for rows in _keyset_batches(sql, "id", 0, batch_size, f"{column} <> '[]'"):
        yield [ProductRow(id=pid, nnbs=nnbs, variations=usable_variations(_loads_json(variations), pid))
               for pid, nnbs, variations in rows]


def stream_sku_rows(batch_size: int = BATCH_SIZE) -> Iterator[list[tuple]]:
    """Yield batches of (company_id, sku, product_id), in SKU id order."""
    sql = f"SELECT id, company_id, sku, product_id FROM {sku_model()._meta.db_table}"
    for rows in _stream_in_id_order(sql, "id", batch_size):
        yield [(company_id, sku, product_id) for _, company_id, sku, product_id in rows]


def _stream_in_id_order(select: str, id_column: str, batch_size: int) -> Iterator[list[tuple]]:
    """The rows of ``select`` (whose first column is ``id_column``) in id order, a batch at a time.

    PostgreSQL: one query read through a server-side (named) cursor. It runs inside a transaction
    because Django declares the cursor WITH HOLD in autocommit mode, and PostgreSQL then copies the whole
    result aside when the declaring statement commits; inside one it streams from a single snapshot.
    On 1M products + 1M SKUs it read both tables in 1.3-1.8 s against 2.8-4.4 s for keyset batches
    (batches of 2k-20k rows, client memory the same); the whole LMDB build, mostly LMDB writes, took
    8.7-10.9 s against 9.1-12.3 s on a loaded 2-core machine. The caller must not commit or roll back on
    this connection between batches.
    SQLite, or a PostgreSQL behind a pooler with server-side cursors disabled (where psycopg would load a
    whole result client-side): keyset batches (``id > last ORDER BY id LIMIT n``), each a short query
    that walks the primary key, so no read transaction stays open across the build.
    """
    if connection.vendor == "postgresql" and not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(f"{select} ORDER BY {id_column}")
            while rows := cursor.fetchmany(batch_size):
                yield rows
        return
    yield from _keyset_batches(select, id_column, 0, batch_size)


def _keyset_batches(select: str, column: str, start, batch_size: int, where: str = "") -> Iterator[list[tuple]]:
    """Rows of ``select`` (first column ``column``) by ``column > last ORDER BY column LIMIT n`` batches."""
    sql = f"{select} WHERE {where + ' AND ' if where else ''}{column} > %s ORDER BY {column} LIMIT %s"
    last = start
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def stream_key_rows(kind: str, batch_size: int = BATCH_SIZE) -> Iterator[list[tuple[bytes, int]]]:
    """Batches of (index key, product id) of one kind, in the index's byte order, read off the database's
    unique index on that key, so the build can append every key instead of searching for its place.

    SQLite compares text with memcmp on UTF-8 (BINARY), which is LMDB's order; PostgreSQL is asked for
    COLLATE "C", its byte order. The few keys hashed for length (keys.text_key) land out of order: the
    writer checks and puts those the ordinary way, never over a key already written.
    """
    product, sku_table = product_model()._meta.db_table, sku_model()._meta.db_table
    if kind == "sku":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT company_id FROM {sku_table}")
            companies = sorted((row[0] for row in cursor.fetchall()), key=str)  # keys spell the id as text
        for company_id in companies:
            select = f"SELECT sku, product_id FROM {sku_table}"
            for rows in _sorted_batches(select, "sku", batch_size, f"company_id = {int(company_id)}"):
                yield [(encode_key("sku", (company_id, sku)), pid) for sku, pid in rows]
        return
    # NNBS by the canonical column (unique): keys arrive in order and one product per key, the same owner
    # catch-up and the memory backend find (keying.nnbs_owner).
    column = {"barcode": "barcode", "nnbs": "canonical_nnbs"}[kind]
    select = f"SELECT {column}, id FROM {product}"
    for rows in _sorted_batches(select, column, batch_size, f"{column} IS NOT NULL"):
        yield [(encode_key(kind, key), pid) for key, pid in rows if key]


def _sorted_batches(select: str, column: str, batch_size: int, where: str) -> Iterator[list[tuple]]:
    if connection.vendor == "postgresql":
        if not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
            with transaction.atomic(), connection.chunked_cursor() as cursor:
                cursor.execute(f'{select} WHERE {where} ORDER BY {column} COLLATE "C"')
                while rows := cursor.fetchmany(batch_size):
                    yield rows
            return
        column = f'{column} COLLATE "C"'
    yield from _keyset_batches(select, column, "", batch_size, where)


def build_meta(counts: dict, started: float, watermark: int = 0, consumer: str | None = None) -> dict:
    meta = {
        "format": FORMAT_VERSION,
        "lmdb_version": lmdb_version(),
        "built_at": datetime.now(timezone.utc).isoformat(),
        "build_seconds": round(time.perf_counter() - started, 3),
        "database": changelog.database_token(),
        "database_location": describe_database(),
        "schema": changelog.schema_state(),
        # Every change logged up to here was committed before the build read the tables.
        "changes_applied_through": watermark,
        "counts": counts,
        # No store has remembered a line yet (diskcache_tier.lookup.LmdbIndex.remembering_stores).
        "remembering_stores": [],
    }
    if consumer is not None:
        # Which registered consumer of the change log this index is, and its first generation.
        meta.update(consumer=consumer, generation=1)
    return meta


# --------------------------------------------------------------------------------------------- LMDB


def build_lmdb_index(path: Path, *, batch_size: int = BATCH_SIZE, reason: str = "requested") -> BuildStats:
    """Build a complete index into a fresh directory, then swap it in place of ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    staging = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    stats = BuildStats(backend="lmdb", reason=reason)
    # Read before the tables: a change logged after this is applied by the next catch-up. Registered
    # before the tables are read, so no other index prunes a row this build does not see. An empty log
    # may have been pruned past its last id: the watermark starts there, or continuity would call it a gap.
    watermark = max(changelog.high_water(), changelog.pruned_through())
    consumer, location = uuid.uuid4().hex, continuity.location_of(path)
    changelog.register_consumer(consumer, watermark=watermark, generation=0, location=location)
    env = open_environment(staging)
    try:
        dbs = open_databases(env, create=True)
        for rows in stream_product_rows(batch_size):
            write_with_growth(env, lambda txn: _write_product_batch(txn, dbs, rows))
            stats.products += len(rows)
        for kind in ("barcode", "nnbs", "sku"):
            for rows in stream_key_rows(kind, batch_size):
                write_with_growth(env, lambda txn: _append_sorted(txn, dbs[kind], rows))
                if kind == "sku":
                    stats.skus += len(rows)
        # Variations last, never over a product's own NNBS; they are few (spellings that drifted).
        for rows in stream_variation_rows(batch_size):
            write_with_growth(env, lambda txn: _write_variations(txn, dbs, rows))
        with env.begin() as txn:
            stats.counts = {name: txn.stat(dbs[name])["entries"] for name in ("products", "barcode", "nnbs", "sku")}
        meta = build_meta(stats.counts, started, watermark, consumer)
        write_with_growth(env, lambda txn: [txn.put(name.encode(), orjson.dumps(value), db=dbs["meta"])
                                            for name, value in meta.items()])
        env.sync(True)
    except BaseException:
        env.close()
        shutil.rmtree(staging, ignore_errors=True)
        changelog.LogConsumer.objects.filter(consumer=consumer).delete()
        raise
    env.close()
    replaces = _consumer_of(path)
    _swap_in(staging, path)
    changelog.register_consumer(consumer, watermark=watermark, generation=1, location=location, replaces=replaces)
    changelog.prune(watermark)
    stats.elapsed_s = time.perf_counter() - started
    stats.size_bytes = index_size_bytes(path)
    log.info("built index at %s: %d products, %d SKUs in %.2fs (%s)",
             path, stats.products, stats.skus, stats.elapsed_s, reason)
    return stats


def _consumer_of(path: Path) -> str | None:
    """The consumer id of the index a build replaces, when its meta can still be read."""
    try:
        return _read_meta_checked(path, path / "data.mdb").get("consumer") if (path / "data.mdb").exists() else None
    except Exception:
        return None


def _write_product_batch(txn, dbs, rows) -> None:
    # Ids arrive ascending, so the id database can append without searching.
    txn.cursor(db=dbs["products"]).putmulti(
        ((id_bytes(row.id), encode_slim(product_entries(row).slim)) for row in rows), append=True)


def _append_sorted(txn, db, rows: list[tuple[bytes, int]]) -> None:
    """Append keys that arrive in order (pages fill completely); put the rare one that does not."""
    cursor = txn.cursor(db=db)
    last = cursor.key() if cursor.last() else b""
    in_order, stragglers = [], []
    for key, pid in rows:
        if key > last:
            in_order.append((key, id_bytes(pid)))
            last = key
        else:
            stragglers.append((key, id_bytes(pid)))
    cursor.putmulti(in_order, append=True)
    # Keys are unique columns, so none collides; overwrite=False keeps a key already written regardless.
    cursor.putmulti(stragglers, overwrite=False)


def _write_variations(txn, dbs, rows) -> None:
    txn.cursor(db=dbs["nnbs"]).putmulti(
        ((encode_key("nnbs", v), id_bytes(row.id)) for row in rows for v in product_entries(row).variations),
        overwrite=False,
    )


def _remove_leftovers(path: Path) -> None:
    """Staging and retired folders a killed build or swap left beside the index (callers hold the lock)."""
    for pattern in (f".{path.name}.building-*", f".{path.name}.retired-*"):
        for leftover in path.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_in(staging: Path, path: Path) -> None:
    retired = None
    if path.exists():
        retired = path.with_name(f".{path.name}.retired-{uuid.uuid4().hex[:8]}")
        path.rename(retired)
    staging.rename(path)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


# ------------------------------------------------------------------------------------------- memory


def load_memory_index(*, batch_size: int = BATCH_SIZE) -> tuple[MemoryIndex, BuildStats]:
    started = time.perf_counter()
    index = MemoryIndex()
    stats = BuildStats(backend="memory", reason="the memory backend loads at every start")
    # Read before the tables, as the LMDB build does: a change logged after this is applied before the
    # next file (diskcache_tier.freshness).
    watermark = max(changelog.high_water(), changelog.pruned_through())
    products, barcodes, nnbs_map, skus = index.products, index.maps["barcode"], index.maps["nnbs"], index.maps["sku"]
    variations: list[tuple[int, list[str]]] = []
    for rows in stream_product_rows(batch_size):
        for row in rows:
            entries = product_entries(row)
            products[row.id] = encode_slim(entries.slim)
            if entries.barcode:
                barcodes[entries.barcode] = row.id
            nnbs_map.setdefault(entries.nnbs, row.id)
            if entries.variations:
                variations.append((row.id, entries.variations))
        stats.products += len(rows)
    # Variations last, never over a product's own NNBS, as in the LMDB build.
    for pid, keys in variations:
        for key in keys:
            nnbs_map.setdefault(key, pid)
    for rows in stream_sku_rows(batch_size):
        for company_id, sku, pid in rows:
            skus[(company_id, sku)] = pid
        stats.skus += len(rows)
    stats.counts = index.counts()
    index._meta = build_meta(stats.counts, started, watermark)
    stats.elapsed_s = time.perf_counter() - started
    return index, stats


# ------------------------------------------------------------------------------------------ opening


def why_rebuild(path: Path) -> str | None:
    """Why the index at ``path`` can't be used as it is, or None when it can."""
    path = Path(path)
    data = path / "data.mdb"
    if not data.exists():
        return "index missing"
    try:
        meta = _read_meta_checked(path, data)
    except Exception as exc:  # a truncated or garbage data.mdb raises various lmdb errors
        return f"index unreadable ({type(exc).__name__}: {exc})"
    if meta.get("format") != FORMAT_VERSION:
        return f"index format {meta.get('format')} is not {FORMAT_VERSION}"
    if meta.get("lmdb_version") != lmdb_version():
        return f"index written by lmdb {meta.get('lmdb_version')}, this is {lmdb_version()}"
    token = changelog.database_token()
    if meta.get("database") != token:
        return (f"index built from another database (token {meta.get('database')}, "
                f"at {meta.get('database_location')}), this one is {token} at {describe_database()}")
    schema = changelog.schema_state()
    if meta.get("schema") != schema:
        return (f"database schema migrated since the index was built "
                f"(migrations {meta.get('schema')} -> {schema})")
    return continuity.why_not_continuous(meta)


def _read_meta_checked(path: Path, data: Path) -> dict:
    env = open_environment(path, readonly=True)
    try:
        info, psize = env.info(), env.stat()["psize"]
        # Pages past the end of a truncated file are mapped but absent: touching one kills the process
        # with SIGBUS, so the size is checked before any tree is read.
        needed = (info["last_pgno"] + 1) * psize
        size = data.stat().st_size
        if size < needed:
            raise ValueError(f"data.mdb is {size} bytes, its last page ends at {needed}: truncated")
        meta_db = open_databases(env, create=False)["meta"]
        with env.begin() as txn:
            return {bytes(k).decode(): orjson.loads(bytes(v)) for k, v in txn.cursor(db=meta_db)}
    finally:
        env.close()


def open_index(backend: str, path: Path | None = None) -> tuple[ProductIndex, BuildStats | None]:
    """Open the index for an update run: rebuilt when it can't be trusted, else caught up with the log.

    Callers hold the run lock. The catch-up's figures are left on ``index.catchup``.
    """
    forget_warnings()
    if backend == "memory":
        return load_memory_index()
    if backend != "lmdb":
        raise ValueError(f"unknown index backend {backend!r}: choose lmdb or memory")
    stats = None
    for location in changelog.drop_stale_consumers():
        log.warning("dropped the index at %s from the change log's consumers: not seen for longer than "
                    "INDEX_CONSUMER_STALE_HOURS; it rebuilds when it returns", location)
    reason = why_rebuild(path)
    if reason is not None:
        log.warning("rebuilding index at %s: %s", path, reason)
        stats = build_lmdb_index(path, reason=reason)
    index = LmdbIndex(path)
    try:
        index.catchup = catch_up(index)
    except RebuildNeeded as exc:
        index.close()
        log.warning("rebuilding index at %s: %s", path, exc)
        stats = build_lmdb_index(path, reason=str(exc))
        index = LmdbIndex(path)
        index.catchup = catch_up(index)
    except BaseException:
        index.close()
        raise
    try:
        continuity.advance(index)
    except BaseException:
        index.close()
        raise
    return index, stats


def index_lock_path(path: Path) -> Path:
    """The update's run lock, beside the index: builds and catch-ups take it too."""
    return Path(path).parent / "update.lock"
