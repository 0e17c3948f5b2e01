"""The project's own app: it registers the web app's deploy checks (config/checks.py)."""
from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "site configuration"

    def ready(self):
        from config import checks  # noqa: F401  (registers the checks)
