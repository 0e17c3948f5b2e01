"""What a store's file last applied to a product: the line that priced it, by digest.

A scraped line changes nothing when it is the line its store sent last time, it still resolves through
the same keys to the same products, and the product and price it wrote are still as it left them. Then
the update needs no SQL for it. The index remembers, for each (product, store) whose current price a
line wrote:

* the digest of that line's product object (every field the update reads, prices included), and
* the product each of its keys named once the file was written (barcode, SKU, NNBS; 0 for none).

A line whose digest and key owners are the same again is "seen": it costs its parse, its digest, its key
lookups and this one get. Only a line whose re-application would change nothing is remembered: not one
with warnings of its own (they are reported again), not one whose was-price came from a price fall (the
next scrape clears it). Lines of a file that share keys are one unit, remembered as one when they all
went to one product (``unit_entry``). Whatever else writes the store's price forgets the entry; a
catch-up that sees another writer change a product forgets every store's entry of it.

Keys are the product id then the store id, so forgetting a product is one range of keys.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from .keys import id_bytes

DIGEST_SIZE = 16
_HITS = struct.Struct(">QQQ")
SEEN_SIZE = DIGEST_SIZE + _HITS.size  # what ``encode_seen`` writes


@dataclass(frozen=True, slots=True)
class SeenLine:
    digest: bytes
    hits: tuple[int, int, int]  # owner of the line's barcode, SKU and NNBS keys; 0 where none


def line_digest(product_json: bytes) -> bytes:
    """The digest of what the update reads of a line's product object, serialized (update.lines.read_part)."""
    return hashlib.blake2b(product_json, digest_size=DIGEST_SIZE).digest()


def unit_entry(digests: list[bytes], owners: list[tuple[int, int, int]]) -> SeenLine:
    """What the index remembers of a unit of lines, given each line's digest and key owners in the file's
    order: a line alone as itself; lines sharing keys by one digest of every line's digest and owners (so
    any line changed, added, dropped or moved, or any key of theirs owned by another product, is another
    entry), with the first line's owners beside it."""
    if len(digests) == 1:
        return SeenLine(digests[0], owners[0])
    folded = b"".join(digest + _HITS.pack(*hits) for digest, hits in zip(digests, owners, strict=True))
    return SeenLine(hashlib.blake2b(folded, digest_size=DIGEST_SIZE, person=b"unit of lines").digest(), owners[0])


def seen_key(product_id: int, store_id: int) -> bytes:
    return id_bytes(product_id) + id_bytes(store_id)


def encode_seen(seen: SeenLine) -> bytes:
    return seen.digest + _HITS.pack(*seen.hits)


def decode_seen(raw) -> SeenLine:
    raw = bytes(raw)
    return SeenLine(raw[:DIGEST_SIZE], _HITS.unpack(raw[DIGEST_SIZE:DIGEST_SIZE + _HITS.size]))
