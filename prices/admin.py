"""The admin's price history: the product page's chart and table, and the "price changes" page.

The catalog's admin never imports this app (tests/test_index_app_boundary.py), so the product page gets
its history here: the catalog's ProductAdmin, registered again with the history added.
"""
from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from catalog.admin.products import ProductAdmin
from catalog.models import Company, Product

from . import changes, product_page
from .chart import CHART_STORES, price_chart_svg
from .models import PriceHistory


class ProductWithHistoryAdmin(ProductAdmin):
    readonly_fields = (*ProductAdmin.readonly_fields, "price_history")
    fieldsets = (*ProductAdmin.fieldsets, ("Price history", {"fields": ("price_history",)}))

    @admin.display(description="prices over time")
    def price_history(self, product):
        if not product.pk:
            return "-"
        history = product_page.read_product_history(product.pk)
        stores = {change.store for change in history.changes}
        return render_to_string("admin/prices/product_history.html", {
            # pygal escapes every text it draws (store names come from the scrapers' files).
            "chart": mark_safe(price_chart_svg(history.changes, history.last_scraped)) if history.changes else None,
            "rows": history.table, "table_rows": product_page.TABLE_ROWS, "cut": history.cut,
            "rows_read": product_page.HISTORY_ROWS_READ,
            "stores": len(stores), "chart_stores": CHART_STORES})


admin.site.unregister(Product)
admin.site.register(Product, ProductWithHistoryAdmin)


@admin.register(PriceHistory)
class PriceChangesAdmin(admin.ModelAdmin):
    """View only: the update writes history. Its list is the price changes page, not a list of rows:
    a million rows are read by range and by size of change, not paged through."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Price changes",
                   "companies": list(Company.objects.order_by("name")), "params": request.GET,
                   "max_days": changes.MAX_RANGE_DAYS, "rows_per_list": changes.ROWS_PER_LIST}
        try:
            chosen = changes.parse_filter(request.GET, changes.latest_history_date())
        except changes.BadFilter as problem:
            return TemplateResponse(request, "admin/prices/price_changes.html", {**context, "error": str(problem)})
        moves = changes.moves(chosen)
        context.update(chosen=chosen, drops=moves.drops, rises=moves.rises, new_specials=moves.new_specials,
                       not_real=changes.not_real_reductions(chosen))
        return TemplateResponse(request, "admin/prices/price_changes.html", context)
