"""One writer of the catalog at a time, on every database.

SQLite: the settings begin every transaction IMMEDIATE, so a second writer waits at BEGIN until the first
file's transaction ends. PostgreSQL lets writers interleave row by row: two updates (two hosts, or two
index paths on one host, each with its own run lock) could both miss a product in their index, both
confirm the miss in the database and both insert it, and one would fail on the unique constraint at the
end of its file. A transaction-level advisory lock makes the second file wait for the first, as SQLite
does; PostgreSQL releases it at commit or rollback, and when the connection dies.

It is the catalog's lock, so it lives here, below its takers: the update's files, ``reconcile`` and the
admin's merge.
"""
from __future__ import annotations

import time

from django.db import connection

# Names "the catalog's writer" among the database's advisory locks: the bytes of "grocupd".
WRITER_LOCK_KEY = int.from_bytes(b"grocupd", "big")


def hold_writer_lock() -> None:
    """Call first inside a file's transaction: wait for any other writer, then hold until it ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK_KEY])


def try_writer_lock(wait_s: float = 5.0, poll_s: float = 0.2) -> bool:
    """Inside a transaction: take the writer lock if it comes within ``wait_s``; False if an update still
    holds it then. For the site's actions (the admin merge), which should say "an update is running"
    rather than hang a web request for the length of a file. SQLite: always True (its IMMEDIATE
    transaction already waited for the writer at BEGIN)."""
    if connection.vendor != "postgresql":
        return True
    deadline = time.monotonic() + wait_s
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [WRITER_LOCK_KEY])
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
