"""Catalog migration 0012 and prices 0003 carry the previous release's prices forward into shared lists (both databases):
every store reads exactly the prices it had, what the stores of a company and state have in common is
stored once, it works in keyset batches, and it reverses to the previous release's rows."""
from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from prices import sharing

pytestmark = pytest.mark.django_db(transaction=True)

PREVIOUS_RELEASE = [("catalog", "0010_price_reference"), ("prices", "0001_initial")]
# What landed before this round: catalog 0009, no prices app, no reference prices.
LANDED_RELEASE = [("catalog", "0009_product_text_search"), ("prices", None)]
LANDED_FIELDS = ("product_id", "scraped_date", "price", "was_price", "save_amount", "unit_price", "unit_of_measure",
                 "per_unit_price_string", "is_on_special", "price_hash")
FIELDS = (*LANDED_FIELDS, "reference_price", "is_real_reduction")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def previous_catalog(apps, fields=FIELDS) -> dict[int, set]:
    """Three Aldi stores of NSW sharing most prices with different assortments, one of VIC, one IGA store;
    returns each store's rows as the previous release read them (its own rows)."""
    Company, Store = apps.get_model("catalog", "Company"), apps.get_model("catalog", "Store")
    Product, Price = apps.get_model("catalog", "Product"), apps.get_model("catalog", "Price")
    aldi = Company.objects.create(name="aldi", folded_name="aldi")
    iga = Company.objects.create(name="iga", folded_name="iga")
    stores = [Store.objects.create(company=aldi, store_id=f"G{n}", state="nsw") for n in range(3)]
    stores.append(Store.objects.create(company=aldi, store_id="V1", state="vic"))
    stores.append(Store.objects.create(company=iga, store_id="501", state="nsw"))
    products = [Product.objects.create(name=f"P{i}", normalized_name_brand_size=f"p{i}", canonical_nnbs=f"p{i}")
                for i in range(12)]
    day = date(2025, 9, 1)
    for s, store in enumerate(stores):
        for i, product in enumerate(products):
            if (i + s) % 5 == 0:  # each store lacks a few products
                continue
            amount = D("1.00") + i
            if (s, i) == (1, 3):
                amount = D("9.99")  # store G1 prices p3 its own way
            special = i == 6
            Price.objects.create(product=product, store=store, scraped_date=day, price=amount,
                                 was_price=amount + 1 if special else None, save_amount=D("1") if special else None,
                                 unit_price=D("0.1234"), unit_of_measure="100g", per_unit_price_string="$0.12/100g",
                                 is_on_special=special, price_hash=f"h{i}-{amount}",
                                 **({"reference_price": amount + 2 if special else None,
                                     "is_real_reduction": True if special else None} if fields == FIELDS else {}))
    return {store.id: set(Price.objects.filter(store=store).values_list(*fields)) for store in stores}


@pytest.mark.parametrize("release, fields", [(PREVIOUS_RELEASE, FIELDS), (LANDED_RELEASE, LANDED_FIELDS)],
                         ids=["with history", "as landed before history"])
def test_the_previous_releases_prices_become_shared_and_every_store_reads_the_same(monkeypatch, release, fields):
    # Small batches, so that the keyset walks and the batched placement run over several batches.
    monkeypatch.setattr(importlib.import_module("prices.migrations.0003_share_prices"), "PRODUCT_BATCH", 3)
    monkeypatch.setattr(sharing, "SHARE_BATCH", 2)
    try:
        old = migrate(release)
        before = previous_catalog(old, fields)
        rows_before = sum(len(rows) for rows in before.values())

        migrate(latest())

        from catalog.models import Price, PriceList, Store

        for store_id, rows in before.items():
            store = Store.objects.get(pk=store_id)
            assert store.price_list_id is not None
            assert set(Price.objects.for_store(store).values_list(*fields)) == rows, store.store_id
        # One list per company and state; the three NSW Aldi stores share theirs.
        assert set(PriceList.objects.values_list("company__name", "state")) == {
            ("aldi", "nsw"), ("aldi", "vic"), ("iga", "nsw")}
        nsw = PriceList.objects.get(company__name="aldi", state="nsw")
        assert nsw.entries.count() >= 10 and nsw.stores.count() == 3
        assert Price.objects.count() < rows_before

        migrate(release)
        OldPrice = old.get_model("catalog", "Price")
        for store_id, rows in before.items():
            assert set(OldPrice.objects.filter(store_id=store_id).values_list(*fields)) == rows
        assert OldPrice.objects.count() == rows_before
    finally:
        migrate(latest())
