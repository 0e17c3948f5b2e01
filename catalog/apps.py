from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from diskcache_tier.after_migrate import refresh_index_after_migrate

        # Sent once per migrate for this app, after the whole plan ran.
        post_migrate.connect(refresh_index_after_migrate, sender=self,
                             dispatch_uid="diskcache_tier.refresh_index_after_migrate")
