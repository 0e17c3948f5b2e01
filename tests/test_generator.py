"""Tests of the sample inbox generator (pure Python, no database; its command through Django)."""
from __future__ import annotations

import collections
import io
import datetime as dt
import re
from pathlib import Path

import orjson
import pytest

from sampledata.generator import HIGH_CHURN, REAL_RATES, Catalog, change_rates, generate_inbox

START = dt.date(2025, 9, 1)
DAYS = 3
PRODUCTS = 2000
FILE_NAME = re.compile(r"^(?P<company>[a-z]+)-(?P<slug>[a-z0-9-]+)-(?P<date>\d{4}-\d{2}-\d{2})\.jsonl$")
METADATA_KEYS = {"company", "store_id", "store_name", "state", "scraped_date"}
PRODUCT_KEYS = {
    "sku", "name", "brand", "normalized_brand", "barcode", "size", "sizes", "url", "image_url",
    "category_path", "price_current", "price_was", "price_save_amount", "is_on_special", "unit_price",
    "unit_of_measure", "per_unit_price_string", "normalized_name", "normalized_name_brand_size",
    "scraped_date", "description", "is_available",
}


def _read(path: Path) -> list[dict]:
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh]


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> dict[str, list[dict]]:
    """Three days of the default three companies, two stores each, at the high-churn rates, so that every
    kind of change shows at this size: file name -> parsed lines."""
    out = tmp_path_factory.mktemp("inbox")
    paths = generate_inbox(out, products=PRODUCTS, days=DAYS, stores_per_company=2, seed=1, start_date=START,
                           rates=HIGH_CHURN)
    return {p.name: _read(p) for p in paths}


def _files(inbox, company: str, day: dt.date | None = None) -> dict[str, list[dict]]:
    return {name: lines for name, lines in inbox.items()
            if name.startswith(f"{company}-") and (day is None or name.endswith(f"{day.isoformat()}.jsonl"))}


def _store_days(inbox, company: str) -> list[list[tuple[str, list[dict]]]]:
    """Per store of ``company``, its files in date order."""
    by_store = collections.defaultdict(list)
    for name, lines in sorted(inbox.items()):
        if name.startswith(f"{company}-"):
            by_store[name[: -len("YYYY-MM-DD.jsonl")]].append((name, lines))
    return list(by_store.values())


def _by_sku(lines: list[dict]) -> dict[str, dict]:
    return {line["product"]["sku"]: line["product"] for line in lines}


def _ean13_valid(code: str) -> bool:
    digits = [int(c) for c in code]
    return len(digits) == 13 and (sum(digits[0:12:2]) + 3 * sum(digits[1:12:2]) + digits[12]) % 10 == 0


# ---- determinism -------------------------------------------------------------------------------------------

def _snapshot(out: Path, **kwargs) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in generate_inbox(out, products=300, days=2, **kwargs)}


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = _snapshot(tmp_path / "a", seed=7)
    second = _snapshot(tmp_path / "b", seed=7)
    assert first.keys() == second.keys()
    assert first == second


def test_different_seed_gives_different_files(tmp_path):
    first = _snapshot(tmp_path / "a", seed=7)
    other = _snapshot(tmp_path / "b", seed=8)
    assert first.keys() == other.keys()  # same stores and days...
    assert all(first[name] != other[name] for name in first)  # ...different content


def test_a_company_does_not_change_with_the_others_generated(tmp_path):
    alone = _snapshot(tmp_path / "a", seed=3, companies=["iga"])
    together = _snapshot(tmp_path / "b", seed=3, companies=["aldi", "iga", "coles"])
    assert alone == {name: together[name] for name in alone}


def test_product_is_rebuilt_identically_from_seed_and_index():
    assert Catalog(1000, 5).product(123) == Catalog(1000, 5).product(123)
    assert Catalog(1000, 5).product(123) != Catalog(1000, 6).product(123)


# ---- files and format --------------------------------------------------------------------------------------

