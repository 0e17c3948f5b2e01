"""prices 0003 takes a list's products in batches of the ids its stores carry: every id once, in order,
whatever the batch size and however the stores' assortments interleave."""
import importlib
import random
from datetime import date
from decimal import Decimal

import pytest

from catalog.models import Company, Price, Product, Store

share = importlib.import_module("prices.migrations.0003_share_prices")

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("batch", [1, 3, 7, 1000])
def test_the_batches_cover_every_product_a_store_carries_once_in_order(monkeypatch, batch):
    monkeypatch.setattr(share, "PRODUCT_BATCH", batch)
    company = Company.objects.create(name="aldi")
    stores = [Store.objects.create(company=company, store_id=f"G{n}") for n in range(4)]
    products = [Product.objects.create(name=f"p{n}", normalized_name_brand_size=f"p{n}") for n in range(40)]
    rng = random.Random(batch)
    carried = set()
    for store in stores:  # each store a random part of the range; products 30-39 in no store
        for product in rng.sample(products[:30], 12):
            Price.objects.create(product=product, store=store, scraped_date=date(2025, 9, 1), price=Decimal("1"))
            carried.add(product.id)

    taken, last = [], 0
    while batch_ := share.next_products(Price, [store.id for store in stores], last):
        assert len(batch_) <= batch
        taken += batch_
        last = batch_[-1]
    assert taken == sorted(carried)
