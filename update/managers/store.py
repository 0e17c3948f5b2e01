"""Companies and stores: a store is named by (company, store_id), never by store_id alone.

A company is found by its folded name, so a file saying "iga" reaches the catalog's "IGA" (and its
stores, SKUs and categories) instead of making a second company; the catalog's spelling is kept.
"""
from __future__ import annotations

from catalog.models import Company, Store, fold_company_name

from ..lines import FileMeta


def find_store(meta: FileMeta) -> Store | None:
    return Store.objects.select_related("company").filter(
        company__folded_name=fold_company_name(meta.company), store_id=meta.store_id).first()


def company_exists(meta: FileMeta) -> bool:
    return Company.objects.filter(folded_name=fold_company_name(meta.company)).exists()


def get_or_create_store(meta: FileMeta) -> Store:
    # Nearly every file's store exists: one query then, not the company's and the store's.
    store, created = find_store(meta), False
    if store is None:
        company, _ = Company.objects.get_or_create(folded_name=fold_company_name(meta.company),
                                                   defaults={"name": meta.company})
        store, created = Store.objects.select_related("company").get_or_create(
            company=company, store_id=meta.store_id,
            defaults={"store_name": meta.store_name, "state": meta.state},
        )
    if not created and (store.store_name, store.state) != (meta.store_name, meta.state) and meta.store_name:
        store.store_name, store.state = meta.store_name, meta.state
        store.save(update_fields=["store_name", "state"])
    return store