def test_files_per_store_and_day_named_like_the_real_ones(inbox):
    assert len(inbox) == 3 * 2 * DAYS
    for name, lines in inbox.items():
        match = FILE_NAME.match(name)
        assert match, name
        metadata = lines[0]["metadata"]
        assert match["company"] == metadata["company"]
        assert match["date"] == metadata["scraped_date"]
    days = {FILE_NAME.match(n)["date"] for n in inbox}
    assert days == {(START + dt.timedelta(days=d)).isoformat() for d in range(DAYS)}
    assert "aldi-carindale-g102-2025-09-01.jsonl" in inbox
    assert "iga-local-grocer-north-sydney-2025-09-01.jsonl" in inbox


def test_returned_paths_oldest_day_first_and_no_leftovers(tmp_path):
    paths = generate_inbox(tmp_path, products=200, days=3)
    dates = [FILE_NAME.match(p.name)["date"] for p in paths]
    assert dates == sorted(dates)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no .part files


def test_lines_parse_with_product_and_repeated_metadata(inbox):
    for name, lines in inbox.items():
        assert lines, name
        first = lines[0]["metadata"]
        for line in lines:
            assert set(line) == {"product", "metadata"}
            metadata = line["metadata"]
            assert set(metadata) == METADATA_KEYS
            assert metadata["company"] == metadata["company"].lower()
            assert {k: metadata[k] for k in ("company", "store_id", "store_name", "state")} == \
                {k: first[k] for k in ("company", "store_id", "store_name", "state")}
            product = line["product"]
            assert PRODUCT_KEYS <= set(product)
            assert product["scraped_date"] == metadata["scraped_date"]
            assert product["normalized_name_brand_size"] and product["name"] and product["sku"]
            assert isinstance(product["sizes"], list) and product["sizes"]


def test_lines_per_file_scale_with_the_catalog(tmp_path):
    small = generate_inbox(tmp_path / "s", products=200, days=1, companies=["coles"])
    large = generate_inbox(tmp_path / "l", products=2000, days=1, companies=["coles"])
    ratio = sum(len(_read(p)) for p in large) / sum(len(_read(p)) for p in small)
    assert 7 < ratio < 13


def test_invalid_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate_inbox(tmp_path, products=0)
    with pytest.raises(ValueError):
        generate_inbox(tmp_path, companies=["woolworths-typo"])
    with pytest.raises(ValueError):
        generate_inbox(tmp_path, days=0)


# ---- companies ---------------------------------------------------------------------------------------------

def test_aldi_never_has_barcodes_and_uses_18_digit_skus(inbox):
    for name, lines in _files(inbox, "aldi").items():
        assert re.fullmatch(r"G\d{3}", lines[0]["metadata"]["store_id"])
        for line in lines:
            assert line["product"]["barcode"] is None
            assert re.fullmatch(r"0{9}\d{9}", line["product"]["sku"])


def test_iga_has_valid_ean13_on_about_80_percent_of_lines(inbox):
    for name, lines in _files(inbox, "iga").items():
        assert re.fullmatch(r"\d{5}", lines[0]["metadata"]["store_id"])
        barcodes = [line["product"]["barcode"] for line in lines if line["product"]["barcode"]]
        assert 0.72 < len(barcodes) / len(lines) < 0.88, name
        assert all(_ean13_valid(b) for b in barcodes)
        assert all(re.fullmatch(r"\d{8}", line["product"]["sku"]) for line in lines)


def test_third_company_has_barcodes_too(inbox):
    lines = [line for file_lines in _files(inbox, "coles").values() for line in file_lines]
    assert 0.72 < sum(1 for line in lines if line["product"]["barcode"]) / len(lines) < 0.88


def test_a_barcode_is_one_product_across_companies(inbox):
    skus = collections.defaultdict(set)  # barcode -> {(company, sku)}
    nnbs = collections.defaultdict(set)  # barcode -> NNBS spellings, on the first day (no drift yet)
    for lines in [*_files(inbox, "iga", START).values(), *_files(inbox, "coles", START).values()]:
        for line in lines:
            product = line["product"]
            if product["barcode"]:
                skus[product["barcode"]].add((line["metadata"]["company"], product["sku"]))
                nnbs[product["barcode"]].add(product["normalized_name_brand_size"])
    for barcode, pairs in skus.items():
        companies = [company for company, _ in pairs]
        assert len(companies) == len(set(companies)), (barcode, pairs)  # one SKU per company
    shared = [b for b, pairs in skus.items() if {c for c, _ in pairs} == {"iga", "coles"}]
    assert len(shared) > 100  # barcodes link the companies
    # Same product, same NNBS at both companies (apart from the odd mis-parsed duplicate line).
    assert sum(1 for b in shared if len(nnbs[b]) == 1) > 0.95 * len(shared)


