"""``python manage.py generate_inbox --out DIR``: a thin command over ``sampledata.generator``."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sampledata.generator import COMPANIES, DEFAULT_COMPANIES, DEFAULT_START_DATE, generate_inbox


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

    def handle(self, *args, **opts):
        groups = opts["companies"] or [DEFAULT_COMPANIES]
        companies = [name for group in groups for name in group]
        stats: dict = {}
        started = time.perf_counter()
        try:
            generate_inbox(opts["out"], products=opts["products"], days=opts["days"],
                           stores_per_company=opts["stores_per_company"], seed=opts["seed"],
                           start_date=opts["start_date"], companies=companies, stats=stats)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {stats['files']} files, {stats['lines']} lines, {stats['bytes']} bytes "
                          f"to {opts['out']} in {time.perf_counter() - started:.1f}s")
