from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DiskcacheTierConfig(AppConfig):
    """Tier 1: the product index, its change log and triggers, the rebuild after migrate, the run lock."""

    name = "diskcache_tier"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .after_migrate import refresh_index_after_migrate

        # Sent once per migrate for this app, after the whole plan ran.
        post_migrate.connect(refresh_index_after_migrate, sender=self,
                             dispatch_uid="diskcache_tier.refresh_index_after_migrate")
