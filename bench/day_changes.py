"""How much a store's file changes from one scrape to the next: the real files, and the generator's rates.

    REAL_DATA_DIR=../shared/data/real python -m bench.day_changes [--products 20000] [--name day-changes]

For every pair of consecutive scrapes of one store, lines are compared by SKU (first line of an SKU wins),
their scraped_date left out: lines new and gone, lines byte-for-byte the same, lines whose price part
changed, lines whose NNBS changed. The real files give the generator's default rates
(``sampledata.generator.REAL_RATES``, per day: divided by the days between the scrapes); the generator's
day 2 at each named rate shows what those rates make. Writes NAME.json and NAME.md under --out.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

import orjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("REAL_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "real"))
PRICE_PART = ("price_current", "price_was", "unit_price", "unit_of_measure", "per_unit_price_string",
              "is_on_special")


def by_sku(path: Path) -> dict:
    """The file's product objects by SKU, first wins, without their scraped_date."""
    products = {}
    with open(path, "rb") as handle:
        for raw in handle:
            product = orjson.loads(raw)["product"]
            product.pop("scraped_date", None)
            products.setdefault(product.get("sku"), product)
    return products


def compare(old: dict, new: dict) -> dict:
    """What changed from ``old`` to ``new`` (each: SKU -> product object)."""
    kept = [sku for sku in new if sku in old]
    return {"lines": len(new), "new": len(new) - len(kept), "gone": len(old) - len(kept),
            "same": sum(old[sku] == new[sku] for sku in kept),
            "price_changed": sum([old[sku].get(f) for f in PRICE_PART] != [new[sku].get(f) for f in PRICE_PART]
                                 for sku in kept),
            "nnbs_changed": sum(old[sku].get("normalized_name_brand_size")
                                != new[sku].get("normalized_name_brand_size") for sku in kept)}


def consecutive_pairs(files: list[Path]) -> list[tuple[Path, Path, int]]:
    """(older, newer, days apart) for each store's consecutive scrapes, by the date in the file name."""
    stores = collections.defaultdict(list)
    for f in sorted(files):
        stores[f.name[:-len("YYYY-MM-DD.jsonl")]].append(f)
    pairs = []
    for scrapes in stores.values():
        for older, newer in zip(scrapes, scrapes[1:]):
            days = (_date(newer) - _date(older)).days
            pairs.append((older, newer, days))
    return pairs


def _date(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.name[-len("YYYY-MM-DD.jsonl"):-len(".jsonl")])


def pair_figures(older: Path, newer: Path, days: int) -> dict:
    counts = compare(by_sku(older), by_sku(newer))
    return {"older": older.name, "newer": newer.name, "days_apart": days, **counts,
            "same_share": round(counts["same"] / counts["lines"], 4),
            "price_changed_per_day": round(counts["price_changed"] / (counts["lines"] - counts["new"]) / days, 5)}


def generated_figures(products: int, seed: int) -> dict:
    """Day 2 against day 1 of the generator at each named rate, 2 stores per company, all stores summed."""
    from sampledata.generator import CHANGE_RATES, generate_inbox

    figures = {}
    for name, rates in CHANGE_RATES.items():
        with tempfile.TemporaryDirectory() as folder:
            files = generate_inbox(folder, products=products, days=2, stores_per_company=2, seed=seed, rates=rates)
            totals = collections.Counter()
            for older, newer, _ in consecutive_pairs(files):
                totals.update(compare(by_sku(older), by_sku(newer)))
        kept = totals["lines"] - totals["new"]
        figures[name] = {**dict(totals), "same_share": round(totals["same"] / totals["lines"], 4),
                         "price_changed_share": round(totals["price_changed"] / kept, 5)}
    return figures


def markdown(results: dict) -> str:
    rows = ["| scrapes | days apart | lines | new | gone | same | price changed | NNBS changed | same share | "
            "prices changed a day |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["real_files"]:
        rows.append(f"| {r['older']} -> {r['newer']} | {r['days_apart']} | {r['lines']:,} | {r['new']} | {r['gone']} | "
                    f"{r['same']:,} | {r['price_changed']} | {r['nnbs_changed']} | {r['same_share']:.2%} | "
                    f"{r['price_changed_per_day']:.3%} |")
    rows += ["", f"The generator's day 2 against its day 1, {results['products']:,} products, 2 stores per company:",
             "", "| rates | lines | new | gone | same share | prices changed | NNBS changed |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, g in results["generated"].items():
        rows.append(f"| {name} | {g['lines']:,} | {g['new']} | {g['gone']} | {g['same_share']:.2%} | "
                    f"{g['price_changed_share']:.2%} | {g['nnbs_changed']} |")
    return f"Measured by `{results['command']}` on commit {results['git']}.\n\n" + "\n".join(rows) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="day-changes")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    from bench.machine import git_commit

    real = sorted(REAL_DATA.glob("*.jsonl")) if REAL_DATA.is_dir() else []
    if not real:
        print(f"the real files are not in {REAL_DATA}: set REAL_DATA_DIR", file=sys.stderr)
        return 2
    results = {"command": "python -m bench.day_changes " + " ".join(argv if argv is not None else sys.argv[1:]),
               "git": git_commit(PROJECT_ROOT, ignore=args.out), "products": args.products,
               "real_files": [pair_figures(*pair) for pair in consecutive_pairs(real)],
               "generated": generated_figures(args.products, args.seed)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
