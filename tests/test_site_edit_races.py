"""A site edit that races an update's file is never lost (issue 19, case 3): the admin merge takes the
update's writer lock, and the update writes back only what it read under FOR UPDATE. PostgreSQL only:
SQLite's file transaction lets no other connection write at all."""
from __future__ import annotations

import threading

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from catalog.admin.merge import merge_under_writer_lock
from catalog.models import Product
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.verify import verify_index
from update.managers.product import ProductManager
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets no other connection write during a file"),
]


def on_other_connection(work, results: list):
    def run():
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        connections[DEFAULT_DB_ALIAS] = other  # this thread's own connection, as a web request has
        try:
            results.append(work())
        except BaseException as exc:  # reported to the test, not lost in the thread
            results.append(exc)
        finally:
            other.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_admin_merge_during_a_file_waits_and_says_an_update_is_running(workspace, monkeypatch):
    write_file(workspace.inbox, "iga", "2025-09-01", [product(f"p{n}", sku=f"S{n}") for n in range(4)])
    run_update(workspace)
    p0, p1 = (Product.objects.get(normalized_name_brand_size=n).id for n in ("p0", "p1"))
    original, results = ProductManager.process, []

    def process(self, lines):
        if not results:
            # In the middle of the file (which holds the writer lock), the admin merges p1 into p0.
            on_other_connection(lambda: merge_under_writer_lock(p0, [p1], wait_s=0.5), results).join()
        return original(self, lines)

    monkeypatch.setattr(ProductManager, "process", process)
    write_file(workspace.inbox, "iga", "2025-09-02", [product(f"p{n}", sku=f"S{n}", sizes=["1kg", "2kg"])
                                                         for n in range(4)])
    report = run_update(workspace)
    assert results == [None]  # refused: nothing merged while the file ran
    assert report.files[0].status == "processed"
    assert Product.objects.filter(id__in=[p0, p1]).count() == 2
    # Once the file has committed, the merge goes through, and the next run's index follows it.
    merged = merge_under_writer_lock(p0, [p1], wait_s=0.5)
    assert merged is not None and merged.products_deleted == 1


def test_a_site_edit_committed_while_the_update_enriches_the_product_is_kept(workspace, monkeypatch):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    oats = Product.objects.get(normalized_name_brand_size="oats").id
    original, results, threads = ProductManager._save_enriched, [], []

    def save_enriched(self, changed, changed_fields):
        if oats in changed and not threads:
            # Between the update's read of oats and its write, the site's admin sets its barcode and
            # commits (or, with the row locked, waits for the file).
            def edit():
                Product.objects.filter(id=oats).update(barcode="9300000000019")
                return "edited"
            threads.append(on_other_connection(edit, results))
            threads[0].join(timeout=1.0)
        return original(self, changed, changed_fields)

    monkeypatch.setattr(ProductManager, "_save_enriched", save_enriched)
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1", sizes=["1kg", "2kg"]),
                                                         product("milk", sku="S2")])
    report = run_update(workspace)
    threads[0].join(timeout=10)
    assert results == ["edited"]
    assert report.files[0].status == "processed"
    stored = Product.objects.get(id=oats)
    assert stored.barcode == "9300000000019"   # the site's edit
    assert stored.sizes == ["1kg", "2kg"]      # the update's enrichment
    run_update(workspace)  # the next start catches the edit up
    with LmdbIndex(workspace.index_path) as index:
        assert index.get_many("barcode", ["9300000000019"]) == {"9300000000019": oats}
        assert verify_index(index).clean

