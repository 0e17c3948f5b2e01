"""The admin action that merges duplicate products, after a confirmation page.

The work is ``catalog.merge.merge_products`` (the same function ``manage.py reconcile`` calls): one
transaction, under the same writer lock as ``reconcile`` (waiting a few seconds for an update's file,
else saying an update is running), and the tier-1 index follows through the change log its writes leave.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from catalog.merge import MergeError, merge_products
from catalog.models import SKU, Price
from catalog.writer_lock import try_writer_lock

# How long the merge waits for a running update's file to commit before saying so.
WRITER_LOCK_WAIT_S = 5.0
UPDATE_RUNNING = ("An update is writing the catalog right now: nothing was merged. Try again in a few minutes "
                  "(the run ledger shows when it ends).")


def merge_under_writer_lock(survivor_id: int, merged_ids: list[int], wait_s: float = WRITER_LOCK_WAIT_S):
    """``merge_products`` holding the writer lock, as ``reconcile`` does, so an update's file never
    writes back what it read of a product the merge has since folded; None if an update held the lock
    for longer than ``wait_s``."""
    with transaction.atomic():
        if not try_writer_lock(wait_s):
            return None
        return merge_products(survivor_id, merged_ids)

# Merging is for a few duplicates seen side by side; more is a job for reconcile.
MAX_MERGED = 20


def _count(model, **filters):
    counted = model.objects.filter(product=OuterRef("pk"), **filters).order_by().values("product")
    return Coalesce(Subquery(counted.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0)


def differences(products) -> list[str]:
    """What the products disagree on, as the confirmation page says it, with what the merge keeps.

    The survivor keeps its own brand, size and barcode and takes another's only where it has none
    (catalog.merge); a second barcode goes with its deleted product.
    """
    def distinct(values):
        seen = []
        for value in values:
            if value not in seen:
                seen.append(value)
        return seen

    notes = []
    brands = distinct(p.brand.name if p.brand_id else "(no brand)" for p in products)
    if len(brands) > 1:
        notes.append(f"Brands differ: {', '.join(brands)}. The survivor keeps its own brand (or takes "
                     "another's if it has none).")
    sizes = distinct(p.size or "(no size)" for p in products)
    if len(sizes) > 1:
        notes.append(f"Sizes differ: {', '.join(sizes)}. Are these one product? The survivor keeps its own "
                     "size; the others' size tokens are added to its sizes.")
    barcodes = distinct(p.barcode for p in products if p.barcode)
    if len(barcodes) > 1:
        notes.append(f"Barcodes differ: {', '.join(barcodes)}. A barcode names one product: only the "
                     "survivor's is kept, the others are deleted with their products.")
    return notes


@admin.action(description="Merge selected products into one", permissions=["change"])
def merge_selected_products(modeladmin, request, queryset):
    if request.POST.get("select_across") == "1":
        modeladmin.message_user(request, "Tick the products to merge one by one: merging every product "
                                "of a search is refused.", messages.ERROR)
        return None
    products = list(queryset.order_by("pk").annotate(sku_count=_count(SKU), price_count=_count(Price))
                    .select_related("brand")[: MAX_MERGED + 1])
    if len(products) < 2:
        modeladmin.message_user(request, "Select at least two products to merge.", messages.WARNING)
        return None
    if len(products) > MAX_MERGED:
        modeladmin.message_user(request, f"Select at most {MAX_MERGED} products to merge; for more, run "
                                "manage.py reconcile.", messages.ERROR)
        return None
    ids = {p.pk for p in products}
    survivor_id = request.POST.get("survivor", "")
    if request.POST.get("confirm") == "yes" and survivor_id.isdigit() and int(survivor_id) in ids:
        survivor = next(p for p in products if p.pk == int(survivor_id))
        merged_ids = sorted(ids - {survivor.pk})
        try:
            result = merge_under_writer_lock(survivor.pk, merged_ids)
        except MergeError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        if result is None:
            modeladmin.message_user(request, UPDATE_RUNNING, messages.ERROR)
            return None
        summary = (f"Merged {result.products_deleted} products ({', '.join(f'#{pk}' for pk in merged_ids)}) into "
                   f"#{survivor.pk}: {result.skus_moved} SKUs and {result.prices_moved} prices moved "
                   f"({result.prices_dropped} older dropped), {result.category_links_moved} category links, "
                   f"{result.variations_added} new variations, barcode moved: {'yes' if result.barcode_moved else 'no'}.")
        modeladmin.log_change(request, survivor, summary)
        modeladmin.message_user(request, summary, messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Merge products",
        "opts": modeladmin.model._meta,
        "products": products,
        # The first created (the lowest id: ids are given in creation order), as reconcile chooses.
        "survivor": products[0],
        "survivor_id": products[0].pk,
        "same_minute": len({p.created_at.replace(second=0, microsecond=0) for p in products}) == 1,
        "differences": differences(products),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": "merge_selected_products",
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/catalog/product/merge_confirmation.html", context)

