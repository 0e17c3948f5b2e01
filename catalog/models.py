"""The catalog: retailers, their stores, products and the current price of each product in each store.

Unique constraints mirror the matching keys, so the database itself refuses a duplicate product even
if the tier-1 index were wrong: the index is a cache, these constraints are the truth.
"""
from django.core.exceptions import ValidationError
from django.db import models

from diskcache_tier.keys import canonical_nnbs

from .gtin import NotAGtin, canonical_gtin

NNBS_MAX_LENGTH = 255
NAME_MAX_LENGTH = 500
URL_MAX_LENGTH = 1000


def fold_company_name(name: str) -> str:
    """The form company names are compared in: "IGA", "iga" and " I G A " are one retailer.

    Case- and whitespace-insensitive (every whitespace run removed), as NNBS are compared regardless
    of spaces; "Aldi Stores" is still another name than "Aldi".
    """
    return "".join(name.split()).casefold()


class Company(models.Model):
    # The display name, as first seen (domain.md spells companies capitalized: "IGA", "Aldi").
    name = models.CharField(max_length=100, unique=True)
    # What matching uses; unique, so two spellings of one retailer can't become two companies.
    folded_name = models.CharField(max_length=100, unique=True, editable=False)

    class Meta:
        verbose_name_plural = "companies"

    def clean(self):
        if not fold_company_name(self.name or ""):
            raise ValidationError({"name": "Type the retailer's name."})

    def save(self, *args, **kwargs):
        self.folded_name = fold_company_name(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "folded_name"}
        super().save(*args, **kwargs)

    def __str__(self):
        return self.name


class Store(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="stores")
    store_id = models.CharField(max_length=100)
    store_name = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=50, blank=True)
    last_scraped = models.DateField(null=True, blank=True)
    # The prices the store shares with its chain's stores of its state (docs/price-lists.md); NULL until
    # its first file is applied.
    price_list = models.ForeignKey("PriceList", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="stores")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "store_id"], name="store_company_store_id")]

    def __str__(self):
        # "Aldi Carindale (G102)", "IGA Local Grocer North Sydney (21981)": the company as the owner spells
        # it (a name the files gave in lower case is capitalized; rename the company to write "IGA"), then
        # the store's name without the company it may start with. Lists select_related("company").
        company = self.company.name
        name = self.store_name.strip()
        if name.casefold().startswith(company.casefold()):
            name = name[len(company):].strip()
        shown = company.capitalize() if company.islower() else company
        label = f"{shown} {name.title()}".strip()
        return f"{label} ({self.store_id})"


class ProductBrand(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    normalized_name = models.CharField(max_length=NNBS_MAX_LENGTH, unique=True)
    normalized_name_variations = models.JSONField(default=list, blank=True)

    def __str__(self):
        return self.name


def variations_problem(value) -> str | None:
    """Why a value can't be a product's NNBS variations (a list of non-empty strings), or None."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and canonical_nnbs(v) for v in value):
        return 'A list of NNBS spellings, each a non-empty string, like ["rolled oats 500g"] (or [] for none).'
    return None


class ProductQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # A queryset update of the NNBS (the shell, a script) keeps its canonical key with it.
        nnbs = kwargs.get("normalized_name_brand_size")
        if isinstance(nnbs, str):
            kwargs.setdefault("canonical_nnbs", canonical_nnbs(nnbs))
        return super().update(**kwargs)


class Product(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    brand = models.ForeignKey(ProductBrand, null=True, blank=True, on_delete=models.SET_NULL)
    barcode = models.CharField(max_length=13, null=True, blank=True, unique=True)
    normalized_name_brand_size = models.CharField(max_length=NNBS_MAX_LENGTH, unique=True)
    # The NNBS as matching compares it (diskcache_tier.keys.canonical_nnbs: NFC, whitespace removed).
    # Unique, so no writer (the admin, a script, the update) can give two products one canonical key,
    # and who owns a key is the database's answer, not an order some writer happened to use.
    canonical_nnbs = models.CharField(max_length=NNBS_MAX_LENGTH, unique=True, editable=False)
    normalized_name_brand_size_variations = models.JSONField(default=list, blank=True)
    size = models.CharField(max_length=255, blank=True)
    sizes = models.JSONField(default=list, blank=True)
    url = models.CharField(max_length=URL_MAX_LENGTH, null=True, blank=True)
    image_url = models.CharField(max_length=URL_MAX_LENGTH, null=True, blank=True)
    brand_name_company_pairs = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ProductQuerySet.as_manager()

    def clean(self):
        errors = {}
        if not canonical_nnbs(self.normalized_name_brand_size or ""):
            errors["normalized_name_brand_size"] = "Type the normalized name, brand and size."
        if self.barcode is not None and self.barcode.strip():
            try:
                self.barcode = canonical_gtin(self.barcode.strip())
            except NotAGtin as exc:
                errors["barcode"] = f"Not a barcode ({exc}): type its 8, 12 or 13 digits, or leave it empty."
        problem = variations_problem(self.normalized_name_brand_size_variations)
        if problem:
            errors["normalized_name_brand_size_variations"] = problem
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # Keys are written in the form matching compares them in, whoever writes: the admin, the shell, a
        # script (the update writes rows in bulk, already canonical). A value the index could not key is
        # refused here rather than stopping every later run.
        problem = variations_problem(self.normalized_name_brand_size_variations)
        if problem:
            raise ValidationError({"normalized_name_brand_size_variations": problem})
        if self.barcode is not None:
            code = self.barcode.strip()
            try:
                self.barcode = canonical_gtin(code) if code else None
            except NotAGtin:
                self.barcode = code  # a stored code that is no GTIN stays as it was (the update ignores it)
        self.canonical_nnbs = canonical_nnbs(self.normalized_name_brand_size or "")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "normalized_name_brand_size" in update_fields:
            kwargs["update_fields"] = {*update_fields, "canonical_nnbs"}
        super().save(*args, **kwargs)

    def __str__(self):
        # What the owner reads: the name, with the brand and size when the name does not already say them
        # (select_related("brand") in lists). The NNBS is the matching key, shown in its own column.
        folded = self.name.casefold()
        extra = [part for part in ((self.brand.name if self.brand_id else ""), self.size)
                 if part and part.casefold() not in folded]
        return f"{self.name} ({', '.join(extra)})" if extra else self.name


class SKU(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT)
    sku = models.CharField(max_length=100)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "sku"], name="sku_company_sku")]
        # The admin's company filter: a company's product ids from the index alone (catalog migration 0009).
        indexes = [models.Index(fields=["company", "product"], name="sku_company_product")]

    def __str__(self):
        return f"SKU {self.sku}"


class PriceList(models.Model):
    """The prices a company's stores of one state share: its entries are Price rows with price_list set."""
    # A company can only go once its stores have (Store.company protects it): its lists go with it.
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="price_lists")
    state = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "state"], name="pricelist_company_state")]

    def __str__(self):
        company = self.company.name
        shown = company.capitalize() if company.islower() else company
        return f"{shown} {self.state.upper()} price list".replace("  ", " ")


