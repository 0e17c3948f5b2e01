"""One file read as a whole: lines sharing a key are one product wherever they are in the file, the
file's store is the one its lines name, warnings say what happened, and each kept line is parsed once."""
from __future__ import annotations

import orjson
import pytest

from catalog.models import SKU, Price, Product, Store
from tests.conftest import REAL_DATA
from update import reader
from update.orchestrator import run_update

from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

FAR = 520  # lines between two lines that share a key: more than a chunk of 500


def fillers(n: int, prefix: str = "filler") -> list[dict]:
    return [product(f"{prefix}{i}") for i in range(n)]


def rejects_of(result) -> list[dict]:
    return [orjson.loads(raw) for raw in open(result.rejects_file, "rb")] if result.rejects_file else []


def test_lines_sharing_keys_far_apart_are_one_product(workspace):
    # Line 1 and line 523 share SKU X; line 2 and line 523 share barcode B: one product, as if adjacent.
    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("n1", sku="X"), product("n2", sku="Y", barcode="9300000000019"), *fillers(FAR),
        product("n3", sku="X", barcode="9300000000019"),
    ])
    [result] = run_update(workspace).files
    assert result.status == "processed"
    assert Product.objects.count() == FAR + 1
    joined = Product.objects.get(normalized_name_brand_size="n1")
    assert joined.normalized_name_brand_size_variations == ["n2", "n3"]
    assert joined.barcode == "9300000000019"
    assert set(SKU.objects.filter(product=joined).values_list("sku", flat=True)) == {"X", "Y"}
    # One price for the three lines: the first line's.
    assert Price.objects.filter(product=joined).count() == 1


def test_line_naming_an_existing_product_far_from_its_sku_twin_prices_that_product(workspace):
    # Day 1 the store lists bbb. Day 2 line 1 {sku X, aaa} and line 522 {sku X, bbb}: one product, bbb,
    # not a new aaa that takes line 522's price while bbb loses its own.
    write_file(workspace.inbox, "iga", "2025-09-01", [product("bbb", sku="Z"), *fillers(FAR)])
    run_update(workspace)
    bbb = Product.objects.get(normalized_name_brand_size="bbb")
    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("aaa", sku="X", price_current=3.1), *fillers(FAR), product("bbb", sku="X", price_current=3.2),
    ])
    [result] = run_update(workspace).files
    assert result.status == "processed"
    assert not Product.objects.filter(normalized_name_brand_size="aaa").exists()
    bbb.refresh_from_db()
    assert bbb.normalized_name_brand_size_variations == ["aaa"]
    assert SKU.objects.get(sku="X").product_id == bbb.id
    assert str(Price.objects.get(product=bbb).price) == "3.10"  # the group's first line prices it
    assert result.prices_deleted == 0


def test_same_keys_far_apart_or_adjacent_make_the_same_catalog(workspace, tmp_path):
    from catalog.digest import database_digest
    keyed = [product("n1", sku="X"), product("n2", sku="Y", barcode="9300000000019"),
             product("n3", sku="X", barcode="9300000000019")]
    digests = []
    for layout in ([keyed[0], keyed[1], *fillers(FAR), keyed[2]], [*keyed, *fillers(FAR)]):
        for model in (Price, SKU, Product, Store):
            model.objects.all().delete()
        write_file(workspace.inbox, "iga", "2025-09-01", layout)
        workspace.index_path = tmp_path / f"index-{len(digests)}"
        run_update(workspace)
        for moved in workspace.archive.iterdir():
            moved.unlink()
        digests.append(database_digest()["product"])
    assert digests[0] == digests[1]


def test_warning_says_two_products_when_the_skus_already_named_two(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [product("p1", sku="S1"), product("p2", sku="S2")])
    write_file(workspace.inbox, "iga", "2025-09-02", [
        product("p1 new", sku="S1", barcode="9300000000019"), product("p2 new", sku="S2", barcode="9300000000019"),
    ])
    second = run_update(workspace).files[1]
    assert Product.objects.count() == 2  # each SKU keeps its product
    [entry] = rejects_of(second)
    assert entry["line_no"] == 2 and entry["action"] == "kept"
    assert "both are one product" not in entry["reason"]
    assert "barcode '9300000000019' also on line 1 under another NNBS, but their other keys already named " \
           "two products" in entry["reason"]
    assert list(second.warnings_by_reason) == [
        "same barcode as an earlier line under another NNBS, but two products in the catalog"]


