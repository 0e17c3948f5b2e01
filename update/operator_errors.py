"""Errors an operator can fix, said in one line that says what to do.

The commands print ``one_line(explain(exc))``; a traceback only with ``--traceback`` or ``-v 2``.
"""
from __future__ import annotations

import errno
import shlex
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, OperationalError, ProgrammingError

# A hint names a command that works as printed, from any folder: this very interpreter (the venv's, which
# has Django) and the project's manage.py, both absolute. A bare ``python manage.py`` fails outside the venv.
MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def migrate_command() -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(MANAGE_PY))} migrate"


MIGRATE = f"run `{migrate_command()}`"


class MissingDatabase(ImproperlyConfigured):
    """The SQLite file DATABASE_URL names does not exist: connecting would create an empty catalog."""


def refuse_missing_sqlite() -> None:
    """Raise MissingDatabase before anything connects, when the default database is a SQLite file that is
    not there. SQLite creates a missing file on connect: a mistyped DATABASE_URL would start a new, empty
    catalog beside the real one, and the update's "run migrate" would complete the mistake."""
    from django.db import connections

    settings = connections["default"].settings_dict
    name = str(settings.get("NAME") or "")
    if settings.get("ENGINE") != "django.db.backends.sqlite3" or not name or name == ":memory:" or (
            name.startswith("file:") or "mode=memory" in name):
        return
    if not Path(name).exists():
        raise MissingDatabase(f"the SQLite database {name} does not exist: check DATABASE_URL, or run "
                              f"`{migrate_command()}` to start a new catalog there")


def one_line(exc: BaseException) -> str:
    """The exception's message on one line, its first line if several, with its type when it has none."""
    text = " ".join(str(exc).split("\n", 1)[0].split()) if str(exc).strip() else type(exc).__name__
    return text


def explain(exc: BaseException) -> str:
    """What went wrong and what to do, in one line."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
            "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered)):
        return f"the database has no tables yet ({one_line(exc)}): {MIGRATE}"
    if isinstance(exc, OperationalError) and "unable to open database file" in lowered:
        return (f"can't open the SQLite database {_where()} ({one_line(exc)}): check that it exists and that "
                "its folder can be written (SQLite keeps its journal beside it)")
    if isinstance(exc, OperationalError) and _is_connection_failure(lowered):
        return f"cannot connect to the database at {_where()}: {one_line(exc)}"
    if isinstance(exc, DatabaseError) and ("disk" in lowered and "full" in lowered or "no space" in lowered):
        return f"the database's disk is full ({one_line(exc)}): free space, then run again"
    if isinstance(exc, DatabaseError) and "readonly database" in lowered.replace("-", ""):
        return f"the database can't be written ({one_line(exc)}): check its file's permissions and mount"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"disk full writing {exc.filename or 'a file'}: free space, then run again"
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"can't write {exc.filename or 'a file'} ({exc.strerror}): fix its permissions or mount"
    if isinstance(exc, DatabaseError):
        return f"database error: {one_line(exc)}"
    return f"{type(exc).__name__}: {one_line(exc)}"


def _is_connection_failure(lowered: str) -> bool:
    return any(words in lowered for words in (
        "connection refused", "could not connect", "connection failed", "server closed the connection",
        "connection is bad", "terminating connection", "timeout expired", "name or service not known",
        "could not translate host", "the connection is lost", "consuming input failed", "no route to host",
        "password authentication failed", "does not exist\n"))


def _where() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        # Its messages say "SQLite database" already: a "(SQLite)" here doubled the parentheses.
        return str(settings["NAME"])
    return f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or '5432'} ({connection.vendor})"
