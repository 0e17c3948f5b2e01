"""Where a product's prices are stored among a list and its stores, chosen again without changing what any
store reads (docs/price-lists.md, "Sharing again").

``placement`` decides on plain values: given what each store of a list reads of a product, which content
the list's entry should hold (or none). ``share_products`` applies it to a batch of products: one read of
the list's and its stores' rows, then bulk inserts, updates and deletes. Used by the update after a file
wrote rows of its store's own, and by catalog migration 0011 (with the migration's models) on the previous
release's rows.
"""
from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable

from django.db.models import Q

# What a price is, for sharing: every stored field but the date and the owner. Two rows with equal values
# here are one price; Decimals compare by amount, so a stored 1.2000 equals a decided 1.2.
CONTENT_FIELDS = ["price", "was_price", "save_amount", "unit_price", "unit_of_measure", "per_unit_price_string",
                  "is_on_special", "price_hash", "reference_price", "is_real_reduction"]
ROW_FIELDS = ["id", "product_id", "store_id", "price_list_id", "scraped_date", *CONTENT_FIELDS]
# Products placed per read: the read returns up to (stores of the list + 1) rows per product, so 500
# products of a list of 100 stores is at most 50,500 small rows in memory at once.
SHARE_BATCH = 500

GAP = {"price": None, "was_price": None, "save_amount": None, "unit_price": None, "unit_of_measure": None,
       "per_unit_price_string": None, "is_on_special": False, "price_hash": "", "reference_price": None,
       "is_real_reduction": None}


def content_key(values) -> tuple | None:
    """The content of a row or of decided fields (an object with CONTENT_FIELDS, or a dict): None for a gap."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    if get("price") is None:
        return None
    return tuple(get(name) for name in CONTENT_FIELDS)


def placement(entry: Hashable | None, readings: Iterable[Hashable | None]) -> Hashable | None:
    """The content the list's entry should hold, given the list's ``entry`` now and what each store of the
    list reads (None: does not carry it): the fewest rows. An entry costs itself plus a row for every store
    reading anything else (its own price, or a gap); no entry costs a row per store that carries the
    product. A tie keeps an ``entry``, so that placing again writes nothing; else it takes the price most
    stores read, since a gap is a narrower row than a price, and a store joining later may share it."""
    readings = list(readings)
    counts = Counter(reading for reading in readings if reading is not None)

    def cost(content):
        if content is None:
            return sum(counts.values())
        return 1 + len(readings) - counts[content]

    candidates = [*(content for content, _ in counts.most_common()), None]
    fewest = min(cost(content) for content in candidates)
    if entry is not None and cost(entry) == fewest:
        return entry
    return next(content for content in candidates if cost(content) == fewest)


def share_products(Price, price_list_id: int, store_ids: list[int], product_ids: list[int]) -> None:
    """Place the products again among the list and its stores (``Price`` is the model: the migration passes
    its own). No store's reading changes."""
    for start in range(0, len(product_ids), SHARE_BATCH):
        _share_batch(Price, price_list_id, store_ids, product_ids[start:start + SHARE_BATCH])


def _share_batch(Price, price_list_id: int, store_ids: list[int], product_ids: list[int]) -> None:
    rows = (Price.objects.filter(product_id__in=product_ids)
            .filter(Q(price_list_id=price_list_id) | Q(store_id__in=store_ids))
            .values_list(*ROW_FIELDS, named=True))
    entries, own = {}, {}
    for row in rows:
        if row.price_list_id is not None:
            entries[row.product_id] = row
        else:
            own[(row.store_id, row.product_id)] = row
    to_insert, to_update, to_delete = [], [], []
    for pid in product_ids:
        entry = entries.get(pid)
        rows_read = {}
        for store_id in store_ids:
            row = own.get((store_id, pid), entry)
            rows_read[store_id] = row if row is not None and row.price is not None else None
        keys = {store_id: (None if row is None else content_key(row)) for store_id, row in rows_read.items()}
        entry_key = None if entry is None else content_key(entry)
        chosen = placement(entry_key, keys.values())
        if chosen == entry_key:
            _collect(pid, entry, chosen, keys, own, to_delete)
            continue
        sources = [rows_read[s] for s, key in keys.items() if key == chosen]
        for store_id, key in keys.items():
            mine = own.get((store_id, pid))
            if key == chosen:
                if mine is not None:
                    to_delete.append(mine.id)
            elif key is None:
                if mine is None and chosen is not None:
                    to_insert.append(Price(product_id=pid, store_id=store_id,
                                           scraped_date=(entry or sources[0]).scraped_date, **GAP))
                elif mine is not None and chosen is None:
                    to_delete.append(mine.id)  # a gap with no entry to hide
            elif mine is None:  # it read the old entry, which changes: it keeps it as its own
                to_insert.append(_copy(Price, entry, store_id=store_id))
        if chosen is None:
            to_delete.append(entry.id)
            continue
        date = min(source.scraped_date for source in sources)
        fields = dict(zip(CONTENT_FIELDS, chosen), scraped_date=date)
        if entry is None:
            to_insert.append(Price(product_id=pid, price_list_id=price_list_id, **fields))
        else:
            to_update.append(Price(id=entry.id, product_id=pid, price_list_id=price_list_id, **fields))
    # Deletes first: an own row moving into the list and a gap replacing it share no unique key, but an
    # entry's update must not meet the row it replaces.
    if to_delete:
        Price.objects.filter(id__in=to_delete).delete()
    if to_update:
        Price.objects.bulk_update(to_update, ["scraped_date", *CONTENT_FIELDS])
    if to_insert:
        Price.objects.bulk_create(to_insert)


def _collect(pid: int, entry, chosen, keys: dict, own: dict, to_delete: list) -> None:
    """The entry stays: delete the store rows that say what the list already says (an own price equal to
    the entry, a gap with no entry to hide)."""
    for store_id, key in keys.items():
        mine = own.get((store_id, pid))
        if mine is None:
            continue
        if (key is not None and key == chosen) or (key is None and entry is None):
            to_delete.append(mine.id)


def _copy(Price, row, **owner):
    return Price(product_id=row.product_id, scraped_date=row.scraped_date,
                 **{name: getattr(row, name) for name in CONTENT_FIELDS}, **owner)
