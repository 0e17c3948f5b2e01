"""Is the index still following this very database's change log? Checked at every start, both ways.

The database token and the schema say the index was built from this database; they cannot tell that one
of the two was since put back from a backup. Two things can:

- the **generation**, kept for each registered index both in the database (``LogConsumer``) and in the
  index's meta, and moved on in both at every start and with every file that writes: a database restored
  from an older backup has an older generation than the index, an index folder restored from an older
  backup an older one than the database has confirmed (recorded once the index's commit landed);
- the **log position**: the database remembers how far its log was pruned. An index whose watermark is
  below it has lost the rows it needed; one whose watermark is past everything the database's log ever
  held follows a database that no longer exists.

Either way the index is rebuilt before anything is written, and the reason is in the report and the
ledger. A rebuild is always right here: the database is the truth, whichever of the two was restored.
"""
from __future__ import annotations

import socket
from pathlib import Path

from . import changelog


def location_of(path) -> str:
    """Where an index lives, for the people reading the consumers table (and to tell copies apart)."""
    return f"{socket.gethostname()}:{Path(path).resolve()}"


def why_not_continuous(meta: dict) -> str | None:
    consumer = meta.get("consumer")
    if not consumer:
        return "index is not registered as a consumer of the change log (built by an older release)"
    row = changelog.consumer_row(consumer)
    if row is None:
        return ("index is not registered with this database as a consumer of its change log (not seen for "
                "longer than INDEX_CONSUMER_STALE_HOURS and dropped, or the database was restored from a "
                "backup older than the index): the log rows it needs may be gone")
    generation = meta.get("generation") or 0
    if row.generation < generation:
        return (f"database restored from an older backup: it is at generation {row.generation} of this index, "
                f"the index at {generation}")
    if row.confirmed > generation:
        return (f"index folder restored from an older backup (or a copy of it ran elsewhere): the database is at "
                f"generation {row.confirmed} of this index, the index at {generation}")
    # Ahead by unconfirmed generations only: the database committed a file whose index commit a crash cut
    # off; its rows are still in the log (they are forgotten only after that commit) and the catch-up
    # applies them.
    watermark = meta.get("changes_applied_through") or 0
    pruned = changelog.pruned_through()
    if watermark < pruned:
        return (f"the change log was pruned through {pruned}, past the index's watermark {watermark}: the rows "
                f"it needs are gone")
    # The log's head is asked only when the two recorded positions fall short (the start's one head query
    # is the catch-up's).
    if watermark > max(pruned, row.watermark) and watermark > (end := max(changelog.head(), pruned, row.watermark)):
        return (f"database restored from an older backup: its change log ends at {end}, before the index's "
                f"watermark {watermark}")
    return None


def advance(index) -> int:
    """At the start of a run, once the index is caught up: the next generation, in the database first
    (a crash before the index's commit then reads as an older index, and rebuilds)."""
    meta = index.meta()
    consumer = meta.get("consumer")
    row = changelog.consumer_row(consumer)
    generation = max(meta.get("generation") or 0, row.generation if row else 0) + 1
    changelog.record_consumer(consumer, watermark=meta.get("changes_applied_through") or 0, generation=generation)
    writer = index.writer()
    try:
        writer.set_meta("generation", generation)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    if index.meta().get("generation") == generation:  # read back: confirmed only once it is on disk
        changelog.record_consumer(consumer, confirmed=generation)
    return generation
