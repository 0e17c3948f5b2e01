"""What the index needs to know about the database: its identity, its schema, and its change log.

The change log (``catalog_indexchange``) is filled by triggers on products, SKUs and brands (this app's
migrations). The index remembers in its meta the last change id it applied (its watermark), and a
catch-up applies the rows after it. Ids only mean "everything up to here" once no transaction that took
a lower id can still commit: ``high_water()`` waits for such writers before reading the maximum.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Iterator, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import DatabaseIdentity, IndexChange, LogConsumer

LOG_TABLE = IndexChange._meta.db_table
CONSUMER_TABLE = LogConsumer._meta.db_table
IDENTITY_TABLE = DatabaseIdentity._meta.db_table


def database_token() -> str:
    """The random token naming this database; created on first use if the row was flushed away."""
    token = DatabaseIdentity.objects.order_by("id").values_list("token", flat=True).first()
    if token is None:
        with transaction.atomic():
            token = DatabaseIdentity.objects.order_by("id").values_list("token", flat=True).first()
            if token is None:
                token = DatabaseIdentity.objects.create(token=uuid.uuid4().hex).token
    return token


def schema_state() -> str:
    """Which migrations the database has: an index built before a migration is rebuilt after it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM django_migrations")
        count, last = cursor.fetchone()
    return f"{count}:{last}"


def high_water() -> int:
    """The largest change id such that no change with a smaller or equal id can still appear.

    PostgreSQL hands out ids when a row is inserted but shows the row only at commit, so a transaction
    still running may hold a lower id than the current maximum. A SHARE lock waits for every writer of the
    log to finish (and holds new ones for the instant of the read). SQLite runs one writer at a time, and
    the IMMEDIATE transaction of the settings waits for it the same way.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {LOG_TABLE} IN SHARE MODE")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {LOG_TABLE}")
        return cursor.fetchone()[0]


def pending(after: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {LOG_TABLE} WHERE id > %s", [after])
        return cursor.fetchone()[0]


def head() -> int:
    """The largest change id this connection sees (its own transaction's rows included)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {LOG_TABLE}")
        return cursor.fetchone()[0]


def current_txid() -> int:
    """PostgreSQL: the id of this connection's transaction, as the triggers write it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0]


def head_and_first_other(after: int, own_txids: Sequence[int] = ()) -> tuple[int, int | None]:
    """One query on the log's primary key: its head, and the first id after ``after`` that a transaction
    not in ``own_txids`` wrote (None when there is none). With no ``own_txids`` every row is another's."""
    mine, params = _not_of(own_txids)
    other = f"CASE WHEN {mine} THEN id END" if own_txids else "id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id), MIN({other}) FROM {LOG_TABLE} WHERE id > %s", params + [after])
        last, first_other = cursor.fetchone()
    return max(last or 0, after), first_other


def _not_of(own_txids: Sequence[int]) -> tuple[str, list]:
    """A condition true of the rows none of ``own_txids`` wrote (PostgreSQL only: SQLite logs no txid)."""
    if not own_txids:
        return "TRUE", []
    return "(writer_txid IS NULL OR writer_txid <> ALL(%s))", [list(own_txids)]


def forget_own(after: int, through: int, txid: int | None, consumer: str | None = None) -> int:
    """Delete the rows one file's transaction logged (ids in (after, through], of ``txid`` if given),
    keeping those another registered index has not applied yet (it needs them to see this file)."""
    sql = f"DELETE FROM {LOG_TABLE} WHERE id > %s AND id <= %s"
    params = [after, through]
    if txid is not None:
        sql += " AND writer_txid = %s"
        params.append(txid)
    # An index that is no registered consumer (the memory backend) holds back rows for every one that is.
    others = "" if consumer is None else " WHERE consumer <> %s"
    sql += f" AND id <= COALESCE((SELECT MIN(watermark) FROM {CONSUMER_TABLE}{others}), id)"
    params.extend([] if consumer is None else [consumer])
    # One statement is its own transaction: no BEGIN and COMMIT around it (two round trips a file).
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def read_changes(after: int, through: int, batch_size: int,
                 own_txids: Sequence[int] = ()) -> Iterator[list[tuple]]:
    """Batches of (id, kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, old_variations),
    leaving out the rows of the transactions ``own_txids`` when given."""
    mine, mine_params = _not_of(own_txids)
    mine = f" AND {mine}" if own_txids else ""
    sql = (f"SELECT id, kind, product_id, brand_id, company_id, sku, old_nnbs, old_barcode, old_variations "
           f"FROM {LOG_TABLE} WHERE id > %s AND id <= %s{mine} ORDER BY id LIMIT %s")
    last = after
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, through] + mine_params + [batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def prune(through: int) -> int:
    """Forget the changes an index has applied (every id up to ``through``), but none that a registered
    index has not applied yet; the database remembers how far it pruned.

    Callers record their own consumer's watermark first (``record_consumer``).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(watermark) FROM {CONSUMER_TABLE}")
        lowest = cursor.fetchone()[0]
        through = through if lowest is None else min(through, lowest)
        cursor.execute(f"DELETE FROM {LOG_TABLE} WHERE id <= %s", [through])
        deleted = cursor.rowcount
        if deleted:
            database_token()  # the identity row carries the position; a flushed database gets it back
            cursor.execute(f"UPDATE {IDENTITY_TABLE} SET pruned_through = %s WHERE pruned_through < %s",
                           [through, through])
        return deleted


# ------------------------------------------------------------------------------ registered consumers


def pruned_through() -> int:
    database_token()
    return DatabaseIdentity.objects.order_by("id").values_list("pruned_through", flat=True).first() or 0


def consumer_row(consumer: str | None) -> LogConsumer | None:
    if not consumer:
        return None
    return LogConsumer.objects.filter(consumer=consumer).first()


def register_consumer(consumer: str, *, watermark: int, generation: int, location: str,
                      replaces: str | None = None) -> None:
    """Register (or re-register) an index; ``replaces``: the consumer id the same folder had before a
    rebuild, dropped when it was registered from the same location (a copy on another host is not)."""
    with transaction.atomic():
        if replaces and replaces != consumer:
            LogConsumer.objects.filter(consumer=replaces, location=location).delete()
        LogConsumer.objects.update_or_create(consumer=consumer, defaults=dict(
            watermark=watermark, generation=generation, confirmed=generation, last_seen=timezone.now(), location=location))


def record_consumer(consumer: str | None, *, watermark: int | None = None, generation: int | None = None,
                    confirmed: int | None = None) -> int:
    """Move a registered index's watermark and/or generation on, and mark it seen; rows updated (0: the
    index is not registered, or was dropped)."""
    if not consumer:
        return 0
    fields = {"last_seen": timezone.now()}
    if watermark is not None:
        fields["watermark"] = watermark
    if generation is not None:
        fields["generation"] = generation
    if confirmed is not None:
        fields["confirmed"] = confirmed
    return LogConsumer.objects.filter(consumer=consumer).update(**fields)


def drop_stale_consumers(keep: str | None = None) -> list[str]:
    """Forget the indexes not seen for ``INDEX_CONSUMER_STALE_HOURS``: they no longer hold the log back,
    and each rebuilds when it returns. The locations dropped, for the log."""
    hours = getattr(settings, "INDEX_CONSUMER_STALE_HOURS", 7 * 24)
    stale = LogConsumer.objects.filter(last_seen__lt=timezone.now() - timedelta(hours=hours))
    if keep:
        stale = stale.exclude(consumer=keep)
    with transaction.atomic():
        dropped = list(stale.values_list("location", flat=True))
        if dropped:
            stale.delete()
    return dropped
