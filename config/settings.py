"""Settings for the product-update pipeline.

Everything a deployment changes comes from the environment, so cron, systemd and the tests configure it
the same way: DATABASE_URL picks the database (SQLite under var/ when unset), UPDATE_VAR_DIR moves every
working path at once, and UPDATE_INBOX / UPDATE_INDEX_PATH / UPDATE_ARCHIVE / UPDATE_REJECTED move one.
"""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("UPDATE_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "not-a-secret: this project serves no web pages")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "catalog",
    "update",
    "sampledata",
]

DATABASE_URL_EXAMPLE = "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:////ABSOLUTE/PATH"


def database_from_environment() -> dict:
    """DATABASE_URL, or SQLite under var/ when it is unset. Set but empty or unparsable is refused:
    falling back to SQLite then would run the update against an empty catalog without a word."""
    url = os.environ.get("DATABASE_URL")
    if url is None:
        # The embedded default lives under var/, which a fresh clone does not have yet.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    elif not url.strip():
        raise ImproperlyConfigured(f"DATABASE_URL is set but empty: unset it to use SQLite under "
                                   f"{VAR_DIR}, or give {DATABASE_URL_EXAMPLE}")
    try:
        parsed = dj_database_url.parse(url.strip(), conn_max_age=0)
    except Exception as exc:  # dj-database-url raises ValueError, KeyError or others on bad URLs
        reason = str(exc).split(". ")[0].split("?")[0]  # never the URL itself: it may hold a password
        raise ImproperlyConfigured(f"DATABASE_URL does not parse ({reason}): give "
                                   f"{DATABASE_URL_EXAMPLE}") from None
    if not parsed.get("ENGINE") or not parsed.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database: give {DATABASE_URL_EXAMPLE}")
    return parsed


DATABASES = {"default": database_from_environment()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (verify, stats, the site) run while an update writes; IMMEDIATE takes the write
    # lock at BEGIN so a second writer waits instead of failing half-way through a file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("TEST_SQLITE_NAME") or None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3. One writer at a time comes from an advisory lock per file (update/writer_lock.py), not
    # from here. The index build streams through server-side cursors; behind a transaction-pooling
    # pgbouncer they must be off (DATABASE_DISABLE_SERVER_SIDE_CURSORS=1), and the build reads by keyset.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = (
        os.environ.get("DATABASE_DISABLE_SERVER_SIDE_CURSORS") == "1")
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = "grocery-update"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

UPDATE_INBOX = Path(os.environ.get("UPDATE_INBOX", VAR_DIR / "inbox"))
UPDATE_ARCHIVE = Path(os.environ.get("UPDATE_ARCHIVE", VAR_DIR / "archive"))
UPDATE_REJECTED = Path(os.environ.get("UPDATE_REJECTED", VAR_DIR / "rejected"))
UPDATE_INDEX_PATH = Path(os.environ.get("UPDATE_INDEX_PATH", VAR_DIR / "index"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
                              "datefmt": "%Y-%m-%dT%H:%M:%S%z"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "update": {"handlers": ["stderr"], "level": os.environ.get("UPDATE_LOG_LEVEL", "WARNING")},
        "diskcache_tier": {"handlers": ["stderr"], "level": os.environ.get("UPDATE_LOG_LEVEL", "WARNING")},
    },
}
