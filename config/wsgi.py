"""The admin site's WSGI application (bin/serve runs it with gunicorn)."""
import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.checks import missing_secret_key  # noqa: E402  (needs the settings loaded above)

if missing_secret_key():
    raise ImproperlyConfigured(missing_secret_key())
