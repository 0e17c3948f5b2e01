"""Shared price lists (issue 21, docs/price-lists.md), the schema: a price row is a list's entry, a store's
own price or a store's gap.

A new PriceList table, Store.price_list, Price.price_list, and Price.store and Price.price nullable (SQLite
remakes catalog_price, which has no triggers; PostgreSQL alters it in place). Every row of the previous
release is then its store's own price, so every store reads what it read; prices 0003 shares them.

SQLite's schema editor remakes catalog_price for each change to it (both nullable fields, the check and
the unique constraint: four copies of every row and of the table's indexes, most of an hour each at 90
million rows), so there the price table's changes are made in one remake to its final definition
(``PriceTableChanges``); other databases make each change as usual.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.migrations.operations.base import Operation


class PriceTableChanges(Operation):
    """The changes to the price table, in one step on SQLite (one remake to the state after all of them,
    with its new column empty), each as usual elsewhere and backwards."""

    reversible = True

    def __init__(self, operations):
        self.operations = operations

    def deconstruct(self):
        return self.__class__.__name__, [self.operations], {}

    def state_forwards(self, app_label, state):
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            price = to_state.apps.get_model(app_label, "price")
            schema_editor._remake_table(price, create_field=price._meta.get_field("price_list"))
            return
        for operation, before, after in self._steps(app_label, from_state):
            operation.database_forwards(app_label, schema_editor, before, after)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for operation, before, after in reversed(self._steps(app_label, to_state)):
            operation.database_backwards(app_label, schema_editor, after, before)

    def _steps(self, app_label, state):
        steps = []
        for operation in self.operations:
            after = state.clone()
            operation.state_forwards(app_label, after)
            steps.append((operation, state, after))
            state = after
        return steps

    def describe(self):
        return "Change the price table: " + "; ".join(operation.describe() for operation in self.operations)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0011_price_not_real_reduction_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='PriceList',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(blank=True, max_length=50)),
                ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='price_lists', to='catalog.company')),
            ],
        ),
        PriceTableChanges([
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
            migrations.AddField(
                model_name='price',
                name='price_list',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='catalog.pricelist'),
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
        ]),
        migrations.AddField(
            model_name='store',
            name='price_list',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stores', to='catalog.pricelist'),
        ),
        migrations.AddConstraint(
            model_name='pricelist',
            constraint=models.UniqueConstraint(fields=('company', 'state'), name='pricelist_company_state'),
        ),
    ]
