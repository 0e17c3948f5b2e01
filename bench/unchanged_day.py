"""A day at production's change rates: the update against the read-side floor, on the same inputs, in one run.

    python -m bench.unchanged_day [--products 20000] [--repeats 3] [--workloads NAME,...] [--name NAME]

Workloads (day 1 seeds the catalog and the index once; every measured run starts from a copy of that):

* ``real-files``: the real scraped files (../shared/data/real, 7 files of 2,258-2,608 lines, real size),
  then each store's newest file a day later with 0.2% of its prices changed (the chain's rate, issue 20).
* ``real-rates``: the generator at its default rates (``sampledata.generator.REAL_RATES``, what the real
  files show: 0.04% of prices a day, 99% of lines the same), ``--products``, one store per company.
* ``high-churn``: the generator's ``HIGH_CHURN`` rates (7.7% of prices a day, 86% of lines the same).
* ``real-size-files``: the generator at its default rates with files of real size: a catalog of
  ``--file-products`` (6,000: about 3,000 lines a file) and ``--stores`` stores per company (8), so that
  what is paid per file (survey, ledger, transaction, the store's checks, the walk for absent prices) shows.

Designs, each a whole process measured by its CPU time (user + system, from the parent's rusage):

* ``floor``: ``python -m bench.floor`` over the day's files: per line, orjson, the digests of its price part
  and its product part, 3 LMDB gets against the seeded index. It writes nothing: no update can cost less.
* ``skip``: ``bin/update-products run`` as cron runs it, with the skip of unchanged lines (the default).
* ``noskip``: the same with ``UPDATE_SKIP_UNCHANGED=0``: every line takes the full update, as before.
* ``empty``: the same update on the same catalog with an empty inbox: what a run costs before its first
  line (Python, Django, the database's first queries, the index opened). The lines' own cost is
  ``skip`` less ``empty``, given against the floor as ``lines_ratio_to_floor``.

Every figure is the median of ``--repeats`` runs with its spread (min-max), and the CPU per line is given
as a ratio to the floor's in the same invocation. ``skip`` and ``noskip`` must leave one catalog digest,
checked on every workload. Statements come from one more run of each design in-process with a statement
counter (not timed), on the measured day and on the same files a day later with nothing changed: that
quiet day's statements per 1,000 lines are the unchanged lines' (the files' own statements included), and
what the measured day sends more, per 1,000 of its changed lines (lines the skip did not find unchanged),
is the changed lines'. The quiet day's statements are mostly the files' own (ledger, store, checks, the walk
for absent prices), so they are given per file too.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# As the tests find them: REAL_DATA_DIR, else beside the checkout.
REAL_DATA = Path(os.environ.get("REAL_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "real"))
PYTHON = sys.executable
WORKLOADS = ("real-files", "real-rates", "high-churn", "real-size-files")
DESIGNS = ("floor", "skip", "noskip", "empty")
# Designs that update lines: their catalog, lines and statements are checked and counted.
UPDATING = ("skip", "noskip")


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


@dataclass
class Workload:
    day1: list[Path]  # seeds the template
    measured: list[Path]  # the day measured
    quiet: list[Path]  # day 1's newest files a day later with nothing changed: the unchanged lines' statements
    inputs: dict  # what the measured day changed, or the generator's rates


def prepare(args, work: Path) -> dict[str, Workload]:
    """Every workload asked for, by name."""
    from sampledata.generator import HIGH_CHURN, REAL_RATES

    workloads = {}
    if "real-files" in args.workloads:
        if not REAL_DATA.is_dir():
            raise SystemExit(f"the real files are not in {REAL_DATA}: set REAL_DATA_DIR, or leave real-files out "
                             "of --workloads")
        real = sorted(REAL_DATA.glob("*.jsonl"))
        counts = []
        measured = _following_day(real, work / "real-files" / "day2", price_rate=0.002, seed=args.seed, counts=counts)
        workloads["real-files"] = Workload(real, measured, _following_day(real, work / "real-files" / "quiet"),
                                           _sum(counts))
    generated = {"real-rates": (args.products, 1, REAL_RATES), "high-churn": (args.products, 1, HIGH_CHURN),
                 "real-size-files": (args.file_products, args.stores, REAL_RATES)}
    for name, (products, stores, rates) in generated.items():
        if name in args.workloads:
            workloads[name] = _generated(work / name, products, stores, rates, args.seed)
    return workloads


def _generated(folder: Path, products: int, stores: int, rates, seed: int) -> Workload:
    """The generator's day 1 and day 2 at ``rates``, and day 1 again a day later."""
    from sampledata.generator import generate_inbox

    # Named by what makes them, so that another size or seed never reuses these files.
    files = folder / f"generated-{products}x{stores}-seed{seed}"
    if not files.is_dir():
        generate_inbox(files, products=products, days=2, stores_per_company=stores, seed=seed, rates=rates)
    day1 = sorted(f for f in files.glob("*.jsonl") if "2025-09-01" in f.name)
    day2 = sorted(f for f in files.glob("*.jsonl") if "2025-09-02" in f.name)
    inputs = {"generator": {"products": products, "stores_per_company": stores, "seed": seed,
                            "rates": dataclasses.asdict(rates)}, "lines": sum(_lines(f) for f in day2)}
    return Workload(day1, day2, _following_day(day1, folder / "quiet"), inputs)


