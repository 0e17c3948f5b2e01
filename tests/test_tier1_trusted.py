"""Tier 1 does the work it exists for: its hits and misses are taken as they are, the slim record spares
tier-2 fetches, the update's own writes don't come back at the next start, and the database still wins."""
from __future__ import annotations

import threading
import unicodedata

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from catalog.models import SKU, Product
from diskcache_tier.build_index import open_index
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.models import IndexChange
from diskcache_tier.verify import verify_index
from update.managers.product import ProductManager
from update.orchestrator import run_update
from update.progress import NullProgress

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def assert_index_matches(path):
    with LmdbIndex(path) as index:
        result = verify_index(index)
    assert result.clean, (dict(result.mismatches), result.samples)


# --------------------------------------------------------------------------------- own writes, startup


def test_the_updates_own_writes_do_not_come_back_at_the_next_start(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product(f"item{n}", sku=f"T{n}") for n in range(1200)])
    first = run_update(workspace)
    assert first.files[0].products_created == 1200
    # The file's transaction logged 2400 rows (products and SKUs); its committed index writes made them moot.
    assert not IndexChange.objects.exists()
    index, build = open_index("lmdb", workspace.index_path)
    try:
        assert build is None
        assert index.catchup.changes == 0
    finally:
        index.close()
    assert_index_matches(workspace.index_path)


