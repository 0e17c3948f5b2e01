"""Price history: one row per change of a store's current price of a product, never one per scrape.

catalog.Price holds the current price only; a row here says from which scrape date a price held. The
price in force on a day is the row of the latest date at or before it; an end row (price NULL) says the
product was delisted from that date. Written by the update (update/managers/price.py) in the file's own
transaction, so a file that rolls back leaves no history either.
"""
from django.db import models

from catalog.models import Product, Store


class PriceHistory(models.Model):
    # No index of its own on store: the unique (store, product, date) index serves every store query.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No constraint, and nothing done on delete: deleting products never reads this table. Catalog 0007
    # merges products with today's models on its way up from an older release, before this table exists,
    # and delete scripts written for the catalog's tables keep working. A deleted product's rows stay,
    # under its id (ids are never reused).
    product = models.ForeignKey(Product, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="price_history")
    date = models.DateField(help_text="the scrape date of the file that made the change")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                help_text="empty on an end row: the product was delisted")
    was_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_on_special = models.BooleanField(default=False)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    class Meta:
        verbose_name_plural = "price history"
        # A store's file is applied once per date (an older or equal date is refused as stale), so one
        # change per day; the backfill relies on it to add nothing twice.
        constraints = [models.UniqueConstraint(fields=["store", "product", "date"],
                                               name="pricehistory_store_product_date")]
        # The admin's price changes page reads a date range (prices/changes.py). A product's page reads
        # its rows on the product's own index: a few thousand at most, sorted by date in the query.
        indexes = [models.Index(fields=["date"], name="pricehistory_date")]

    def __str__(self):
        return f"{'delisted' if self.price is None else f'${self.price:,.2f}'} from {self.date}"
