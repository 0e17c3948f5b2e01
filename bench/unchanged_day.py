"""What a day costs when little changed: the update against the read-side floor, on the same inputs, in one run.

    python -m bench.unchanged_day [--products 100000] [--repeats 3] [--name results-unchanged]

Workloads (day 1 seeds the catalog and the index once; every measured run starts from a copy of that):

* ``real-files``: the real scraped files (../shared/data/real, 7 files of 2,258-2,608 lines, real size),
  then each store's newest file a day later with 0.2% of its prices changed (the chain's rate, issue 20).
* ``real-shaped``: the generator's day 1 at ``--products``, then the same files a day later in which
  0.2% of the lines change their price and 3.8% another field the update reads (the raw brand's
  spelling, as scrapers' brand mis-parses flip): 96% of the lines are the same, the real files' rate.
* ``high-churn``: the generator's own day 2 (7.7% of prices change; 86% of lines the same).

Designs, each a whole process measured by its CPU time (user + system, from the parent's rusage):

* ``floor``: reads the day's files and, per line, parses it with orjson, digests its price part and its
  product part (blake2b) and makes 3 LMDB gets against the seeded index (the NNBS and SKU keys, the
  product's slim record). It writes nothing: no update can cost less.
* ``skip``: ``bin/update-products run`` as cron runs it, with the skip of unchanged lines (the default).
* ``noskip``: the same with ``UPDATE_SKIP_UNCHANGED=0``: every line takes the full update, as before.

Every figure is the median of ``--repeats`` runs with its spread (min-max), and the CPU per line is given
as a ratio to the floor's in the same invocation. ``skip`` and ``noskip`` must leave one catalog digest,
checked on every workload. Statements per 1,000 lines come from one more run of each design in-process
with a statement counter (not timed).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
PRICE_PART = ("price_current", "price_was", "unit_price", "unit_of_measure", "per_unit_price_string",
              "is_on_special")
PYTHON = sys.executable


# ------------------------------------------------------------------------------------ the inputs


def next_day(source: Path, target_dir: Path, *, days: int, price_rate: float, other_rate: float,
             seed: int) -> dict:
    """Write ``source`` as scraped ``days`` later, changing the price of ``price_rate`` of its lines and
    the raw brand of ``other_rate``; return the counts."""
    rng = random.Random(f"{seed}:{source.name}")
    counts = {"lines": 0, "price_changed": 0, "other_changed": 0}
    text = source.name
    old_date = _date_in(text)
    new_date = _shift(old_date, days)
    target = target_dir / text.replace(old_date, new_date)
    with open(source, "rb") as src, open(target, "wb") as out:
        for raw in src:
            record = orjson.loads(raw)
            product = record["product"]
            draw = rng.random()
            if draw < price_rate and isinstance(product.get("price_current"), (int, float)):
                product["price_current"] = round(product["price_current"] + 0.1, 2)
                counts["price_changed"] += 1
            elif draw < price_rate + other_rate:
                product["brand"] = (product.get("brand") or "") + " "  # a spelling the update reads
                counts["other_changed"] += 1
            for part in (product, record["metadata"]):
                if part.get("scraped_date"):
                    part["scraped_date"] = _shift(str(part["scraped_date"])[:10], days)
            out.write(orjson.dumps(record) + b"\n")
            counts["lines"] += 1
    return counts


def _date_in(name: str) -> str:
    return name.rsplit("-", 3)[-3] + "-" + name.rsplit("-", 3)[-2] + "-" + name.rsplit("-", 3)[-1][:2]


def _shift(day: str, days: int) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def prepare(args, work: Path) -> dict:
    """Every workload's day-1 and measured-day files: {name: (day1 files, measured files, counts)}."""
    from sampledata.generator import generate_inbox

    workloads = {}
    if REAL_DATA.is_dir():
        real = sorted(REAL_DATA.glob("*.jsonl"))
        newest = {}  # each store's newest file: the one the next day follows
        for f in real:
            newest[f.name[:-len("YYYY-MM-DD.jsonl")]] = f
        measured = work / "real-files" / "day2"
        measured.mkdir(parents=True, exist_ok=True)
        counts = [next_day(f, measured, days=1, price_rate=0.002, other_rate=0.0, seed=args.seed)
                  for f in newest.values()]
        workloads["real-files"] = (real, sorted(measured.iterdir()), _sum(counts))
    generated = work / "generated"
    if not generated.is_dir():
        generate_inbox(generated, products=args.products, days=2, stores_per_company=1, seed=args.seed)
    files = sorted(generated.glob("*.jsonl"))
    day1 = [f for f in files if "2025-09-01" in f.name]
    day2 = [f for f in files if "2025-09-02" in f.name]
    shaped = work / "real-shaped" / "day2"
    shaped.mkdir(parents=True, exist_ok=True)
    counts = [next_day(f, shaped, days=1, price_rate=0.002, other_rate=0.038, seed=args.seed) for f in day1]
    workloads["real-shaped"] = (day1, sorted(shaped.iterdir()), _sum(counts))
    workloads["high-churn"] = (day1, day2, {"lines": sum(_lines(f) for f in day2)})
    return workloads


