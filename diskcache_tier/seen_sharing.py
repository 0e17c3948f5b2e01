"""Remembered lines stored once per price list: a store keeps an entry of its own only where it differs.

The stores of a chain send the same line for a product: the two Aldi stores held for testing send the
same fields for 2,605 of the 2,607 products they share, on each of three days. Entries per (product,
store) (``seen.py``) would grow with stores x products, where the database's prices grow with the list's
products and the stores' differences (docs/price-lists.md). The index stores them the same way:

* a **list entry**, key (product, list): a remembered line, and a bitmap of the stores of the list that
  share it (a store's bit is its ordinal in the list, given by the index when the store first writes);
* an **own entry**, key (product, store): a store's remembered line where it differs from its list's
  entry, or of a store without a list.

A store's remembered line of a product is the list entry if its bit is set there, else its own entry, else
none. A bit is set only by the store's own latest write (or by folding an own entry equal to the list's)
and cleared by any other, and setting it deletes the store's own entry, so the two never disagree. Each store's bit and own entry change only by its own writes (and by the catch-up, which forgets a
product for every store), so each store reads exactly what entries of its own would hold: which stores
share a list only decides the size. When more stores hold one value as their own entries than share the
list entry, the two swap; that happens once per product whose line changed, so its cost follows changes.

Bookkeeping lives under a product id no product has (2^64 - 1), so that forgetting a product (one range
of keys) never touches it: per store, its (list, ordinal); per list, the next ordinal; per (list, ordinal),
the store. A store's list is recorded the first time it writes and kept: if the database later moves the
store to another list, the index still groups it with the first, which costs size, never truth.

Everything here runs in the index's write transaction at commit (``LmdbWriter.commit``) or its reads.
"""
from __future__ import annotations

import struct

from .keys import id_bytes
from .seen import SEEN_SIZE

LIST_OWNER = 1 << 63  # the owner half of a list entry's key: the list's id with the top bit set
_BOOK = id_bytes((1 << 64) - 1)
_SHARING = struct.Struct(">QI")  # a store's list, its ordinal in it
_ORDINAL = struct.Struct(">I")


def list_key(product_id: int, list_id: int) -> bytes:
    return id_bytes(product_id) + id_bytes(LIST_OWNER | list_id)


def sharing_key(store_id: int) -> bytes:
    return _BOOK + id_bytes(store_id)


def _next_ordinal_key(list_id: int) -> bytes:
    return _BOOK + id_bytes(LIST_OWNER | list_id)


def _member_key(list_id: int, ordinal: int) -> bytes:
    return _BOOK + id_bytes(LIST_OWNER | list_id) + _ORDINAL.pack(ordinal)


def decode_sharing(raw) -> tuple[int, int] | None:
    return None if raw is None else _SHARING.unpack(bytes(raw))


# ------------------------------------------------------------------------ list entries on plain bytes


def has_bit(entry, ordinal: int) -> bool:
    at = SEEN_SIZE + (ordinal >> 3)
    return at < len(entry) and bool(entry[at] & (1 << (ordinal & 7)))


def with_bit(entry: bytes, ordinal: int, on: bool) -> bytes:
    """The list entry with the store's bit set or cleared (the bitmap without trailing zero bytes)."""
    bits = bytearray(entry[SEEN_SIZE:])
    at = ordinal >> 3
    if at >= len(bits):
        bits.extend(bytes(at + 1 - len(bits)))
    if on:
        bits[at] |= 1 << (ordinal & 7)
    else:
        bits[at] &= ~(1 << (ordinal & 7)) & 0xFF
    return bytes(entry[:SEEN_SIZE]) + bytes(bits).rstrip(b"\x00")


def sharers(entry) -> list[int]:
    """The ordinals whose bit is set."""
    return [8 * at + bit for at, byte in enumerate(bytes(entry[SEEN_SIZE:])) for bit in range(8)
            if byte & (1 << bit)]


def resolve(own, shared, ordinal: int | None):
    """A store's remembered line (its first SEEN_SIZE bytes): its list's if its bit is set there, else its
    own entry; None when neither (``LmdbIndex._remembered`` reads in this order)."""
    if shared is not None and ordinal is not None and has_bit(shared, ordinal):
        return shared[:SEEN_SIZE]
    return None if own is None else own[:SEEN_SIZE]


# ------------------------------------------------------------------- writes, in the index's transaction


