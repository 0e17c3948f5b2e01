"""A small catalog made by the real update, for the admin's tests and browser tests.

Two companies, one file each, one bad line (so a rejects file exists). The run ledger rows are written
from the run's report when the update has not written any itself (the ledger writer lands separately).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import orjson
from django.utils import timezone

from update.orchestrator import UpdateOptions, run_update
from update.report import RunReport

from .factories import product, write_file

BARCODE = "9300000000013"
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
                    price_current=6.0, price_was=7.5, is_on_special=True)]
    iga = [product("milk full 2 l", sku=IGA_SKU, barcode=BARCODE, brand="Farm", normalized_brand="farm"),
           product("eggs free range 12", sku="iga-2", category_path=["Dairy", "Eggs"])]
    write_file(options.inbox, "aldi", day, aldi)
    path = write_file(options.inbox, "iga", day, iga)
    with open(path, "ab") as handle:  # one refused line: no usable price
        handle.write(orjson.dumps({"product": {**product("soap bar 100g", sku="iga-3"), "price_current": "call us"},
                                   "metadata": {"company": "iga", "scraped_date": day, "store_id": "501",
                                                "store_name": "iga testville", "state": "nsw"}}) + b"\n")
    report = run_update(options)
    record_ledger(report)
    return AdminCatalog(options, report)


def record_ledger(report: RunReport) -> None:
    from catalog.models import Store
    from update.models import RunFile, UpdateRun

    if UpdateRun.objects.exists():
        return
    now = timezone.now()
    run = UpdateRun.objects.create(started_at=now - dt.timedelta(seconds=5), finished_at=now, status="finished",
                                   exit_status=1, version="test", totals={"files": len(report.files)})
    for result in report.files:
        company, _, rest = Path(result.file).name.partition("-")
        store = Store.objects.filter(company__name__iexact=company).first()
        RunFile.objects.create(run=run, name=Path(result.file).name, store=store, company=company,
                               status=result.status, reason=result.reason, started_at=now,
                               scraped_date=result.date or None, moved_to=result.moved_to,
                               rejects_file=result.rejects_file,
                               counts={"lines": result.lines, "lines_rejected": result.lines_rejected})
