"""History by date, for the admin's price changes page (prices/changes.py): a range's rows without reading
the rest. An index only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('prices', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='pricehistory',
            index=models.Index(fields=['date'], name='pricehistory_date'),
        ),
    ]
