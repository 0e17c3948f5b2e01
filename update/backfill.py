"""Price history from the archive: every file the update applied, replayed oldest first into history
only, so that a new site starts with the history its archive holds (issue 22, item 4).

Current prices, products and the index are never changed. Each file is one transaction; a line's product
is found by its keys in the index (barcode, then the company's SKU, then NNBS), the first line of a
product wins, and its price is decided against the store's row in force before the file, the way the
update decides it: a row where price, was_price, special or unit price changed, an end row for a product
the store priced before and the file does not list. A file's date that already has a product's row is
left as it is, so a second replay, or one over history the update wrote live, adds nothing.
Memory stays flat: lines go by in batches, and which products a file priced is kept in the scratch LMDB.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from django.db import transaction

from prices import history
from prices.in_force import priced_before, rows_around
from prices.models import PriceHistory

from .bulk import insert_rows
from .inbox import list_inbox
from .lines import LineRejected, ScrapedLine, parse_line, parse_meta, store_of
from .managers.price import shown_was_price
from .managers.store import find_store
from .reader import InputFile, decode, numbered_lines
from .scratch import FileScratch
from .unchanged import key_owners

# Lines decided per query of the history in force; products per keyset batch of the end rows.
BATCH = 2_000


@dataclass
class BackfillResult:
    files: int = 0
    rows_added: int = 0
    rows_present: int = 0  # changes whose row history already had
    lines_unmatched: int = 0  # lines whose keys name no product in the index
    skipped: list[str] = field(default_factory=list)  # "name: why"

    def summary(self) -> str:
        return (f"{self.files} archived files replayed: {self.rows_added} history rows added, "
                f"{self.rows_present} already there; {self.lines_unmatched} lines matched no product"
                + (f"; {len(self.skipped)} skipped (each said why on stderr)" if self.skipped else ""))


def backfill(archive: Path, index, progress) -> BackfillResult:
    result = BackfillResult()
    files, _ = list_inbox(archive)  # the inbox's order: oldest date first, then by name
    with FileScratch() as scratch:
        for entry in files:
            scratch.reset()
            why = replay_file(entry.path, index, scratch, progress, result)
            if why:
                result.skipped.append(f"{entry.name}: {why}")
                progress.warn(f"skipped {entry.name}: {why}")
    return result


def replay_file(path: Path, index, scratch: FileScratch, progress, result: BackfillResult) -> str | None:
    """Add the file's changes to history; why it was skipped, or None."""
    progress.file_started(path.name, path.stat().st_size)
    progress.pass_started("backfilling")
    with InputFile(path) as source:
        lines = _lines(numbered_lines(source, on_position=progress.bytes_read))
        first = next(lines, None)
        if first is None:
            return "no usable line"
        meta = first[1]
        store = find_store(meta)
        if store is None:
            return f"no store {store_of(meta)} in the catalog"
        added, present = result.rows_added, result.rows_present
        with transaction.atomic():
            own = (line for line, line_meta in chain([first], lines) if store_of(line_meta) == store_of(meta))
            while batch := list(islice(own, BATCH)):
                _replay(batch, store, meta.scraped_date, index, scratch, result)
            _end_rows(store.id, meta.scraped_date, scratch, result)
    result.files += 1
    progress.note(f"{path.name}: {result.rows_added - added} history rows added, "
                  f"{result.rows_present - present} already there")
    return None


def _lines(raws):
    """(ScrapedLine, its metadata) of each line the update would keep."""
    for raw in raws:
        record = decode(raw)
        if isinstance(record, LineRejected):
            continue
        try:
            yield parse_line(raw.line_no, record), parse_meta(record.get("metadata"))
        except LineRejected:
            continue


def _replay(batch, store, day, index, scratch: FileScratch, result: BackfillResult) -> None:
    owners = key_owners(index, store.company_id, [(line.barcode, line.sku, line.nnbs) for line in batch])
    firsts = []
    with scratch.begin() as txn:
        for line, hits in zip(batch, owners):
            product_id = next((pid for pid in hits if pid), 0)
            if not product_id:
                result.lines_unmatched += 1
            elif scratch.claim_product(txn, product_id):
                firsts.append((line, product_id))
    before, present = rows_around(store.id, [pid for _, pid in firsts], day)
    rows = []
    for line, product_id in firsts:
        fields = _decided(before.get(product_id), line)
        if fields is None:
            continue
        if product_id in present:
            result.rows_present += 1
        else:
            rows.append(history.change_row(store.id, product_id, day, fields))
    result.rows_added += insert_rows(PriceHistory, history.ROW_FIELDS, rows)


def _decided(before, line: ScrapedLine) -> dict | None:
    """The history fields the line gives after the row in force ``before`` (None, or an end row: no price),
    or None when they are that row's: the update's decision (``managers.price.decide``) seen from history."""
    previous = None if before is None else before.price
    fields = {"price": line.price, "was_price": shown_was_price(previous, line),
              "is_on_special": line.is_on_special, "unit_price": line.unit_price}
    if previous is None or history.changed(before, fields):
        return fields
    return None


def _end_rows(store_id: int, day, scratch: FileScratch, result: BackfillResult) -> None:
    """An end row for each product the store priced before ``day`` that the file does not list."""
    last = 0
    while ids := priced_before(store_id, day, last, BATCH):
        last = ids[-1]
        with scratch.env.begin() as txn:
            absent = [pid for pid, claim in zip(ids, scratch.price_claims(txn, ids)) if claim is None]
        _, present = rows_around(store_id, absent, day)
        result.rows_present += len(present)
        result.rows_added += insert_rows(PriceHistory, history.ROW_FIELDS,
                                         [history.end_row(store_id, pid, day) for pid in absent if pid not in present])
