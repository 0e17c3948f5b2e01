"""Refusing to serve pages without a secret key of the operator's own.

Settings fall back to a random per-process key so that the update, cron and the tests need none. The
web app must not: sessions and CSRF tokens would die at every restart, and each gunicorn worker would
have its own key. ``check --deploy`` reports it; config/wsgi.py refuses to start on it.
"""
from django.conf import settings
from django.core.checks import Error, Tags, register

MISSING_SECRET_KEY = ("DJANGO_SECRET_KEY is not set: set it in the environment to a long random value "
                      "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DJANGO_DEBUG=1 "
                      "for development")


def missing_secret_key() -> str | None:
    """The one-line refusal, or None when the web app may start."""
    if settings.DEBUG or getattr(settings, "SECRET_KEY_FROM_ENVIRONMENT", True):
        return None
    return MISSING_SECRET_KEY


@register(Tags.security, deploy=True)
def check_secret_key_from_environment(app_configs, **kwargs):
    message = missing_secret_key()
    return [Error(message, id="config.E001")] if message else []
