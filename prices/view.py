"""Price history as ``bin/update-products history`` prints it: one product's changes at one store (found
by the company's SKU) or at every store, oldest first, with the current reference price.

The JSON shape is fixed, for other tools: ``{"changes": [{"date", "price", "was_price", "is_on_special"},
...], "reference_price": ...}``, amounts as strings of decimals ("2.50", exact, never floats), null for
none (an end row, a delisting, has price null). ``--product`` prints a list of those, one per store, each
with its ``store`` ("company/store_id").
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import orjson

from catalog.models import SKU, Company, Price, Product, Store, fold_company_name

from .models import PriceHistory

CHANGE_FIELDS = ("date", "price", "was_price", "is_on_special")


class NotFound(Exception):
    """What was asked for is not in the catalog; the message says what to type instead."""


@dataclass
class StoreHistory:
    title: str  # what a person reads above the changes: the product and the store
    store: str  # "company/store_id"
    changes: list[dict]
    reference_price: str | None
    is_real_reduction: bool | None  # for the text only: the JSON shape is fixed

    def as_dict(self) -> dict:
        return {"changes": self.changes, "reference_price": self.reference_price}


def store_history(store_ref: str, sku: str, *, prog: str) -> StoreHistory:
    """The changes of the product the company's ``sku`` names, at the store ``store_ref``."""
    store = find_store(store_ref, prog=prog)
    link = SKU.objects.select_related("product__brand").filter(company_id=store.company_id, sku=sku).first()
    if link is None:
        raise NotFound(f"no SKU {sku!r} at {store.company.name}: give the SKU as the company's files spell it")
    rows = list(PriceHistory.objects.filter(store=store, product_id=link.product_id).order_by("date")
                .values_list(*CHANGE_FIELDS))
    reference, verdict = Price.objects.for_store(store).filter(product_id=link.product_id).values_list(
        "reference_price", "is_real_reduction").first() or (None, None)
    return StoreHistory(f"{link.product} at {store_name(store)}, SKU {sku}", store_ref_of(store),
                        [_change(row) for row in rows], _money(reference), verdict)


def product_history(product_id: int, *, prog: str) -> list[StoreHistory]:
    """The product's changes at every store it has history at, in company and store id order."""
    product = Product.objects.select_related("brand").filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"no product {product_id}: the admin's product page shows a product's id")
    # Four queries whatever the number of stores: the rows, their stores, the current references of the
    # product in the stores' own rows and in their lists (docs/price-lists.md).
    rows = list(PriceHistory.objects.filter(product_id=product_id).order_by("store_id", "date")
                .values_list("store_id", *CHANGE_FIELDS))
    store_ids = sorted({row[0] for row in rows})
    stores = list(Store.objects.select_related("company").filter(id__in=store_ids))
    owned = {store_id: (price, reference, verdict) for store_id, price, reference, verdict in Price.objects.filter(
        product_id=product_id, store_id__in=store_ids).values_list(
        "store_id", "price", "reference_price", "is_real_reduction")}
    listed = {list_id: (reference, verdict) for list_id, reference, verdict in Price.objects.filter(
        product_id=product_id, price_list_id__in={s.price_list_id for s in stores if s.price_list_id}).values_list(
        "price_list_id", "reference_price", "is_real_reduction")}
    current = {}
    for store in stores:
        if store.id in owned:
            price, reference, verdict = owned[store.id]
            if price is not None:  # a gap: the store does not carry it
                current[store.id] = (reference, verdict)
        elif store.price_list_id in listed:
            current[store.id] = listed[store.price_list_id]
    histories = []
    for store in sorted(stores, key=lambda s: (s.company.name.casefold(), s.store_id)):
        reference, verdict = current.get(store.id, (None, None))
        histories.append(StoreHistory(f"{product} at {store_name(store)}", store_ref_of(store),
                                      [_change(row[1:]) for row in rows if row[0] == store.id],
                                      _money(reference), verdict))
    return histories


def find_store(store_ref: str, *, prog: str) -> Store:
    company, slash, store_id = store_ref.partition("/")
    if not slash or not company.strip() or not store_id.strip():
        raise NotFound(f"{store_ref!r} is not COMPANY/STORE_ID: give the store as, say, iga/21981 "
                       f"(`{prog} history --help`)")
    store = Store.objects.select_related("company").filter(
        company__folded_name=fold_company_name(company), store_id=store_id.strip()).first()
    if store is None:
        if not Company.objects.filter(folded_name=fold_company_name(company)).exists():
            raise NotFound(f"no company {company!r}: give it as its files' metadata does (aldi, iga)")
        raise NotFound(f"no store {store_id.strip()!r} at {company}: give the store id its files' metadata has")
    return store


def store_ref_of(store: Store) -> str:
    return f"{store.company.name}/{store.store_id}"


def store_name(store: Store) -> str:
    return f"{store_ref_of(store)} ({store.store_name})"


def as_json(data) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def as_text(history: StoreHistory) -> str:
    lines = [history.title]
    for change in history.changes:
        if change["price"] is None:
            lines.append(f"  {change['date']}  delisted")
            continue
        special = "  special" if change["is_on_special"] else ""
        was = f", was ${change['was_price']}" if change["was_price"] is not None else ""
        lines.append(f"  {change['date']}  ${change['price']}{special}{was}")
    if not history.changes:
        lines.append("  no price history yet")
    if history.reference_price is not None:
        verdict = "a real reduction" if history.is_real_reduction else "not a real reduction"
        lines.append(f"  reference price ${history.reference_price}: {verdict}")
    return "\n".join(lines)


def _change(row) -> dict:
    day, price, was_price, is_on_special = row
    return {"date": day.isoformat(), "price": _money(price), "was_price": _money(was_price),
            "is_on_special": is_on_special}


def _money(value) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"
