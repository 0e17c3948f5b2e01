"""Settings for the product-update pipeline.

Everything a deployment changes comes from the environment, so cron, systemd and the tests configure it
the same way: DATABASE_URL picks the database (SQLite under var/ when unset), UPDATE_VAR_DIR moves every
working path at once, and UPDATE_INBOX / UPDATE_INDEX_PATH / UPDATE_ARCHIVE / UPDATE_REJECTED move one.

The admin site (docs/admin.md) adds DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DJANGO_DEBUG and
DJANGO_PLAIN_HTTP. Only the web app needs a real secret key: without one, the update, cron and the tests
run on a random per-process key, and the web app refuses to start (config/wsgi.py, config/checks.py).
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("UPDATE_VAR_DIR", BASE_DIR / "var"))

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
# Set from the environment or not at all: a key generated per process signs nothing that outlives it
# (the update signs nothing), so a forgotten key can never become a fixed, guessable one.
SECRET_KEY_FROM_ENVIRONMENT = bool(os.environ.get("DJANGO_SECRET_KEY"))
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    # Plain admin app: the admin modules are found by config/urls.py (admin.autodiscover), so the
    # update command, which serves no page, does not import them (a tenth of its start-up).
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "config.apps.ConfigConfig",
    "diskcache_tier",
    "catalog",
    "prices",
    "ledger",
    "update",
    "sampledata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware, as whitenoise asks: static files skip sessions and auth.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies made by collectstatic (bin/serve runs it). Not the manifest variant: its hashed
    # names need collectstatic before any page renders, which the tests and the update never run.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# HTTPS is assumed (a reverse proxy terminates TLS and sets X-Forwarded-Proto, see docs/admin.md);
# DJANGO_PLAIN_HTTP=1 is for loopback only (bin/serve --demo), where there is no TLS to insist on.
PLAIN_HTTP = DEBUG or os.environ.get("DJANGO_PLAIN_HTTP") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not PLAIN_HTTP
SESSION_COOKIE_SECURE = not PLAIN_HTTP
CSRF_COOKIE_SECURE = not PLAIN_HTTP
SECURE_HSTS_SECONDS = 0 if PLAIN_HTTP else int(os.environ.get("DJANGO_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other sites of the domain are not ours to pin
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600  # a working day; staff log in again the next morning
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",")
                        if o.strip()]
SILENCED_SYSTEM_CHECKS = [
    # HSTS without includeSubDomains/preload is a choice for the domain's owner, not this app.
    "security.W005", "security.W021",
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
        # Prepared statements kept per connection (Python's default is 128). The update's bulk statements
        # differ in their number of parameters, so few repeat, and each holds tens of KB: 128 of them kept
        # about 8 MB resident for the whole run. 16 keep the ones that do repeat.
        "cached_statements": 16,
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("TEST_SQLITE_NAME") or None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3. One writer at a time comes from an advisory lock per file (catalog/writer_lock.py), not
    # from here. The index build streams through server-side cursors; behind a transaction-pooling
    # pgbouncer they must be off (DATABASE_DISABLE_SERVER_SIDE_CURSORS=1), and the build reads by keyset.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = (
        os.environ.get("DATABASE_DISABLE_SERVER_SIDE_CURSORS") == "1")
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = "grocery-update"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True


def time_zone_from_environment() -> str:
    """DJANGO_TIME_ZONE (an IANA name such as Australia/Brisbane), or UTC. The database keeps UTC; this is
    the zone the admin shows times in, each labelled with it (config/formats). A misspelt zone is refused
    here rather than shown as UTC without a word."""
    import zoneinfo

    name = os.environ.get("DJANGO_TIME_ZONE", "").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"DJANGO_TIME_ZONE={name!r} is not a time zone: give an IANA name such as "
                                   "Australia/Sydney, or unset it for UTC") from None
    return name


TIME_ZONE = time_zone_from_environment()
# Dates and times as "2 Jan 2025, 10:31 AEDT": the zone's abbreviation on every time the admin shows.
FORMAT_MODULE_PATH = ["config.formats"]

# The admin's front page lists the stores from which no file (of any status) came for this many days.
ADMIN_STOPPED_SENDING_DAYS = int(os.environ.get("ADMIN_STOPPED_SENDING_DAYS", "2"))

UPDATE_INBOX = Path(os.environ.get("UPDATE_INBOX", VAR_DIR / "inbox"))
UPDATE_ARCHIVE = Path(os.environ.get("UPDATE_ARCHIVE", VAR_DIR / "archive"))
UPDATE_REJECTED = Path(os.environ.get("UPDATE_REJECTED", VAR_DIR / "rejected"))
UPDATE_INDEX_PATH = Path(os.environ.get("UPDATE_INDEX_PATH", VAR_DIR / "index"))
# A line identical to the one its store sent last time skips the database (update/unchanged.py).
# UPDATE_SKIP_UNCHANGED=0 turns that off (the catalog comes out the same; only slower), to compare or debug.
UPDATE_SKIP_UNCHANGED = os.environ.get("UPDATE_SKIP_UNCHANGED", "1").strip().lower() not in ("0", "false", "no", "off")
# A special's reference price is the lowest price its store charged in this many days before the special
# began (prices/reference.py; the EU's Omnibus Directive says 30).
REFERENCE_WINDOW_DAYS = int(os.environ.get("REFERENCE_WINDOW_DAYS", "30"))
# An index (a consumer of the change log) not seen for this long stops holding the log back: it is
# dropped from the database's list and rebuilds when it returns. Longer than the longest planned pause
# of an updater, short enough that a host taken away does not grow the log for ever.
INDEX_CONSUMER_STALE_HOURS = float(os.environ.get("INDEX_CONSUMER_STALE_HOURS", 7 * 24))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # UTC with a Z, as the progress lines: one time format in the log.
    "formatters": {"plain": {"()": "update.progress.UtcFormatter",
                              "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "update": {"handlers": ["stderr"], "level": os.environ.get("UPDATE_LOG_LEVEL", "WARNING")},
        "diskcache_tier": {"handlers": ["stderr"], "level": os.environ.get("UPDATE_LOG_LEVEL", "WARNING")},
        "django.security": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
