"""The index a dry run reads: the on-disk LMDB index, opened read-only, with every write in overlays.

A real run catches the index up with the change log, then writes each file's keys. A dry run does the
same work but keeps it off the disk: the catch-up's writes go to an overlay kept for the run (a scratch
LMDB on disk, so memory stays flat, as in a real run), and the catch-up's pruning of the log is rolled
back; each file's own writes go to its per-file overlay, which the dry run always aborts. So a dry run
costs what a run costs, and the index folder and the database are left as they were.
"""
from __future__ import annotations

import logging
from pathlib import Path

import orjson
from django.db import transaction

from diskcache_tier.build_index import load_memory_index, why_rebuild
from diskcache_tier.catchup import RebuildNeeded, catch_up
from diskcache_tier.lookup import _DB_ORDER, LmdbIndex, LmdbWriter, ProductIndex
from diskcache_tier.pending import DELETED, PendingWrites
from diskcache_tier.seen import seen_key

log = logging.getLogger(__name__)


class DryRunIndex(LmdbIndex):
    backend = "lmdb"

    def __init__(self, path: Path):
        super().__init__(path, readonly=True)
        # What a real run would have written to the index before its first file: the catch-up.
        self._run_overlay = PendingWrites(_DB_ORDER)
        # Products whose remembered lines the catch-up forgot (another writer changed them): a real run
        # deletes those entries at its commit; the dry run leaves the index alone and ignores them instead.
        self._run_forgotten: set[int] = set()

    def _lookup(self, db_name, raw_keys, decode) -> dict:
        pending, overlay, db = self._pending, self._run_overlay, self.dbs[db_name]
        found = {}
        with self.env.begin(buffers=True) as txn:
            for key, raw_key in raw_keys:
                value = pending.get(db_name, raw_key) if pending is not None else None
                if value is None:
                    value = overlay.get(db_name, raw_key)
                if value is DELETED:
                    continue
                if value is None:
                    value = txn.get(raw_key, db=db)
                if value is not None:
                    found[key] = decode(value)
        return found

    # Read through ``_lookup``, which reads the run's overlay too; LmdbIndex's own reads only the file's.
    seen_lines = ProductIndex.seen_lines
    key_owners = ProductIndex.key_owners

    def seen_many(self, store_id, product_ids):
        return super().seen_many(store_id, [pid for pid in product_ids if pid not in self._run_forgotten])

    def _remembered(self, txn, store_id):
        """As the index's, with the remembered lines earlier files of the run wrote (kept in the overlay,
        per store, as the writer spells them) between the file's own and the disk's."""
        on_disk, overlay, pending = super()._remembered(txn, store_id), self._run_overlay, self._pending
        if not overlay.written("seen"):
            return on_disk

        def remembered(pid):
            key = seen_key(pid, store_id)
            for writes in (pending, overlay):
                value = writes.get("seen", key) if writes is not None else None
                if value is not None:
                    return None if value is DELETED else value
            return on_disk(pid)
        return remembered

    def meta(self) -> dict:
        meta = super().meta()
        for key, value in self._run_overlay.items("meta"):
            if self._pending is None or self._pending.get("meta", key) is None:
                if value is DELETED:
                    meta.pop(key.decode(), None)
                else:
                    meta[key.decode()] = orjson.loads(value)
        return meta

    def writer(self) -> "OverlayWriter":
        super().writer()
        return OverlayWriter(self)

    def close(self) -> None:
        super().close()
        self._run_overlay.close()


class OverlayWriter(LmdbWriter):
    """Commits into the run's overlay, never into the read-only index (only the catch-up commits)."""

    def commit(self):
        overlay = self.index._run_overlay
        self.index._run_forgotten.update(self.index._forgotten)
        try:
            for batch in self.pending.writes(10_000):
                for db_name, key, value in batch:
                    if value is None:
                        overlay.delete(db_name, bytes(key))
                    else:
                        overlay.put(db_name, bytes(key), bytes(value))
        finally:
            self.index._finish_write()


def open_dry_run_index(path: Path):
    """(index, note): the on-disk index read-only and caught up in an overlay, or, when it would have to be
    rebuilt (a dry run builds nothing), a snapshot of the database in memory, and why."""
    problem = why_rebuild(path)
    if problem is None:
        index = DryRunIndex(path)
        try:
            with transaction.atomic():
                index.catchup = catch_up(index)
                # The log's pruning is the catch-up's only database write: undone.
                transaction.set_rollback(True)
            return index, ""
        except RebuildNeeded as exc:
            index.close()
            problem = str(exc)
        except BaseException:
            index.close()
            raise
    note = f"the index at {path} would be rebuilt ({problem}): this dry run read a snapshot in memory instead"
    log.warning(note)
    index, _ = load_memory_index()
    return index, note
