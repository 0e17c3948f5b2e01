"""An index of the current specials that are not real reductions, for the admin's price changes page
(prices/changes.py). Partial: it holds only those rows, so it stays small on millions of prices. An index
only: the table is not remade, on either database."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_price_reference'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='price',
            index=models.Index(condition=models.Q(('is_real_reduction', False)), fields=['scraped_date'], name='price_not_real_reduction'),
        ),
    ]
