"""Companies, their stores and the current prices, which only the update writes."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.admin.base import CatalogAdmin, ReadOnlyMixin
from catalog.admin.filters import SPECIAL, SpecialFilter, StoreFilter
from catalog.admin.formatting import money, special, unit_price
from catalog.models import Company, Price, PriceList, Store, fold_company_name


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ("name",)

    def clean_name(self):
        # folded_name is not a form field, so Django's unique check can't see it: ask here, not IntegrityError.
        name = self.cleaned_data["name"]
        twin = (Company.objects.exclude(pk=self.instance.pk).filter(folded_name=fold_company_name(name))
                .values_list("name", flat=True).first())
        if twin is not None:
            raise forms.ValidationError(f"{twin!r} is this company already (names compare ignoring case and "
                                        "spaces): rename that one, or choose another name.")
        return name


@admin.register(Company)
class CompanyAdmin(CatalogAdmin):
    form = CompanyForm
    list_display = ("name", "store_count")
    search_fields = ("name",)

    # The update creates companies from the files; a company with stores can't be deleted (PROTECT).
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_stores=Count("stores"))

    @admin.display(description="stores", ordering="_stores")
    def store_count(self, company):
        url = reverse("admin:catalog_store_changelist") + f"?company__id__exact={company.pk}"
        return format_html('<a href="{}">{}</a>', url, company._stores)


@admin.register(Store)
class StoreAdmin(CatalogAdmin):
    """A store's page; the ledger app adds the files received from it (ledger/admin/stores.py)."""

    list_display = ("__str__", "state", "last_scraped", "prices_link")
    list_select_related = ("company",)
    list_filter = ("company", "state")
    search_fields = ("store_id", "store_name")
    ordering = ("company__name", "store_id")
    fields = ("company", "store_id", "store_name", "state", "last_scraped", "price_count", "shared_prices")
    readonly_fields = ("company", "store_id", "last_scraped", "price_count", "shared_prices")

    # The update creates stores from the files' metadata; deleting one would delete its prices with it.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="prices")
    def prices_link(self, store):
        url = reverse("admin:catalog_price_changelist") + f"?store=%23{store.pk}"
        return format_html('<a href="{}">prices</a>', url)

    # On the store's own page only: counting every listed store's prices would read as many index
    # entries as the listed stores hold prices (a million per store at full size).
    @admin.display(description="price count")
    def price_count(self, store):
        # One pass over the store's prices for both figures.
        counts = Price.objects.for_store(store).aggregate(total=Count("pk"), specials=Count("pk", filter=SPECIAL))
        url = reverse("admin:catalog_price_changelist") + f"?store=%23{store.pk}"
        specials = url + "&special=yes"
        return format_html('<a href="{}">{} prices</a>, <a href="{}">{} specials</a> (a saving or on special)',
                           url, f"{counts['total']:,}", specials, f"{counts['specials']:,}")

    # Stores named on the page; a list of a national chain's stores of one state can hold hundreds.
    SHARING_SHOWN = 20

    @admin.display(description="shared prices")
    def shared_prices(self, store):
        """The list the store shares (docs/price-lists.md), the stores it shares it with, and what it keeps
        of its own: prices where it differs, and gaps (the list's products it does not carry)."""
        if store.price_list_id is None:
            return "none yet: the store's prices are its own until its first file joins its company's list"
        others = Store.objects.filter(price_list_id=store.price_list_id).exclude(pk=store.pk).select_related(
            "company").order_by("store_id")
        shown = [format_html('<a href="{}">{}</a>', reverse("admin:catalog_store_change", args=[s.pk]), s)
                 for s in others[:self.SHARING_SHOWN]]
        more = others.count() - len(shown)
        own = Price.objects.filter(store=store).aggregate(prices=Count("pk", filter=Q(price__isnull=False)),
                                                          gaps=Count("pk", filter=Q(price__isnull=True)))
        return format_html(
            "{} ({} entries), shared with {}{}; its own: {}, {}",
            format_html('<a href="{}">{}</a>', reverse("admin:catalog_pricelist_change", args=[store.price_list_id]),
                        store.price_list),
            f"{store.price_list.entries.count():,}",
            format_html_join(", ", "{}", ((s,) for s in shown)) if shown else "no other store",
            f" and {more:,} more" if more > 0 else "",
            _counted(own["prices"], "price that differs", "prices that differ"),
            _counted(own["gaps"], "product not carried", "products not carried"))


