"""How index keys and values are spelled in bytes.

LMDB refuses keys over 511 bytes, and an NNBS of 255 characters of multi-byte text (the IGA file has
Chinese brand names) can take up to 1020. Long keys keep a readable prefix and end in a digest of the
whole string, so they stay unique and still sort near their neighbours.
"""
import hashlib
import unicodedata
import struct

MAX_PLAIN_KEY_BYTES = 480
_LONG_KEY_PREFIX_BYTES = 440
_LONG_KEY_MARK = b"\xff#"  # 0xff never occurs in UTF-8, so a long key can't collide with a plain one
_ID = struct.Struct(">Q")  # big-endian so LMDB's byte order is id order


def text_key(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) <= MAX_PLAIN_KEY_BYTES:
        return raw
    digest = hashlib.blake2b(raw, digest_size=20).digest()
    return raw[:_LONG_KEY_PREFIX_BYTES] + _LONG_KEY_MARK + digest


def sku_key(company_id: int, sku: str) -> bytes:
    return text_key(f"{company_id}\x1f{sku}")


def id_bytes(product_id: int) -> bytes:
    return _ID.pack(product_id)


def id_from_bytes(raw) -> int:
    return _ID.unpack(bytes(raw))[0]


def canonical_nnbs(text: str) -> str:
    """The form two NNBS spellings are compared in: Unicode NFC, with every whitespace run removed.

    Scraper generations differ only in spaces between the sorted words ("milkfull2l" against
    "milk full 2l"), and the same text may arrive composed or decomposed (NFC "café", NFD "café").
    Products keep the spelling as scraped; only keys and uniqueness checks use this form.
    """
    if text.isascii():  # ASCII is its own NFC: most lines skip the normalizer (this runs per line and key)
        return "".join(text.split())
    return "".join(unicodedata.normalize("NFC", text).split())
