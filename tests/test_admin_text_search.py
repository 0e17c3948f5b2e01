"""Text search through the trigram index of catalog migration 0009 (FTS5 on SQLite, pg_trgm on PostgreSQL):
the same matches as icontains, kept current by every writer, and carried onto an existing catalog."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.admin.search import search_products, text_search
from catalog.models import Company, Product

BEFORE = [("catalog", "0006_company_folded_name_unique")]
TEXT_INDEX = [("catalog", "0009_product_text_search")]


def _found(term: str) -> set[str]:
    return set(search_products(Product.objects.all(), term).values_list("normalized_name_brand_size", flat=True))


def _sql(queryset) -> str:
    return str(queryset.query)


@pytest.mark.django_db
def test_a_substring_of_a_name_nnbs_or_variation_is_found_whatever_its_case():
    Product.objects.create(name="Brazil Coffee Express Pods", normalized_name_brand_size="brazil coffee pods 16pk")
    Product.objects.create(name="Tea", normalized_name_brand_size="tea black 100",
                           normalized_name_brand_size_variations=["black tea 100 bags"])
    Product.objects.create(name='Say "cheese"', normalized_name_brand_size="cheese say 1")
    assert _found("COFFEE EXP") == {"brazil coffee pods 16pk"}  # part of the name, any case
    assert _found("ee po") == {"brazil coffee pods 16pk"}  # across words of the NNBS
    assert _found("tea 100 b") == {"tea black 100"}  # a variation
    assert _found('"cheese"') == {"cheese say 1"}  # quotes are text, not query syntax
    assert _found("zzqx") == set()
    assert _found("ea") == {"tea black 100"} and _found("FF") == {"brazil coffee pods 16pk"}  # under 3: icontains
    sql = _sql(text_search(Product.objects.all(), "coffee"))
    if connection.vendor == "sqlite":
        assert "MATCH" in sql and " LIKE " not in sql


@pytest.mark.django_db
def test_the_index_follows_inserts_updates_and_deletes():
    milk = Product.objects.create(name="Milk Full Cream", normalized_name_brand_size="milk full 2l")
    assert _found("cream") == {"milk full 2l"}
    Product.objects.filter(pk=milk.pk).update(name="Milk Skim")  # raw UPDATE, as the update writes
    assert _found("cream") == set() and _found("skim") == {"milk full 2l"}
    milk.normalized_name_brand_size_variations = ["lait entier 2l"]
    milk.save()
    assert _found("entier") == {"milk full 2l"}
    Product.objects.filter(pk=milk.pk).delete()
    assert _found("skim") == set() and _found("entier") == set()


@pytest.mark.django_db
def test_postgresql_answers_from_the_trigram_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("the pg_trgm indexes are PostgreSQL's")
    Product.objects.create(name="Milk", normalized_name_brand_size="milk 2l")
    sql, params = text_search(Product.objects.all(), "milk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table of one row is read whole otherwise
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Django's icontains compares UPPER(column::text): the indexes are on those expressions.
    for name in ("catalog_product_name_trgm", "catalog_product_nnbs_trgm", "catalog_product_variations_trgm"):
        assert name in plan, plan


@pytest.mark.django_db
def test_the_company_filter_has_its_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "catalog_sku")
    assert constraints["sku_company_product"]["columns"] == ["company_id", "product_id"]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_indexes_an_existing_catalog_and_reverses():
    old_apps = _migrate(BEFORE)
    try:
        OldProduct = old_apps.get_model("catalog", "Product")
        OldProduct.objects.create(name="Vegemite Spread", normalized_name_brand_size="vegemite 380g",
                                  normalized_name_brand_size_variations=["kraft vegemite 380 g"])
        OldProduct.objects.create(name="Weet-Bix", normalized_name_brand_size="weetbix 575g")
        _migrate(TEXT_INDEX)
        assert _found("gemite") == {"vegemite 380g"} and _found("kraft") == {"vegemite 380g"}
        assert _found("eet-b") == {"weetbix 575g"}
        # Backward and forward again: the index is dropped, then rebuilt from the rows.
        _migrate(BEFORE)
        Product.objects.filter(normalized_name_brand_size="weetbix 575g").update(name="Weet-Bix Original")
        _migrate(TEXT_INDEX)
        assert _found("original") == {"weetbix 575g"}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Company.objects.all().delete()
