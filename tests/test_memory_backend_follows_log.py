"""Issue 19, case 5: the memory backend hears of other writers between the files of one run, and the
repair path finds a product that carries a line's NNBS as a variation only, never making a duplicate."""
from __future__ import annotations

import pytest

from catalog.models import SKU, Price, Product
from diskcache_tier.lookup import LmdbIndex
from diskcache_tier.models import IndexChange
from update import orchestrator
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def between_files(monkeypatch, edit) -> None:
    """Run ``edit`` once, right after the run's first file is archived (committed, before the next)."""
    original, done = orchestrator.inbox_files.archive, []

    def archive(path, folder):
        moved = original(path, folder)
        if not done:
            done.append(True)
            edit()
        return moved

    monkeypatch.setattr(orchestrator.inbox_files, "archive", archive)


def test_the_memory_backend_applies_what_the_admin_did_between_two_files(workspace, monkeypatch):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("bread", sku="S2")])
    run_update(workspace)
    oats = Product.objects.get(normalized_name_brand_size="oats")

    def admin():
        # One product deleted (its SKU and prices go with it), another given a variation.
        Product.objects.filter(normalized_name_brand_size="bread").delete()
        oats.normalized_name_brand_size_variations = ["rolled oats"]
        oats.save()

    # Both files in one run: the memory index is loaded once, before the first.
    write_file(workspace.inbox, "iga", "2025-09-02", [product("oats", sku="S1"), product("bread", sku="S2")])
    write_file(workspace.inbox, "iga", "2025-09-03", [product("oats", sku="S1"), product("bread", sku="S2"),
                                                      product("rolled oats", sku="S7")])
    between_files(monkeypatch, admin)
    workspace.index_backend = "memory"
    report = run_update(workspace)
    last = report.files[-1]
    assert [f.status for f in report.files] == ["processed", "processed"]
    # Neither a stale hit on the deleted bread nor a miss of the variation: no second attempt was needed.
    assert last.index_repairs == 0 and not any("written again" in note for note in last.notes)
    assert last.products_created == 1  # bread, again; "rolled oats" is oats
    assert SKU.objects.get(sku="S7").product_id == oats.id
    assert Product.objects.count() == 2
    assert Price.objects.filter(product__normalized_name_brand_size="bread").count() == 1


def test_the_repair_path_finds_a_product_carrying_the_name_as_a_variation(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("oats", sku="S1"), product("bread", sku="S2")])
    run_update(workspace)
    oats = Product.objects.get(normalized_name_brand_size="oats")
    Product.objects.filter(id=oats.id).update(normalized_name_brand_size_variations=["rolled oats"])
    Product.objects.filter(normalized_name_brand_size="bread").delete()
    # The log that would tell the index is lost: its bread entries are stale, and it lacks the variation.
    IndexChange.objects.all().delete()
    write_file(workspace.inbox, "iga", "2025-09-02", [product("bread", sku="S2"),
                                                      product("rolled oats", sku="S7")])
    report = run_update(workspace)
    result = report.files[-1]
    assert result.status == "processed", result.reason
    # The stale bread fails the first attempt; the second checks every miss, variations included.
    assert any("written again" in note for note in result.notes)
    assert result.index_repairs >= 1
    assert SKU.objects.get(sku="S7").product_id == oats.id
    assert Product.objects.count() == 2
    with LmdbIndex(workspace.index_path) as index:
        assert index.get_many("nnbs", ["rolledoats"]) == {"rolledoats": oats.id}
