"""The index stays true to the database: rebuilds with a reason, catch-up, verify, growth, the lock."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import lmdb
import orjson
import pytest
from django.db import connection

from catalog.models import SKU, Price, Product, ProductCategory
from diskcache_tier.models import DatabaseIdentity, IndexChange
from diskcache_tier.build_index import build_lmdb_index, index_lock_path, open_index, why_rebuild
from diskcache_tier.keying import ProductRow, slim_record
from diskcache_tier.lookup import FORMAT_VERSION, LmdbIndex
from diskcache_tier.verify import verify_index
from diskcache_tier.run_lock import run_lock
from update.orchestrator import run_update

from .conftest import PROJECT_ROOT
from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def catalog_file(workspace, day="2025-09-01"):
    return write_file(workspace.inbox, "iga", day, [
        product("oats500g", sku="S1", barcode="9300000000019"),
        product("milk1l", sku="S2", barcode="9300000000026"),
        product("bread700g", sku="S3"),
        product("jam250g", sku="S4"),
    ])


@pytest.fixture
def updated(workspace):
    """A workspace after one run: four products in the database and in the index."""
    catalog_file(workspace)
    report = run_update(workspace)
    assert report.files[0].status == "processed"
    return workspace


def assert_index_matches(path):
    with LmdbIndex(path) as index:
        result = verify_index(index)
    assert result.clean, dict(result.mismatches)
    return result


def rebuild_reasons(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("rebuilding index")]


# ----------------------------------------------------------------------------------------- rebuilds


def test_missing_index_is_built_saying_why(updated, caplog):
    import shutil

    shutil.rmtree(updated.index_path)
    with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
        index, build = open_index("lmdb", updated.index_path)
    index.close()
    assert build is not None and build.products == 4
    assert rebuild_reasons(caplog) == [f"rebuilding index at {updated.index_path}: index missing"]
    assert_index_matches(updated.index_path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "garbage header"])
def test_damaged_data_file_is_rebuilt_saying_why(updated, caplog, damage):
    # Enough products that data.mdb has pages past the meta pages to lose.
    write_file(updated.inbox, "iga", "2025-09-02", [product(f"item{n}", sku=f"T{n}") for n in range(3000)])
    run_update(updated)
    data = updated.index_path / "data.mdb"
    raw = data.read_bytes()
    if damage == "truncated":
        data.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        data.write_bytes(os.urandom(len(raw)))
    else:
        data.write_bytes(os.urandom(8192) + raw[8192:])
    with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
        index, build = open_index("lmdb", updated.index_path)
    index.close()
    [message] = rebuild_reasons(caplog)
    assert "index unreadable" in message
    if damage == "truncated":
        assert "truncated" in message
    assert build.products == 3004
    assert_index_matches(updated.index_path)


def test_index_of_another_database_is_rebuilt_saying_why(updated, caplog):
    DatabaseIdentity.objects.update(token="f" * 32)  # as if this were another database
    with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
        index, build = open_index("lmdb", updated.index_path)
    index.close()
    [message] = rebuild_reasons(caplog)
    assert "index built from another database" in message and "f" * 32 in message
    assert build is not None


def test_migrated_schema_and_other_format_are_rebuilt_saying_why(updated, caplog):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('catalog', '9999_x', '2026-01-01')")
    try:
        assert why_rebuild(updated.index_path).startswith("database schema migrated since the index was built")
        build_lmdb_index(updated.index_path)
        with LmdbIndex(updated.index_path) as index:
            writer = index.writer()
            writer.set_meta("format", 1)
            writer.commit()
        with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
            open_index("lmdb", updated.index_path)[0].close()
        assert rebuild_reasons(caplog) == [f"rebuilding index at {updated.index_path}: index format 1 is not {FORMAT_VERSION}"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM django_migrations WHERE name = '9999_x'")


# ----------------------------------------------------------------------------------------- catch-up


def test_edits_deletes_and_merges_behind_the_pipelines_back_are_caught_up_without_rebuild(updated, caplog):
    oats = Product.objects.get(normalized_name_brand_size="oats500g")
    milk = Product.objects.get(normalized_name_brand_size="milk1l")
    bread = Product.objects.get(normalized_name_brand_size="bread700g")
    jam = Product.objects.get(normalized_name_brand_size="jam250g")

    # An admin edit: new NNBS and barcode for oats.
    Product.objects.filter(id=oats.id).update(normalized_name_brand_size="rolledoats500g", barcode="9300000000033")
    # A merge script: jam goes into bread (SKUs move, jam's NNBS becomes a variation), then jam is deleted.
    SKU.objects.filter(product=jam).update(product=bread)
    Product.objects.filter(id=bread.id).update(normalized_name_brand_size_variations=["jam250g"])
    Price.objects.filter(product=jam).delete()
    ProductCategory.objects.filter(product=jam).delete()
    Product.objects.filter(id=jam.id).delete()
    # A raw SQL delete of milk, bypassing Django entirely.
    with connection.cursor() as cursor:
        for table in ("catalog_price", "catalog_productcategory", "catalog_sku"):
            cursor.execute(f"DELETE FROM {table} WHERE product_id = %s", [milk.id])
        cursor.execute("DELETE FROM catalog_product WHERE id = %s", [milk.id])

    with LmdbIndex(updated.index_path) as index:
        before = verify_index(index)
    # The index is behind, and every difference is on a product the change log names: pending, healed
    # by the next run's catch-up, not a difference of the index.
    assert before.clean and before.pending_changes and sum(before.pending.values())

    with caplog.at_level(logging.INFO, logger="diskcache_tier"):
        index, build = open_index("lmdb", updated.index_path)
    try:
        assert build is None and not rebuild_reasons(caplog)
        assert index.catchup.changes >= 6
        company = SKU.objects.get(sku="S1").company_id
        assert index.get_many("nnbs", ["oats500g", "rolledoats500g", "milk1l", "jam250g"]) == {
            "rolledoats500g": oats.id, "jam250g": bread.id}
        assert index.get_many("barcode", ["9300000000019", "9300000000033", "9300000000026"]) == {
            "9300000000033": oats.id}
        assert index.get_many("sku", [(company, s) for s in ("S1", "S2", "S3", "S4")]) == {
            (company, "S1"): oats.id, (company, "S3"): bread.id, (company, "S4"): bread.id}
        slims = index.slim_many([oats.id, milk.id, jam.id])
        assert {pid: (slim["n"], slim["b"], slim["bc"]) for pid, slim in slims.items()} == {
            oats.id: ("rolledoats500g", "acme", True)}
        assert verify_index(index).clean
    finally:
        index.close()
    # Applied changes leave the log.
    assert not IndexChange.objects.exists()

    # The next file finds the merged product by the merged NNBS and SKU: no duplicate comes back.
    write_file(updated.inbox, "iga", "2025-09-02", [
        product("jam250g", sku="S4"), product("bread700g", sku="S3"), product("rolledoats500g", sku="S1")])
    report = run_update(updated)
    assert report.files[0].status == "processed"
    assert report.files[0].products_created == 0
    assert report.index_build is None
    assert Product.objects.count() == 2
    assert_index_matches(updated.index_path)


def test_catch_up_costs_the_changes_not_the_catalog(updated):
    write_file(updated.inbox, "iga", "2025-09-02", [product(f"item{n}", sku=f"T{n}") for n in range(2000)])
    run_update(updated)
    open_index("lmdb", updated.index_path)[0].close()  # applies the run's own logged writes
    Product.objects.filter(normalized_name_brand_size__in=["item1", "item2", "item3"]).update(barcode=None)
    Product.objects.filter(normalized_name_brand_size="item4").update(
        normalized_name_brand_size_variations=["item four"])
    index, build = open_index("lmdb", updated.index_path)
    try:
        assert build is None
        assert index.catchup.products == 1  # barcode None -> None changes no key: not logged
        assert index.catchup.changes == 1
        assert index.get_many("nnbs", ["item four"]) == {"item four": Product.objects.get(
            normalized_name_brand_size="item4").id}
    finally:
        index.close()


def test_truncate_or_a_log_behind_the_index_means_rebuild(updated, caplog):
    IndexChange.objects.create(kind="r")  # what PostgreSQL's TRUNCATE trigger logs
    with caplog.at_level(logging.WARNING, logger="diskcache_tier"):
        index, build = open_index("lmdb", updated.index_path)
    index.close()
    assert build is not None
    assert rebuild_reasons(caplog) == [f"rebuilding index at {updated.index_path}: catalog tables were truncated"]


def test_a_crash_between_database_commit_and_index_commit_is_healed(updated, monkeypatch):
    """The database commits a file, the index writes never land: the next start applies the log."""
    from diskcache_tier import lookup

    monkeypatch.setattr(lookup.LmdbWriter, "commit", lookup.LmdbWriter.abort)
    catalog_file(updated, "2025-09-02")
    with open(next(updated.inbox.iterdir()), "ab") as handle:
        line = orjson.loads(open(next(updated.inbox.iterdir()), "rb").readline())
        line["product"] = {**line["product"], **product("tea100g", sku="S9", barcode="9300000000040")}
        handle.write(orjson.dumps(line) + b"\n")
    run_update(updated)
    monkeypatch.undo()
    with LmdbIndex(updated.index_path) as index:
        assert index.get_many("nnbs", ["tea100g"]) == {}
    index, build = open_index("lmdb", updated.index_path)
    try:
        tea = Product.objects.get(normalized_name_brand_size="tea100g").id
        assert build is None
        assert index.get_many("nnbs", ["tea100g"]) == {"tea100g": tea}
        assert index.get_many("barcode", ["9300000000040"]) == {"9300000000040": tea}
        assert verify_index(index).clean
    finally:
        index.close()


# ------------------------------------------------------------------------------------------- verify


def test_verify_counts_mismatches_by_kind(updated):
    oats = Product.objects.get(normalized_name_brand_size="oats500g").id
    run_update(updated)  # over an empty inbox: applies the run's own logged writes, so none is pending
    with LmdbIndex(updated.index_path) as index:
        writer = index.writer()
        writer.delete("barcode", "9300000000019")          # barcode.missing
        writer.put("nnbs", "milk1l", oats)                 # nnbs.wrong (and nnbs.stale: oats doesn't carry it)
        writer.put("sku", (999, "ghost"), oats)             # sku.stale
        writer.put_product(424242, slim_record(ProductRow(id=424242, nnbs="ghost")))  # products.stale
        wrong_brand = {**index.slim_many([oats])[oats], "b": "other"}
        writer.put_product(oats, wrong_brand)                                        # products.differs
        writer.commit()
        result = verify_index(index)
    assert dict(result.mismatches) == {"barcode.missing": 1, "nnbs.wrong": 1, "nnbs.stale": 1, "sku.stale": 1,
                                       "products.stale": 1, "products.differs": 1}
    assert result.pending_changes == 0


def test_map_full_grows_and_replays_the_files_writes(updated):
    """A tiny map fills in the middle of a file: the writer grows it and replays, the run goes on."""
    build_lmdb_index(updated.index_path)
    tiny = LmdbIndex(updated.index_path, map_size=1 << 16)
    assert tiny.env.info()["map_size"] < 1 << 20
    updated.index_factory = lambda options: (tiny, None)
    write_file(updated.inbox, "iga", "2025-09-02", [product(f"item{n}" * 8, sku=f"T{n}") for n in range(3000)])
    report = run_update(updated)
    assert report.files[0].status == "processed" and report.files[0].products_created == 3000
    with LmdbIndex(updated.index_path) as index:
        assert index.env.info()["map_size"] > 1 << 20
        assert index.counts()["products"] == 3004
    assert_index_matches(updated.index_path)


# ------------------------------------------------------------------------------- commands and lock


def cli(*args, env):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "bin" / "update-products"), *args],
                          env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)


@pytest.fixture
def deployment(tmp_path):
    """A database file migrated by `manage.py migrate`, as an operator would set one up."""
    env = {**os.environ, "UPDATE_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("UPDATE_INDEX_PATH", None)
    done = subprocess.run([sys.executable, "manage.py", "migrate"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    env["MIGRATE_STDOUT"] = done.stdout
    return env, tmp_path / "var"


def test_migrate_leaves_a_current_index(deployment):
    env, var = deployment
    assert "Rebuilt the product index" in env["MIGRATE_STDOUT"]
    stats = cli("index", "stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    figures = orjson.loads(stats.stdout)
    assert figures["usable"] and figures["rebuild_reason"] is None and figures["format"] == FORMAT_VERSION
    verify = cli("index", "verify", env=env)
    assert verify.returncode == 0 and "index matches the database" in verify.stdout


def test_a_second_run_is_refused_with_status_3(deployment):
    env, var = deployment
    (var / "inbox").mkdir(parents=True, exist_ok=True)
    with run_lock(index_lock_path(var / "index")):
        second = cli("run", "--silent", env=env)
        build = cli("index", "build", env=env)
    assert second.returncode == 3
    assert "another update is running" in second.stderr
    assert build.returncode == 3
    after = cli("run", "--silent", env=env)
    assert after.returncode == 0, after.stderr


def test_verify_exits_non_zero_on_mismatch_and_on_a_missing_index(deployment):
    import shutil

    env, var = deployment
    with LmdbIndex(var / "index") as index:
        writer = index.writer()
        writer.put("nnbs", "ghost", 7)
        writer.commit()
    verify = cli("index", "verify", "--json", env=env)
    assert verify.returncode == 1
    assert orjson.loads(verify.stdout)["mismatches"] == {"nnbs.stale": 1}
    shutil.rmtree(var / "index")
    assert cli("index", "verify", env=env).returncode == 4
    assert cli("index", "build", env=env).returncode == 0
    assert cli("index", "verify", env=env).returncode == 0


def test_a_tiny_map_really_fills(tmp_path):
    """Guard for the growth test: a map this small really does fill."""
    env = lmdb.open(str(tmp_path / "x"), map_size=1 << 16)
    with pytest.raises(lmdb.MapFullError):
        with env.begin(write=True) as txn:
            for n in range(5000):
                txn.put(f"key{n}".encode() * 4, b"v" * 50)
    env.close()
