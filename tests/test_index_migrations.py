"""A catalog built by the previous release, carried forward by the migrations that move the change log
and the database identity from catalog to diskcache_tier, and name the log's writer."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# catalog as the previous release left it, and no diskcache_tier migration yet.
PREVIOUS_RELEASE = [("catalog", "0002_index_change_log"), ("diskcache_tier", None)]
PREVIOUS_STATE = [("catalog", "0002_index_change_log")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_the_change_log_and_identity_of_the_previous_release_are_carried_forward():
    executor = migrate(PREVIOUS_RELEASE)
    try:
        old = executor.loader.project_state(PREVIOUS_STATE).apps
        assert not any(model._meta.app_label == "diskcache_tier" for model in old.get_models())
        old_identity, old_log = old.get_model("catalog", "DatabaseIdentity"), old.get_model("catalog", "IndexChange")
        Product = old.get_model("catalog", "Product")
        old_identity.objects.all().delete()
        old_identity.objects.create(token="a" * 32)
        old_log.objects.all().delete()  # what earlier tests' flushes logged (a TRUNCATE on PostgreSQL)
        kept = Product.objects.create(name="Oats", normalized_name_brand_size="oats500g")  # logged by the old trigger
        old_log.objects.create(kind="p", product_id=999, old_nnbs="gone", old_variations=["gone 1"])
        before = list(old_log.objects.order_by("id").values_list("id", "kind", "product_id", "old_nnbs"))
        assert [row[1:] for row in before] == [("p", kept.id, None), ("p", 999, "gone")]

        executor = migrate(latest())
        new = executor.loader.project_state(latest()).apps
        log, identity = new.get_model("diskcache_tier", "IndexChange"), new.get_model("diskcache_tier", "DatabaseIdentity")
        assert not any(m.__name__ in ("IndexChange", "DatabaseIdentity") for m in new.get_app_config("catalog").get_models())
        assert list(log.objects.order_by("id").values_list("id", "kind", "product_id", "old_nnbs")) == before
        assert list(log.objects.values_list("writer_txid", flat=True)) == [None, None]
        assert list(log.objects.get(product_id=999).old_variations) == ["gone 1"]
        assert list(identity.objects.values_list("token", flat=True)) == ["a" * 32]

        # The triggers now name the writer (PostgreSQL) and log a change to what the slim record keeps.
        product = new.get_model("catalog", "Product")
        product.objects.filter(id=kept.id).update(url="https://shop.example/oats")
        newest = log.objects.order_by("-id").first()
        assert (newest.kind, newest.product_id, newest.old_nnbs) == ("p", kept.id, "oats500g")
        assert (newest.writer_txid is not None) == (connection.vendor == "postgresql")
    finally:
        migrate(latest())


def test_the_move_can_be_reversed_to_the_previous_release():
    try:
        executor = migrate(PREVIOUS_RELEASE)
        old = executor.loader.project_state(PREVIOUS_STATE).apps
        Product, old_log = old.get_model("catalog", "Product"), old.get_model("catalog", "IndexChange")
        old_log.objects.all().delete()
        Product.objects.create(name="Oats", normalized_name_brand_size="oats500g")
        # The previous release's triggers are back: they log without the writer column.
        assert list(old_log.objects.values_list("kind", flat=True)) == ["p"]
    finally:
        migrate(latest())