def test_each_store_lists_most_of_its_companys_range(inbox):
    for company in ("aldi", "iga", "coles"):
        files = _files(inbox, company, START)
        company_range = set().union(*(_by_sku(lines) for lines in files.values()))
        for name, lines in files.items():
            assert 0.80 < len(_by_sku(lines)) / len(company_range) < 0.97, name


def test_companies_carry_different_subsets(inbox):
    def names(company):
        return {line["product"]["normalized_name_brand_size"]
                for lines in _files(inbox, company, START).values() for line in lines}
    aldi, iga, coles = names("aldi"), names("iga"), names("coles")
    assert len(aldi) < len(iga) < len(coles)
    assert aldi & iga and iga & coles and aldi - coles


# ---- traits ------------------------------------------------------------------------------------------------

def test_no_two_products_share_an_nnbs_within_a_day(inbox):
    for d in range(DAYS):
        day = START + dt.timedelta(days=d)
        skus = collections.defaultdict(set)  # NNBS -> {(company, sku)}
        barcodes = collections.defaultdict(set)
        for name, lines in inbox.items():
            if not name.endswith(f"{day.isoformat()}.jsonl"):
                continue
            for line in lines:
                product = line["product"]
                skus[product["normalized_name_brand_size"]].add((line["metadata"]["company"], product["sku"]))
                if product["barcode"]:
                    barcodes[product["normalized_name_brand_size"]].add(product["barcode"])
        for nnbs, pairs in skus.items():
            companies = [company for company, _ in pairs]
            assert len(companies) == len(set(companies)), (nnbs, pairs)
        assert all(len(b) == 1 for b in barcodes.values())


def test_same_sku_under_two_nnbs_in_one_file_with_a_misparsed_brand(inbox):
    duplicates = 0
    lines_total = 0
    for name, lines in inbox.items():
        lines_total += len(lines)
        per_sku = collections.defaultdict(list)
        for line in lines:
            per_sku[line["product"]["sku"]].append(line["product"])
        assert len({line["product"]["normalized_name_brand_size"] for line in lines}) == len(lines), name
        for sku, products in per_sku.items():
            if len(products) > 1:
                duplicates += 1
                assert len(products) == 2
                first, second = products
                assert first["normalized_name_brand_size"] != second["normalized_name_brand_size"]
                assert first["brand"] != second["brand"]
                assert first["barcode"] == second["barcode"]
    assert 0 < duplicates < 0.01 * lines_total


def _same_sku_on_consecutive_days(inbox):
    """(product on one day, same SKU's product the next day) for every store of every company."""
    for company in ("aldi", "iga", "coles"):
        for files in _store_days(inbox, company):
            for (_, before), (_, after) in zip(files, files[1:]):
                old, new = _by_sku(before), _by_sku(after)
                for sku in old.keys() & new.keys():
                    yield old[sku], new[sku]


def test_nnbs_spelling_drifts_for_a_few_products_while_skus_stay(inbox):
    changed = compared = 0
    spaced = base_units = 0
    for old, new in _same_sku_on_consecutive_days(inbox):
        compared += 1
        a, b = old["normalized_name_brand_size"], new["normalized_name_brand_size"]
        if a != b:
            changed += 1
            spaced += (" " in a) != (" " in b)
            base_units += bool(re.match(r"\d+000(g|ml)", b) and re.match(r"\d+(kg|l)", a))
    assert 0.02 < changed / compared < 0.10
    assert spaced and base_units  # both generations of spelling show up
    day0 = [line["product"]["normalized_name_brand_size"] for lines in inbox.values() for line in lines
            if line["metadata"]["scraped_date"] == START.isoformat()]
    assert not any(" " in nnbs for nnbs in day0)  # the first day is all of the run-together generation