class SharedSeen:
    """Applies one commit's remembered lines (own-entry writes, as a file's writer spells them) in the
    shared form. ``lists`` gives, for a store with no recorded list yet, the list it joins (or None)."""

    def __init__(self, txn, db, lists: dict[int, int | None]):
        self.txn, self.db, self.lists = txn, db, lists
        self._sharing: dict[int, tuple[int, int] | None] = {}

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Remember ``value`` as the store's line of the product (None: forget it); ``key`` is its own
        entry's key (``seen.seen_key``)."""
        product_id, store_id = struct.unpack(">QQ", key)
        sharing = self.sharing_of(store_id)
        if sharing is None:
            self._own(key, value)
            return
        list_id, ordinal = sharing
        at = list_key(product_id, list_id)
        shared = self._get(at)
        if value is None:
            self._delete(key)
            if shared is not None and has_bit(shared, ordinal):
                self._put_list(at, with_bit(shared, ordinal, False))
            return
        if shared is None:
            self._fold(product_id, list_id, at, with_bit(value, ordinal, True), store_id)
        elif shared[:SEEN_SIZE] == value:
            if not has_bit(shared, ordinal):
                self._put_list(at, with_bit(shared, ordinal, True))
            self._delete(key)
        else:
            shared = with_bit(shared, ordinal, False)
            if len(shared) <= SEEN_SIZE:  # no other store shared the old line: the list takes this one
                self._fold(product_id, list_id, at, with_bit(value, ordinal, True), store_id)
                return
            self._put_list(at, shared)
            self.txn.put(key, value, db=self.db)
            self._swap_if_outnumbered(product_id, list_id, at)

    def sharing_of(self, store_id: int) -> tuple[int, int] | None:
        """The store's (list, ordinal): recorded, or given now if it has a list to join."""
        if store_id in self._sharing:
            return self._sharing[store_id]
        sharing = decode_sharing(self.txn.get(sharing_key(store_id), db=self.db))
        list_id = self.lists.get(store_id)
        if sharing is None and list_id is not None:
            next_key = _next_ordinal_key(list_id)
            raw = self.txn.get(next_key, db=self.db)
            ordinal = 0 if raw is None else _ORDINAL.unpack(bytes(raw))[0]
            self.txn.put(next_key, _ORDINAL.pack(ordinal + 1), db=self.db)
            self.txn.put(_member_key(list_id, ordinal), id_bytes(store_id), db=self.db)
            self.txn.put(sharing_key(store_id), _SHARING.pack(list_id, ordinal), db=self.db)
            sharing = (list_id, ordinal)
        self._sharing[store_id] = sharing
        return sharing

    def _own(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self._delete(key)
        else:
            self.txn.put(key, value, db=self.db)

    def _get(self, key: bytes) -> bytes | None:
        raw = self.txn.get(key, db=self.db)
        return None if raw is None else bytes(raw)

    def _delete(self, key: bytes) -> None:
        self.txn.delete(key, db=self.db)

    def _put_list(self, key: bytes, entry: bytes) -> None:
        """A list entry nobody shares is no entry."""
        if len(entry) > SEEN_SIZE:
            self.txn.put(key, entry, db=self.db)
        else:
            self._delete(key)

    def _own_entries(self, product_id: int, list_id: int) -> dict[int, tuple[bytes, int]]:
        """The own entries of the product held by stores of the list: {store: (value, ordinal)}."""
        prefix = id_bytes(product_id)
        found = {}
        with self.txn.cursor(db=self.db) as cursor:
            # A product's own entries sort before its list entries (a store id has no top bit): most
            # products have none, and the first key after the prefix says so.
            if not cursor.set_range(prefix) or cursor.key()[:8] != prefix or cursor.key()[8] & 0x80:
                return found
            for key, value in cursor:
                key = bytes(key)
                if not key.startswith(prefix):
                    break
                store_id = int.from_bytes(key[8:16], "big")
                if store_id & LIST_OWNER:
                    continue
                found[store_id] = bytes(value)
        members = {}
        for store_id, value in found.items():
            sharing = self.sharing_of(store_id)
            if sharing is not None and sharing[0] == list_id:
                members[store_id] = (value, sharing[1])
        return members

    def _fold(self, product_id: int, list_id: int, at: bytes, entry: bytes, writer: int | None = None) -> None:
        """Write the list entry ``entry``; the stores of the list whose own entry holds its line share it
        instead. ``writer``, the store whose write made the entry (its bit is set), loses its own entry
        whatever it held."""
        for store_id, (value, ordinal) in self._own_entries(product_id, list_id).items():
            if store_id == writer:
                self._delete(id_bytes(product_id) + id_bytes(store_id))
            elif value == entry[:SEEN_SIZE]:
                entry = with_bit(entry, ordinal, True)
                self._delete(id_bytes(product_id) + id_bytes(store_id))
        self._put_list(at, entry)

    def _swap_if_outnumbered(self, product_id: int, list_id: int, at: bytes) -> None:
        """When more stores of the list hold one value as their own entries than share the list entry,
        that value becomes the list entry, and the stores that shared the old one get it as their own."""
        shared = self._get(at)
        if shared is None:
            return
        counts: dict[bytes, int] = {}
        for value, _ in self._own_entries(product_id, list_id).values():
            counts[value] = counts.get(value, 0) + 1
        if not counts:
            return
        value, count = max(counts.items(), key=lambda item: (item[1], item[0]))
        old_sharers = sharers(shared)
        if count <= len(old_sharers):
            return
        for ordinal in old_sharers:
            raw = self.txn.get(_member_key(list_id, ordinal), db=self.db)
            if raw is not None:
                self.txn.put(id_bytes(product_id) + bytes(raw), shared[:SEEN_SIZE], db=self.db)
        self._fold(product_id, list_id, at, value)
