"""The catalog's admin pages, one module per group of models (docs/admin.md).

paging: counts that never read a whole table; search: exact keys before text; filters: filters that
stay one indexed query; products, stores, categories: the pages; merge: the merge-duplicates action;
formatting: money, units and counts as people read them. The apps above the catalog add their parts to
these pages from their own admin: a product's price history (prices/admin.py), a store's files received
and the front page (ledger/admin/).
"""
from catalog.admin import categories, products, stores  # noqa: F401  (registers the admins)