def _following_day(files: list[Path], folder: Path, *, price_rate: float = 0.0, seed: int = 1,
                   counts: list | None = None) -> list[Path]:
    """Each store's newest file among ``files``, a day later, ``price_rate`` of its prices changed."""
    newest = {}  # each store's newest file: the one the next day follows
    for f in sorted(files):
        newest[f.name[:-len("YYYY-MM-DD.jsonl")]] = f
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for f in newest.values():
        done = next_day(f, folder, days=1, price_rate=price_rate, other_rate=0.0, seed=seed)
        if counts is not None:
            counts.append(done)
    return sorted(folder.iterdir())


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
    fresh_copy(template, root, [] if design == "empty" else measured)
    if design == "empty":
        cpu, wall = child_cpu([PYTHON, "bin/update-products", "run", "--silent"], environment(root))
        return {"cpu_s": cpu, "wall_s": wall}
    if design == "floor":
        inbox = sorted(str(f) for f in (root / "inbox").glob("*.jsonl"))
        cpu, wall = child_cpu([PYTHON, "-m", "bench.floor", str(root / "index"), *inbox], environment(root))
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


def count_statements(design: str, template: Path, root: Path, measured: list[Path]) -> dict:
    """{statements, lines, lines_unchanged} of one run of ``design`` with a statement counter."""
    fresh_copy(template, root, measured)
    env = {**environment(root, skip=design == "skip"), "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([PYTHON, "-m", "bench.unchanged_day", "statements", str(root)], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- the children's own work


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
        report = run_update(options)
    print(json.dumps({"statements": count[0], "lines": sum(f.unique_lines for f in report.files),
                      "lines_unchanged": sum(f.lines_unchanged for f in report.files)}))


# ---------------------------------------------------------------------------------------- the run


def summary(runs: list[dict]) -> dict:
    cpu = [r["cpu_s"] for r in runs]
    return {"cpu_s": [round(c, 3) for c in cpu], "median_cpu_s": round(statistics.median(cpu), 3),
            "spread_cpu_s": [round(min(cpu), 3), round(max(cpu), 3)],
            "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 3)}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.mode == "statements":
        statements(args.root)
        return 0

    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.machine import describe, dirty_refusal, git_commit, git_state

    git = git_state(PROJECT_ROOT, ignore=args.out)
    refusal = dirty_refusal(git, args.allow_dirty)
    if refusal:
        print(refusal, file=sys.stderr)
        return 1
    started = time.perf_counter()
    results = {"command": "python -m bench.unchanged_day " + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": describe(PROJECT_ROOT, ignore=args.out), "git": git, "products": args.products,
               "file_products": args.file_products, "stores": args.stores, "repeats": args.repeats, "workloads": {}}
    for name, workload in prepare(args, args.work).items():
        template = args.work / name / "template"
        print(f"{name}: seeding day 1 ({len(workload.day1)} files)", flush=True)
        seed(template, workload.day1)
        seeded_at = git_commit(PROJECT_ROOT, ignore=args.out)  # the template's code: a clean tree's, or said
        results["workloads"][name] = measure(args, name, workload, template, seeded_at)
        write_results(args, results)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    write_results(args, results)
    print(markdown(results))
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="run", choices=("run", "statements"))
    parser.add_argument("root", nargs="?", type=Path)
    parser.add_argument("--products", type=int, default=20_000, help="catalog of real-rates and high-churn")
    parser.add_argument("--file-products", type=int, default=6_000,
                        help="catalog of real-size-files: 6,000 makes files of about 3,000 lines")
    parser.add_argument("--stores", type=int, default=8, help="stores per company of real-size-files")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma separated; default: all")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench-unchanged")
    parser.add_argument("--name", default="results-change-rates")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    parser.add_argument("--allow-dirty", action="store_true", help="run on a tree with uncommitted changes")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {', '.join(WORKLOADS)}")
    return args


