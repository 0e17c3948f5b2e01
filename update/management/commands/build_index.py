"""``python manage.py build_index``: build the tier-1 index from the database, streaming."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from diskcache_tier.build_index import build_lmdb_index, index_lock_path
from diskcache_tier.run_lock import UpdateLocked, run_lock
from update.options import OptionError, build_batch_size
from update.version import __version__


class Command(BaseCommand):
    help = "Build the LMDB product index from the database (into a new directory, swapped in when complete)."

    def get_version(self):
        return __version__

    def add_arguments(self, parser):
        parser.add_argument("--index-path", type=Path, default=None, help="[settings.UPDATE_INDEX_PATH]")
        parser.add_argument("--batch-size", type=int, default=None, help="rows per batch (1-1000000) [20000]")

    def handle(self, *args, **opts):
        path = Path(opts["index_path"] or settings.UPDATE_INDEX_PATH)
        try:
            batch = build_batch_size(opts["batch_size"])  # the same check as `update-products index build`
        except OptionError as exc:
            raise CommandError(str(exc), returncode=2) from None
        try:
            # The update's lock: a build must not swap the index out from under a running update.
            with run_lock(index_lock_path(path)):
                stats = build_lmdb_index(path, **({"batch_size": batch} if batch else {}))
        except UpdateLocked as exc:
            raise CommandError(str(exc), returncode=3) from None
        self.stdout.write(
            f"built {path}: {stats.products} products, {stats.skus} SKUs in {stats.elapsed_s:.2f}s "
            f"({stats.products_per_s:,.0f} products/s), {stats.size_bytes / 2**20:.1f} MB")
