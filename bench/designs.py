"""The tier-1 designs the benchmark compares, each as the index the update opens at its start.

The fifth, ``baseline``, is the lmdb design run from another checkout (``--baseline-tree``): its code is
that tree's, so it has no entry here. Nor has the ``floor`` (``bench/floor.py``), which is no index the
update opens: ``bench.child`` runs it in place of the update, against the LMDB index.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .legacy_cache import open_legacy
from .no_cache import open_no_cache


@dataclass(frozen=True)
class Design:
    name: str
    title: str
    # None: the product's own ``open_index`` for ``name`` (the lmdb and memory backends).
    factory: Callable | None
    # The index is built from the database before the run, in its own process, and timed there.
    prebuilt_index: bool = False


DESIGNS = {
    "lmdb": Design("lmdb", "LMDB index on disk (this project)", None, prebuilt_index=True),
    "memory": Design("memory", "slim dicts in memory, loaded at start", None),
    "legacy": Design("legacy", "legacy: full Product objects by barcode, NNBS, SKU", open_legacy),
    "nocache": Design("nocache", "no index: batched queries per chunk, NNBS through an alias table", open_no_cache),
}