class PriceQuerySet(models.QuerySet):
    def for_store(self, store: "Store") -> "PriceQuerySet":
        """The store's current prices, one row per product it carries (docs/price-lists.md): its own rows
        that are prices, and its list's entries it has no row of its own for. One query on one table."""
        return self.filter(read_by(store))

    def for_store_parts(self, store: "Store") -> list["PriceQuerySet"]:
        """``for_store`` as disjoint parts whose rows together are its rows (``read_by_parts``): for counts
        and walks over a whole store, which then hold no set of the rows' ids."""
        return [self.filter(part) for part in read_by_parts(store)]


def read_by(store: "Store") -> models.Q:
    """The condition ``for_store`` filters on; ORed for several stores, the rows any of them reads."""
    parts = read_by_parts(store)
    return parts[0] if len(parts) == 1 else parts[0] | parts[1]


def read_by_parts(store: "Store") -> list[models.Q]:
    """``read_by`` as disjoint conditions, each read on an index of its own: the store's own prices, then
    its list's entries it has no row of its own for.

    A query over a whole large store reads the parts apart (``PriceQuerySet.for_store_parts``): for the OR
    SQLite keeps a set of the row ids both indexes return, to read no row twice, and at a store of 500,000
    products that set was 10-15 MB of the update's memory.
    """
    own = models.Q(store_id=store.pk, price__isnull=False)
    if store.price_list_id is None:
        return [own]
    overridden = Price.objects.filter(store_id=store.pk, product_id=models.OuterRef("product_id"))
    return [own, models.Q(price_list_id=store.price_list_id) & ~models.Exists(overridden)]


class Price(models.Model):
    """A price row of one of three kinds: a list's entry (price_list set), a store's own price (store set),
    or a store's gap (store set, price NULL: the store does not carry the list's product). What a store
    charges is ``Price.objects.for_store(store)``; never read ``filter(store=...)``, its own rows only."""
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="prices", null=True, blank=True)
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries", null=True,
                                   blank=True)
    scraped_date = models.DateField()
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                help_text="empty on a gap: the store does not carry the list's product")
    was_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    save_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit_of_measure = models.CharField(max_length=50, null=True, blank=True)
    per_unit_price_string = models.CharField(max_length=255, null=True, blank=True)
    is_on_special = models.BooleanField(default=False)
    price_hash = models.CharField(max_length=64)
    # On a special only: the lowest price of the store in the days before the special began (prices/
    # reference.py), kept here so that the site reads it without scanning history; None when unknown.
    reference_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_real_reduction = models.BooleanField(null=True, blank=True)

    objects = PriceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "store"], name="price_product_store"),
            models.UniqueConstraint(fields=["product", "price_list"], name="price_product_price_list"),
            # Exactly one owner: a store's own row or a list's entry (a gap is a store's row).
            models.CheckConstraint(
                condition=(models.Q(store__isnull=False, price_list__isnull=True)
                           | models.Q(store__isnull=True, price_list__isnull=False, price__isnull=False)),
                name="price_one_owner"),
        ]
        indexes = [models.Index(fields=["store", "product"], name="price_store_product"),
                   models.Index(fields=["price_list", "product"], name="price_price_list_product"),
                   # The admin's "not a real reduction" list (prices/changes.py): only those rows, so it
                   # stays small.
                   models.Index(fields=["scraped_date"], condition=models.Q(is_real_reduction=False),
                                name="price_not_real_reduction")]

    def __str__(self):
        # "$4.50 at Aldi Carindale (G102)": the product is the page's subject where prices are inlined.
        owner = self.store if self.store_id else self.price_list
        if self.price is None:
            return f"not carried at {owner}"
        return f"${self.price:,.2f} at {owner}"


class Category(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT)
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, allow_unicode=True)
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["company", "slug"], name="category_company_slug")]

    def __str__(self):
        # Two companies often have a category of one name: "Snacks (Aldi)", "Snacks (Iga)".
        company = self.company.name
        return f"{self.name} ({company.capitalize() if company.islower() else company})"


class ProductCategory(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    category = models.ForeignKey(Category, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "category"], name="productcategory_product_category")
        ]

    def __str__(self):
        return f"filed under {self.category}"

# The change log and the database identity that keep tier 1 true to these tables live in diskcache_tier
# (diskcache_tier.models), with the triggers that fill the log.
