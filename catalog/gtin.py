"""Barcodes are GTINs: one canonical spelling per trade item, so UPC-A and EAN-13 of one product meet.

A GTIN is 8, 12, 13 or 14 digits, the last a check digit, and the shorter forms are the longer ones
with leading zeros dropped: UPC-A `012345678905` is EAN-13 `0012345678905`. The catalog stores the
13-digit (EAN-13) form, zero-padded, so every 13-digit barcode already stored keeps its spelling and
the column keeps its width. A 14-digit code whose indicator (first) digit is not 0 names a case or
pack of trade units, which a shelf price never does: it has no 13-digit form and is refused.
"""
from __future__ import annotations

CANONICAL_LENGTH = 13
GTIN_LENGTHS = (8, 12, 13, 14)


class NotAGtin(ValueError):
    """Why a code is not a usable GTIN; ``kind`` omits the code itself, for counting by reason."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def check_digit(body: str) -> int:
    """The GS1 check digit of the digits before it: weights 3, 1, 3... from the right."""
    # The digits at even places from the right weigh 3, the others 1. This runs per line: a run of
    # ASCII digits sums as its bytes less 48 each, in C, three times faster than int() per digit.
    heavy, light = body[-1::-2], body[-2::-2]
    total = 3 * (sum(heavy.encode()) - 48 * len(heavy)) + sum(light.encode()) - 48 * len(light)
    return (10 - total % 10) % 10


def canonical_gtin(code: str) -> str:
    """The 13-digit form of a GTIN; raises NotAGtin saying why it is not one."""
    if not (code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS):
        raise NotAGtin("not 8, 12, 13 or 14 digits", "not 8, 12, 13 or 14 digits")
    if check_digit(code[:-1]) != int(code[-1]):
        raise NotAGtin("check digit does not match", "check digit does not match")
    padded = code.zfill(14)
    if padded[0] != "0":
        raise NotAGtin("a GTIN-14 of a case or pack (indicator digit not 0)",
                       "a GTIN-14 of a case or pack (indicator digit not 0)")
    return padded[1:]


def canonical_or_none(code: str | None) -> str | None:
    """canonical_gtin for data already stored: None where the code is not a usable GTIN."""
    if not code:
        return None
    try:
        return canonical_gtin(code.strip())
    except NotAGtin:
        return None
