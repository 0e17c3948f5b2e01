"""The canonical NNBS becomes required and unique (filled, and its clashes merged, by 0007, in its own
transaction so PostgreSQL alters the table with no row changes pending)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_product_canonical_nnbs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="canonical_nnbs",
            field=models.CharField(editable=False, max_length=255, unique=True),
        ),
    ]
