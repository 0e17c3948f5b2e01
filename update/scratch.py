"""Per-file bookkeeping on disk: which line first carried each NNBS, which products got a price.

Both sets grow with the file, and the file grows with the catalog, so they live in a scratch LMDB
environment rather than in Python sets. It is opened with writemap, so its dirty pages are shared
file-backed pages the kernel can write out and drop, not anonymous memory of this process.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import lmdb

from diskcache_tier.keys import id_bytes, text_key

# Sparse address space, not disk: the scratch file only grows by what one file's keys need.
_SCRATCH_MAP_SIZE = 8 << 30


class FileScratch:
    def __init__(self, directory: Path | None = None):
        self.path = Path(tempfile.mkdtemp(prefix="update-scratch-", dir=directory))
        self.env = lmdb.open(str(self.path), map_size=_SCRATCH_MAP_SIZE, max_dbs=4, writemap=True,
                             sync=False, metasync=False, readahead=False)
        self.first_line = self.env.open_db(b"first_line")
        self.priced = self.env.open_db(b"priced")
        # The first line of each barcode and SKU, so the report can say which NNBS share one.
        self.key_line = self.env.open_db(b"key_line")

    def reset(self) -> None:
        with self.env.begin(write=True) as txn:
            txn.drop(self.first_line, delete=False)
            txn.drop(self.priced, delete=False)
            txn.drop(self.key_line, delete=False)

    def forget_prices(self) -> None:
        """Forget which products got a price: the file is written again from the start."""
        with self.env.begin(write=True) as txn:
            txn.drop(self.priced, delete=False)

    def begin(self) -> lmdb.Transaction:
        return self.env.begin(write=True)

    # Callers pass the open transaction so a batch of lines costs one commit, not one per line.
    def claim_nnbs(self, txn, nnbs: str, line_no: int) -> bool:
        """Record the first line of an NNBS; False when an earlier line already has it."""
        return txn.put(text_key(nnbs), line_no.to_bytes(8, "big"), db=self.first_line, overwrite=False)

    def claim_key(self, txn, kind: str, key: str, line_no: int) -> int | None:
        """Record the first line of a barcode or SKU; the earlier line's number when one has it."""
        raw_key = text_key(f"{kind}\x1f{key}")
        if txn.put(raw_key, line_no.to_bytes(8, "big"), db=self.key_line, overwrite=False):
            return None
        return int.from_bytes(txn.get(raw_key, db=self.key_line), "big")

    def first_line_of(self, txn, nnbs: str) -> int | None:
        raw = txn.get(text_key(nnbs), db=self.first_line)
        return None if raw is None else int.from_bytes(raw, "big")

    def claim_product(self, txn, product_id: int) -> bool:
        """Record that a product got its price from this file; False when it already had."""
        return txn.put(id_bytes(product_id), b"", db=self.priced, overwrite=False)

    def was_priced(self, txn, product_id: int) -> bool:
        return txn.get(id_bytes(product_id), db=self.priced) is not None

    def close(self) -> None:
        self.env.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
