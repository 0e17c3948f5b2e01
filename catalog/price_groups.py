"""A product's distinct current prices, each with the stores that charge it (the product's admin page).

What a store charges is its own row (a gap: it does not carry the product), else its list's entry
(docs/price-lists.md). ``group_by_price`` decides that on plain values; ``prices_by_store`` reads them in
three queries, whatever the number of stores.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .models import Price, Store

Quote = tuple  # (price, was_price, is_on_special)


@dataclass
class PriceGroup:
    price: Decimal
    was_price: Decimal | None
    is_on_special: bool
    store_ids: list[int]


def group_by_price(own: dict[int, Quote | None], entries: dict[int, Quote],
                   followers: dict[int, int]) -> list[PriceGroup]:
    """``own``: store -> its own quote (None: a gap); ``entries``: list -> its quote; ``followers``: store ->
    the list it follows. The groups cheapest first, each store in one group at most."""
    charged: dict[Quote, list[int]] = {}
    for store_id in sorted(set(own) | set(followers)):
        quote = own[store_id] if store_id in own else entries.get(followers[store_id])
        if quote is not None:
            charged.setdefault(quote, []).append(store_id)
    return [PriceGroup(*quote, store_ids=stores)
            for quote, stores in sorted(charged.items(), key=lambda item: (item[0][0], -len(item[1])))]


def prices_by_store(product_id: int) -> tuple[list[PriceGroup], dict[int, Store]]:
    """The product's groups, and the stores they name (with their companies)."""
    own, entries = {}, {}
    for store_id, list_id, price, was_price, special in Price.objects.filter(product_id=product_id).values_list(
            "store_id", "price_list_id", "price", "was_price", "is_on_special"):
        quote = None if price is None else (price, was_price, special)
        if store_id is not None:
            own[store_id] = quote
        else:
            entries[list_id] = quote
    followers = dict(Store.objects.filter(price_list_id__in=entries).values_list("id", "price_list_id"))
    groups = group_by_price(own, entries, followers)
    named = {store_id for group in groups for store_id in group.store_ids}
    stores = Store.objects.select_related("company").in_bulk(named) if named else {}
    return groups, stores
