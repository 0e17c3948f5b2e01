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
