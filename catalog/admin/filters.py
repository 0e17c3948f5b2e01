"""List filters that stay one indexed query at any catalog size.

Django's related-field filter lists every row of the related table (100,000 brands at 1M products), so
brands and stores are typed into a box instead; companies, a handful, are listed.
"""
from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib import admin
from django.db.models import Q

from catalog.models import SKU, Company, Price, ProductBrand, Store, read_by


class InputFilter(admin.SimpleListFilter):
    """A filter whose value is typed, not picked from a list (template: admin/input_filter.html)."""

    template = "admin/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        # Non-empty, or Django hides the filter.
        return (("", ""),)

    def choices(self, changelist):
        all_choice = next(super().choices(changelist))
        all_choice["query_parts"] = [
            (name, value)
            for name, values in changelist.get_filters_params().items() if name != self.parameter_name
            for value in (values if isinstance(values, list) else [values])
        ]
        yield all_choice


class CompanyOfProductFilter(admin.SimpleListFilter):
    """Products with at least one SKU of the company (a product has no company of its own)."""

    title = "company"
    parameter_name = "company"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Company.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # IN, not a join: a product with two SKUs of the company must show once. Not EXISTS either: that
        # scans the wide product rows newest first, and a company whose products are old is found last
        # (2 s at 1M on SQLite, against 0.3 to 0.7 s for the list of its SKUs' products: docs/admin.md).
        return queryset.filter(pk__in=SKU.objects.filter(company_id=self.value()).values("product_id"))


class BrandFilter(InputFilter):
    """By the brand's normalized name, one of its variations, or its id."""

    title = "brand"
    parameter_name = "brand"
    placeholder = "normalized name or id"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(brand_id=int(value))
        brand_ids = list(ProductBrand.objects.filter(normalized_name=value).values_list("pk", flat=True)[:1])
        return queryset.filter(brand_id__in=brand_ids)


class StoreFilter(InputFilter):
    """By the retailer's store id (G102, 21981: the same id may exist at two companies) or our id."""

    title = "store"
    parameter_name = "store"
    placeholder = "store id, e.g. G102"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.startswith("#") and value[1:].isdigit():
            stores = Store.objects.filter(pk=int(value[1:]))
        else:
            stores = Store.objects.filter(store_id=value)
        if queryset.model is Price:  # what the stores read: their own rows and their lists' entries
            return queryset.filter(reduce(or_, (read_by(store) for store in stores), Q(pk__in=[])))
        return queryset.filter(store__in=stores)


# What the price list calls a special: a saving against the was-price, or the retailer's flag without one.
# The update derives was-prices from a price that fell, which the retailer's flag does not mark.
SPECIAL = Q(save_amount__gt=0) | Q(is_on_special=True)


class SpecialFilter(admin.SimpleListFilter):
    """Specials as the list shows them (catalog.admin.formatting.special), not the retailer's flag alone."""

    title = "special"
    parameter_name = "special"

    def lookups(self, request, model_admin):
        return (("yes", "a saving or on special"), ("saving", "a saving (was-price)"), ("no", "neither"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(SPECIAL)
        if self.value() == "saving":
            return queryset.filter(save_amount__gt=0)
        if self.value() == "no":
            return queryset.exclude(SPECIAL)
        return queryset
