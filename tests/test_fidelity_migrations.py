"""Migrations 0004+ carry a catalog built by the previous release forward (both databases)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0002_index_change_log")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def latest():
    # Every app's: migrating catalog back unapplies the prices app's migrations, which depend on it.
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_apps():
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def test_stored_barcodes_become_canonical_gtins_and_collisions_are_left_for_reconcile(old_apps):
    Product = old_apps.get_model("catalog", "Product")
    rows = {
        "upc": "012345678905",       # UPC-A: padded to 0012345678905
        "ean8": "96385074",          # EAN-8: padded to 0000096385074
        "ean13": "9300633601232",    # already canonical
        "upc-dup": "036000291452",   # its EAN-13 form is taken below: left for reconcile
        "ean-dup": "0036000291452",
        "bad": "123456789013",       # check digit fails: left alone
    }
    for nnbs, barcode in rows.items():
        Product.objects.create(name=nnbs, normalized_name_brand_size=nnbs, barcode=barcode)

    new_apps = migrate(latest())

    stored = dict(new_apps.get_model("catalog", "Product").objects.values_list("normalized_name_brand_size",
                                                                                "barcode"))
    assert stored == {"upc": "0012345678905", "ean8": "0000096385074", "ean13": "9300633601232",
                      "upc-dup": "036000291452", "ean-dup": "0036000291452", "bad": "123456789013"}


def test_company_names_get_their_folded_form(old_apps):
    Company = old_apps.get_model("catalog", "Company")
    Company.objects.create(name="IGA")
    Company.objects.create(name="Aldi Stores")

    new_apps = migrate(latest())

    assert dict(new_apps.get_model("catalog", "Company").objects.values_list("name", "folded_name")) == {
        "IGA": "iga", "Aldi Stores": "aldistores"}


def test_two_spellings_of_one_company_are_refused_with_a_clear_message(old_apps):
    Company = old_apps.get_model("catalog", "Company")
    Company.objects.create(name="IGA")
    Company.objects.create(name=" iga")
    with pytest.raises(RuntimeError, match="companies differ only in case or spaces: 'IGA' and ' iga'; merge"):
        migrate(latest())
    # Nothing changed: the operator renames one, and the migration goes through.
    Company.objects.filter(name=" iga").update(name="IGA Express")
    migrate(latest())
