"""Lines that change nothing: their store sent them before, and what they wrote is still as they left it.

Pass one of the reader keeps each line's digest and keys (``reader.Candidate``). As each chunk is read,
each candidate's keys are looked up in the index, and the product its first key names
gives the entry the index remembers for the file's store (``diskcache_tier.seen``). A candidate whose
digest and key owners equal that entry's is *seen*: it reaches no manager and sends no SQL; it only
claims its product, in stream order with the other lines, so that the store's absent prices are still
found and the first line of a product still prices it. Lines sharing a key are one unit, seen as one
when they all name one product whose entry is the whole unit's (``seen.unit_entry``); their warnings
about the shared key are still logged. Every other line is parsed and updated as usual.

Why that is exact: an update only ever adds to a product (empty fields filled, lists grown) and never
frees a key, so a line whose re-application changed nothing changes nothing later, as long as its keys
name the same products and no other writer touched its product (a catch-up forgets the entries of the
products another writer changed). The price side holds because only a line whose re-application
decides the same price is remembered (``PriceManager``), and any other write of that price forgets it.

With the skip off (``skip_unchanged``), no line is taken as seen, but the entries are kept all the same,
so turning it on again later is as exact as having left it on.
"""
from __future__ import annotations

from diskcache_tier.seen import unit_entry

from .context import FileContext
from .reader import Candidate, ReadLine, note_seen_group

# (digest, barcode, sku, nnbs) of each line of a unit the index may remember (``seen.unit_entry``).
Origin = tuple


class UnchangedLines:
    """Splits each chunk into its seen lines and the lines to update, and gathers the lines to update of
    several chunks into one batch for the managers (``take``).

    Gathering is what makes statements follow the changed lines: on a day of real change rates a chunk of
    500 lines holds a changed line or two, and each chunk the managers see costs its batched queries
    (products, SKUs, brands) whatever its number of lines. It is exact because a seen unit (a line, or
    lines sharing keys) shares no key with any other line of the file, so updating the lines of earlier
    chunks can change neither the products its keys name nor its entry (a line that prices the same
    product first only makes its claim fail, as it would have). A batch ends at ``batch_lines`` lines to
    update or ``max_lines`` lines in all, so that memory and the time between a chunk's freshness check
    and its update stay bounded.
    """

    def __init__(self, ctx: FileContext, *, skip: bool, batch_lines: int, max_lines: int):
        self.ctx = ctx
        self.skip = skip and ctx.index.remembers_lines
        self.company_id = ctx.store.company_id
        self.store_id = ctx.store.id
        self.batch_lines, self.max_lines = batch_lines, max_lines
        # The batch's parsed candidates, by id(ScrapedLine): the price manager remembers them.
        self._origins: dict[int, Origin] = {}
        # The batch's groups of parsed candidates: remembered as one when they go to one product (``settle``).
        self._groups: list[tuple[list[ReadLine], Origin]] = []
        self._positions: dict[int, int] = {}  # id(ScrapedLine) -> position in the batch
        self._units: list[list[ReadLine]] = []
        self._seen: list[tuple[int, int]] = []  # (position in the batch, product id) of each seen unit
        self._changed = 0  # lines to update in the batch
        self._lines = 0  # lines in the batch

    def add(self, chunk: list[list[ReadLine | Candidate]]) -> bool:
        """Split the chunk into the batch; True when the batch is full (``take`` it then)."""
        if not self._lines:
            self._origins, self._groups, self._positions = {}, [], {}
        alone = [unit[0] for unit in chunk if len(unit) == 1 and unit[0].__class__ is Candidate]
        groups = [unit for unit in chunk if len(unit) > 1 and unit[0].__class__ is Candidate]
        # The product each candidate unit was seen as (0: changed), in the chunk's order.
        found_alone = iter(self._seen_of(alone) if self.skip and alone else [0] * len(alone))
        found_groups = iter(self._groups_seen(groups) if self.skip and groups else [0] * len(groups))
        units, seen, position = self._units, self._seen, self._lines
        unchanged = 0
        for unit in chunk:
            if unit[0].__class__ is not Candidate:
                units.append(unit)
                position = self._place(unit, position)
                continue
            pid = next(found_alone) if len(unit) == 1 else next(found_groups)
            if pid:
                seen.append((position, pid))
                unchanged += len(unit)
                if len(unit) > 1:
                    note_seen_group(self.ctx.scratch, unit, pid)
                position += len(unit)
                continue
            reads = [item.parsed() for item in unit]
            if not any(read.warnings for read in reads):
                origin = tuple((item.digest, item.barcode, item.sku, item.nnbs) for item in unit)
                if len(unit) == 1:
                    self._origins[id(reads[0].line)] = origin
                else:
                    self._groups.append((reads, origin))
            units.append(reads)
            position = self._place(reads, position)
        self.ctx.result.lines_unchanged += unchanged
        self._lines = position
        return self._changed >= self.batch_lines or self._lines >= self.max_lines

    def _place(self, reads: list[ReadLine], position: int) -> int:
        for read in reads:
            self._positions[id(read.line)] = position
            position += 1
        self._changed += len(reads)
        return position

    def settle(self, pairs: list[tuple[object, int]]) -> None:
        """Once the batch's lines are updated: a group of candidates whose lines all went to one product
        may be remembered as one unit, whichever of its lines prices it (``origin_of``)."""
        product_of = {id(line): pid for line, pid in pairs}
        for reads, origin in self._groups:
            products = {product_of.get(id(read.line), 0) for read in reads}
            if len(products) == 1 and 0 not in products:
                for read in reads:
                    self._origins[id(read.line)] = origin
        self._groups = []

    def take(self) -> tuple[list[list[ReadLine]], list[tuple[int, int]]]:
        """The batch's units to update (every line parsed), and (position, product id) of each seen unit;
        the batch starts again empty (``origin_of`` answers for the batch taken until the next ``add``)."""
        taken = self._units, self._seen
        self._units, self._seen, self._changed, self._lines = [], [], 0, 0
        return taken

    def in_stream_order(self, pairs, seen: list[tuple[int, int]]) -> list[tuple[object, int]]:
        """The batch's (line, product id) pairs and its seen units (line None), in the file's order."""
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

    def _groups_seen(self, groups: list[list[Candidate]]) -> list[int]:
        """For each group of candidates, the product id if its lines all name that product and the index
        remembers them as its unit, exactly as they are (``seen.unit_entry``), else 0. Groups are few: the
        generic lookups do."""
        index = self.ctx.index
        keys = [(c.barcode, c.sku, c.nnbs) for group in groups for c in group]
        owners = iter(index.key_owners(self.company_id, keys))
        hits = [[next(owners) for _ in group] for group in groups]
        named = [{next((pid for pid in line if pid), 0) for line in group} for group in hits]
        products = [names.pop() if len(names) == 1 else 0 for names in named]
        entries = index.seen_many(self.store_id, {pid for pid in products if pid})
        return [pid if pid in entries and entries[pid] == unit_entry([c.digest for c in group], group_hits)
                else 0 for group, group_hits, pid in zip(groups, hits, products)]


def key_owners(index, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
    """For each (barcode, sku, nnbs), the product each key names in the index (0 for none), in the
    order a line's keys are tried: barcode, then SKU, then NNBS."""
    return index.key_owners(company_id, keys)
