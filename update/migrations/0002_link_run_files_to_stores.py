"""Carry ledgers forward: rows of refused, failed and skipped files, recorded before the ledger linked
them, are linked to their store, so the store's page counts every file it sent.

By the ``company/store_id`` each row kept as text, else by the file's name (update/file_stores.py), one
UPDATE per store named, not per row. Backward it changes nothing: a link to the right store is as true
in the previous release, whose store pages then count those files too.
"""
from django.db import migrations

from catalog.models import fold_company_name
from update.file_stores import name_matches, named_in


def link_run_files(apps, schema_editor):
    RunFile = apps.get_model("update", "RunFile")
    Store = apps.get_model("catalog", "Store")
    unlinked = RunFile.objects.filter(store__isnull=True)
    # Distinct (company, store_id) pairs: as many as stores, whatever the ledger's length.
    pairs = unlinked.exclude(store_code="").order_by().values_list("company", "store_code").distinct()
    for company, code in list(pairs):
        store = Store.objects.filter(company__folded_name=fold_company_name(company), store_id=code).first()
        if store is not None:
            unlinked.filter(company=company, store_code=code).update(store=store)
    # Rows that name no store (an empty or unreadable file): by name, in keyset batches; each company's
    # stores read once.
    stores_of: dict[str, list] = {}
    last = 0
    while True:
        batch = list(unlinked.filter(store_code="", pk__gt=last).order_by("pk").values_list("pk", "name")[:1000])
        if not batch:
            break
        last = batch[-1][0]
        for pk, name in batch:
            named = named_in(name)
            if named is None:
                continue
            company, stem = named
            if company not in stores_of:
                stores_of[company] = list(Store.objects.filter(company__folded_name=fold_company_name(company))
                                          .select_related("company"))
            stores = [s for s in stores_of[company] if name_matches(stem, company, s.store_name, s.store_id)]
            if len(stores) == 1:
                RunFile.objects.filter(pk=pk).update(store=stores[0], company=stores[0].company.name[:100],
                                                     store_code=stores[0].store_id[:100])


class Migration(migrations.Migration):

    dependencies = [
        ("update", "0001_initial"),
        ("catalog", "0006_company_folded_name_unique"),
    ]

    operations = [
        migrations.RunPython(link_run_files, migrations.RunPython.noop, elidable=True),
    ]