def _sum(counts: list[dict]) -> dict:
    return {key: sum(c[key] for c in counts) for key in counts[0]}


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


# ---------------------------------------------------------------------------------- the processes


def environment(root: Path, skip: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPDATE_")}
    env.update(UPDATE_VAR_DIR=str(root), DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
               UPDATE_SKIP_UNCHANGED="1" if skip else "0", UPDATE_INDEX_AFTER_MIGRATE="0")
    return env


def child_cpu(command: list[str], env: dict) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process, from this process's rusage of its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed with exit {done.returncode}:\n{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def seed(root: Path, day1: list[Path]) -> None:
    """The catalog after day 1, with its index: the template every measured run copies."""
    if root.exists():
        shutil.rmtree(root)
    (root / "inbox").mkdir(parents=True)
    env = environment(root)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], env=env, cwd=PROJECT_ROOT, check=True)
    for f in day1:
        shutil.copy(f, root / "inbox" / f.name)
    subprocess.run([PYTHON, "bin/update-products", "run", "--silent"], env=env, cwd=PROJECT_ROOT,
                   capture_output=True)


def fresh_copy(template: Path, root: Path, measured: list[Path]) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root)
    for f in measured:
        shutil.copy(f, root / "inbox" / f.name)


def run_design(design: str, template: Path, root: Path, measured: list[Path]) -> dict:
    fresh_copy(template, root, measured)
    if design == "floor":
        cpu, wall = child_cpu([PYTHON, "-m", "bench.unchanged_day", "floor", str(root)], environment(root))
        return {"cpu_s": cpu, "wall_s": wall}
    report = root / "report.json"
    cpu, wall = child_cpu([PYTHON, "bin/update-products", "run", "--silent", "--report", str(report)],
                          environment(root, skip=design == "skip"))
    files = json.loads(report.read_text())["files"]
    return {"cpu_s": cpu, "wall_s": wall, "lines": sum(f["unique_lines"] for f in files),
            "lines_unchanged": sum(f.get("lines_unchanged", 0) for f in files),
            "statuses": sorted({f["status"] for f in files}), "digest": catalog_digest(root)}


