"""Shared price lists (issue 21, docs/price-lists.md), the data: the previous release's rows are shared.

Per company and state, the stores with prices join their list, and their products are placed in keyset
batches (prices.sharing.share_products, with this migration's models): one read and a few bulk writes per
batch of products, memory flat whatever the catalog. Every store reads the same prices before and after. A
migration of its own, apart from catalog 0012's schema: PostgreSQL refuses to alter a table with rows
written earlier in the same transaction; and in this app, since the placement is prices' and catalog never
imports prices. The reverse writes every store's reading back as its own rows.
"""

from django.db import migrations

from prices.sharing import CONTENT_FIELDS, share_products

# Products per keyset batch over a list's stores (share_products places them 500 at a time).
PRODUCT_BATCH = 2_000


def share_previous_prices(apps, schema_editor):
    Store, Price, PriceList = (apps.get_model("catalog", name) for name in ("Store", "Price", "PriceList"))
    groups = (Store.objects.filter(price_list__isnull=True, prices__isnull=False)
              .values_list("company_id", "state").distinct().order_by("company_id", "state"))
    for company_id, state in list(groups):
        price_list, _ = PriceList.objects.get_or_create(company_id=company_id, state=state)
        store_ids = list(Store.objects.filter(company_id=company_id, state=state, price_list__isnull=True,
                                              prices__isnull=False).distinct().values_list("id", flat=True))
        Store.objects.filter(id__in=store_ids).update(price_list=price_list)
        store_ids = list(Store.objects.filter(price_list=price_list).order_by("id").values_list("id", flat=True))
        if len(store_ids) < 2:
            continue  # a list of one store shares nothing (update/managers/price.py): its rows stay its own
        last = 0
        while True:
            batch = next_products(Price, store_ids, last)
            if not batch:
                break
            last = batch[-1]
            share_products(Price, price_list.id, store_ids, batch)


def next_products(Price, store_ids: list[int], last: int) -> list[int]:
    """The next PRODUCT_BATCH product ids after ``last`` that any of the stores has a row for: each store's
    next ids read in order from its (store, product) index, merged. One query over all the stores at once
    (DISTINCT ... ORDER BY ... LIMIT) sorted every row after ``last`` to take the first ids, batch after
    batch: quadratic in the catalog (bench.share_migration). The first ids of the union are among each
    store's first, so the union is cut back to its first PRODUCT_BATCH after each store: at most twice that
    many ids are held, however many stores the list has."""
    ids: list[int] = []
    for store_id in store_ids:
        nexts = (Price.objects.filter(store_id=store_id, product_id__gt=last).order_by("product_id")
                 .values_list("product_id", flat=True)[:PRODUCT_BATCH])
        ids = sorted(set(ids).union(nexts))
        del ids[PRODUCT_BATCH:]
    return ids


def unshare_prices(apps, schema_editor):
    """Every store's reading as its own rows, then no lists: the previous release's form."""
    Store, Price = apps.get_model("catalog", "Store"), apps.get_model("catalog", "Price")
    for store in Store.objects.filter(price_list__isnull=False).order_by("id").iterator():
        last = 0
        while True:
            entries = list(Price.objects.filter(price_list_id=store.price_list_id, product_id__gt=last)
                           .exclude(product_id__in=Price.objects.filter(store_id=store.id).values("product_id"))
                           .order_by("product_id")[:PRODUCT_BATCH])
            if not entries:
                break
            last = entries[-1].product_id
            Price.objects.bulk_create([
                Price(product_id=row.product_id, store_id=store.id, scraped_date=row.scraped_date,
                      **{name: getattr(row, name) for name in CONTENT_FIELDS}) for row in entries])
    Price.objects.filter(store__isnull=True).delete()
    Price.objects.filter(price__isnull=True).delete()
    Store.objects.update(price_list=None)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0012_price_lists'),
        ('prices', '0002_pricehistory_date_index'),
    ]

    operations = [
        migrations.RunPython(share_previous_prices, unshare_prices),
    ]
