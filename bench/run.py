"""The benchmark command: every design, side by side, per catalog size, each in a fresh process.

    python -m bench.run --sizes 10000,100000,1000000 --out bench/results

Per size N: generate two days of inbox files (cached under --work), seed a template database by running
day 1 once, then for each design copy the template and run day 2 in a new process that writes its
RunReport. LMDB gets its index built from the copy first, in a process of its own, and that build is
timed and measured. Where a memory cgroup can be made, each design runs day 2 once more under
--memory-limit and the outcome (finished or killed) is recorded. Results are written after every run,
so an interrupted benchmark still leaves what it measured.

DATABASE_URL (or --database-url) picks PostgreSQL; the template is then copied by CREATE DATABASE ...
TEMPLATE. Unset, everything is SQLite under --work.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import cgroup as cgroups
from . import machine
from .databases import TEMPLATE, databases_for
from .inputs import prepare_inputs, link_into
from .results import evaluate_targets, print_targets, write_outputs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DESIGN_ORDER = ("lmdb", "memory", "legacy", "nocache")
DEFAULT_LIMIT = 256 << 20


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="catalog sizes, comma separated (default: %(default)s)")
    parser.add_argument("--designs", default=",".join(DESIGN_ORDER), help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results",
                        help="folder for results.json, results.md and results.png (default: bench/results)")
    parser.add_argument("--name", default="results", help="file name stem of the outputs (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench",
                        help="generated inputs, databases and run folders (default: var/bench)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL URL; SQLite files under --work when empty (default: $DATABASE_URL)")
    parser.add_argument("--stores-per-company", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--memory-limit", type=_size, default=DEFAULT_LIMIT,
                        help="cgroup memory limit, e.g. 256M (default: 256M)")
    parser.add_argument("--limited-designs", default=None,
                        help="designs run again under the limit (default: all of --designs)")
    parser.add_argument("--no-cgroup", action="store_true", help="skip the runs under the memory limit")
    parser.add_argument("--reuse-seed", action="store_true",
                        help="keep a template database seeded by an earlier benchmark run, if there is one")
    parser.add_argument("--prepare-only", action="store_true", help="generate inputs and seed, then stop")
    parser.add_argument("--keep-databases", action="store_true", help="keep each run's database copy")
    parser.add_argument("--merge", action="store_true",
                        help="add to the results already in --out (same sizes: designs run now replace theirs)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per child process")
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = set(args.designs) - set(DESIGN_ORDER)
    if unknown:
        parser.error(f"unknown designs {sorted(unknown)}; known: {', '.join(DESIGN_ORDER)}")
    args.limited_designs = (args.designs if args.limited_designs is None
                            else [d.strip() for d in args.limited_designs.split(",") if d.strip()])
    return args


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


# ------------------------------------------------------------------------------------------ children


def run_child(step: str, log: Path, *, database_url: str, out: Path, limit: cgroups.MemoryCgroup | None = None,
              timeout: float, **options) -> dict:
    """Run ``python -m bench.child STEP`` and return its outcome, with its JSON when it finished."""
    cmd = [sys.executable, "-m", "bench.child", step, "--database-url", database_url, "--out", str(out)]
    for name, value in options.items():
        if value is not None:
            cmd += [f"--{name.replace('_', '-')}", str(value)]
    out.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UPDATE_VAR_DIR")}
    started = time.perf_counter()
    with open(log, "ab") as log_file:
        log_file.write(f"$ {shlex.join(cmd)}\n".encode())
        log_file.flush()
        child = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                 preexec_fn=limit.join if limit else None)
        try:
            returncode = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            returncode = child.wait()
    outcome = {"returncode": returncode, "process_wall_s": round(time.perf_counter() - started, 3)}
    if returncode == 0 and out.exists():
        outcome["status"] = "finished"
        outcome["result"] = json.loads(out.read_text())
    else:
        outcome["status"] = "killed" if returncode == -9 else "failed"
        outcome["log_tail"] = _tail(log)
    return outcome


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------- seeding


def seed_template(args, n: int, inputs, dbs, size_dir: Path) -> dict:
    """The day-1 catalog every design starts from: seeded once, reused with --reuse-seed."""
    marker = size_dir / f"seed-{dbs.vendor}.json"
    if args.reuse_seed and marker.exists() and dbs.exists(TEMPLATE):
        seed = json.loads(marker.read_text())
        seed["reused"] = True
        print(f"  N={n}: reusing the template seeded {seed['seeded_at']}", flush=True)
        return seed
    marker.unlink(missing_ok=True)
    work = size_dir / "seed"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    link_into(inputs.day1, work / "inbox")
    url = dbs.create_empty(TEMPLATE)
    print(f"  N={n}: seeding the template with day 1 ({inputs.lines(1)} lines)...", flush=True)
    outcome = run_child("seed", size_dir / "seed.log", database_url=url, out=work / "seed.json",
                        timeout=args.timeout, inbox=work / "inbox", work=work)
    if outcome["status"] != "finished":
        raise SystemExit(f"seeding N={n} failed (exit {outcome['returncode']}):\n{outcome.get('log_tail')}")
    result = outcome["result"]
    report = result.pop("report")
    seed = {**result, "elapsed_s": report["elapsed_s"], "lines": report["totals"].get("lines", 0),
            "peak_anon_bytes": report["peak_anon_bytes"], "statuses": [f["status"] for f in report["files"]],
            "seeded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git": machine.git_commit(PROJECT_ROOT), "database_bytes": dbs.size_bytes(TEMPLATE), "reused": False}
    if any(s != "processed" for s in seed["statuses"]):
        raise SystemExit(f"seeding N={n}: not every day-1 file was processed: {seed['statuses']}")
    marker.write_text(json.dumps(seed, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    print(f"  N={n}: seeded {seed['products']} products, {seed['skus']} SKUs in {seed['elapsed_s']:.0f}s",
          flush=True)
    return seed


# ---------------------------------------------------------------------------------------------- runs


def run_design(args, n: int, design: str, inputs, dbs, size_dir: Path, limit_bytes: int | None) -> dict:
    """Day 2 on a fresh copy of the template, with ``design``'s index, optionally under a memory cgroup."""
    label = design if limit_bytes is None else f"{design}-limited"
    # Per invocation: two benchmarks sharing --work (and its cached inputs and templates) never touch
    # each other's run folders or database copies.
    work = size_dir / f"runs-{os.getpid()}" / label
    copy = f"{design}_{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "log.txt"
    url = dbs.copy_template(copy)
    record: dict = {"design": design}
    try:
        if design == "lmdb":
            # The index persists between cron runs; building it is a separate, timed step.
            build = run_child("build", log, database_url=url, out=work / "build.json", timeout=args.timeout,
                              index=work / "index")
            if build["status"] != "finished":
                record.update(status="failed", reason="index build failed", log_tail=build.get("log_tail"))
                return record
            record["index_build"] = build["result"]
        link_into(inputs.day2, work / "inbox")
        limit = cgroups.MemoryCgroup(limit_bytes) if limit_bytes is not None else None
        try:
            outcome = run_child("update", log, database_url=url, out=work / "report.json", limit=limit,
                                timeout=args.timeout, inbox=work / "inbox", work=work, index=work / "index",
                                design=design)
            if limit is not None:
                outcome["cgroup"] = {"limit_bytes": limit_bytes, **limit.outcome(), "notes": limit.notes}
        finally:
            if limit is not None:
                limit.remove()
        record.update(summarize(outcome, inputs.lines(2)))
        record["database_bytes_after"] = dbs.size_bytes(copy)
    finally:
        if not args.keep_databases:
            dbs.drop(copy)
        for folder in ("inbox", "archive", "rejected", "index"):
            shutil.rmtree(work / folder, ignore_errors=True)
    return record