def catalog_digest(root: Path) -> str:
    code = ("import django, hashlib, json; django.setup(); from catalog.digest import database_digest; "
            "print(hashlib.sha256(json.dumps(database_digest(), sort_keys=True).encode()).hexdigest())")
    env = {**environment(root), "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([PYTHON, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def count_statements(design: str, template: Path, root: Path, measured: list[Path]) -> int:
    fresh_copy(template, root, measured)
    env = {**environment(root, skip=design == "skip"), "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([PYTHON, "-m", "bench.unchanged_day", "statements", str(root)], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- the children's own work


def floor(root: Path) -> None:
    """The read-side floor over the inbox of ``root``: parse, two digests, three LMDB gets per line."""
    import lmdb

    from diskcache_tier.keys import id_bytes, sku_key, text_key
    from diskcache_tier.keying import nnbs_key

    env = lmdb.open(str(root / "index"), readonly=True, max_dbs=16, lock=False)
    nnbs_db, sku_db, products_db = (env.open_db(name) for name in (b"nnbs", b"sku", b"products"))
    found = 0
    with env.begin(buffers=True) as txn:
        for path in sorted((root / "inbox").glob("*.jsonl")):
            with open(path, "rb") as handle:
                for raw in handle:
                    product = orjson.loads(raw)["product"]
                    hashlib.blake2b(orjson.dumps([product.get(k) for k in PRICE_PART]), digest_size=16).digest()
                    hashlib.blake2b(orjson.dumps(product), digest_size=16).digest()
                    pid = txn.get(text_key(nnbs_key(product["normalized_name_brand_size"])), db=nnbs_db)
                    # The company's id is not in the line: 1 is the first company's, a real get either way.
                    txn.get(sku_key(1, str(product.get("sku") or "")), db=sku_db)
                    if pid is not None:
                        found += 1
                    txn.get(pid if pid is not None else id_bytes(0), db=products_db)
    print(found)


def statements(root: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from update.orchestrator import UpdateOptions, run_update

    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    options = UpdateOptions(inbox=settings.UPDATE_INBOX, archive=settings.UPDATE_ARCHIVE,
                            rejected=settings.UPDATE_REJECTED, index_path=settings.UPDATE_INDEX_PATH)
    with connection.execute_wrapper(counter):
        run_update(options)
    print(count[0])


# ---------------------------------------------------------------------------------------- the run


def summary(runs: list[dict]) -> dict:
    cpu = [r["cpu_s"] for r in runs]
    return {"cpu_s": [round(c, 3) for c in cpu], "median_cpu_s": round(statistics.median(cpu), 3),
            "spread_cpu_s": [round(min(cpu), 3), round(max(cpu), 3)],
            "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="run", choices=("run", "floor", "statements"))
    parser.add_argument("root", nargs="?", type=Path)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench-unchanged")
    parser.add_argument("--name", default="results-unchanged")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.mode == "floor":
        floor(args.root)
        return 0
    if args.mode == "statements":
        statements(args.root)
        return 0

    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.machine import describe, git_state

    started = time.perf_counter()
    results = {"command": "python -m bench.unchanged_day " + " ".join(argv or sys.argv[1:]),
               "machine": describe(PROJECT_ROOT), "git": git_state(PROJECT_ROOT, ignore=args.out),
               "products": args.products, "repeats": args.repeats, "workloads": {}}
    workloads = prepare(args, args.work)
    for name, (day1, measured, counts) in workloads.items():
        template = args.work / name / "template"
        print(f"{name}: seeding day 1 ({len(day1)} files)", flush=True)
        seed(template, day1)
        runs: dict[str, list[dict]] = {"floor": [], "skip": [], "noskip": []}
        for repeat in range(args.repeats):
            for design in runs:  # interleaved, so that a noisy minute hits every design alike
                runs[design].append(run_design(design, template, args.work / name / "run", measured))
                print(f"  {name} {design} #{repeat + 1}: {runs[design][-1]['cpu_s']:.2f} s CPU", flush=True)
        lines = runs["skip"][0]["lines"]
        entry = {"inputs": counts, "measured_files": len(measured), "lines": lines,
                 "lines_per_file": round(lines / len(measured)), "designs": {}}
        floor_cpu = statistics.median(r["cpu_s"] for r in runs["floor"])
        for design, design_runs in runs.items():
            figures = summary(design_runs)
            figures["us_per_line"] = round(figures["median_cpu_s"] / lines * 1e6, 1)
            figures["ratio_to_floor"] = round(figures["median_cpu_s"] / floor_cpu, 2)
            if design != "floor":
                figures["lines_unchanged"] = design_runs[0]["lines_unchanged"]
                figures["statuses"] = design_runs[0]["statuses"]
                figures["digests"] = sorted({r["digest"] for r in design_runs})
                statements_ = count_statements(design, template, args.work / name / "run", measured)
                figures["statements"] = statements_
                figures["statements_per_1000_lines"] = round(statements_ / lines * 1000, 2)
            entry["designs"][design] = figures
        skip, noskip = entry["designs"]["skip"], entry["designs"]["noskip"]
        entry["same_catalog"] = skip["digests"] == noskip["digests"] and len(skip["digests"]) == 1
        entry["skip_against_noskip_cpu"] = round(skip["median_cpu_s"] / noskip["median_cpu_s"], 2)
        results["workloads"][name] = entry
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    rows = ["| workload | lines (per file) | design | CPU s, median (spread) | us/line | x floor | "
            "lines unchanged | statements / 1,000 lines |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, entry in results["workloads"].items():
        for design, f in entry["designs"].items():
            rows.append(f"| {name} | {entry['lines']:,} ({entry['lines_per_file']:,}) | {design} | "
                        f"{f['median_cpu_s']:.2f} ({f['spread_cpu_s'][0]:.2f}-{f['spread_cpu_s'][1]:.2f}) | "
                        f"{f['us_per_line']} | {f['ratio_to_floor']} | {f.get('lines_unchanged', '')} | "
                        f"{f.get('statements_per_1000_lines', '')} |")
    same = ", ".join(f"{n}: {'yes' if e['same_catalog'] else 'NO'}" for n, e in results["workloads"].items())
    return (f"Measured by `{results['command']}` on commit {results['git']['commit'][:12]}"
            f"{' (uncommitted changes)' if results['git']['dirty'] else ''}, {results['machine']['date_utc']}, "
            f"{results['machine']['cpu']}, {results['repeats']} repeats, {results['elapsed_s']} s in all.\n\n"
            + "\n".join(rows) + f"\n\nSame catalog with the skip on and off: {same}.\n")


if __name__ == "__main__":
    sys.exit(main())
