from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The run ledger (issue 21): its tables are still ``update_updaterun`` and ``update_runfile``."""

    name = "ledger"
    default_auto_field = "django.db.models.BigAutoField"
    # The admin's index showed these pages under "Update" before the app of their own; staff look there.
    verbose_name = "Update"
