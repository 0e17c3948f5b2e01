"""End to end on the seven real scraped files (skipped when ../shared/data/real is absent)."""
from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from django.db.models import Q

from catalog.digest import database_digest
from catalog.models import SKU, Price, Product, ProductCategory, Store
from tests.conftest import drop
from ledger.models import UpdateRun
from update.orchestrator import run_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def unique_lines(path: Path) -> list[dict]:
    """The file's first line per NNBS, as the domain defines de-duplication."""
    seen, lines = set(), []
    for raw in path.open("rb"):
        record = orjson.loads(raw)
        nnbs = record["product"].get("normalized_name_brand_size")
        if nnbs and nnbs not in seen:
            seen.add(nnbs)
            lines.append(record)
    return lines


def expected_prices(files: list[Path]) -> dict[tuple[str, str], dict[int, tuple[Decimal, Decimal | None]]]:
    """Replay each store's files in date order on plain data: (price, was_price) per product at the end.

    Lines are mapped to products through the SKU table the run produced (every real line has an SKU);
    the price rules are the domain's: was_price is the retailer's price_was when above the price, else
    the previous price when the price fell, else none; deleted when the product is absent.
    """
    sku_owner = {(company, sku): pid for company, sku, pid in
                 SKU.objects.values_list("company__name", "sku", "product_id")}
    by_store: dict[tuple[str, str], list[tuple[str, Path]]] = defaultdict(list)
    for f in files:
        meta = orjson.loads(f.open("rb").readline())["metadata"]
        by_store[(meta["company"], meta["store_id"])].append((meta["scraped_date"], f))
    result = {}
    for store, dated in by_store.items():
        current: dict[int, tuple[Decimal, Decimal | None]] = {}
        for _, f in sorted(dated):
            seen: dict[int, tuple[Decimal, Decimal | None]] = {}
            for record in unique_lines(f):
                p = record["product"]
                pid = sku_owner[(store[0], p["sku"])]
                if pid in seen:
                    continue
                price = Decimal(str(p["price_current"])).quantize(Decimal("0.01"))
                was = p.get("price_was")
                was = Decimal(str(was)).quantize(Decimal("0.01")) if was and Decimal(str(was)) > price else None
                previous = current[pid][0] if pid in current else None
                if was is None and previous is not None and previous > price:
                    was = previous
                seen[pid] = (price, was)
            current = seen
        result[store] = current
    return result


