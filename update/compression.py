"""Which compressed inbox files the reader opens, by the end of their name, and which it can't.

Any name ending in a compression the standard library reads (gzip, bzip2, xz) is taken, whatever comes
before (``.jsonl.gz``, ``.json.gz``, ``.gz``): its content is read as JSONL. A name ending in one it
can't read (``.zip``, ``.zst``...) is taken too, and refused once with its reason, so it lands in the
rejected folder instead of being "ignored" on every run.
"""
from __future__ import annotations

import bz2
import gzip
import lzma

# Suffix -> how to open it over the raw file. Each raises EOFError on a truncated stream.
OPENERS = {".gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
           ".bz2": lambda raw: bz2.BZ2File(raw, mode="rb"),
           ".xz": lambda raw: lzma.LZMAFile(raw, mode="rb")}
# Archives and compressions a scraper might send that the standard library can't stream as one file.
UNREADABLE = (".zip", ".zst", ".7z", ".rar", ".lz4", ".br")
# What a decompressor raises on data that is not its format, or corrupt.
BAD_DATA = (gzip.BadGzipFile, OSError, lzma.LZMAError, EOFError)


def compression_of(name: str) -> str:
    """The name's compression suffix (".gz"), or "" for a plain file."""
    for suffix in (*OPENERS, *UNREADABLE):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return ""


def is_compressed(name: str) -> bool:
    return bool(compression_of(name))


def why_unreadable(suffix: str) -> str | None:
    """Why the reader can't open a file compressed so, in one line that says what to do; None if it can."""
    if suffix in UNREADABLE:
        return (f"compressed as {suffix}, which the update can't read: send it as .jsonl, or compressed "
                f"as .jsonl.gz, .jsonl.bz2 or .jsonl.xz")
    return None
