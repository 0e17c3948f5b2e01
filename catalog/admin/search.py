"""Search by the catalog's exact keys first, then by text.

A barcode, an SKU or an NNBS is one unique-index lookup each; only when none of them names a product
does the search fall back to text: a substring of the name, the NNBS or a variation, found through the
trigram index catalog migration 0009 keeps (FTS5 on SQLite, pg_trgm on PostgreSQL). Terms shorter than
a trigram are matched by ``icontains``, which reads the whole table (docs/admin.md has the costs).
"""
from __future__ import annotations

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

from catalog.models import SKU, Company, Product

GTIN_LENGTHS = (8, 12, 13, 14)


def barcode_spellings(term: str) -> list[str]:
    """The forms a typed barcode may be stored in: as typed, and zero-padded or unpadded to 13 digits."""
    if not term.isdigit() or len(term) not in GTIN_LENGTHS:
        return []
    forms = {term, term.zfill(13)}
    if len(term) == 14 and term.startswith("0"):
        forms.add(term[1:])
    return sorted(form for form in forms if len(form) <= 13)


def products_by_exact_key(term: str) -> list[int]:
    """Ids of the products whose barcode, SKU (any company) or NNBS is exactly ``term``."""
    term = term.strip()
    if not term:
        return []
    ids: set[int] = set()
    spellings = barcode_spellings(term)
    if spellings:
        ids.update(Product.objects.filter(barcode__in=spellings).values_list("pk", flat=True))
    # The unique index is (company, sku): naming every company (a handful) lets it serve an SKU alone.
    companies = list(Company.objects.values_list("pk", flat=True))
    ids.update(SKU.objects.filter(company_id__in=companies, sku=term).values_list("product_id", flat=True))
    ids.update(Product.objects.filter(normalized_name_brand_size=term).values_list("pk", flat=True))
    return sorted(ids)


def search_products(queryset, term: str):
    """``queryset`` narrowed to ``term``: exact keys when one matches, else name, NNBS or a variation."""
    term = term.strip()
    if not term:
        return queryset
    exact = products_by_exact_key(term)
    if exact:
        return queryset.filter(pk__in=exact)
    return text_search(queryset, term)


TRIGRAM = 3  # the shortest term a trigram index can answer


def text_search(queryset, term: str):
    """Products whose name, NNBS or a variation contains ``term``, case-insensitively."""
    contains = (Q(name__icontains=term) | Q(normalized_name_brand_size__icontains=term)
                | Q(normalized_name_brand_size_variations__icontains=term))
    if len(term) < TRIGRAM or connections[queryset.db].vendor != "sqlite":
        # PostgreSQL: these three icontains are what its pg_trgm indexes are built on (UPPER(column::text)).
        return queryset.filter(contains)
    # SQLite: the FTS5 trigram table; a phrase of the whole term matches it as a substring of any column.
    phrase = '"' + term.replace('"', '""') + '"'
    matched = RawSQL("SELECT rowid FROM catalog_product_text WHERE catalog_product_text MATCH %s", [phrase])
    return queryset.filter(pk__in=matched)