def summarize(outcome: dict, expected_lines: int) -> dict:
    """The figures the tables and targets read, from one update process's outcome."""
    summary = {key: outcome[key] for key in ("status", "returncode", "process_wall_s", "cgroup", "log_tail")
               if key in outcome}
    if outcome["status"] != "finished":
        return summary
    result = outcome["result"]
    report = result["report"]
    file_cpu = result.get("file_cpu_s", {})
    files = [{"file": f["file"], "status": f["status"], "lines": f["lines"], "elapsed_s": round(f["elapsed_s"], 3),
              "cpu_s": file_cpu.get(f["file"]),
              "lines_per_s": round(f["lines"] / f["elapsed_s"]) if f["elapsed_s"] else 0,
              "index_repairs": f.get("index_repairs", 0)} for f in report["files"]]
    lines = sum(f["lines"] for f in files)
    files_s = sum(f["elapsed_s"] for f in files)
    summary.update(
        elapsed_s=report["elapsed_s"], startup_s=report["startup_s"], files_s=round(files_s, 3),
        cpu_s=result.get("cpu_s"), startup_cpu_s=result.get("startup_cpu_s"),
        files_cpu_s=round(sum(file_cpu.values()), 3) if file_cpu else None,
        peak_anon_bytes=report["peak_anon_bytes"], peak_rss_bytes=report["peak_rss_bytes"],
        baseline_anon_bytes=result["baseline_anon_bytes"], lines=lines,
        lines_per_s=round(lines / files_s) if files_s else 0,
        run_lines_per_s=round(lines / report["elapsed_s"]) if report["elapsed_s"] else 0,
        files=files, totals=report["totals"], startup_load=report.get("index_build"),
        all_processed=all(f["status"] == "processed" for f in files) and lines == expected_lines,
    )
    return summary