def test_prices_change_from_day_to_day_for_some_products(inbox):
    changed = compared = 0
    for old, new in _same_sku_on_consecutive_days(inbox):
        compared += 1
        changed += old["price_current"] != new["price_current"]
    assert 0.03 < changed / compared < 0.15


def test_products_appear_and_disappear_between_days(inbox):
    for company in ("aldi", "iga", "coles"):
        for files in _store_days(inbox, company):
            for (_, before), (_, after) in zip(files, files[1:]):
                old, new = set(_by_sku(before)), set(_by_sku(after))
                assert 0.003 < len(old - new) / len(old) < 0.05
                assert 0.003 < len(new - old) / len(old) < 0.05


def test_specials_carry_was_price_and_saving(inbox):
    specials = 0
    for lines in inbox.values():
        for line in lines:
            p = line["product"]
            if p["is_on_special"]:
                specials += 1
                assert p["price_was"] > p["price_current"] > 0
                assert p["price_save_amount"] == pytest.approx(p["price_was"] - p["price_current"], abs=1e-9)
                assert round(p["price_save_amount"], 2) == p["price_save_amount"]
            else:
                assert p["price_was"] is None and p["price_save_amount"] is None
    assert specials > 100
    iga = [line for lines in _files(inbox, "iga").values() for line in lines]
    assert 0.10 < sum(line["product"]["is_on_special"] for line in iga) / len(iga) < 0.30


def test_prices_are_two_decimal_floats_with_a_few_ints(inbox):
    for name, lines in inbox.items():
        prices = [line["product"]["price_current"] for line in lines]
        assert all(isinstance(p, (int, float)) and p > 0 and round(p, 2) == p for p in prices)
        ints = sum(isinstance(p, int) for p in prices)
        if name.startswith("aldi-"):
            assert ints == 0
        else:
            assert 0 < ints < 0.2 * len(prices), name


def test_late_scrapes_cross_midnight_at_the_end_of_the_file(inbox):
    for name, lines in inbox.items():
        file_day = dt.date.fromisoformat(FILE_NAME.match(name)["date"])
        dates = [line["product"]["scraped_date"] for line in lines]
        assert dates[0] == file_day.isoformat()
        late = [i for i, d in enumerate(dates) if d != file_day.isoformat()]
        if name.startswith("aldi-"):
            assert not late
            continue
        next_day = (file_day + dt.timedelta(days=1)).isoformat()
        assert late == list(range(late[0], len(lines)))  # a tail, not scattered
        assert all(dates[i] == next_day == lines[i]["metadata"]["scraped_date"] for i in late)
        assert 0.01 < len(late) / len(lines) < 0.03


def test_category_paths_are_shared_and_1_to_4_deep(inbox):
    paths = collections.Counter(tuple(line["product"]["category_path"])
                                for lines in inbox.values() for line in lines)
    assert {len(p) for p in paths} == {1, 2, 3, 4}
    assert len(paths) < 100 < sum(paths.values()) / 10  # few categories, many products in each
    assert all(len(p) <= 2 for lines in _files(inbox, "aldi").values()
               for p in (line["product"]["category_path"] for line in lines))


def test_some_brands_are_not_ascii_and_normalise_to_ascii(inbox):
    brands = {line["product"]["brand"]: line["product"]["normalized_brand"]
              for lines in inbox.values() for line in lines}
    non_ascii = {b: n for b, n in brands.items() if not b.isascii()}
    assert len(non_ascii) >= 3
    assert any(n for n in non_ascii.values()) and any(not n for n in non_ascii.values())  # é vs 李锦记
    assert all(n.isascii() for n in brands.values())


def test_sizes_and_nnbs_look_like_the_real_ones(inbox):
    lines = [line["product"] for line in _files(inbox, "aldi", START)["aldi-carindale-g102-2025-09-01.jsonl"]]
    for p in lines:
        assert re.fullmatch(r"[\d.]+(g|kg|ml|l|ea|pk)", p["sizes"][0])
        assert re.fullmatch(r"[a-z0-9]+", p["normalized_name_brand_size"])  # run-together generation
        assert p["sizes"][0].replace(".", "") in p["normalized_name_brand_size"]
        assert p["url"].endswith(p["sku"])


