"""Shared price lists (issue 21, docs/price-lists.md), the schema: a price row is a list's entry, a store's
own price or a store's gap.

A new PriceList table, Store.price_list, Price.price_list, and Price.store and Price.price nullable (SQLite
remakes catalog_price, which has no triggers; PostgreSQL alters it in place). Every row of the previous
release is then its store's own price, so every store reads what it read; prices 0003 shares them.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0011_price_not_real_reduction_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='price',
            name='price',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="empty on a gap: the store does not carry the list's product", max_digits=12, null=True),
        ),
        migrations.AlterField(
            model_name='price',
            name='store',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='prices', to='catalog.store'),
        ),
        migrations.CreateModel(
            name='PriceList',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(blank=True, max_length=50)),
                ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='price_lists', to='catalog.company')),
            ],
        ),
        migrations.AddField(
            model_name='price',
            name='price_list',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='catalog.pricelist'),
        ),
        migrations.AddField(
            model_name='store',
            name='price_list',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stores', to='catalog.pricelist'),
        ),
        migrations.AddIndex(
            model_name='price',
            index=models.Index(fields=['price_list', 'product'], name='price_price_list_product'),
        ),
        migrations.AddConstraint(
            model_name='price',
            constraint=models.UniqueConstraint(fields=('product', 'price_list'), name='price_product_price_list'),
        ),
        migrations.AddConstraint(
            model_name='price',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('price_list__isnull', True), ('store__isnull', False)), models.Q(('price__isnull', False), ('price_list__isnull', False), ('store__isnull', True)), _connector='OR'), name='price_one_owner'),
        ),
        migrations.AddConstraint(
            model_name='pricelist',
            constraint=models.UniqueConstraint(fields=('company', 'state'), name='pricelist_company_state'),
        ),
    ]
