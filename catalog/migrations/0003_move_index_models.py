"""The change log and the database identity now belong to diskcache_tier: catalog forgets them, state only.

The tables (catalog_indexchange, catalog_databaseidentity), their rows and the triggers stay.
"""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_index_change_log"),
        ("diskcache_tier", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="IndexChange"),
                migrations.DeleteModel(name="DatabaseIdentity"),
            ],
            database_operations=[],
        ),
    ]
