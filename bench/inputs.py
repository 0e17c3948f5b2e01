"""The benchmark's input files: generated once per size and kept, then linked into each run's inbox.

At 1M products a day of files is gigabytes, so the generated files are cached under the work dir and
every run gets hard links to them: the update moves its inbox files to the archive by renaming, which
moves the link and leaves the cached file in place, and no run pays for a copy.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sampledata.generator import HIGH_CHURN, ChangeRates, generate_inbox
from update.inbox import date_from_name

# Day 1 seeds the catalog (every product is created); days 2.. are the updates that are measured
# (mostly matches and price changes, a few new products, NNBS drift): the steady state of a cron run.
DEFAULT_DAYS = 4


@dataclass(frozen=True)
class Inputs:
    folder: Path
    by_day: dict[int, list[Path]]
    stats: dict

    def day(self, day: int) -> list[Path]:
        return self.by_day[day]

    def lines(self, day: int) -> int:
        return self.stats["lines_by_day"][str(day)]


def prepare_inputs(work: Path, products: int, *, stores_per_company: int, seed: int,
                   days: int = DEFAULT_DAYS, rates: ChangeRates = HIGH_CHURN) -> Inputs:
    """Generate (or reuse) ``days`` days of files for a catalog of ``products``, each later day changed at
    ``rates`` (the high-churn day by default: the workload of bench.run's results of record)."""
    folder = work / "inputs" / f"n{products}-k{stores_per_company}-d{days}-s{seed}-{rates.name}"
    marker = folder / "complete.json"
    if not marker.exists():
        if folder.exists():
            shutil.rmtree(folder)  # a generation cut off half-way
        started = time.perf_counter()
        stats: dict = {}
        files = generate_inbox(folder / "files", products=products, days=days,
                               stores_per_company=stores_per_company, seed=seed, stats=stats, rates=rates)
        dates = sorted({date_from_name(f.name) for f in files})
        stats["generated_s"] = round(time.perf_counter() - started, 1)
        stats["lines_by_day"] = {str(n + 1): sum(_count_lines(f) for f in files if date_from_name(f.name) == d)
                                 for n, d in enumerate(dates)}
        stats["days"] = {str(n + 1): d.isoformat() for n, d in enumerate(dates)}
        marker.write_text(json.dumps(stats, indent=1))
    stats = json.loads(marker.read_text())
    files = sorted((folder / "files").iterdir())
    by_day = {int(day): [f for f in files if str(date_from_name(f.name)) == iso] for day, iso in stats["days"].items()}
    return Inputs(folder=folder, by_day=by_day, stats=stats)


def link_into(files: list[Path], inbox: Path) -> None:
    """Fill ``inbox`` with hard links to ``files`` (copies where the file system refuses links)."""
    inbox.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = inbox / f.name
        try:
            os.link(f, target)
        except OSError:
            shutil.copyfile(f, target)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
