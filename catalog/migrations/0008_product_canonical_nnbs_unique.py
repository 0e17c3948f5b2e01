"""The canonical NNBS becomes required and unique (filled, and its clashes merged, by 0007, in its own
transaction so PostgreSQL alters the table with no row changes pending).

On SQLite the AlterField remakes the product table, which drops its change-log triggers: they are put
back after it, and (for a reverse) after the reverse remake too.
"""
from django.db import migrations, models

from diskcache_tier import triggers


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_product_canonical_nnbs"),
        ("diskcache_tier", "0002_log_writer_and_slim_columns"),  # the triggers put back are its
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, triggers.reinstall_on_sqlite()),
        migrations.AlterField(
            model_name="product",
            name="canonical_nnbs",
            field=models.CharField(editable=False, max_length=255, unique=True),
        ),
        migrations.RunPython(triggers.reinstall_on_sqlite(), migrations.RunPython.noop),
    ]