def test_real_files_end_to_end(workspace, real_files, tmp_path):
    drop(real_files, workspace.inbox)
    report = run_update(workspace)

    assert [f.status for f in report.files] == ["processed"] * 7
    # The IGA file's four in-store barcodes that fail the GTIN check digit are dropped, their lines kept.
    iga = next(f.name for f in real_files if f.name.startswith("iga-"))
    assert sorted(p.name for p in workspace.archive.iterdir()) == sorted(
        [f.name for f in real_files] + [iga + ".rejects.jsonl"])
    warned = [orjson.loads(raw) for raw in (workspace.archive / (iga + ".rejects.jsonl")).open("rb")]
    assert [(w["action"], w["reason"].split(" dropped: ")[1]) for w in warned] == [
        ("kept", "check digit does not match")] * 4
    # Oldest first: every file's date is at least the one before it.
    dates = [f.date for f in report.files]
    assert dates == sorted(dates)

    # No two products share a barcode, an SKU or an NNBS (their own or a known variation).
    nnbs_owners = Counter()
    for nnbs, variations in Product.objects.values_list("normalized_name_brand_size",
                                                        "normalized_name_brand_size_variations"):
        nnbs_owners.update({nnbs, *variations})
    assert max(nnbs_owners.values()) == 1
    barcodes = [b for b in Product.objects.values_list("barcode", flat=True) if b]
    assert len(barcodes) == len(set(barcodes)) > 1000
    assert SKU.objects.count() == len(set(SKU.objects.values_list("company_id", "sku")))

    # The SKU-stable, NNBS-drifting days matched by SKU and recorded the new spellings as variations.
    assert Product.objects.exclude(normalized_name_brand_size_variations=[]).count() > 500

    # Each store's prices are exactly the products of its newest file, with the replayed price and
    # was_price: was_price is set exactly where the price fell (or the retailer showed a special).
    expected = expected_prices(real_files)
    for (company, store_id), prices in expected.items():
        store = Store.objects.get(company__name=company, store_id=store_id)
        actual = {pid: (price, was) for pid, price, was in
                  Price.objects.for_store(store).values_list("product_id", "price", "was_price")}
        assert actual == prices, f"prices of {company}/{store_id} differ from the replay"
    changed = Price.objects.filter(Q(store__company__name="aldi") | Q(price_list__company__name="aldi"),
                                   was_price__isnull=False)
    assert changed.exists()
    for price in changed:
        assert price.save_amount == price.was_price - price.price

    # Every product is filed under a category, but those whose lines never carried a path.
    pathless = {(orjson.loads(raw)["metadata"]["company"], orjson.loads(raw)["product"]["sku"])
                for f in real_files for raw in f.open("rb") if b'"category_path": []' in raw}
    uncategorized = set(Product.objects.exclude(id__in=ProductCategory.objects.values("product"))
                        .values_list("id", flat=True))
    assert uncategorized == {SKU.objects.get(company__name=c, sku=s).product_id for c, s in pathless}

    before = database_digest()

    # An older scrape of a store arriving late (other bytes than the file applied): rejected as stale.
    late = real_files[0].read_bytes().replace(b'"price_current": ', b'"price_current":  ', 1)
    assert late != real_files[0].read_bytes()
    (workspace.inbox / real_files[0].name).write_bytes(late)
    # A copy of the newest Carindale file cut to 80% of its lines and dated a day later: partial.
    newest = next(f for f in real_files if f.name == "aldi-carindale-g102-2025-09-23.jsonl")
    lines = newest.read_bytes().splitlines(keepends=True)
    cut = [line.replace(b"2025-09-23", b"2025-09-24") for line in lines[: int(len(lines) * 0.8)]]
    (workspace.inbox / "aldi-carindale-g102-2025-09-24.jsonl").write_bytes(b"".join(cut))
    report = run_update(workspace)

    outcomes = {f.file: (f.status, f.reason.split(":")[0]) for f in report.files}
    assert outcomes == {real_files[0].name: ("rejected", "stale"),
                        "aldi-carindale-g102-2025-09-24.jsonl": ("rejected", "partial scrape")}
    rejected = {p.name for p in workspace.rejected.iterdir()}
    assert {real_files[0].name, real_files[0].name + ".reason.txt",
            "aldi-carindale-g102-2025-09-24.jsonl"} <= rejected
    assert "stale" in (workspace.rejected / (real_files[0].name + ".reason.txt")).read_text()
    assert database_digest() == before

    # The same inbox again changes nothing: the ledger knows these bytes, so they are archived again.
    drop(real_files, workspace.inbox)
    report = run_update(workspace)
    assert {f.status for f in report.files} == {"already applied"}
    assert not list(workspace.inbox.iterdir())
    assert database_digest() == before


@pytest.mark.parametrize("skip", [True, False], ids=["skip", "noskip"])
def test_lmdb_and_memory_backends_leave_identical_databases(workspace, real_files, tmp_path, skip):
    """Differential, with the skip of unchanged lines on and off."""
    digests, unchanged = {}, {}
    for backend in ("lmdb", "memory"):
        for model in (Price, ProductCategory, SKU, Product, Store):
            model.objects.all().delete()
        from catalog.models import Category, Company, ProductBrand
        for model in (Category, ProductBrand, Company):
            model.objects.all().delete()
        # The ledger remembers which bytes were applied; wiping the catalog behind it means wiping it too.
        UpdateRun.objects.all().delete()
        for folder in (workspace.archive, workspace.rejected):
            shutil.rmtree(folder)
            folder.mkdir()
        shutil.rmtree(workspace.index_path, ignore_errors=True)
        drop(real_files, workspace.inbox)
        workspace.index_backend = backend
        workspace.skip_unchanged = skip
        report = run_update(workspace)
        assert report.count("processed") == 7
        digests[backend] = database_digest()
        unchanged[backend] = sum(f.lines_unchanged for f in report.files)
    assert digests["lmdb"]["product"]["rows"] > 4000
    assert digests["lmdb"] == digests["memory"]
    # The skip happened where it could (the LMDB index remembers what each store sent), and only with it on.
    assert (unchanged["lmdb"] > 3000) if skip else (unchanged == {"lmdb": 0, "memory": 0})
