"""While a file is written: is the index still current, and which change-log rows are the file's own?

The index is trusted without asking the database about every key because nothing else is expected to
write the catalog during a file: other updates wait for the writer lock. Anything else (the site's
admin, a script, raw SQL) leaves rows in the change log, so before the file's first chunk, every tenth
chunk and every batch of lines to match, one query on the log's primary key says whether such a row
appeared (``update.managers.product``); if one did, it is applied to the file's index writer first.

The file's own writes fill the log too (the triggers can't tell who writes). Once the file's database
transaction and its index writes have committed, those rows are deleted, so the next start catches up
only on other writers' changes. If the process dies before that, they stay and the next start applies
them: the index never misses a committed write.

Telling rows apart: on SQLite the file's transaction is the only writer from BEGIN IMMEDIATE to COMMIT,
so every row logged in between is the file's own. On PostgreSQL each row carries the writing
transaction's id (``writer_txid``), and the rows of other transactions are the ones to apply. A file's
rows that another registered index still needs stay in the log after the file (``changelog.forget_own``);
the index's meta lists those files' transactions (``own_txids``) with their writes, so that neither the
next file nor the next start takes them for another writer's. The start's catch-up empties the list.
"""
from __future__ import annotations

import logging

from django.db import connection

from . import changelog
from .catchup import CatchupStats, apply_changes

log = logging.getLogger(__name__)


class FileFreshness:
    def __init__(self, index, writer):
        self.index = index
        self.writer = writer
        # Only an index that follows the change log can be checked against it (the memory backend and
        # the benchmark's designs are read whole from the database at start).
        self.active = getattr(index, "follows_change_log", False)
        self.postgresql = connection.vendor == "postgresql"
        self.started = False
        self.wrote = False         # a chunk of the file wrote rows the triggers log
        self.txid: int | None = None
        self.own_txids: list[int] = []  # PostgreSQL: this file's and earlier files' transactions (see below)
        self.checked_through = 0   # log ids up to here are applied to the index, or are the file's own
        self.own_after = 0         # the file's own rows have ids above this ...
        self.own_through = 0       # ... and up to this
        self.caught_up = CatchupStats()
        self.consumer: str | None = None  # this index's id among the log's registered consumers
        self.generation = 0

    def before_chunk(self) -> None:
        if not self.active:
            return
        if not self.started:
            self._start()
        elif self.postgresql:
            self._catch_up_others()
        # SQLite: no other connection can write while the file's transaction holds the write lock.

    def after_chunk(self, *, wrote: bool = True) -> None:
        """``wrote``: the chunk wrote rows the triggers log; if not, the log's head has not moved."""
        if self.active and wrote:
            self.wrote = True

    def before_commit(self) -> None:
        """Once per file, inside its transaction: how far the log reached with the file's own rows.

        Asked once rather than after every chunk: the file's own rows are all in the log by now, and a
        query per chunk was a statement per 500 lines for a figure only the end of the file needs.
        """
        if not self.active or not self.wrote:
            return
        self.own_through = max(self.own_through, changelog.head())
        # The file moves the generation on in the database (in its transaction) and in the index (in its
        # writer): a backup of either taken before this file then reads as older (diskcache_tier.continuity).
        self.generation += 1
        if not self.postgresql:
            # Every row up to here is applied (before the file) or the file's own (in this writer): the
            # watermark moves past them with the file's index writes, the meta being applied last.
            changelog.record_consumer(self.consumer, watermark=self.own_through, generation=self.generation)
            self.writer.set_meta("changes_applied_through", self.own_through)
        else:
            changelog.record_consumer(self.consumer, generation=self.generation)
            # The file's rows are deleted once its index writes commit, except those another registered
            # index has not applied yet: they stay in the log, and this index must not apply them again as
            # another writer's (that would forget what its lines last sent). The txid lands with the writes.
            self.writer.set_meta("own_txids", self.own_txids)
        self.writer.set_meta("generation", self.generation)

    def _start(self) -> None:
        self.started = True
        meta = self.index.meta()
        watermark = meta.get("changes_applied_through") or 0
        self.consumer, self.generation = meta.get("consumer"), meta.get("generation") or 0
        self.checked_through = watermark
        if self.postgresql:
            self.txid = changelog.current_txid()
            self.own_txids = [*(meta.get("own_txids") or []), self.txid]
        self._catch_up_others()
        # SQLite: the file has logged nothing yet, so every row after this one will be its own.
        self.own_after = watermark if self.postgresql else self.checked_through
        self.writer.on_commit(self.forget_own_changes)

    def _catch_up_others(self) -> None:
        head, first_other = changelog.head_and_first_other(self.checked_through, self.own_txids)
        if first_other is not None:
            for rows in changelog.read_changes(first_other - 1, head, 2_000, own_txids=self.own_txids):
                apply_changes(self.index, self.writer, rows, self.caught_up)
                self.caught_up.changes += len(rows)
            log.info("another writer changed the catalog during the file: %d logged changes applied to "
                     "the index first", self.caught_up.changes)
        self.checked_through = max(self.checked_through, head)

    def forget_own_changes(self) -> None:
        """After the file's index writes committed: its own log rows need no catch-up."""
        if self.wrote:
            changelog.record_consumer(self.consumer, confirmed=self.generation)
        if self.postgresql:
            if self.own_through > self.own_after:
                changelog.forget_own(self.own_after, self.own_through, self.txid, self.consumer)
        elif self.own_through:
            # The watermark moved to own_through with the file's index writes: every row up to it is applied.
            changelog.prune(self.own_through)
