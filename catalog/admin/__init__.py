"""The catalog's admin pages, one module per group of models (docs/admin.md).

paging: counts that never read a whole table; search: exact keys before text; filters: filters that
stay one indexed query; products, stores, categories: the pages; merge: the merge-duplicates action;
formatting: money, units and counts as people read them; front_page: the index page's morning summary.
"""
from django.contrib import admin

from catalog.admin import categories, front_page, products, stores  # noqa: F401  (registers the admins)

front_page.install(admin.site)
