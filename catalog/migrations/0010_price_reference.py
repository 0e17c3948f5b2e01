"""A special's reference price and whether it is a real reduction (issue 22), on the current price.

Two nullable columns: an existing price has neither until it next goes on special, when the update computes
them from price history (which starts with this release) and the current price. ADD COLUMN on both
databases: no table is remade.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0009_product_text_search'),
    ]

    operations = [
        migrations.AddField(
            model_name='price',
            name='is_real_reduction',
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='price',
            name='reference_price',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
    ]
