"""diskcache_tier takes over the change log and the database identity from catalog: state only.

catalog migration 0002 created both tables (and the triggers); their names stay as they are, so a
catalog built by the previous release keeps its rows. catalog migration 0003 drops them from catalog's
state in the same plan.
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("catalog", "0002_index_change_log"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DatabaseIdentity",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("token", models.CharField(max_length=32)),
                    ],
                    options={"db_table": "catalog_databaseidentity"},
                ),
                migrations.CreateModel(
                    name="IndexChange",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("kind", models.CharField(max_length=1)),
                        ("product_id", models.BigIntegerField(null=True)),
                        ("brand_id", models.BigIntegerField(null=True)),
                        ("company_id", models.BigIntegerField(null=True)),
                        ("sku", models.CharField(max_length=100, null=True)),
                        ("old_nnbs", models.CharField(max_length=255, null=True)),
                        ("old_barcode", models.CharField(max_length=13, null=True)),
                        ("old_variations", models.JSONField(null=True)),
                    ],
                    options={"db_table": "catalog_indexchange"},
                ),
            ],
            database_operations=[],
        ),
    ]
