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
"""
from __future__ import annotations

from .context import FileContext
from .reader import Candidate, ReadLine

Origin = tuple  # (digest, barcode, sku, nnbs) of a line that may be remembered


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

    def __init__(self, ctx: FileContext, *, skip: bool, batch_lines: int, max_lines: int):
        self.ctx = ctx
        self.skip = skip and ctx.index.remembers_lines
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
        found = iter(self._seen_of(candidates) if self.skip and candidates else [0] * len(candidates))
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

    def _seen_of(self, candidates: list[Candidate]) -> list[int]:
        """For each candidate, the product id if the index remembers it exactly as it is, else 0."""
        return self.ctx.index.seen_lines(self.company_id, self.store_id,
                                         [(c.digest, c.barcode, c.sku, c.nnbs) for c in candidates])


def key_owners(index, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
    """For each (barcode, sku, nnbs), the product each key names in the index (0 for none), in the
    order a line's keys are tried: barcode, then SKU, then NNBS."""
    return index.key_owners(company_id, keys)
