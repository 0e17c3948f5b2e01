"""A small catalog made by the real update, for the admin's tests and browser tests.

Two companies, one file each, one bad line (so a rejects file exists); the run writes its ledger rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson

from update.orchestrator import UpdateOptions, run_update
from update.report import RunReport

from .factories import product, write_file

BARCODE = "0012345678905"  # UPC-A 012345678905 in its canonical 13-digit form
IGA_SKU = "iga-777"


@dataclass
class AdminCatalog:
    options: UpdateOptions
    report: RunReport


def build_catalog(options: UpdateOptions, day: str = "2025-01-02") -> AdminCatalog:
    aldi = [product("milk full 2l", sku="a-1", brand="Farm", normalized_brand="farm"),
            product("bread white 700g", sku="a-2", brand="Baker", normalized_brand="baker",
                    category_path=["Bakery", "Bread"]),
            product("cheese tasty 500g", sku="a-3", brand="Farm", normalized_brand="farm",
                    price_current=6.0, price_was=7.5, is_on_special=True),
            product("choc dark 100g", sku="a-9")]
    iga = [product("milk full 2 l", sku=IGA_SKU, barcode=BARCODE, brand="Farm", normalized_brand="farm"),
           product("eggs free range 12", sku="iga-2", category_path=["Dairy", "Eggs"]),
           # The aldi chocolate under other words: a duplicate only a person can see (the browser merges it).
           product("dark choc 100 g", sku="iga-9")]
    write_file(options.inbox, "aldi", day, aldi)
    path = write_file(options.inbox, "iga", day, iga)
    with open(path, "ab") as handle:  # one refused line: no usable price
        handle.write(orjson.dumps({"product": {**product("soap bar 100g", sku="iga-3"), "price_current": "call us"},
                                   "metadata": {"company": "iga", "scraped_date": day, "store_id": "501",
                                                "store_name": "iga testville", "state": "nsw"}}) + b"\n")
    report = run_update(options)  # writes the run ledger too
    return AdminCatalog(options, report)


# Three more days after build_catalog's, for the price history pages: every product in every file, so
# none is a partial scrape. Moves: aldi milk 2.50 -> 2.00 -> 1.25 (drops of 20% and 37.5%), aldi bread
# 2.50 -> 3.50 (a rise of 40%) -> 3.00 on special "was 3.50" (not below the 2.50 of the days before: not
# a real reduction), aldi cheese's special ends (6.00 -> 7.50, a rise), iga eggs 2.50 -> 2.00 on special
# (a real reduction).
HISTORY_DAYS = ("2025-01-03", "2025-01-04")


def _aldi_day(milk: float, bread: dict, cheese: dict) -> list[dict]:
    return [product("milk full 2l", sku="a-1", brand="Farm", normalized_brand="farm", price_current=milk),
            product("bread white 700g", sku="a-2", brand="Baker", normalized_brand="baker",
                    category_path=["Bakery", "Bread"], **bread),
            product("cheese tasty 500g", sku="a-3", brand="Farm", normalized_brand="farm", **cheese),
            product("choc dark 100g", sku="a-9")]


def build_price_history(options: UpdateOptions) -> AdminCatalog:
    catalog = build_catalog(options)
    write_file(options.inbox, "aldi", "2025-01-03",
               _aldi_day(2.0, {"price_current": 3.5}, {"price_current": 7.5}))
    write_file(options.inbox, "aldi", "2025-01-04",
               _aldi_day(1.25, {"price_current": 3.0, "price_was": 3.5, "is_on_special": True},
                         {"price_current": 7.5}))
    write_file(options.inbox, "iga", "2025-01-04",
               [product("milk full 2 l", sku=IGA_SKU, barcode=BARCODE, brand="Farm", normalized_brand="farm"),
                product("eggs free range 12", sku="iga-2", category_path=["Dairy", "Eggs"], price_current=2.0,
                        price_was=2.5, is_on_special=True),
                product("dark choc 100 g", sku="iga-9")])
    report = run_update(options)
    assert all(f.status == "processed" for f in report.files), [f.reason for f in report.files]
    return AdminCatalog(options, report)
