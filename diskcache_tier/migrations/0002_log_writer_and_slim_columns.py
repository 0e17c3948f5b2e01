"""The change log names its writer (PostgreSQL) and logs what the slim record keeps.

``writer_txid`` lets a file's transaction tell its own log rows from another connection's, so they can
be forgotten once the file's index writes are committed. The product trigger also fires on url,
image_url, sizes and brand_name_company_pairs: the slim record says whether enrichment could still add
to them, and an edit made outside the update must reach it too.
"""
from django.db import migrations, models

from diskcache_tier import triggers


class Migration(migrations.Migration):

    dependencies = [
        ("diskcache_tier", "0001_initial"),
    ]

    operations = [
        # Reversed last-first: the old triggers are back before the column they do not write goes away.
        migrations.AddField(
            model_name="indexchange",
            name="writer_txid",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(
            triggers.run_for_vendor({"sqlite": triggers.SQLITE_DROP + triggers.sqlite_create(),
                                     "postgresql": triggers.postgresql_create()}),
            triggers.run_for_vendor({
                "sqlite": triggers.SQLITE_DROP + triggers.sqlite_create(triggers.V1_PRODUCT_LOGGED_COLUMNS,
                                                                        with_txid=False),
                "postgresql": triggers.postgresql_create(triggers.V1_PRODUCT_LOGGED_COLUMNS, with_txid=False)}),
        ),
    ]
