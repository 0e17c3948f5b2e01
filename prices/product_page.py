"""What the admin's product page shows of a product's price history: the chart and the table, from one
query for the product's newest history rows (with their stores), whatever the number of stores."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .chart import Change, by_store
from .models import PriceHistory

# The rows read for one product's page: its newest changes at every store. A product priced in a thousand
# stores for years would otherwise draw every row; the page says when it stops here.
HISTORY_ROWS_READ = 2000
# The table's rows, newest first; the chart draws every row read.
TABLE_ROWS = 200


@dataclass
class TableRow:
    change: Change
    difference: Decimal | None  # price minus the store's previous price; None for a first price or a delisting


@dataclass
class ProductHistory:
    changes: list[Change]  # newest first
    cut: bool  # True when the product has more rows than were read
    last_scraped: dict[str, date]  # each store's last scrape: its price held until then

    @property
    def table(self) -> list[TableRow]:
        return table_rows(self.changes)[:TABLE_ROWS]


def read_product_history(product_id: int) -> ProductHistory:
    # One query, on the (product, date) index; the store and its company come joined.
    rows = list(PriceHistory.objects.filter(product_id=product_id).select_related("store__company")
                .order_by("-date", "store_id")[:HISTORY_ROWS_READ + 1])
    changes = [Change(str(row.store), row.date, row.price, row.was_price, row.is_on_special)
               for row in rows[:HISTORY_ROWS_READ]]
    last_scraped = {str(row.store): row.store.last_scraped for row in rows if row.store.last_scraped}
    return ProductHistory(changes, cut=len(rows) > HISTORY_ROWS_READ, last_scraped=last_scraped)


def table_rows(changes: list[Change]) -> list[TableRow]:
    """The changes newest first, each with its difference from the same store's previous row (among the
    rows read: the oldest row read of a store has none)."""
    difference: dict[int, Decimal | None] = {}
    for rows in by_store(changes).values():
        for earlier, later in zip(rows, rows[1:]):
            both = earlier.price is not None and later.price is not None
            difference[id(later)] = later.price - earlier.price if both else None
    return [TableRow(change, difference.get(id(change))) for change in changes]
