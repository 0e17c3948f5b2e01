"""What every manager of one file needs: the file, its store, tier 1 and the file's result."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from catalog.models import Store
from diskcache_tier.lookup import IndexWriter, ProductIndex

from .lines import FileMeta
from .report import FileResult
from .scratch import FileScratch


@dataclass
class FileContext:
    path: Path
    meta: FileMeta
    store: Store
    index: ProductIndex
    writer: IndexWriter
    scratch: FileScratch
    result: FileResult
    now: datetime
