"""Lines that change nothing: their store sent them before, and what they wrote is still as they left it.

Pass one of the reader keeps each line's digest and keys (``reader.Candidate``). Before a chunk goes to
the managers, each candidate's keys are looked up in the index, and the product its first key names
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
    def __init__(self, ctx: FileContext, *, skip: bool):
        self.ctx = ctx
        self.skip = skip and ctx.index.remembers_lines
        self.company_id = ctx.store.company_id
        self.store_id = ctx.store.id
        # The chunk's parsed candidates, by id(ScrapedLine): the price manager remembers them.
        self._origins: dict[int, Origin] = {}
        self._positions: dict[int, int] = {}

    def split(self, chunk: list[list[ReadLine | Candidate]]) -> tuple[list[list[ReadLine]], list[tuple[int, int]]]:
        """The chunk's units to update (every line parsed), and (position in the chunk, product id) of
        each seen line."""
        candidates = [item for unit in chunk for item in unit if item.__class__ is Candidate]
        # The product each candidate was seen as (0: changed), in the chunk's order.
        found = iter(self._seen(candidates) if self.skip and candidates else [0] * len(candidates))
        self._origins, self._positions = {}, {}
        units: list[list[ReadLine]] = []
        seen: list[tuple[int, int]] = []
        position = 0
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
        self.ctx.result.lines_unchanged += len(seen)
        return units, seen

    def in_stream_order(self, pairs, seen: list[tuple[int, int]]) -> list[tuple[object, int]]:
        """The chunk's (line, product id) pairs and its seen lines (line None), in the chunk's order."""
        if not pairs:  # a chunk whose lines all changed nothing (most chunks): already in order
            return [(None, pid) for _, pid in seen]
        merged = [(self._positions[id(line)], line, pid) for line, pid in pairs]
        merged += [(position, None, pid) for position, pid in seen]
        merged.sort(key=lambda item: item[0])
        return [(line, pid) for _, line, pid in merged]

    def origin_of(self, line) -> Origin | None:
        return self._origins.get(id(line))

    def _seen(self, candidates: list[Candidate]) -> list[int]:
        """For each candidate, the product id if the index remembers it exactly as it is, else 0."""
        return self.ctx.index.seen_lines(self.company_id, self.store_id,
                                         [(c.digest, c.barcode, c.sku, c.nnbs) for c in candidates])


def key_owners(index, company_id: int, keys: list[tuple]) -> list[tuple[int, int, int]]:
    """For each (barcode, sku, nnbs), the product each key names in the index (0 for none), in the
    order a line's keys are tried: barcode, then SKU, then NNBS."""
    return index.key_owners(company_id, keys)