# ---- change rates ----------------------------------------------------------------------------------------

PRICE_FIELDS = ("price_current", "price_was", "unit_price", "is_on_special")


def _day_two_changes(tmp_path: Path, rates) -> dict[str, float]:
    """Day 2 against day 1, per store: the share of lines the same but for their date, and of the SKUs
    kept whose price fields changed."""
    paths = generate_inbox(tmp_path, products=PRODUCTS, days=2, stores_per_company=2, seed=1, rates=rates)
    by_store = collections.defaultdict(list)
    for path in paths:
        by_store[path.name[: -len("YYYY-MM-DD.jsonl")]].append(path)
    lines = same = kept = repriced = 0
    for before, after in by_store.values():
        old, new = ({line["product"]["sku"]: line["product"] for line in _read(p)} for p in (before, after))
        for sku, product in new.items():
            lines += 1
            if sku in old:
                kept += 1
                was = old[sku]
                same += {**was, "scraped_date": None} == {**product, "scraped_date": None}
                repriced += [was[f] for f in PRICE_FIELDS] != [product[f] for f in PRICE_FIELDS]
    return {"same": same / lines, "repriced": repriced / kept}


def test_by_default_a_day_changes_what_the_real_files_change(tmp_path):
    changes = _day_two_changes(tmp_path, REAL_RATES)
    assert changes["same"] > 0.96  # domain.md section 6: at least 96% of lines change nothing a day later
    assert changes["repriced"] < 0.002  # prices move 0-0.04% a day (a few lines at this size)


def test_the_high_churn_workload_changes_about_8_percent_of_prices(tmp_path):
    changes = _day_two_changes(tmp_path, HIGH_CHURN)
    assert 0.06 < changes["repriced"] < 0.10
    assert 0.80 < changes["same"] < 0.90


def test_the_default_rates_are_the_real_ones_and_rates_are_part_of_the_output(tmp_path):
    default = _snapshot(tmp_path / "default", seed=3)
    assert default == _snapshot(tmp_path / "real", seed=3, rates=REAL_RATES)
    assert default != _snapshot(tmp_path / "churn", seed=3, rates=HIGH_CHURN)
    assert _snapshot(tmp_path / "a", seed=3, rates=HIGH_CHURN) == _snapshot(tmp_path / "b", seed=3, rates=HIGH_CHURN)


def test_a_price_change_rate_of_zero_leaves_every_price_as_it_was(tmp_path):
    changes = _day_two_changes(tmp_path, change_rates("high-churn", price=0.0))
    assert changes["repriced"] == 0


def test_change_rates_are_named_and_checked():
    assert change_rates() is REAL_RATES and change_rates("high-churn") is HIGH_CHURN
    custom = change_rates("real", price=0.01, outage=None)
    assert (custom.name, custom.price, custom.outage) == ("custom", 0.01, REAL_RATES.outage)
    with pytest.raises(ValueError, match="unknown change-rate workload"):
        change_rates("weekly")
    with pytest.raises(ValueError, match="price change rate must be a share between 0 and 1"):
        change_rates(price=1.5)


def test_the_command_takes_a_workload_and_rates(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("generate_inbox", "--out", str(tmp_path / "cmd"), "--products", "300", "--seed", "3",
                 "--workload", "high-churn", stdout=out)
    assert "(high-churn change rates)" in out.getvalue()
    expected = _snapshot(tmp_path / "lib", seed=3, rates=HIGH_CHURN, stores_per_company=2)
    assert {p.name: p.read_bytes() for p in (tmp_path / "cmd").iterdir()} == expected
    call_command("generate_inbox", "--out", str(tmp_path / "zero"), "--products", "300",
                 "--price-change-rate", "0", stdout=out)
    assert "(custom change rates)" in out.getvalue()
    with pytest.raises(CommandError, match="outage change rate must be a share between 0 and 1"):
        call_command("generate_inbox", "--out", str(tmp_path / "bad"), "--outage-rate", "2", stdout=out)
