"""Metamorphic: the catalog a run leaves does not depend on the chunk size.

Chunks are how the update batches its queries, nothing more: lines sharing a key are grouped over the
whole file and reach the update together, and the stream's order is the file's. So the digest of the
catalog after the same inbox is identical for chunk sizes 1, 7, 500 and 5000. Chunk size 1 over all
the real files costs minutes (a handful of queries per line), so it runs on the synthetic cases and on
the first lines of each real file; the real files whole run at 7, 500 and 5000.

Each runs with the skip of unchanged lines on and off (``UpdateOptions.skip_unchanged``): the skip decides
per chunk, so it is the first thing a chunk size could change.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.digest import database_digest
from catalog.models import (
    SKU,
    Category,
    Company,
    Price,
    Product,
    ProductBrand,
    ProductCategory,
    Store,
)
from diskcache_tier.models import IndexChange
from ledger.models import RunFile, UpdateRun
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)
# Every test here, with the skip of unchanged lines on and off.
with_and_without_skip = pytest.mark.parametrize("skip", [True, False], ids=["skip", "noskip"])

FAR = 520


def synthetic_inbox(folder: Path) -> None:
    """The repro cases of lines sharing keys far apart, and their neighbours, over two days."""
    fill = [product(f"f{i}", sku=f"F{i}", brand="Acme" if i % 2 else "ACME Ltd",
                    category_path=["Pantry", "Snacks" if i % 3 else "Snack s"]) for i in range(FAR)]
    write_file(folder, "iga", "2025-09-01", [
        product("bbb", sku="Z"), product("keep", sku="K", barcode="9300000000028"), *fill[:20],
    ])
    write_file(folder, "aldi", "2025-09-01", [
        product("n1", sku="X"), product("n2", sku="Y"), *fill[:20], product("n3", sku="X"),
    ])
    write_file(folder, "iga", "2025-09-02", [
        product("aaa", sku="X", price_current=3.1),
        product("n2", sku="Y", barcode="9300000000019"),
        product("keep new", sku="K2", barcode="9300000000028", price_current=4),
        *fill,
        product("bbb", sku="X", price_current=3.2),
        product("n3", sku="X2", barcode="9300000000019"),
        product("milk full 2l", sku="M2"), product("milkfull2l", sku="M1"),
        product("keep", sku="K3", price_current=5),
    ])


def real_inbox(files: list[Path], lines: int | None):
    def fill(folder: Path) -> None:
        for f in files:
            if lines is None:
                shutil.copy(f, folder / f.name)
            else:
                with open(f, "rb") as source:
                    (folder / f.name).write_bytes(b"".join(line for _, line in zip(range(lines), source)))
    return fill


def catalog_after(workspace, tmp_path, fill, chunk_size: int, skip: bool = True,
                  unchanged: list | None = None) -> dict:
    """The catalog after ``fill``'s inbox at ``chunk_size``; the lines the skip took as unchanged are
    appended to ``unchanged`` when given (a skip that never happened would prove nothing)."""
    # The run ledger too: it knows the files' bytes, and would archive them as already applied.
    for model in (RunFile, UpdateRun, Price, ProductCategory, SKU, Product, Category, ProductBrand, Store, Company,
                  IndexChange):
        model.objects.all().delete()
    for folder in (workspace.inbox, workspace.archive, workspace.rejected):
        shutil.rmtree(folder)
        folder.mkdir()
    fill(workspace.inbox)
    workspace.index_path = tmp_path / f"index-{chunk_size}"
    workspace.chunk_size = chunk_size
    workspace.skip_unchanged = skip
    report = run_update(workspace)
    assert report.count("failed") == 0
    if not skip:
        assert all(f.lines_unchanged == 0 for f in report.files)
    if unchanged is not None:
        unchanged.append(sum(f.lines_unchanged for f in report.files))
    return {"statuses": [(f.file, f.status) for f in report.files], "digest": database_digest()}



@with_and_without_skip
def test_synthetic_cases_make_one_catalog_whatever_the_chunk_size(workspace, tmp_path, skip):
    unchanged: list[int] = []
    catalogs = {size: catalog_after(workspace, tmp_path, synthetic_inbox, size, skip, unchanged)
                for size in (1, 7, 500, 5000)}
    assert catalogs[500]["statuses"] == [(f, "processed") for f, _ in catalogs[500]["statuses"]]
    assert Product.objects.filter(normalized_name_brand_size="aaa").count() == 0
    assert min(unchanged) > 0 if skip else max(unchanged) == 0  # day 2 repeats most of day 1's fill
    for size in (1, 7, 5000):
        assert catalogs[size] == catalogs[500], f"chunk size {size} made another catalog than 500"


@pytest.mark.slow
@with_and_without_skip
def test_first_lines_of_the_real_files_make_one_catalog_at_chunk_size_one(workspace, tmp_path, real_files, skip):
    fill = real_inbox(real_files, 150)
    one, five_hundred = (catalog_after(workspace, tmp_path, fill, size, skip) for size in (1, 500))
    assert five_hundred["digest"]["product"]["rows"] > 300
    assert one == five_hundred


@pytest.mark.slow
@with_and_without_skip
def test_real_files_make_one_catalog_whatever_the_chunk_size(workspace, tmp_path, real_files, skip):
    fill = real_inbox(real_files, None)
    unchanged: list[int] = []
    catalogs = {size: catalog_after(workspace, tmp_path, fill, size, skip, unchanged) for size in (7, 500, 5000)}
    assert [s for _, s in catalogs[500]["statuses"]] == ["processed"] * 7
    assert catalogs[7] == catalogs[500] == catalogs[5000]
    if skip:  # the repeated stores' later files are nearly all lines they sent before
        assert min(unchanged) > 3000


@with_and_without_skip
def test_nor_the_size_of_the_price_and_category_batches(workspace, tmp_path, monkeypatch, skip):
    """Prices and category links are gathered over several chunks before they are written: a batch
    smaller than a chunk, or one spanning many, makes the same catalog."""
    default = catalog_after(workspace, tmp_path, synthetic_inbox, 500, skip)
    monkeypatch.setattr("update.managers.price.PRICE_BATCH", 3)
    monkeypatch.setattr("update.managers.category.LINK_BATCH", 3)
    for size in (7, 500):
        assert catalog_after(workspace, tmp_path, synthetic_inbox, size, skip) == default, size


@with_and_without_skip
def test_nor_where_the_scratch_keeps_a_files_lines(workspace, tmp_path, monkeypatch, skip):
    """A file's per-line bookkeeping starts in dicts and moves to LMDB past ``HOT_LINES`` lines, wherever
    that falls in the file (here: from the first line, the middle, or never)."""
    default = catalog_after(workspace, tmp_path, synthetic_inbox, 500, skip)
    for hot_lines in (0, 3, 30):
        monkeypatch.setattr("update.scratch.HOT_LINES", hot_lines)
        assert catalog_after(workspace, tmp_path, synthetic_inbox, 7, skip) == default, hot_lines


@pytest.mark.slow
def test_real_files_make_one_catalog_wherever_the_scratch_keeps_their_lines(workspace, tmp_path, real_files,
                                                                             monkeypatch):
    fill = real_inbox(real_files, None)
    default = catalog_after(workspace, tmp_path, fill, 500)
    monkeypatch.setattr("update.scratch.HOT_LINES", 1000)  # each real file moves to LMDB mid-way
    assert catalog_after(workspace, tmp_path, fill, 500) == default
