"""The run ledger's admin pages (docs/admin.md), and its parts of the catalog's pages.

runs: the runs and their files, view only, with each file's rejected lines; stores: the files
received, on the store pages and as their list's column and filter; front_page: the index page's
morning summary (the last runs, the rejected files waiting, the stores that stopped sending).
The catalog's admin, which these extend, is registered first: importing ``catalog.admin`` registers it.
"""
from django.contrib import admin

import catalog.admin  # noqa: F401  (the catalog's pages, which the ledger's parts extend)

from . import front_page, runs, stores  # noqa: F401  (runs registers its admins)

stores.install(admin.site)
front_page.install(admin.site)
