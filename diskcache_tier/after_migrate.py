"""`migrate` leaves a current index: a migration changes the schema state the index records, so the
index at ``settings.UPDATE_INDEX_PATH`` is rebuilt right away instead of at the next update's start.

Throwaway databases (SQLite in memory, Django's ``test_*`` databases) are skipped: an index of one would
be written over the deployment's, and would be useless anyway. ``UPDATE_INDEX_AFTER_MIGRATE=0`` skips
the rebuild too (the next update then rebuilds, saying why).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger(__name__)


def refresh_index_after_migrate(sender=None, using=DEFAULT_DB_ALIAS, stdout=None, **kwargs) -> None:
    from django.conf import settings

    connection = connections[using]
    if using != DEFAULT_DB_ALIAS or _throwaway(connection):
        return
    if os.environ.get("UPDATE_INDEX_AFTER_MIGRATE", "1") == "0":
        return
    from .run_lock import UpdateLocked, run_lock

    from .build_index import build_lmdb_index, index_lock_path, why_rebuild

    path = Path(settings.UPDATE_INDEX_PATH)
    try:
        reason = why_rebuild(path)
        if reason is None:
            return
        with run_lock(index_lock_path(path)):
            stats = build_lmdb_index(path, reason=f"after migrate: {reason}")
    except UpdateLocked:
        log.warning("index at %s not rebuilt after migrate: an update holds the lock; the next update "
                    "rebuilds it", path)
        return
    except Exception as exc:  # the index is a cache: never fail a migration over it
        log.warning("index at %s not rebuilt after migrate (%s: %s); the next update rebuilds it",
                    path, type(exc).__name__, exc)
        return
    if stdout is not None and kwargs.get("verbosity", 1) >= 1:
        stdout.write(f"  Rebuilt the product index at {path} ({reason}): {stats.products} products "
                     f"in {stats.elapsed_s:.2f}s\n")


def _throwaway(connection) -> bool:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return True
    return str(connection.settings_dict.get("NAME") or "").startswith("test_")
