"""The catalog's admin pages, one module per group of models (docs/admin.md).

paging: counts that never read a whole table; search: exact keys before text; filters: filters that
stay one indexed query; products, stores, categories: the pages; merge: the merge-duplicates action.
"""
from catalog.admin import categories, products, stores  # noqa: F401  (registers the admins)