def measure(args, name: str, workload: Workload, template: Path, seeded_at: str) -> dict:
    """Every design on the workload's measured day, interleaved, and the statements of skip and noskip."""
    run_root = args.work / name / "run"
    runs: dict[str, list[dict]] = {design: [] for design in DESIGNS}
    for repeat in range(args.repeats):
        for design in runs:  # interleaved, so that a noisy minute hits every design alike
            runs[design].append(run_design(design, template, run_root, workload.measured))
            print(f"  {name} {design} #{repeat + 1}: {runs[design][-1]['cpu_s']:.2f} s CPU", flush=True)
    lines = runs["skip"][0]["lines"]
    # Which lines changed is a property of the day, not of the design: the skip's count says it for both.
    changed = lines - runs["skip"][0]["lines_unchanged"]
    entry = {"inputs": workload.inputs, "seeded_at_commit": seeded_at, "measured_files": len(workload.measured),
             "lines": lines, "lines_per_file": round(lines / len(workload.measured)), "lines_changed": changed,
             "designs": {}}
    floor_cpu = round(statistics.median(r["cpu_s"] for r in runs["floor"]), 3)  # as reported
    for design, design_runs in runs.items():
        figures = summary(design_runs)
        figures["us_per_line"] = round(figures["median_cpu_s"] / lines * 1e6, 1)
        figures["ratio_to_floor"] = round(figures["median_cpu_s"] / floor_cpu, 2)
        if design in UPDATING:
            figures["lines_unchanged"] = design_runs[0]["lines_unchanged"]
            figures["statuses"] = design_runs[0]["statuses"]
            figures["digests"] = sorted({r["digest"] for r in design_runs})
            figures.update(statement_figures(design, template, run_root, workload, changed))
        entry["designs"][design] = figures
    skip, noskip = entry["designs"]["skip"], entry["designs"]["noskip"]
    # The lines' own cost: the whole process less the same process on an empty inbox.
    empty_cpu = entry["designs"]["empty"]["median_cpu_s"]
    for figures in (skip, noskip):
        figures["lines_ratio_to_floor"] = round((figures["median_cpu_s"] - empty_cpu) / floor_cpu, 2)
    entry["same_catalog"] = skip["digests"] == noskip["digests"] and len(skip["digests"]) == 1
    entry["skip_against_noskip_cpu"] = round(skip["median_cpu_s"] / noskip["median_cpu_s"], 2)
    return entry


def statement_figures(design: str, template: Path, run_root: Path, workload: Workload, changed: int) -> dict:
    """Statements per 1,000 lines: of the measured day; of the quiet day, the same stores' files with
    nothing changed (the unchanged lines', the files' own statements included, also given per file); and
    what the measured day sends beyond the quiet day, per 1,000 changed lines (the changed lines')."""
    day = count_statements(design, template, run_root, workload.measured)
    quiet = count_statements(design, template, run_root, workload.quiet)
    extra = day["statements"] - quiet["statements"]
    return {"statements": day["statements"],
            "statements_per_1000_lines": round(day["statements"] / day["lines"] * 1000, 2),
            "quiet_day": quiet, "quiet_statements_per_file": round(quiet["statements"] / len(workload.quiet), 1),
            "statements_per_1000_unchanged_lines": round(quiet["statements"] / quiet["lines"] * 1000, 2),
            "statements_per_1000_changed_lines": round(extra / changed * 1000, 1) if changed else None}


def write_results(args, results: dict) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(results))


def markdown(results: dict) -> str:
    rows = ["| workload | lines (per file) | design | CPU s, median (spread) | us/line | x floor | "
            "lines alone, x floor | lines unchanged | statements / 1,000 lines | / 1,000 unchanged | / 1,000 changed | "
            "quiet day / file |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in results["workloads"].items():
        for design, f in entry["designs"].items():
            changed = f.get("statements_per_1000_changed_lines", "")
            rows.append(f"| {name} | {entry['lines']:,} ({entry['lines_per_file']:,}) | {design} | "
                        f"{f['median_cpu_s']:.2f} ({f['spread_cpu_s'][0]:.2f}-{f['spread_cpu_s'][1]:.2f}) | "
                        f"{f['us_per_line']} | {f['ratio_to_floor']} | {f.get('lines_ratio_to_floor', '')} | "
                        f"{f.get('lines_unchanged', '')} | "
                        f"{f.get('statements_per_1000_lines', '')} | "
                        f"{f.get('statements_per_1000_unchanged_lines', '')} | {'' if changed is None else changed} | "
                        f"{f.get('quiet_statements_per_file', '')} |")
    same = ", ".join(f"{n}: {'yes' if e['same_catalog'] else 'NO'}" for n, e in results["workloads"].items())
    seeded = ", ".join(f"{n}: {e['seeded_at_commit']}" for n, e in results["workloads"].items())
    elapsed = f", {results['elapsed_s']} s in all" if "elapsed_s" in results else " (unfinished)"
    return (f"Measured by `{results['command']}` on commit {results['git']['commit'][:12]}"
            f"{' (uncommitted changes)' if results['git']['dirty'] else ''}, {results['machine']['date_utc']}, "
            f"{results['machine']['cpu']}, {results['repeats']} repeats{elapsed}.\n\n"
            + "\n".join(rows) + f"\n\nSame catalog with the skip on and off: {same}.\n"
            f"Templates seeded at: {seeded}.\n")


if __name__ == "__main__":
    sys.exit(main())
