"""``python manage.py generate_inbox --out DIR``: a thin command over ``sampledata.generator``."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sampledata.generator import (
    CHANGE_RATES,
    COMPANIES,
    DEFAULT_COMPANIES,
    DEFAULT_START_DATE,
    REAL_RATES,
    change_rates,
    generate_inbox,
)

# Option -> ChangeRates field: how much each later day changes (default: the --workload's rate).
RATE_OPTIONS = {"price_change_rate": "price", "nnbs_drift_rate": "nnbs_drift", "launch_rate": "launch",
                "delist_rate": "delist", "outage_rate": "outage"}


def _companies(value: str) -> list[str]:
    # Accept "aldi,iga" as well as "aldi iga" (nargs), so both spellings of a list work.
    return [name for name in value.replace(",", " ").split() if name]


class Command(BaseCommand):
    help = "Write deterministic, realistic scraper files (one JSONL per store and day) into a folder."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="folder to write the files into")
        parser.add_argument("--products", type=int, default=2000, help="catalog size [2000]")
        parser.add_argument("--companies", nargs="+", type=_companies, default=None,
                            help=f"companies to generate, among {', '.join(COMPANIES)} [all]")
        parser.add_argument("--stores-per-company", type=int, default=2, help="stores per company [2]")
        parser.add_argument("--days", type=int, default=2, help="consecutive days of files [2]")
        parser.add_argument("--seed", type=int, default=1, help="random seed; same seed, same bytes [1]")
        parser.add_argument("--start-date", type=dt.date.fromisoformat, default=DEFAULT_START_DATE,
                            help=f"date of the first day, YYYY-MM-DD [{DEFAULT_START_DATE}]")
        parser.add_argument("--workload", choices=sorted(CHANGE_RATES), default=REAL_RATES.name,
                            help="how much each later day changes: the real files' rates, or the benchmark's "
                                 f"old high-churn day (7.7%% of prices) [{REAL_RATES.name}]")
        for option, field in RATE_OPTIONS.items():
            parser.add_argument("--" + option.replace("_", "-"), type=float, default=None,
                                help=f"override the workload's {field} rate "
                                     f"[{getattr(REAL_RATES, field)} in {REAL_RATES.name}]")

    def handle(self, *args, **opts):
        groups = opts["companies"] or [DEFAULT_COMPANIES]
        companies = [name for group in groups for name in group]
        stats: dict = {}
        started = time.perf_counter()
        try:
            rates = change_rates(opts["workload"], **{field: opts[option] for option, field in RATE_OPTIONS.items()})
            generate_inbox(opts["out"], products=opts["products"], days=opts["days"],
                           stores_per_company=opts["stores_per_company"], seed=opts["seed"],
                           start_date=opts["start_date"], companies=companies, stats=stats, rates=rates)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {stats['files']} files, {stats['lines']} lines, {stats['bytes']} bytes "
                          f"to {opts['out']} in {time.perf_counter() - started:.1f}s ({rates.name} change rates)")
