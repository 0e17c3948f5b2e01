"""One file's index writes, held on disk until the database has committed them.

Holding them in one long LMDB write transaction would keep every page they touch as a private, anonymous
copy in this process until commit: a day with 50k drifted NNBS spellings dirties most leaves of the NNBS
tree, and that grew the update's memory with the catalog. Here they go to a small scratch LMDB opened
with writemap, whose dirty pages are shared file pages the kernel can write out and drop. Reads during
the file look here first; on commit the writes are applied to the index in bounded transactions.
"""
from __future__ import annotations

import shutil
from typing import Iterator

import lmdb

from . import scratch_dirs

# Address space, not disk: the sparse scratch file only grows by the pages one file's writes need.
_PENDING_MAP_SIZE = 8 << 30
_PUT, _DELETE = b"P", b"D"
# A filter of the keys written, one bit per hash: a read of a key it has no bit for skips the pending
# store, one get instead of two. 2^20 bits (128 KB, whatever the file) stay mostly clear for the tens of
# thousands of keys a day writes; a key that shares a bit costs only the look it would have had anyway.
_FILTER_BITS = 1 << 20
DELETED = object()


class PendingWrites:
    """A scratch environment and one write transaction on it, for the life of one file's writer.

    The transaction is never committed: the writes are read back from it and the whole environment is
    thrown away, so it needs neither fsync nor a free list.
    """

    def __init__(self, db_names: tuple[str, ...]):
        self.path = scratch_dirs.make("index-pending-")
        self.env = lmdb.open(str(self.path), map_size=_PENDING_MAP_SIZE, max_dbs=len(db_names), writemap=True,
                             sync=False, metasync=False, readahead=False)
        self.db_names = db_names
        self.dbs = {name: self.env.open_db(name.encode()) for name in db_names}
        self.txn = self.env.begin(write=True)
        self.count = 0
        self._written = set()  # the databases this file wrote to: a read of another needs no look here
        self._filter = bytearray(_FILTER_BITS // 8)

    def restart(self) -> None:
        """Forget every write, for the next file: the transaction was never committed, so aborting it
        leaves the environment empty, and its pages are reused (opening an environment per file cost
        about 2 ms, a day of small files pays that hundreds of times)."""
        self.txn.abort()
        self.txn = self.env.begin(write=True)
        self.count = 0
        self._written.clear()
        self._filter = bytearray(_FILTER_BITS // 8)

    def put(self, db_name: str, key: bytes, value: bytes) -> None:
        self.txn.put(key, _PUT + value, db=self.dbs[db_name])
        self._note(db_name, key)

    def delete(self, db_name: str, key: bytes) -> None:
        self.txn.put(key, _DELETE, db=self.dbs[db_name])
        self._note(db_name, key)

    def _note(self, db_name: str, key: bytes) -> None:
        self.count += 1
        self._written.add(db_name)
        bit = hash(bytes(key)) % _FILTER_BITS
        self._filter[bit >> 3] |= 1 << (bit & 7)

    def may_hold(self, key: bytes) -> bool:
        """False when no database has a pending write of ``key``; True when one may have."""
        bit = hash(bytes(key)) % _FILTER_BITS
        return bool(self._filter[bit >> 3] & (1 << (bit & 7)))

    def written(self, db_name: str) -> bool:
        """Whether this file has written (put or deleted) any key of the database."""
        return db_name in self._written

    def get(self, db_name: str, key: bytes):
        """The pending value of a key (bytes, not a buffer): bytes, DELETED, or None when this file has not
        written it."""
        bit = hash(key) % _FILTER_BITS  # may_hold, inline: this runs for most gets of a file
        if not self._filter[bit >> 3] & (1 << (bit & 7)):
            return None
        raw = self.txn.get(key, db=self.dbs[db_name])
        if raw is None:
            return None
        return DELETED if raw[:1] == _DELETE else raw[1:]

    def items(self, db_name: str) -> Iterator[tuple[bytes, object]]:
        """The pending (key, value or DELETED) pairs of one database."""
        for key, raw in self.txn.cursor(db=self.dbs[db_name]):
            yield key, DELETED if raw[:1] == _DELETE else raw[1:]

    def writes(self, batch_size: int) -> Iterator[list[tuple[str, bytes, bytes | None]]]:
        """Batches of (database, key, value or None for a delete), in database order, keys sorted."""
        batch = []
        for name in self.db_names:
            for key, raw in self.txn.cursor(db=self.dbs[name]):
                batch.append((name, key, None if raw[:1] == _DELETE else raw[1:]))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self.txn.abort()
        self.env.close()
        shutil.rmtree(self.path, ignore_errors=True)