def test_other_writers_changes_are_still_caught_up_after_the_updates_own(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    run_update(workspace)
    Product.objects.filter(normalized_name_brand_size="oats").update(normalized_name_brand_size="rolled oats")
    index, build = open_index("lmdb", workspace.index_path)
    try:
        assert build is None and index.catchup.changes == 1
        assert index.get_many("nnbs", ["rolledoats", "oats"]) == {
            "rolledoats": Product.objects.get(normalized_name_brand_size="rolled oats").id}
    finally:
        index.close()


# ------------------------------------------------------------------------------------ tier-2 fetches


def test_only_products_a_line_changes_are_fetched(workspace):
    lines = [product(f"p{n}", sku=f"S{n}") for n in range(30)]
    write_file(workspace.inbox, "iga", "2025-09-01", lines)
    write_file(workspace.inbox, "iga", "2025-09-02", [
        *lines[:28],
        product("p28", sku="S28", sizes=["1kg", "2kg"]),                       # a new size
        product("p29", sku="S29", image_url="https://img.example/p29.jpg"),    # an image where none was
    ])
    report = run_update(workspace)
    day1, day2 = report.files
    assert day1.products_fetched == 0 and day1.products_created == 30
    assert day2.products_fetched == 2 and day2.products_updated == 2
    assert report.totals()["products_fetched"] == 2
    assert Product.objects.get(normalized_name_brand_size="p28").sizes == ["1kg", "2kg"]
    assert Product.objects.get(normalized_name_brand_size="p29").image_url == "https://img.example/p29.jpg"
    assert_index_matches(workspace.index_path)


def test_an_edit_outside_the_update_reaches_the_slim_record(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1", image_url="https://i/1.jpg")])
    run_update(workspace)
    # The admin clears the image: the next scrape's image must fill it again, so the product is fetched.
    Product.objects.update(image_url=None)
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1", image_url="https://i/2.jpg")])
    report = run_update(workspace)
    assert report.files[-1].products_fetched == 1
    assert Product.objects.get().image_url == "https://i/2.jpg"


# ---------------------------------------------------------------------------------- the database wins


def test_a_miss_the_database_refuses_is_repaired_never_a_duplicate(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1", barcode="9300000000019")])
    run_update(workspace)
    # The index forgets the product, and the log that would tell it is lost too.
    with LmdbIndex(workspace.index_path) as index:
        writer = index.writer()
        for kind, key in (("nnbs", "oats"), ("barcode", "9300000000019"), ("sku", (SKU.objects.get().company_id, "S1"))):
            writer.delete(kind, key)
        writer.commit()
    IndexChange.objects.all().delete()
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1", barcode="9300000000019")])
    report = run_update(workspace)
    assert report.files[-1].status == "processed"
    assert report.files[-1].index_repairs >= 1 and report.files[-1].products_created == 0
    assert any("written again" in note for note in report.files[-1].notes)
    assert Product.objects.count() == 1
    assert_index_matches(workspace.index_path)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets no other connection write during a file")
def test_another_connection_editing_a_product_mid_file_is_caught_up_before_the_next_chunk(workspace, monkeypatch):
    write_file(workspace.inbox, "iga", "2025-09-01", [product(f"p{n}", sku=f"S{n}") for n in range(6)])
    run_update(workspace)
    p5 = Product.objects.get(normalized_name_brand_size="p5").id
    calls = []
    original = ProductManager.process

    def process(self, lines):
        calls.append(len(lines))
        if len(calls) == 1:
            # While the first batch of lines is written, the site's admin renames p5 on its own connection,
            # and commits.
            def edit():
                other = connections.create_connection(DEFAULT_DB_ALIAS)
                try:
                    with other.cursor() as cursor:
                        cursor.execute("UPDATE catalog_product SET normalized_name_brand_size = 'p5 renamed', "
                                       "canonical_nnbs = 'p5renamed' WHERE id = %s", [p5])
                finally:
                    other.close()
            thread = threading.Thread(target=edit)
            thread.start()
            thread.join()
        return original(self, lines)

    monkeypatch.setattr(ProductManager, "process", process)
    workspace.chunk_size = 2
    # Two new products make the first batch of lines to update (a batch ends at a chunk's worth of them);
    # the last line names p5 by its new NNBS only (another SKU): the index must know the rename to match it.
    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("new0", sku="N0"), product("new1", sku="N1"),
        *[product(f"p{n}", sku=f"S{n}") for n in range(4)], product("p4", sku="S4"),
        product("p5 renamed", sku="S99")])
    report = run_update(workspace)
    assert report.files[-1].status == "processed", report.files[-1].reason
    assert calls == [2, 1]
    # Caught up before the next chunk: neither the repair path's second attempt nor a repair was needed.
    assert not any("written again" in note for note in report.files[-1].notes)
    assert report.files[-1].index_repairs == 0 and report.files[-1].products_created == 2
    assert SKU.objects.get(sku="S99").product_id == p5
    assert_index_matches(workspace.index_path)


# ------------------------------------------------------------------------------- canonical NNBS keys


@pytest.mark.parametrize("backend", ["lmdb", "memory"])
def test_nnbs_differing_only_by_spaces_or_normal_form_is_one_product(workspace, backend):
    workspace.index_backend = backend
    cafe_nfc = unicodedata.normalize("NFC", "café crème 250g")
    cafe_nfd = unicodedata.normalize("NFD", "café crème 250g")
    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("milkfull2l", sku="S1"), product(cafe_nfc, sku="S2"), product("oats500g", sku="S3")])
    run_update(workspace)
    oats = Product.objects.get(normalized_name_brand_size="oats500g")
    Product.objects.filter(id=oats.id).update(normalized_name_brand_size_variations=["rolled oats 500g"])
    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("milk full 2l", sku="N1"), product(cafe_nfd, sku="N2"), product("rolledoats500g", sku="N3"),
        product("milkfull2l", sku="S1"), product(cafe_nfc, sku="S2"), product("oats500g", sku="S3")])
    report = run_update(workspace)
    assert report.files[-1].status == "processed", report.files[-1].reason
    assert report.files[-1].products_created == 0
    assert Product.objects.count() == 3
    owners = dict(SKU.objects.values_list("sku", "product__normalized_name_brand_size"))
    assert owners == {"S1": "milkfull2l", "N1": "milkfull2l", "S2": cafe_nfc, "N2": cafe_nfc,
                      "S3": "oats500g", "N3": "oats500g"}
    # A new spelling of a product's own key is kept as scraped, as any other variation (one index key).
    assert Product.objects.get(normalized_name_brand_size="milkfull2l").normalized_name_brand_size_variations == [
        "milk full 2l"]
    assert Product.objects.get(normalized_name_brand_size=cafe_nfc).normalized_name_brand_size_variations == [
        cafe_nfd]
    if backend == "lmdb":
        assert_index_matches(workspace.index_path)


