"""The price history's migrations (prices 0001 and 0002, catalog 0010 and 0011) carry a catalog of the
previous release forward (both databases): its stores, products and prices stay as they were, with no
reference price yet, the history starts empty beside them, the admin's indexes come beside existing
history, and all of them reverse."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# The previous release: catalog as it left it, and no prices app.
PREVIOUS_RELEASE = [("catalog", "0009_product_text_search"), ("prices", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(cursor, table)}


def previous_catalog(apps):
    Company, Store = apps.get_model("catalog", "Company"), apps.get_model("catalog", "Store")
    Product, Price = apps.get_model("catalog", "Product"), apps.get_model("catalog", "Price")
    store = Store.objects.create(company=Company.objects.create(name="iga", folded_name="iga"), store_id="501",
                                 store_name="iga testville", state="nsw")
    oats = Product.objects.create(name="Oats", normalized_name_brand_size="oats500g", canonical_nnbs="oats500g")
    Price.objects.create(product=oats, store=store, scraped_date=date(2025, 9, 1), price=Decimal("2.50"),
                         is_on_special=True, price_hash="h")
    return store, oats


def test_history_starts_empty_beside_a_previous_catalog_and_the_migration_reverses():
    try:
        old = migrate(PREVIOUS_RELEASE)
        assert "prices_pricehistory" not in tables()
        store, oats = previous_catalog(old)

        new = migrate(latest())

        Price, History = new.get_model("catalog", "Price"), new.get_model("prices", "PriceHistory")
        kept = Price.objects.get(product_id=oats.id, store_id=store.id)
        assert (kept.price, kept.is_on_special, kept.scraped_date) == (Decimal("2.50"), True, date(2025, 9, 1))
        assert (kept.reference_price, kept.is_real_reduction) == (None, None)
        assert History.objects.count() == 0
        History.objects.create(store_id=store.id, product_id=oats.id, date=date(2025, 9, 2), price=Decimal("2.40"))
        assert History.objects.get().price == Decimal("2.40")

        migrate(PREVIOUS_RELEASE)
        assert "prices_pricehistory" not in tables()
        assert columns("catalog_price") >= {"price", "is_on_special"}
        assert not columns("catalog_price") & {"reference_price", "is_real_reduction"}
        assert old.get_model("catalog", "Price").objects.filter(product_id=oats.id).exists()
    finally:
        migrate(latest())


def indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def test_the_price_changes_indexes_come_beside_existing_history_and_reverse():
    # The release with history but without the admin's indexes (prices 0002, catalog 0011).
    with_history = [("catalog", "0010_price_reference"), ("prices", "0001_initial")]
    try:
        old = migrate(with_history)
        assert "pricehistory_date" not in indexes("prices_pricehistory")
        store, oats = previous_catalog(old)
        old.get_model("catalog", "Price").objects.update(reference_price=Decimal("2.00"), is_real_reduction=False)
        old.get_model("prices", "PriceHistory").objects.create(store_id=store.id, product_id=oats.id,
                                                               date=date(2025, 9, 1), price=Decimal("2.50"))

        new = migrate(latest())

        assert "pricehistory_date" in indexes("prices_pricehistory")
        assert "price_not_real_reduction" in indexes("catalog_price")
        assert new.get_model("prices", "PriceHistory").objects.get().price == Decimal("2.50")
        flagged = new.get_model("catalog", "Price").objects.filter(is_real_reduction=False,
                                                                   scraped_date__gte=date(2025, 9, 1))
        assert list(flagged.values_list("product_id", flat=True)) == [oats.id]

        migrate(with_history)
        assert "pricehistory_date" not in indexes("prices_pricehistory")
        assert "price_not_real_reduction" not in indexes("catalog_price")
        assert old.get_model("prices", "PriceHistory").objects.count() == 1
    finally:
        migrate(latest())