# ---------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    cgroup_reason = "skipped (--no-cgroup)" if args.no_cgroup else cgroups.unavailable_reason()
    command = redact("python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:]))
    results = {
        "commands": [command],
        "started_at": _now(),
        "machine": machine.describe(PROJECT_ROOT),
        "parameters": {"sizes": args.sizes, "designs": args.designs, "stores_per_company": args.stores_per_company,
                       "days": 2, "generator_seed": args.seed, "memory_limit_bytes": args.memory_limit,
                       "limited_designs": [] if cgroup_reason else args.limited_designs},
        "memory_method": ("peak anonymous memory: RssAnon from /proc/self/status, sampled every 20 ms by a "
                          "thread of the update process and once more after each file; peak RSS: the kernel's "
                          "ru_maxrss of the update process"),
        "cgroup": {"available": cgroup_reason is None, "reason": cgroup_reason},
        "sizes": [],
    }
    previous = args.out / f"{args.name}.json"
    if args.merge and previous.exists():
        earlier = json.loads(previous.read_text())
        results["commands"] = earlier["commands"] + [command]
        results["started_at"] = earlier["started_at"]
        results["sizes"] = earlier["sizes"]
    vendor = None
    for n in args.sizes:
        size_dir = args.work / f"n{n}"
        size_dir.mkdir(parents=True, exist_ok=True)
        print(f"N={n}: inputs", flush=True)
        inputs = prepare_inputs(args.work, n, stores_per_company=args.stores_per_company, seed=args.seed)
        dbs = databases_for(args.database_url, size_dir, prefix=f"bench_n{n}")
        vendor = dbs.vendor
        results["database"] = {"vendor": dbs.vendor, "where": dbs.describe()}
        seed = seed_template(args, n, inputs, dbs, size_dir)
        entry = _entry_for(results, n)
        entry.update(inputs={k: inputs.stats[k] for k in ("files", "lines", "bytes", "lines_by_day", "days")},
                     seed=seed)
        limited_now = [] if cgroup_reason else args.limited_designs
        # An earlier invocation whose every run is redone now no longer describes any figure.
        entry["measured"] = [m for m in entry.get("measured", [])
                             if not (set(m.get("designs", DESIGN_ORDER)) <= set(args.designs)
                                     and set(m.get("limited", DESIGN_ORDER)) <= set(limited_now))]
        entry["measured"].append({"command": command, "designs": args.designs, "limited": limited_now,
                                  "started_at": _now(), "load_average_at_start": machine.load_average()})
        if args.prepare_only:
            continue
        for design in args.designs:
            print(f"N={n}: {design}...", flush=True)
            entry["runs"][design] = run_design(args, n, design, inputs, dbs, size_dir, None)
            _progress(entry["runs"][design])
            _save(args, results)
        if cgroup_reason is None:
            for design in args.limited_designs:
                print(f"N={n}: {design} under {args.memory_limit >> 20} MB...", flush=True)
                entry["limited"][design] = run_design(args, n, design, inputs, dbs, size_dir, args.memory_limit)
                _progress(entry["limited"][design])
                _save(args, results)
        entry["measured"][-1].update(finished_at=_now(), load_average_at_end=machine.load_average())
    results["finished_at"] = _now()
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["targets"] = evaluate_targets(results, vendor)
    _save(args, results, plot=not args.no_plot)
    print_targets(results["targets"])
    print(f"results: {args.out / (args.name + '.json')}, .md" + ("" if args.no_plot else ", .png"))
    return 0


def redact(text: str) -> str:
    """Hide the password of any database URL: the results are committed."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def _entry_for(results: dict, n: int) -> dict:
    for entry in results["sizes"]:
        if entry["n"] == n:
            return entry
    entry = {"n": n, "runs": {}, "limited": {}}
    results["sizes"].append(entry)
    results["sizes"].sort(key=lambda e: e["n"])
    return entry


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _progress(record: dict) -> None:
    if record.get("status") != "finished":
        print(f"    {record.get('status')}: exit {record.get('returncode')} {record.get('reason', '')}", flush=True)
        return
    print(f"    {record['elapsed_s']:.1f}s ({record['startup_s']:.2f}s startup), {record['lines_per_s']} lines/s, "
          f"peak anon {record['peak_anon_bytes'] / 2**20:.0f} MB, peak RSS {record['peak_rss_bytes'] / 2**20:.0f} MB",
          flush=True)


def _save(args, results: dict, plot: bool = False) -> None:
    write_outputs(results, args.out, args.name, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