def _counted(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


class PriceColumns:
    """Price figures as a shelf label reads them, shared by the price list and the product page's inline."""

    @admin.display(description="price", ordering=None)
    def price_shown(self, price):
        return money(price.price)

    @admin.display(description="was")
    def was_shown(self, price):
        return money(price.was_price) if price.was_price is not None else ""

    @admin.display(description="special")
    def special_shown(self, price):
        return special(price)

    @admin.display(description="unit price")
    def unit_price_shown(self, price):
        return unit_price(price)


@admin.register(Price)
class PriceAdmin(PriceColumns, ReadOnlyMixin, CatalogAdmin):
    list_display = ("product", "store", "price_list", "scraped_date", "price_shown", "was_shown", "special_shown",
                    "unit_price_shown")
    list_select_related = ("product__brand", "store__company", "price_list__company")
    list_filter = (StoreFilter, "store__company", "price_list", SpecialFilter)
    # (store, product) is the index the update keeps for its per-store work; a store's prices come out
    # in its order, and the pair is unique so Django adds no "-pk" tie-breaker.
    ordering = ("store", "product")
    sortable_by = ()
    search_fields = ("product__normalized_name_brand_size",)
    search_help_text = "Barcode, SKU or NNBS of the product (exact)."
    raw_id_fields = ("product", "store", "price_list")
    fields = ("product", "store", "price_list", "scraped_date", "price_shown", "was_shown", "special_shown", "unit_price_shown",
              "is_on_special", "per_unit_price_string", "unit_price", "unit_of_measure", "price_hash")
    readonly_fields = ("price_shown", "was_shown", "special_shown", "unit_price_shown")

    def get_search_results(self, request, queryset, search_term):
        from catalog.admin.search import products_by_exact_key

        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(product_id__in=products_by_exact_key(term)), False


@admin.register(PriceList)
class PriceListAdmin(ReadOnlyMixin, CatalogAdmin):
    """A list a company's stores of one state share (docs/price-lists.md): its stores, and its entries."""

    list_display = ("__str__", "company", "state", "store_count")
    list_select_related = ("company",)
    list_filter = ("company",)
    ordering = ("company__name", "state")
    fields = ("company", "state", "entries", "stores")
    readonly_fields = ("entries", "stores")
    # Stores named on the page, as on a store's page.
    STORES_SHOWN = 50

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_stores=Count("stores", distinct=True))

    @admin.display(description="stores", ordering="_stores")
    def store_count(self, price_list):
        return price_list._stores

    @admin.display(description="entries")
    def entries(self, price_list):
        url = reverse("admin:catalog_price_changelist") + f"?price_list__id__exact={price_list.pk}"
        return format_html('<a href="{}">{} shared prices</a>', url, f"{price_list.entries.count():,}")

    @admin.display(description="stores that share it")
    def stores(self, price_list):
        """Each store with its own differences: the prices it charges apart from the list, and its gaps."""
        rows = (price_list.stores.select_related("company").order_by("store_id")
                .annotate(own=Count("prices", filter=Q(prices__price__isnull=False)),
                          gaps=Count("prices", filter=Q(prices__price__isnull=True))))
        shown = list(rows[:self.STORES_SHOWN])
        if not shown:
            return "none"
        items = format_html_join("", '<li><a href="{}">{}</a>: {}, {}</li>', (
            (reverse("admin:catalog_store_change", args=[store.pk]), store,
             _counted(store.own, "price of its own", "prices of its own"),
             _counted(store.gaps, "product not carried", "products not carried")) for store in shown))
        more = price_list._stores - len(shown)
        return format_html("<ul>{}</ul>{}", items, f"and {more:,} more" if more > 0 else "")
