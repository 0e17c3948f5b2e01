"""Merge duplicate products into one: the one library function the admin action and `reconcile` call.

Everything the merged products carry moves to the survivor (SKUs, the newest price per store,
category links, their NNBS as variations, a barcode where the survivor has none), then they are
deleted, all in one transaction. The tier-1 index is not touched here: the change-log triggers record
every row this changes, and the next run's catch-up moves the keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction

from .models import SKU, Price, Product, ProductCategory, Store


class MergeError(ValueError):
    """A merge that can't be done as asked; nothing was changed."""


@dataclass
class MergeResult:
    skus_moved: int = 0
    prices_moved: int = 0
    prices_dropped: int = 0
    category_links_moved: int = 0
    variations_added: int = 0
    barcode_moved: int = 0
    products_deleted: int = 0

    def add(self, other: MergeResult) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict:
        return asdict(self)


def merge_products(survivor_id: int, merged_ids: list[int], *, merge_prices=None) -> MergeResult:
    """Fold the products ``merged_ids`` into ``survivor_id`` and delete them; one transaction.

    Queries are per group, not per row: one UPDATE for the SKUs, one read and at most two writes for
    the prices and for the category links, one DELETE for the merged products, one UPDATE of the survivor.
    ``merge_prices`` replaces the price step for a migration whose price table is an older one's (0007).
    """
    merged_ids = sorted({int(pid) for pid in merged_ids} - {int(survivor_id)})
    result = MergeResult()
    if not merged_ids:
        return result
    with transaction.atomic():
        # Locked so a concurrent update can't add a price or SKU to a product about to be deleted.
        products = {p.id: p for p in Product.objects.select_for_update().filter(id__in=[survivor_id, *merged_ids])}
        missing = [pid for pid in (survivor_id, *merged_ids) if pid not in products]
        if missing:
            raise MergeError(f"cannot merge: no product with id {', '.join(map(str, missing))}")
        survivor = products[survivor_id]
        merged = [products[pid] for pid in merged_ids]

        result.skus_moved = SKU.objects.filter(product_id__in=merged_ids).update(product_id=survivor_id)
        result.prices_moved, result.prices_dropped = (merge_prices or _merge_prices)(survivor_id, merged_ids)
        result.category_links_moved = _merge_category_links(survivor_id, merged_ids)
        result.variations_added = _fold_fields(survivor, merged)
        # Deleted before the survivor is saved: the barcode is unique, and the merged product holding it
        # must be gone before the survivor can take it. Their SKUs, prices and links have moved already.
        Product.objects.filter(id__in=merged_ids).delete()
        result.products_deleted = len(merged_ids)
        if survivor.barcode is None:
            survivor.barcode = next((p.barcode for p in merged if p.barcode), None)
            result.barcode_moved = int(survivor.barcode is not None)
        survivor.save()
    return result


def _merge_prices(survivor_id: int, merged_ids: list[int]) -> tuple[int, int]:
    """Keep the newest price of each owner, a store or a list (docs/price-lists.md): (prices moved to the
    survivor, prices dropped). A store's gap stays only if the store read none of the products: a store
    that carried one of them carries the survivor."""
    rows = list(Price.objects.filter(product_id__in=[survivor_id, *merged_ids])
                .values_list("id", "product_id", "store_id", "price_list_id", "scraped_date", "price"))
    lists_of = dict(Store.objects.filter(id__in={r[2] for r in rows if r[2]}).values_list("id", "price_list_id"))
    listed = {(r[3], r[1]) for r in rows if r[3]}
    gapped = {(r[2], r[1]) for r in rows if r[2] and r[5] is None}
    priced_stores = {r[2] for r in rows if r[2] and r[5] is not None}

    def read_something(store_id):
        return store_id in priced_stores or any((lists_of.get(store_id), pid) in listed
                                                and (store_id, pid) not in gapped
                                                for pid in [survivor_id, *merged_ids])

    # A price before a gap, then newest date first; on a tie the survivor's own price, then the oldest
    # product's.
    rows.sort(key=lambda r: (r[2] or 0, r[3] or 0, r[5] is None, -r[4].toordinal(), r[1] != survivor_id, r[1]))
    winners, losers, seen = [], [], set()
    for price_id, product_id, store_id, list_id, _, price in rows:
        owner = (store_id, list_id)
        if owner in seen or (price is None and read_something(store_id)):
            losers.append(price_id)
        else:
            seen.add(owner)
            if product_id != survivor_id:
                winners.append(price_id)
    if losers:
        Price.objects.filter(id__in=losers).delete()
    if winners:
        Price.objects.filter(id__in=winners).update(product_id=survivor_id)
    return len(winners), len(losers)


def _merge_category_links(survivor_id: int, merged_ids: list[int]) -> int:
    rows = list(ProductCategory.objects.filter(product_id__in=[survivor_id, *merged_ids])
                .values_list("id", "product_id", "category_id"))
    have = {category for _, product, category in rows if product == survivor_id}
    moving = []
    for link_id, product_id, category_id in sorted(rows, key=lambda r: r[0]):
        if product_id != survivor_id and category_id not in have:
            have.add(category_id)
            moving.append(link_id)
    if moving:
        ProductCategory.objects.filter(id__in=moving).update(product_id=survivor_id)
    # Links left on the merged products duplicate the survivor's and go with them (cascade).
    return len(moving)


def _fold_fields(survivor: Product, merged: list[Product]) -> int:
    """Union the merged products' spellings, sizes and brands into the survivor; fill its empty fields.

    Returns how many NNBS spellings became new variations of the survivor.
    """
    variations = list(survivor.normalized_name_brand_size_variations or [])
    known = {survivor.normalized_name_brand_size, *variations}
    before = len(variations)
    sizes = list(survivor.sizes or [])
    pairs = [list(p) for p in survivor.brand_name_company_pairs or []]
    companies = {p[1] for p in pairs if len(p) > 1}
    for product in merged:
        for spelling in (product.normalized_name_brand_size, *(product.normalized_name_brand_size_variations or [])):
            if spelling and spelling not in known:
                known.add(spelling)
                variations.append(spelling)
        sizes += [s for s in product.sizes or [] if s not in sizes]
        for pair in product.brand_name_company_pairs or []:
            # The first raw brand seen per company is kept, as the update keeps it.
            if len(pair) > 1 and pair[1] not in companies:
                companies.add(pair[1])
                pairs.append(list(pair))
        survivor.brand_id = survivor.brand_id or product.brand_id
        survivor.url = survivor.url or product.url
        survivor.image_url = survivor.image_url or product.image_url
        survivor.size = survivor.size or product.size
    survivor.normalized_name_brand_size_variations = variations
    survivor.sizes = sizes
    survivor.brand_name_company_pairs = pairs
    return len(variations) - before
