"""The index stays true when the database or the index folder is put back from a backup, and when a second
index (another path, another host) follows the same database (issue 19, cases 1 and 2, and the limit of one
index per database).

Restores are real ones: SQLite's backup API copies the whole database file (sequences included) and copies
it back; on PostgreSQL pg_dump and pg_restore --clean. The index folder is copied with shutil.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from catalog.models import SKU, Price, Product
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.models import IndexChange, LogConsumer
from diskcache_tier.verify import verify_index
from ledger.models import UpdateRun
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


class DatabaseBackup:
    """A whole-database backup of the test database, and its restore."""

    def __init__(self, tmp_path):
        self.dump = tmp_path / "catalog.dump"
        self.copy = None

    def take(self):
        connection.ensure_connection()
        if connection.vendor == "sqlite":
            self.copy = sqlite3.connect(":memory:")
            connection.connection.backup(self.copy)
        else:
            subprocess.run(["pg_dump", "-Fc", "-f", str(self.dump), self._url()], check=True)
        return self

    def restore(self):
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            self.copy.backup(connection.connection)
        else:
            url = self._url()
            connection.close()
            subprocess.run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "-d", url,
                            str(self.dump)], check=True, capture_output=True)

    @staticmethod
    def _url() -> str:
        s = connection.settings_dict
        return f"postgresql://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def assert_index_true(path):
    with LmdbIndex(path) as index:
        result = verify_index(index)
    assert result.clean, (dict(result.mismatches), result.samples)


def sku_owner(code: str) -> str:
    return SKU.objects.select_related("product").get(sku=code).product.normalized_name_brand_size


def price_of(nnbs: str) -> Decimal:
    return Price.objects.get(product__normalized_name_brand_size=nnbs).price


def test_a_database_restored_under_a_newer_index_is_not_trusted(workspace, tmp_path):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    backup = DatabaseBackup(tmp_path).take()
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1"), product("milk", sku="S2"),
                                                         product("bread", sku="S3", price_current=4.0)])
    assert run_update(workspace).files[0].products_created == 1
    assert not IndexChange.objects.exists()  # a normal run leaves the log empty: nothing there to compare
    backup.restore()
    assert not Product.objects.filter(normalized_name_brand_size="bread").exists()

    # The restored sequence hands bread's old id to eggs; the index still gives that id to bread.
    write_file(workspace.inbox, "iga", "2025-09-03", [product("oats", sku="S1"), product("milk", sku="S2"),
                                                         product("eggs", sku="S4", price_current=6.0),
                                                         product("bread", sku="S3", price_current=4.5)])
    report = run_update(workspace)
    assert report.index_build is not None
    assert "database restored from an older backup" in report.index_build["reason"]
    assert "database restored" in UpdateRun.objects.get(pk=report.run_id).totals["index_rebuild"]
    assert sku_owner("S3") == "bread" and sku_owner("S4") == "eggs"
    assert price_of("bread") == Decimal("4.50") and price_of("eggs") == Decimal("6.00")
    assert Product.objects.count() == 4
    assert_index_true(workspace.index_path)


def test_an_index_folder_restored_under_a_current_database_is_not_trusted(workspace, tmp_path):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    saved = tmp_path / "index-backup"
    shutil.copytree(workspace.index_path, saved)
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1"), product("milk", sku="S2"),
                                                         product("bread", sku="S3", barcode="9300000000057")])
    assert run_update(workspace).files[0].products_created == 1
    shutil.rmtree(workspace.index_path)
    shutil.copytree(saved, workspace.index_path)

    write_file(workspace.inbox, "iga", "2025-09-03", [product("oats", sku="S1"), product("milk", sku="S2"),
                                                         product("bread", sku="S3", barcode="9300000000057",
                                                                 price_current=3.0)])
    report = run_update(workspace)
    assert report.index_build is not None
    assert "index folder restored from an older backup" in report.index_build["reason"]
    assert Product.objects.filter(normalized_name_brand_size="bread").count() == 1
    assert Product.objects.count() == 3 and report.files[0].products_created == 0
    assert price_of("bread") == Decimal("3.00")
    assert_index_true(workspace.index_path)


# ------------------------------------------------------------------------------ two indexes, one database


def test_two_indexes_alternating_on_one_database_both_stay_true(workspace, tmp_path):
    (tmp_path / "host-a").mkdir()
    (tmp_path / "host-b").mkdir()
    a = replace(workspace, index_path=tmp_path / "host-a" / "index")
    b = replace(workspace, index_path=tmp_path / "host-b" / "index")
    days = iter(f"2025-09-{d:02d}" for d in range(1, 30))
    names = ["oats", "milk", "bread", "eggs", "tea", "rice", "jam", "salt"]
    for n, options in enumerate([a, b, a, a, b, a, b, b]):
        if n == 4:  # the site's admin renames a product between runs: both indexes must hear of it
            Product.objects.filter(normalized_name_brand_size="oats").update(normalized_name_brand_size="rolled oats")
            names[0] = "rolled oats"
        # Each run brings a new product and re-prices every earlier one, whose SKUs it must find.
        write_file(workspace.inbox, "iga", next(days),
                   [product(name, sku=f"S{k}", price_current=1 + n) for k, name in enumerate(names[:n + 1])])
        report = run_update(options)
        assert report.files[0].status == "processed", report.files[0].reason
        assert report.files[0].products_created == 1 and report.files[0].index_repairs == 0
        assert Product.objects.count() == n + 1
        if n:  # both indexes exist from the second run on
            assert_index_true(a.index_path)
            assert_index_true(b.index_path)
    assert sorted(loc.split(":", 1)[1] for loc in LogConsumer.objects.values_list("location", flat=True)) == [
        str(a.index_path.resolve()), str(b.index_path.resolve())]
    # The log is kept only as far back as the index that is behind needs.
    lowest = min(LogConsumer.objects.values_list("watermark", flat=True))
    assert not IndexChange.objects.filter(id__lte=lowest).exists()


def test_an_index_does_not_take_its_own_held_back_rows_for_another_writers(workspace, tmp_path):
    # Host b, behind, holds the log back: host a's rows of a file stay after it. Host a must not apply
    # them again at its next start (on PostgreSQL, where its watermark does not move past them), which
    # would forget what each line last sent and update every line of the next day again.
    (tmp_path / "host-a").mkdir()
    (tmp_path / "host-b").mkdir()
    a = replace(workspace, index_path=tmp_path / "host-a" / "index")
    b = replace(workspace, index_path=tmp_path / "host-b" / "index")
    first = [product(f"old{n}", sku=f"O{n}") for n in range(5)]
    second = [product(f"new{n}", sku=f"N{n}") for n in range(30)]
    write_file(workspace.inbox, "iga", "2025-09-01", first)
    run_update(b)
    write_file(workspace.inbox, "iga", "2025-09-02", second)
    assert run_update(a).files[0].products_created == 30
    assert IndexChange.objects.exists()  # b has not seen them yet
    write_file(workspace.inbox, "iga", "2025-09-03", second)
    assert run_update(a).files[0].lines_unchanged == 30
    # b hears of everything a wrote, and finds the products rather than making them again.
    write_file(workspace.inbox, "iga", "2025-09-04", second)
    report = run_update(b)
    assert report.files[0].products_created == 0 and report.files[0].index_repairs == 0
    assert Product.objects.count() == 35
    assert_index_true(a.index_path)
    assert_index_true(b.index_path)


def test_an_index_not_seen_for_too_long_is_dropped_and_rebuilds_when_it_returns(workspace, tmp_path):
    (tmp_path / "host-a").mkdir()
    (tmp_path / "host-b").mkdir()
    a = replace(workspace, index_path=tmp_path / "host-a" / "index")
    b = replace(workspace, index_path=tmp_path / "host-b" / "index")
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1")])
    run_update(a)
    with override_settings(INDEX_CONSUMER_STALE_HOURS=0):
        write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1"), product("milk", sku="S2")])
        run_update(b)  # a was last seen before now: dropped, and b's rows no longer wait for it
    assert LogConsumer.objects.count() == 1
    assert not IndexChange.objects.exists()
    write_file(workspace.inbox, "iga", "2025-09-03", [product("oats", sku="S1"), product("milk", sku="S2")])
    report = run_update(a)
    assert "not registered with this database" in report.index_build["reason"]
    assert Product.objects.count() == 2
    assert_index_true(a.index_path)
