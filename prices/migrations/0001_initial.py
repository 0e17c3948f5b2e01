"""Price history (issue 22): a new, empty table beside an existing catalog; nothing of the catalog changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0009_product_text_search'),
    ]

    operations = [
        migrations.CreateModel(
            name='PriceHistory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField(help_text='the scrape date of the file that made the change')),
                ('price', models.DecimalField(blank=True, decimal_places=2, help_text='empty on an end row: the product was delisted', max_digits=12, null=True)),
                ('was_price', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('is_on_special', models.BooleanField(default=False)),
                ('unit_price', models.DecimalField(blank=True, decimal_places=4, max_digits=14, null=True)),
                ('product', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='price_history', to='catalog.product')),
                ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.store')),
            ],
            options={
                'verbose_name_plural': 'price history',
                'constraints': [models.UniqueConstraint(fields=('store', 'product', 'date'), name='pricehistory_store_product_date')],
            },
        ),
    ]
