"""The catalog's tables the index is made from, found by app label rather than imported.

``diskcache_tier`` imports neither ``catalog`` nor ``update`` (they import it): the models are looked
up in Django's app registry when first needed, after every app is loaded.
"""
from __future__ import annotations

from django.apps import apps

CATALOG_APP = "catalog"


def product_model():
    return apps.get_model(CATALOG_APP, "Product")


def sku_model():
    return apps.get_model(CATALOG_APP, "SKU")


def brand_model():
    return apps.get_model(CATALOG_APP, "ProductBrand")


def product_select() -> str:
    from .keying import PRODUCT_SELECT

    return PRODUCT_SELECT.format(product=product_model()._meta.db_table, brand=brand_model()._meta.db_table)
