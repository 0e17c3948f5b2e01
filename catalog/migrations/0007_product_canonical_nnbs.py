"""Products get their canonical NNBS (NFC, whitespace removed) in a column of its own, made unique by 0008.

Filled in keyset batches. Two products whose NNBS differ only by spaces or Unicode form are one product to
matching (the admin could type `rolled oats 500g` beside `rolledoats500g`): each such group is merged into
its oldest product through ``catalog.merge`` (SKUs, newest prices, category links, the other spellings
kept as variations). Where a merge would lose data, because the products carry different barcodes, the
migration refuses with the list, changing nothing: merge or fix them by hand, then migrate again.

``catalog.merge`` works on the current models, which match the tables at this migration; a later
migration that changes those tables must freeze its own copy here if it ever has to run this on old data.
Catalog 0011 (price lists) changed the price table: its price step is frozen here (``_store_prices``), on
this migration's model.
"""
import unicodedata

from django.db import migrations, models
from django.db.models import Count

from diskcache_tier import triggers

# Products per keyset batch: one read and one bulk update each.
BATCH = 2_000


def _canonical(text: str) -> str:
    # Frozen copy of diskcache_tier.keys.canonical_nnbs: a migration must not change when the library does.
    return "".join(unicodedata.normalize("NFC", text or "").split())


def fill_and_merge(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    db = schema_editor.connection.alias
    last = 0
    while True:
        rows = list(Product.objects.using(db).filter(id__gt=last).order_by("id")
                    .values_list("id", "normalized_name_brand_size")[:BATCH])
        if not rows:
            break
        last = rows[-1][0]
        Product.objects.using(db).bulk_update([Product(id=pid, canonical_nnbs=_canonical(nnbs)) for pid, nnbs in rows],
                                              ["canonical_nnbs"], batch_size=500)
    clashing = list(Product.objects.using(db).values("canonical_nnbs").annotate(n=Count("id"))
                    .filter(n__gt=1).values_list("canonical_nnbs", flat=True))
    if not clashing:
        return
    groups: dict[str, list[tuple[int, str | None, str]]] = {}
    for start in range(0, len(clashing), 500):
        for pid, key, barcode, nnbs in (Product.objects.using(db).filter(canonical_nnbs__in=clashing[start:start + 500])
                                        .order_by("id").values_list("id", "canonical_nnbs", "barcode",
                                                                    "normalized_name_brand_size")):
            groups.setdefault(key, []).append((pid, barcode, nnbs))
    refused = [group for group in groups.values() if len({b for _, b, _ in group if b}) > 1]
    if refused:
        listed = "; ".join(", ".join(f"{pid} {nnbs!r} barcode {barcode}" for pid, barcode, nnbs in group)
                           for group in refused[:20])
        raise RuntimeError(
            f"{len(refused)} groups of products share a canonical NNBS but carry different barcodes, so merging "
            f"them would lose one: {listed}{' ...' if len(refused) > 20 else ''}. Merge or fix them in the admin "
            f"(or `manage.py reconcile`), then run migrate again; nothing was changed.")
    from catalog.merge import merge_products

    Price = apps.get_model("catalog", "Price")
    for group in groups.values():
        merge_products(group[0][0], [pid for pid, _, _ in group[1:]],
                       merge_prices=lambda survivor_id, merged_ids: _store_prices(Price, survivor_id, merged_ids))


def _store_prices(Price, survivor_id: int, merged_ids: list[int]) -> tuple[int, int]:
    """Frozen copy of catalog.merge's price step before price lists: keep the newest price of each store
    (prices moved to the survivor, prices dropped)."""
    rows = list(Price.objects.filter(product_id__in=[survivor_id, *merged_ids])
                .values_list("id", "product_id", "store_id", "scraped_date"))
    # Newest date first; on a tie the survivor's own price, then the oldest product's.
    rows.sort(key=lambda r: (r[2], -r[3].toordinal(), r[1] != survivor_id, r[1]))
    winners, losers, seen = [], [], set()
    for price_id, product_id, store_id, _ in rows:
        if store_id in seen:
            losers.append(price_id)
        else:
            seen.add(store_id)
            if product_id != survivor_id:
                winners.append(price_id)
    if losers:
        Price.objects.filter(id__in=losers).delete()
    if winners:
        Price.objects.filter(id__in=winners).update(product_id=survivor_id)
    return len(winners), len(losers)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0006_company_folded_name_unique"),
        ("diskcache_tier", "0002_log_writer_and_slim_columns"),
    ]

    operations = [
        # Reversed, the RemoveField remakes the product table on SQLite, dropping its change-log triggers.
        migrations.RunPython(migrations.RunPython.noop, triggers.reinstall_on_sqlite()),
        migrations.AddField(
            model_name="product",
            name="canonical_nnbs",
            field=models.CharField(editable=False, max_length=255, null=True),
        ),
        migrations.RunPython(fill_and_merge, migrations.RunPython.noop),
    ]