# ------------------------------------------------------------------------------------ catch-up (11.5)


def test_catch_up_keeps_a_variation_an_untouched_product_still_carries(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("pmain", sku="P1"), product("qmain", sku="Q1")])
    # Q gains the variation qvar the normal way: a line of its SKU under that NNBS.
    write_file(workspace.inbox, "iga", "2025-09-02", [product("pmain", sku="P1"), product("qvar", sku="Q1")])
    run_update(workspace)
    q = Product.objects.get(normalized_name_brand_size="qmain")
    p = Product.objects.get(normalized_name_brand_size="pmain")
    assert q.normalized_name_brand_size_variations == ["qvar"]
    with connection.cursor() as cursor:
        # Raw SQL that renames a product keeps its canonical key with it (the column is the key's owner).
        cursor.execute("UPDATE catalog_product SET normalized_name_brand_size = 'qvar', canonical_nnbs = 'qvar' "
                       "WHERE id = %s", [p.id])
    open_index("lmdb", workspace.index_path)[0].close()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET normalized_name_brand_size = 'pmain2', canonical_nnbs = 'pmain2' "
                       "WHERE id = %s", [p.id])
    index, _ = open_index("lmdb", workspace.index_path)
    try:
        assert index.get_many("nnbs", ["qvar", "pmain2"]) == {"qvar": q.id, "pmain2": p.id}
        assert verify_index(index).clean
    finally:
        index.close()
    write_file(workspace.inbox, "iga", "2025-09-03", [product("pmain2", sku="P1"), product("qvar", sku="X9")])
    report = run_update(workspace)
    assert report.files[-1].products_created == 0
    assert SKU.objects.get(sku="X9").product_id == q.id


class EditBeforeSecondFile(NullProgress):
    """Another writer changes the catalog between two files of one run (after the run's catch-up)."""

    def __init__(self):
        self.files = 0

    def file_started(self, name, size):
        self.files += 1
        if self.files == 2:
            Product.objects.filter(normalized_name_brand_size="milk").update(barcode="9300000000028")


def test_a_change_caught_up_at_a_files_start_does_not_make_the_log_look_older_than_the_index(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("milk", sku="S2")])
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1"), product("milk", sku="S2"),
                                                       product("tea", sku="S3")])
    workspace.progress = EditBeforeSecondFile()
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed", "processed"]
    index, build = open_index("lmdb", workspace.index_path)
    try:
        assert build is None
        assert index.get_many("barcode", ["9300000000028"]) == {
            "9300000000028": Product.objects.get(normalized_name_brand_size="milk").id}
    finally:
        index.close()
    assert_index_matches(workspace.index_path)


def test_a_catch_up_longer_than_a_rebuild_rebuilds_instead(workspace, monkeypatch, caplog):
    from diskcache_tier import catchup

    write_file(workspace.inbox, "iga", "2025-09-01", [product(f"p{n}", sku=f"S{n}") for n in range(10)])
    run_update(workspace)
    monkeypatch.setattr(catchup, "REBUILD_FLOOR", 0)
    Product.objects.filter(normalized_name_brand_size="p1").update(barcode="9300000000019")
    index, build = open_index("lmdb", workspace.index_path)  # 1 change, 10 products: a catch-up is cheaper
    index.close()
    assert build is None
    Product.objects.filter(normalized_name_brand_size__in=["p2", "p3", "p4", "p5"]).update(url=None)
    index, build = open_index("lmdb", workspace.index_path)  # 4 changes > 0.3 x 10 products: rebuilt
    index.close()
    assert build is not None and build.reason == "4 changes logged since the index's watermark, more than a " \
                                                 "rebuild of 10 products costs"
    assert_index_matches(workspace.index_path)