def test_warning_says_one_product_when_they_became_one(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", [
        product("p1", sku="S1", barcode="9300000000019"), *fillers(FAR), product("p2", sku="S2", barcode="9300000000019"),
    ])
    [result] = run_update(workspace).files
    [entry] = rejects_of(result)
    assert (entry["line_no"], entry["action"]) == (FAR + 2, "kept")
    assert entry["reason"] == "barcode '9300000000019' also on line 1 under another NNBS: both are one product"


def test_nnbs_differing_only_in_spaces_are_one_product(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-01", [
        product("milkfull2l", sku="A1"), *fillers(FAR), product("milk full 2l", sku="A2"),
    ])
    [result] = run_update(workspace).files
    milk = Product.objects.get(normalized_name_brand_size="milkfull2l")
    assert milk.normalized_name_brand_size_variations == ["milk full 2l"]
    assert set(SKU.objects.filter(product=milk).values_list("sku", flat=True)) == {"A1", "A2"}
    assert "but for spaces" in rejects_of(result)[0]["reason"]


def test_each_kept_line_is_parsed_whole_once(workspace, monkeypatch):
    calls = []
    real_parse = reader.parse_line

    def counting(line_no, record, warnings=None):
        calls.append(line_no)
        return real_parse(line_no, record, warnings)

    monkeypatch.setattr(reader, "parse_line", counting)
    write_file(workspace.inbox, "aldi", "2025-09-01", [
        product("a", sku="S1"), product("a"), product("b", sku="S1"), *fillers(30), product("c", price_current="x"),
    ])
    [result] = run_update(workspace).files
    # 34 lines: one duplicate NNBS and one bad price are never built; the other 32 once each.
    assert (result.lines, result.unique_lines, result.lines_rejected) == (34, 32, 1)
    assert sorted(calls) == [1, *range(3, 34)] and len(calls) == 32


# ------------------------------------------------------------------ the file's store, on real lines


def real_lines(count: int) -> list[bytes]:
    path = REAL_DATA / "aldi-carindale-g102-2025-09-09.jsonl"
    if not path.is_file():
        pytest.skip(f"real scraped files not found in {REAL_DATA}")
    with open(path, "rb") as handle:
        return [next(handle) for _ in range(count)]


def with_store(raw: bytes, store_id: str) -> bytes:
    record = orjson.loads(raw)
    record["metadata"]["store_id"] = store_id
    return orjson.dumps(record) + b"\n"


def test_a_stray_first_line_does_not_take_the_file_over(workspace):
    lines = real_lines(40)
    (workspace.inbox / "aldi-carindale-g102-2025-09-09.jsonl").write_bytes(
        with_store(lines[0], "99999") + b"".join(lines[1:]))
    [result] = run_update(workspace).files
    assert (result.status, result.store) == ("processed", "aldi/G102")
    assert result.problems == [[1, "metadata names store aldi/99999, but the file is aldi/G102"]]
    assert list(Store.objects.values_list("store_id", flat=True)) == ["G102"]
    assert Price.objects.count() == result.unique_lines == 39


def test_a_file_whose_lines_name_two_stores_is_refused(workspace):
    lines = real_lines(40)
    mixed = [with_store(raw, "G110") if n % 5 == 0 else raw for n, raw in enumerate(lines)]  # 8 of 40
    (workspace.inbox / "aldi-carindale-g102-2025-09-09.jsonl").write_bytes(b"".join(mixed))
    [result] = run_update(workspace).files
    assert result.status == "rejected"
    assert result.reason == ("no store has 90% of the lines: the most, aldi/G102, is named by 32 of the 40 "
                             "lines that name a store")
    assert not Product.objects.exists() and not Store.objects.exists()


def test_a_refused_file_still_lists_its_lines_of_another_store(workspace):
    write_file(workspace.inbox, "aldi", "2025-09-02", fillers(10))
    run_update(workspace)
    stale = write_file(workspace.inbox, "aldi", "2025-09-01", fillers(10))
    stray = orjson.loads(stale.read_bytes().splitlines()[0])
    stray["metadata"]["store_id"] = "G999"
    with open(stale, "ab") as handle:
        handle.write(orjson.dumps(stray) + b"\n")
    [result] = run_update(workspace).files
    assert (result.status, result.reason.split(":")[0]) == ("rejected", "stale")
    assert [(e["line_no"], e["reason"]) for e in rejects_of(result)] == [
        (11, "metadata names store aldi/G999, but the file is aldi/G1")]
