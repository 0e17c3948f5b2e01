"""Products and brands: searched by their exact keys first, edited through the database's triggers.

Edits to a product's keys (barcode, NNBS, variations) reach the tier-1 index through the change log the
triggers write (catalog migration 0002), as any other writer's do.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.admin.base import CatalogAdmin, ReadOnlyMixin, bounded_formset
from catalog.admin.filters import BrandFilter, CompanyOfProductFilter
from catalog.admin.merge import merge_selected_products
from catalog.admin.search import search_products
from catalog.admin.stores import PriceColumns
from catalog.admin.formatting import money
from catalog.gtin import canonical_or_none
from catalog.models import SKU, Price, Product, ProductBrand, ProductCategory
from catalog.price_groups import prices_by_store
from diskcache_tier.keys import canonical_nnbs

PRICES_ON_PRODUCT_PAGE = 50


class SKUInline(ReadOnlyMixin, admin.TabularInline):
    model = SKU
    fields = ("company", "sku")
    formset = bounded_formset(200)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company").order_by("company__name", "sku")


class PriceInline(PriceColumns, ReadOnlyMixin, admin.TabularInline):
    model = Price
    fields = ("store_link", "scraped_date", "price_shown", "was_shown", "special_shown", "unit_price_shown")
    readonly_fields = fields
    formset = bounded_formset(PRICES_ON_PRODUCT_PAGE)
    extra = 0
    verbose_name_plural = f"prices (newest {PRICES_ON_PRODUCT_PAGE}; all of them under 'All prices' above)"

    def get_queryset(self, request):
        return (super().get_queryset(request).select_related("store__company", "price_list__company")
                .order_by("-scraped_date", "store_id"))

    @admin.display(description="store")
    def store_link(self, price):
        if price.store_id is None:  # a list's entry: every store of the list without a row of its own
            return f"{price.price_list}, shared"
        url = reverse("admin:catalog_store_change", args=[price.store_id])
        return format_html('<a href="{}">{}</a>', url, price.store)


class ProductCategoryInline(admin.TabularInline):
    model = ProductCategory
    autocomplete_fields = ("category",)
    formset = bounded_formset(200)
    extra = 0
    verbose_name_plural = "category links"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category__company")


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = "__all__"

    def clean_barcode(self):
        barcode = (self.cleaned_data.get("barcode") or "").strip()
        if not barcode:
            return None
        canonical = canonical_or_none(barcode)
        if canonical is None:
            raise forms.ValidationError("Not a barcode: type its 8, 12 or 13 digits, or leave it empty.")
        # Stored as the canonical GTIN, as the update stores it: a UPC-A typed here and the EAN-13 a scraper
        # writes are one product, not two.
        clash = Product.objects.filter(barcode=canonical).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise forms.ValidationError(f"Product {clash.pk} ({clash.normalized_name_brand_size}) already has "
                                        f"this barcode ({canonical}): merge the two instead.")
        return canonical

    def clean_normalized_name_brand_size(self):
        nnbs = (self.cleaned_data.get("normalized_name_brand_size") or "").strip()
        key = canonical_nnbs(nnbs)
        if not key:
            raise forms.ValidationError("Type the normalized name, brand and size.")
        clash = Product.objects.filter(canonical_nnbs=key).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise forms.ValidationError(f"Product {clash.pk} ({clash.normalized_name_brand_size}) has this NNBS but "
                                        f"for spaces: matching takes them for one product, so merge the two instead.")
        return nnbs


@admin.register(Product)
class ProductAdmin(CatalogAdmin):
    form = ProductForm
    # The name as the owner reads it (with brand and size: Product.__str__); the NNBS is the matching key.
    list_display = ("id", "__str__", "barcode", "normalized_name_brand_size", "updated_at")
    list_display_links = ("id", "__str__")
    list_select_related = ("brand",)
    list_filter = (CompanyOfProductFilter, BrandFilter)
    # Only indexed columns: sorting 1M rows by name is a full sort per page view.
    sortable_by = ("id", "normalized_name_brand_size", "barcode", "updated_at")
    ordering = ("-id",)
    search_fields = ("normalized_name_brand_size",)  # shows the box; search_products does the work
    search_help_text = ("Barcode, SKU or NNBS (exact, any company), else part of the name, NNBS or one "
                        "of its variations.")
    autocomplete_fields = ("brand",)
    readonly_fields = ("all_prices", "prices_charged", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "brand", "barcode", "normalized_name_brand_size",
                           "normalized_name_brand_size_variations", "prices_charged", "all_prices")}),
        ("Details", {"classes": ("collapse",), "fields": ("size", "sizes", "url", "image_url", "brand_name_company_pairs",
                                "created_at", "updated_at")}),
    )
    inlines = (SKUInline, ProductCategoryInline, PriceInline)
    actions = (merge_selected_products,)

    def get_search_results(self, request, queryset, search_term):
        return search_products(queryset, search_term), False

    # Stores named per price; a price a national chain shares is charged by hundreds.
    STORES_PER_PRICE = 12

    @admin.display(description="prices charged")
    def prices_charged(self, product):
        """Each distinct current price, with the stores that charge it (catalog/price_groups.py)."""
        if not product.pk:
            return "-"
        groups, stores = prices_by_store(product.pk)
        if not groups:
            return "no store sells it now"

        def said(group):
            names = ", ".join(str(stores[s]) for s in group.store_ids[:self.STORES_PER_PRICE])
            more = len(group.store_ids) - self.STORES_PER_PRICE
            was = f" (was {money(group.was_price)})" if group.was_price is not None else ""
            special = ", on special" if group.is_on_special else ""
            return (f"{money(group.price)}{was}{special}", len(group.store_ids),
                    "store" if len(group.store_ids) == 1 else "stores",
                    names + (f" and {more:,} more" if more > 0 else ""))

        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li><strong>{}</strong> at {} {}: {}</li>", (said(group) for group in groups)))

    @admin.display(description="all prices")
    def all_prices(self, product):
        if not product.pk:
            return "-"
        url = reverse("admin:catalog_price_changelist") + f"?product__id__exact={product.pk}"
        return format_html('<a href="{}">All prices of this product, by store</a>', url)


@admin.register(ProductBrand)
class ProductBrandAdmin(CatalogAdmin):
    list_display = ("id", "name", "normalized_name", "variations")
    ordering = ("-id",)
    sortable_by = ("id", "normalized_name")
    search_fields = ("normalized_name",)
    search_help_text = "Normalized name (exact) or a variation, else part of the name."
    readonly_fields = ("products",)
    fields = ("name", "normalized_name", "normalized_name_variations", "products")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = queryset.filter(normalized_name=term)
        if exact.exists():
            return exact, False
        return queryset.filter(Q(name__icontains=term) | Q(normalized_name__icontains=term)
                               | Q(normalized_name_variations__icontains=term)), False

    @admin.display(description="variations")
    def variations(self, brand):
        return ", ".join(brand.normalized_name_variations or []) or "-"

    @admin.display(description="products")
    def products(self, brand):
        if not brand.pk:
            return "-"
        url = reverse("admin:catalog_product_changelist") + f"?brand={brand.pk}"
        return format_html('<a href="{}">Products of this brand</a>', url)


@admin.register(SKU)
class SKUAdmin(ReadOnlyMixin, CatalogAdmin):
    list_display = ("sku", "company", "product")
    list_select_related = ("company", "product__brand")
    list_filter = ("company",)
    ordering = ("company", "sku")
    sortable_by = ()
    search_fields = ("sku",)
    search_help_text = "The SKU exactly (any company)."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        from catalog.models import Company

        return queryset.filter(company_id__in=list(Company.objects.values_list("pk", flat=True)), sku=term), False
