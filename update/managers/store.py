"""Companies and stores: a store is named by (company, store_id), never by store_id alone."""
from __future__ import annotations

from catalog.models import Company, Store

from ..lines import FileMeta


def find_store(meta: FileMeta) -> Store | None:
    return Store.objects.select_related("company").filter(
        company__name=meta.company, store_id=meta.store_id).first()


def get_or_create_store(meta: FileMeta) -> Store:
    company, _ = Company.objects.get_or_create(name=meta.company)
    store, created = Store.objects.select_related("company").get_or_create(
        company=company, store_id=meta.store_id,
        defaults={"store_name": meta.store_name, "state": meta.state},
    )
    if not created and (store.store_name, store.state) != (meta.store_name, meta.state) and meta.store_name:
        store.store_name, store.state = meta.store_name, meta.state
        store.save(update_fields=["store_name", "state"])
    return store
