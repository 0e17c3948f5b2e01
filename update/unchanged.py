"""Lines that change nothing: their store sent them before, and what they wrote is still as they left it.

Pass one of the reader keeps each line's digest and keys (``reader.Candidate``). As each chunk is read,
each candidate's keys are looked up in the index, and the product its first key names
gives the entry the index remembers for the file's store (``diskcache_tier.seen``). A candidate whose
digest and key owners equal that entry's is *seen*: it reaches no manager and sends no SQL; it only
claims its product, in stream order with the other lines, so that the store's absent prices are still
found and the first line of a product still prices it. Every other line is parsed and updated as usual.

Why that is exact: an update only ever adds to a product (empty fields filled, lists grown) and never
frees a key, so a line whose re-application changed nothing changes nothing later, as long as its keys
name the same products and no other writer touched its product (a catch-up forgets the entries of the
products another writer changed). The price side holds because only a line whose re-application
decides the same price is remembered (``PriceManager``), and any other write of that price forgets it.

With the skip off (``skip_unchanged``), no line is taken as seen, but the entries are kept all the same,
so turning it on again later is as exact as having left it on.

A small file (every line its own unit, see ``reader.read_units``) is judged in pass one already
(``Prejudged``): pass two then reads nothing again, and only the few changed lines were kept in memory.
The verdicts stand only while the index is as pass one read it: ``UnchangedLines`` asks again if the
file's catch-up applied another writer's changes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .context import FileContext
from .reader import Candidate, ReadLine, lines_by_number

Origin = tuple  # (digest, barcode, sku, nnbs) of a line that may be remembered


class Prejudged:
    """Pass one's verdicts on the lines of a small file of a known store: for each line, the product it was
    seen as (0: changed), and the bytes of the changed ones, so that pass two need not read the file again.

    Judged in batches of ``BATCH`` lines as pass one reads them, against the index as it is between files
    (no writer open). Given up (``usable`` False) once the file has more lines than the scratch keeps in
    dicts, or its changed lines more than ``MAX_KEPT_BYTES``: pass two then reads the file as usual.
    """
    BATCH = 500
    MAX_KEPT_BYTES = 4 << 20

    def __init__(self, index, store_key: str, store_id: int, company_id: int):
        self.index = index
        self.store_key = store_key  # update.lines.store_of of the metadata judged: lines of it only
        self.store_id, self.company_id = store_id, company_id
        self.pids: dict[int, int] = {}  # line number -> product seen as, 0 if changed
        self.kept: dict[int, bytes] = {}  # line number -> bytes, of the changed lines
        # line number -> (offset, length) of every line kept, where the file can be read again by offset:
        # a line pass two needs that was judged seen (one a later line joined to its group) is read alone.
        self.where: dict[int, tuple[int, int]] = {}
        self.seekable = False  # a plain file, not a compressed one (``finish``)
        self.usable = True
        self._batch: list[tuple[int, bytes, tuple]] = []
        self._kept_bytes = 0

    def add(self, raw, seen: tuple) -> None:
        """A line (``reader.RawLine``) of the store, first of its NNBS, with pass one's (digest, nnbs, sku,
        barcode)."""
        self.where[raw.line_no] = (raw.offset, len(raw.data))
        self._batch.append((raw.line_no, raw.data, seen))
        if len(self._batch) >= self.BATCH:
            self._judge()

    def give_up(self) -> None:
        self.usable = False
        self.pids, self.kept, self.where, self._batch = {}, {}, {}, []

    def finish(self, *, seekable: bool) -> "Prejudged | None":
        """Judge what is left; self, or None when given up."""
        if self.usable and self._batch:
            self._judge()
        self.seekable = seekable
        return self if self.usable else None

    def read(self, path: Path, line_numbers: set[int]) -> dict[int, bytes]:
        """The bytes of lines of a plain file, by their offsets."""
        found = {}
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            for line_no in sorted(line_numbers):
                offset, length = self.where[line_no]
                found[line_no] = data = os.pread(fd, length, offset)
                if len(data) != length:
                    raise OSError(f"{path.name} changed while it was read: line {line_no} is gone")
        finally:
            os.close(fd)
        return found

    def _judge(self) -> None:
        batch, self._batch = self._batch, []
        found = self.index.seen_lines(self.company_id, self.store_id,
                                      [(digest, barcode, sku, nnbs) for _, _, (digest, nnbs, sku, barcode) in batch])
        pids, kept = self.pids, self.kept
        for (line_no, data, _), pid in zip(batch, found):
            pids[line_no] = pid
            if not pid:
                kept[line_no] = data
                self._kept_bytes += len(data)
        if self._kept_bytes > self.MAX_KEPT_BYTES:
            self.give_up()


class Prejudging:
    """What pass one judges a file's lines with (``reader.survey``'s ``prejudge``): given the metadata of
    the file's first usable line, a ``Prejudged`` for its store, or None (a store not in the catalog yet
    has no remembered lines). The store it looked up is kept (``found``), so that the file's checks do not
    ask for it again."""

    def __init__(self, index):
        self.index = index
        self.found: dict[str, object] = {}  # update.lines.store_of -> the Store, or None

    def __call__(self, meta) -> Prejudged | None:
        from .lines import store_of
        from .managers.store import find_store

        store = find_store(meta)
        self.found[store_of(meta)] = store
        return None if store is None else Prejudged(self.index, store_of(meta), store.id, store.company_id)


def prejudging(index, skip: bool) -> Prejudging | None:
    """A ``Prejudging`` for the file, or None when no line can be taken as seen."""
    if not (skip and getattr(index, "remembers_lines", False) and getattr(index, "is_current", False)):
        return None
    return Prejudging(index)


class UnchangedLines:
    """Splits each chunk into its seen lines and the lines to update, and gathers the lines to update of
    several chunks into one batch for the managers (``take``).

    Gathering is what makes statements follow the changed lines: on a day of real change rates a chunk of
    500 lines holds a changed line or two, and each chunk the managers see costs its batched queries
    (products, SKUs, brands) whatever its number of lines. It is exact because a seen line is alone in
    its unit: no other line of the file shares one of its keys, so updating the lines of earlier chunks
    can change neither the products its keys name nor its entry (a line that prices the same product
    first only makes its claim fail, as it would have). A batch ends at ``batch_lines`` lines to update or
    ``max_lines`` lines in all, so that memory and the time between a chunk's freshness check and its
    update stay bounded.
    """

    def __init__(self, ctx: FileContext, *, skip: bool, batch_lines: int, max_lines: int,
                 verdicts_stand: Callable[[], bool] = lambda: False):
        self.ctx = ctx
        self.skip = skip and ctx.index.remembers_lines
        # Whether pass one's verdicts (``Prejudged``) still hold: asked before each chunk that has them.
        self.verdicts_stand = verdicts_stand
        self.company_id = ctx.store.company_id
        self.store_id = ctx.store.id
        self.batch_lines, self.max_lines = batch_lines, max_lines
        # The batch's parsed candidates, by id(ScrapedLine): the price manager remembers them.
        self._origins: dict[int, Origin] = {}
        self._positions: dict[int, int] = {}  # id(ScrapedLine) -> position in the batch
        self._units: list[list[ReadLine]] = []
        self._seen: list[tuple[int, int]] = []  # (position in the batch, product id) of each seen line
        self._changed = 0  # lines to update in the batch
        self._lines = 0  # lines in the batch

    def add(self, chunk: list[list[ReadLine | Candidate]]) -> bool:
        """Split the chunk into the batch; True when the batch is full (``take`` it then)."""
        if not self._lines:
            self._origins, self._positions = {}, {}
        candidates = [item for unit in chunk for item in unit if item.__class__ is Candidate]
        # The product each candidate was seen as (0: changed), in the chunk's order.
        found = iter(self._found(candidates))
        units, seen, position = self._units, self._seen, self._lines
        unchanged = len(seen)
        for unit in chunk:
            kept = []
            for item in unit:
                candidate = item.__class__ is Candidate
                pid = next(found) if candidate else 0
                if pid:
                    seen.append((position, pid))
                else:
                    read = item.parsed() if candidate else item
                    if candidate and not read.warnings:
                        self._origins[id(read.line)] = (item.digest, item.barcode, item.sku, item.nnbs)
                    self._positions[id(read.line)] = position
                    kept.append(read)
                position += 1
            if kept:
                units.append(kept)
                self._changed += len(kept)
        self.ctx.result.lines_unchanged += len(seen) - unchanged
        self._lines = position
        return self._changed >= self.batch_lines or self._lines >= self.max_lines

    def take(self) -> tuple[list[list[ReadLine]], list[tuple[int, int]]]:
        """The batch's units to update (every line parsed), and (position, product id) of each seen line;
        the batch starts again empty (``origin_of`` answers for the batch taken until the next ``add``)."""
        taken = self._units, self._seen
        self._units, self._seen, self._changed, self._lines = [], [], 0, 0
        return taken

    def in_stream_order(self, pairs, seen: list[tuple[int, int]]) -> list[tuple[object, int]]:
        """The batch's (line, product id) pairs and its seen lines (line None), in the file's order."""
        if not pairs:  # a batch whose lines all changed nothing: already in order
            return [(None, pid) for _, pid in seen]
        merged = [(self._positions[id(line)], line, pid) for line, pid in pairs]
        merged += [(position, None, pid) for position, pid in seen]
        merged.sort(key=lambda item: item[0])
        return [(line, pid) for _, line, pid in merged]

    def origin_of(self, line) -> Origin | None:
        return self._origins.get(id(line))

    def _found(self, candidates: list[Candidate]) -> list[int]:
        """The product each candidate was seen as, 0 for a changed one: pass one's verdicts while they
        stand, else asked now; a line to update that pass one kept no bytes of is read again."""
        if not candidates:
            return []
        if self.skip and candidates[0].pid >= 0 and self.verdicts_stand():
            return [c.pid for c in candidates]
        found = self._seen_of(candidates) if self.skip else [0] * len(candidates)
        unread = {c.line_no for c, pid in zip(candidates, found) if not pid and c.data is None}
        if unread:
            data = lines_by_number(Path(self.ctx.path), unread)
            for c, pid in zip(candidates, found):
                if not pid and c.data is None:
                    c.data = data[c.line_no]
        return found

    def _seen_of(self, candidates: list[Candidate]) -> list[int]:
        """For each candidate, the product id if the index remembers it exactly as it is, else 0."""
        return self.ctx.index.seen_lines(self.company_id, self.store_id,
                                         [(c.digest, c.barcode, c.sku, c.nnbs) for c in candidates])


def key_owners(index, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
    """For each (barcode, sku, nnbs), the product each key names in the index (0 for none), in the
    order a line's keys are tried: barcode, then SKU, then NNBS."""
    return index.key_owners(company_id, keys)
