"""The benchmark command: every design, side by side, repeated, per catalog size, each step in a fresh process.

    python -m bench.run --quick                 # 10k products, 2 repeats: a few minutes
    python -m bench.run                         # the full mode: see docs/benchmarks.md

Per size: generate the days of inbox files (cached under --work), seed a template database by running
day 1 once, then, repeat after repeat with the designs' order rotated each time (interleaved, so a slow
spell of the machine does not land on one design), copy the template, prepare the design (LMDB: build
the index; no-index: its alias table), and run days 2, 3, ... each in a new process on what the day
before left (the LMDB index is kept between days, as between cron runs, so day 3's startup includes
catching up on day 2's changes). After each day the catalog's digest is taken in a process of its own;
every design must write the same catalog, or the benchmark stops with exit status 2. The ``floor``
(bench/floor.py) runs beside them on the same days and writes nothing: each design's CPU is also given
as a ratio to it.

One invocation writes the whole results file (results are saved after every run, so an interrupted
benchmark keeps what it measured); it refuses a tree with uncommitted changes unless --allow-dirty.

DATABASE_URL (or --database-url) picks PostgreSQL, where --latency-ms adds round trips through a proxy on
loopback; unset, everything is SQLite under --work.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sampledata.generator import CHANGE_RATES, HIGH_CHURN

from . import cgroup as cgroups
from . import machine
from .databases import TEMPLATE, databases_for
from .inputs import link_into, prepare_inputs
from .latency_proxy import LatencyProxy, measure_round_trip
from .results import evaluate_targets, print_targets, write_outputs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The floor first: it reads the day's lines against the LMDB index and writes nothing (bench/floor.py),
# so that every design's CPU is also given as a ratio to it.
DESIGN_ORDER = ("floor", "lmdb", "memory", "legacy", "nocache")
# Designs that update nothing: no digest to compare, no job to run under the memory limit.
READ_ONLY_DESIGNS = ("floor",)
# Not run unless named: the pre-change LMDB code (--baseline-tree), and the memory backend with its maps
# left to the garbage collector, the artifact issue 10 found (--designs ...,memory-unfrozen).
EXTRA_DESIGNS = ("baseline", "memory-unfrozen")
MILLION = 1_000_000
DEFAULT_LIMIT = 128 << 20
# The full mode: a realistic shape (5 stores per company, each listing 85-95% of its chain's range) where
# the catalog is small enough for it, one store per company where it is not, to fit about two hours.
FULL_SIZES = "10000x5,100000,1000000"
QUICK_SIZES = "10000"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes {QUICK_SIZES}, 2 repeats, days 2-4: a few minutes")
    parser.add_argument("--sizes", default=None,
                        help="catalog sizes, comma separated, each N or NxK for K stores per company "
                             f"(default: {FULL_SIZES}; --quick: {QUICK_SIZES})")
    parser.add_argument("--designs", default=",".join(DESIGN_ORDER), help="default: %(default)s")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="another checkout (e.g. git worktree add --detach ../wt-baseline 6b28ae8): adds the "
                             "design 'baseline', the LMDB design as that tree's code runs it")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per design below 1M (default 5; --quick: 2)")
    parser.add_argument("--repeats-1m", type=int, default=3, help="repeats per design at 1M and above "
                        "(legacy runs once there); default: %(default)s")
    parser.add_argument("--days", type=int, default=4,
                        help="days generated; day 1 seeds, days 2.. are measured on the kept catalog and index "
                             "(default: %(default)s)")
    parser.add_argument("--days-1m", type=int, default=2, help="last day measured at 1M and above (default: 2)")
    parser.add_argument("--latency-ms", default="0",
                        help="PostgreSQL only: round trips added by a proxy, comma separated, e.g. 0,1,5 "
                             "(default: 0). Runs with latency measure day 2 only.")
    parser.add_argument("--latency-repeats", type=int, default=2, help="repeats of the runs with latency (default: 2)")
    parser.add_argument("--latency-all-days", action="store_true",
                        help="runs with latency measure every day (2..--days), not day 2 alone: day 2 follows the "
                             "index's build, which remembers no line, so only day 3 on shows the skip of "
                             "unchanged lines")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results",
                        help="folder for NAME.json, .md and .png (default: bench/results)")
    parser.add_argument("--name", default=None, help="file name stem (default: results, results-postgresql, "
                                                       "or quick-... with --quick)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench",
                        help="generated inputs, databases and run folders (default: var/bench)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL URL; SQLite files under --work when empty (default: $DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--change-rates", choices=sorted(CHANGE_RATES), default=HIGH_CHURN.name,
                        help="how much each generated day changes: the real files' rates, or the high-churn day "
                             "of the results of record (default: %(default)s); bench.unchanged_day runs both")
    parser.add_argument("--memory-limit", type=_size, default=DEFAULT_LIMIT,
                        help="cgroup memory limit, e.g. 128M (default: 128M)")
    parser.add_argument("--limited-designs", default=None,
                        help="designs run again under the limit, whole job (build included) charged (default: all but the floor)")
    parser.add_argument("--no-cgroup", action="store_true", help="skip the runs under the memory limit")
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=None,
                        help="drop the page cache (root) before each size's runs and before each job under the "
                             "limit, so they read cold (default: on, off with --quick)")
    parser.add_argument("--digest-every-repeat", action="store_true",
                        help="check the catalog digest in every repeat, not only the first of each design")
    parser.add_argument("--allow-dirty", action="store_true", help="run on a tree with uncommitted changes")
    parser.add_argument("--reuse-seed", action="store_true",
                        help="keep a template database seeded by an earlier benchmark run, if there is one")
    parser.add_argument("--prepare-only", action="store_true", help="generate inputs and seed, then stop")
    parser.add_argument("--keep-databases", action="store_true", help="keep each run's database copy")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per child process")
    args = parser.parse_args(argv)
    args.sizes = [_size_spec(s) for s in (args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)).split(",")
                  if s.strip()]
    if args.cold is None:
        args.cold = not args.quick
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if args.baseline_tree is not None:
        args.baseline_tree = args.baseline_tree.resolve()
        if not (args.baseline_tree / "update").is_dir():
            parser.error(f"--baseline-tree {args.baseline_tree}: not a checkout of this project")
        if "baseline" not in args.designs:
            args.designs.append("baseline")
    unknown = set(args.designs) - set(DESIGN_ORDER) - set(EXTRA_DESIGNS)
    if unknown or ("baseline" in args.designs and args.baseline_tree is None):
        parser.error(f"unknown designs {sorted(unknown) or ['baseline (needs --baseline-tree)']}; "
                     f"known: {', '.join(DESIGN_ORDER + EXTRA_DESIGNS)}")
    args.limited_designs = ([d for d in args.designs if d not in READ_ONLY_DESIGNS] if args.limited_designs is None
                            else [d.strip() for d in args.limited_designs.split(",") if d.strip()])
    args.latency_ms = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    postgres = args.database_url.startswith(("postgres", "pgsql"))
    if any(args.latency_ms) and not postgres:
        parser.error("--latency-ms needs PostgreSQL (a SQLite file has no round trip to delay)")
    if args.name is None:
        args.name = ("quick-" if args.quick else "") + ("results-postgresql" if postgres else "results")
    return args


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


def _size_spec(text: str) -> tuple[int, int]:
    n, _, stores = text.strip().replace("_", "").partition("x")
    return int(n), int(stores or 1)


# ------------------------------------------------------------------------------------------ children


def run_child(step: str, log: Path, *, database_url: str, out: Path, limit: cgroups.MemoryCgroup | None = None,
              timeout: float, tree: Path | None = None, **options) -> dict:
    """Run one ``bench.child STEP`` and return its outcome, with its JSON when it finished.

    ``tree``: another checkout whose project code the child runs (the baseline design). The parent
    polls the child's /proc status as well: peak anonymous memory seen from outside the process.
    """
    if tree is None:
        cmd, cwd, env_path = [sys.executable, "-m", "bench.child"], PROJECT_ROOT, None
    else:
        cmd, cwd, env_path = [sys.executable, str(PROJECT_ROOT / "bench" / "child.py")], tree, str(tree)
    cmd += [step, "--database-url", database_url, "--out", str(out)]
    for name, value in options.items():
        if value is not None:
            cmd += [f"--{name.replace('_', '-')}", str(value)]
    out.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "UPDATE_VAR_DIR", "PYTHONPATH")}
    if env_path:
        env["PYTHONPATH"] = env_path
    started = time.perf_counter()
    with open(log, "ab") as log_file:
        log_file.write(f"$ {redact(shlex.join(cmd))}\n".encode())
        log_file.flush()
        child = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                 preexec_fn=limit.join if limit else None)
        poller = StatusPoller(child.pid)
        try:
            returncode = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            returncode = child.wait()
        finally:
            poller.stop()
    outcome = {"returncode": returncode, "process_wall_s": round(time.perf_counter() - started, 3),
               "parent_polled_peak_anon_bytes": poller.peak_anon}
    if returncode == 0 and out.exists():
        outcome["status"] = "finished"
        outcome["result"] = json.loads(out.read_text())
    else:
        outcome["status"] = "killed" if returncode == -9 else "failed"
        outcome["log_tail"] = _tail(log)
    return outcome


class StatusPoller:
    """RssAnon of a child from /proc/PID/status every 10 ms, from the parent's side."""

    INTERVAL_S = 0.01

    def __init__(self, pid: int):
        self.path = f"/proc/{pid}/status"
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            try:
                with open(self.path) as status:
                    for line in status:
                        if line.startswith("RssAnon:"):
                            self.peak_anon = max(self.peak_anon, int(line.split()[1]) * 1024)
                            break
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


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
    link_into(inputs.day(1), work / "inbox")
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
            "seeded_at": _now(), "git": machine.git_commit(PROJECT_ROOT, ignore=args.out), "database_bytes": dbs.size_bytes(TEMPLATE),
            "reused": False}
    if any(s != "processed" for s in seed["statuses"]):
        raise SystemExit(f"seeding N={n}: not every day-1 file was processed: {seed['statuses']}")
    marker.write_text(json.dumps(seed, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    print(f"  N={n}: seeded {seed['products']} products, {seed['skus']} SKUs in {seed['elapsed_s']:.0f}s",
          flush=True)
    return seed


# ---------------------------------------------------------------------------------------------- runs


def run_design(args, n: int, design: str, *, repeat: int, latency_ms: float, days: list[int], inputs, dbs,
               size_dir: Path, limit_bytes: int | None, digest: bool) -> dict:
    """Days ``days`` on a fresh copy of the template with ``design``, the design's index kept between days.

    Under ``limit_bytes`` the whole job runs in one memory cgroup: the preparation (index build) and
    every day, page cache included, as a VPS of that size would run it.
    """
    label = f"{design}-r{repeat}-l{latency_ms:g}" + ("-limited" if limit_bytes is not None else "")
    # Per invocation: two benchmarks sharing --work (its cached inputs and templates) never touch
    # each other's run folders or database copies.
    work = size_dir / f"runs-{os.getpid()}" / label
    copy = f"{design}_{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "log.txt"
    direct_url = dbs.copy_template(copy)
    tree = args.baseline_tree if design == "baseline" else None
    record: dict = {"design": design, "repeat": repeat, "latency_ms": latency_ms,
                    "limited": limit_bytes is not None, "provenance": _provenance(), "days": {}}
    limit = cgroups.MemoryCgroup(limit_bytes) if limit_bytes is not None else None
    proxy = _proxy_for(direct_url, latency_ms)
    try:
        url = direct_url if proxy is None else _via(direct_url, proxy.port)
        # The alias table is a schema step done once, like a migration, and its filling loads the memory
        # backend's maps; charging that to the no-index job would measure this harness, not the design.
        prepare_limit = None if design == "nocache" else limit
        prepared = run_child("prepare", log, database_url=url, out=work / "prepare.json", timeout=args.timeout,
                             limit=prepare_limit, tree=tree, index=work / "index", design=design)
        if prepared["status"] != "finished":
            record.update(status=prepared["status"], reason="preparation failed", log_tail=prepared.get("log_tail"))
            return record
        record["prepare"] = {**prepared["result"], "process_wall_s": prepared["process_wall_s"],
                             "under_limit": prepare_limit is not None}
        record["provenance"]["code_root"] = prepared["result"]["code_root"]
        record["status"] = "finished"
        for day in days:
            inbox = work / "inbox"
            shutil.rmtree(inbox, ignore_errors=True)
            link_into(inputs.day(day), inbox)
            before = dbs.activity(copy)
            outcome = run_child("update", log, database_url=url, out=work / f"report-{day}.json", limit=limit,
                                timeout=args.timeout, tree=tree, inbox=inbox, work=work, index=work / "index",
                                design=design)
            summary = summarize(outcome, inputs.lines(day))
            summary["database_activity"] = _delta(before, dbs.activity(copy))
            if outcome["status"] == "finished" and digest and design not in READ_ONLY_DESIGNS:
                checked = run_child("digest", log, database_url=direct_url, out=work / f"digest-{day}.json",
                                    timeout=args.timeout)
                summary["digest"] = checked["result"]["digest"] if checked["status"] == "finished" else None
                summary["digest_tables"] = checked.get("result", {}).get("tables")
            record["days"][str(day)] = summary
            if outcome["status"] != "finished":
                record["status"] = outcome["status"]
                break
        if limit is not None:
            record["cgroup"] = {"limit_bytes": limit_bytes, **limit.outcome(), "notes": limit.notes}
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)
        if limit is not None:
            limit.remove()
        record["provenance"].update(_provenance_end(record["provenance"]))
        if not args.keep_databases:
            dbs.drop(copy)
        for folder in ("inbox", "archive", "rejected", "index"):
            shutil.rmtree(work / folder, ignore_errors=True)
    return record


def _proxy_for(url: str, latency_ms: float) -> LatencyProxy | None:
    if not latency_ms:
        return None
    parts = urlsplit(url)
    return LatencyProxy(parts.hostname or "127.0.0.1", parts.port or 5432, latency_ms).__enter__()


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials + '@' if credentials else ''}127.0.0.1:{port}"))


def _provenance() -> dict:
    return {"started_at": _now(), "commit": machine.git_state(PROJECT_ROOT)["commit"],
            "hostname": machine.describe_host(), "load_average_at_start": machine.load_average(),
            "_steal": machine.steal_seconds(), "_t": time.perf_counter()}


def _provenance_end(start: dict) -> dict:
    steal = machine.steal_seconds() - start.pop("_steal")
    wall = time.perf_counter() - start.pop("_t")
    return {"finished_at": _now(), "load_average_at_end": machine.load_average(),
            "steal_s": round(steal, 2), "steal_share": round(steal / (wall * (os.cpu_count() or 1)), 4) if wall else 0}


def _delta(before: dict | None, after: dict | None) -> dict | None:
    if not before or not after:
        return None
    return {key: after[key] - before[key] for key in after}


def summarize(outcome: dict, expected_lines: int) -> dict:
    """The figures the tables and targets read, from one update process's outcome."""
    summary = {key: outcome[key] for key in ("status", "returncode", "process_wall_s", "log_tail",
                                             "parent_polled_peak_anon_bytes") if key in outcome}
    if outcome["status"] != "finished":
        return summary
    result = outcome["result"]
    report = result["report"]
    file_cpu = result.get("file_cpu_s", {})
    files = [{"file": f["file"], "status": f["status"], "lines": f["lines"], "elapsed_s": round(f["elapsed_s"], 3),
              "cpu_s": file_cpu.get(f["file"]), "index_repairs": f.get("index_repairs", 0)} for f in report["files"]]
    lines = sum(f["lines"] for f in files)
    files_s = sum(f["elapsed_s"] for f in files)
    summary.update(
        elapsed_s=report["elapsed_s"], startup_s=report["startup_s"], files_s=round(files_s, 3),
        cpu_s=result.get("cpu_s"), startup_cpu_s=result.get("startup_cpu_s"),
        files_cpu_s=round(sum(file_cpu.values()), 3) if file_cpu else None,
        peak_anon_bytes=report["peak_anon_bytes"], peak_rss_bytes=report["peak_rss_bytes"],
        vm_hwm_bytes=result.get("vm_hwm_bytes"), baseline_anon_bytes=result["baseline_anon_bytes"], lines=lines,
        sql_statements=result.get("sql_statements"), sql_executemany_rows=result.get("sql_executemany_rows"), sql_copies=result.get("sql_copies"),
        sql_by_kind=result.get("sql_by_kind"),
        files=files, totals=report["totals"], index_catchup=report.get("index_catchup"),
        all_processed=all(f["status"] == "processed" for f in files) and lines == expected_lines,
    )
    return summary


# ------------------------------------------------------------------------------------- digest check


class DigestMismatch(Exception):
    pass


def check_digests(entry: dict) -> dict:
    """Per day: the digest each design's catalog ended with. Raises when two designs differ."""
    by_day: dict[str, dict[str, set]] = {}
    for run in entry["runs"]:
        for day, summary in run["days"].items():
            if summary.get("digest"):
                by_day.setdefault(day, {}).setdefault(summary["digest"], set()).add(run["design"])
    check = {day: {"designs": sorted(set().union(*found.values())), "digests": len(found),
                   "same": len(found) == 1} for day, found in by_day.items()}
    entry["digest_check"] = check
    for day, found in by_day.items():
        if len(found) > 1:
            groups = "; ".join(f"{d[:12]}: {', '.join(sorted(ds))}" for d, ds in found.items())
            raise DigestMismatch(f"N={entry['n']}: the designs wrote different catalogs on day {day}: {groups}")
    return check


# ---------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    git = machine.git_state(PROJECT_ROOT, ignore=args.out)
    refusal = machine.dirty_refusal(git, args.allow_dirty)
    if refusal:
        print(refusal, file=sys.stderr)
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    cgroup_reason = "skipped (--no-cgroup)" if args.no_cgroup else cgroups.unavailable_reason()
    command = redact("python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:]))
    results = {
        "schema": 2,
        "command": command,
        "started_at": _now(),
        "git": git,
        "quick": args.quick,
        "machine": machine.describe(PROJECT_ROOT, ignore=args.out),
        "parameters": {"sizes": [{"n": n, "stores_per_company": k} for n, k in args.sizes],
                       "designs": args.designs, "repeats": args.repeats, "repeats_1m": args.repeats_1m,
                       "days": args.days, "days_1m": args.days_1m, "latency_ms": args.latency_ms,
                       "latency_repeats": args.latency_repeats, "latency_all_days": args.latency_all_days,
                       # What each setting really adds (the proxy's own holds and hand-offs included).
                       "latency_measured_ms": {f"{ms:g}": round(measure_round_trip(ms), 3)
                                               for ms in args.latency_ms if ms},
                       "generator_seed": args.seed,
                       "change_rates": dataclasses.asdict(CHANGE_RATES[args.change_rates]),
                       "memory_limit_bytes": args.memory_limit,
                       "limited_designs": [] if cgroup_reason else args.limited_designs,
                       "baseline_tree": str(args.baseline_tree) if args.baseline_tree else None,
                       "baseline_commit": (machine.git_state(args.baseline_tree)["commit"]
                                           if args.baseline_tree else None)},
        "memory_method": ("peak anonymous memory: RssAnon from /proc/self/status, sampled every 20 ms by a thread "
                          "of the update process and after each file; also polled every 10 ms by the parent from "
                          "/proc/PID/status; VmHWM: the kernel's peak RSS of the process; under the limit, the "
                          "cgroup's own peak (max_usage_in_bytes / memory.peak), page cache included"),
        "cold_cache": machine.drop_caches(args.cold),
        "cgroup": {"available": cgroup_reason is None, "reason": cgroup_reason},
        "sizes": [],
    }
    mismatch = None
    for n, stores in args.sizes:
        size_dir = args.work / f"n{n}-k{stores}" if args.change_rates == HIGH_CHURN.name else \
            args.work / f"n{n}-k{stores}-{args.change_rates}"
        size_dir.mkdir(parents=True, exist_ok=True)
        print(f"N={n} ({stores} stores per company): inputs", flush=True)
        big = n >= MILLION
        last_day = min(args.days, args.days_1m) if big else args.days
        # Only the days measured: at 1M a day of files is about 1.7 GB and 2 minutes to write.
        inputs = prepare_inputs(args.work, n, stores_per_company=stores, days=last_day, seed=args.seed,
                                rates=CHANGE_RATES[args.change_rates])
        dbs = databases_for(args.database_url, size_dir, prefix=f"bench_n{n}_k{stores}")
        results["database"] = {"vendor": dbs.vendor, "where": dbs.describe(), "version": dbs.version()}
        seed = seed_template(args, n, inputs, dbs, size_dir)
        entry = {"n": n, "stores_per_company": stores, "runs": [],
                 "inputs": {k: inputs.stats[k] for k in ("files", "lines", "bytes", "lines_by_day", "days",
                                                         "generated_s")},
                 "seed": seed}
        results["sizes"].append(entry)
        if args.prepare_only:
            print(f"N={n}: prepared: {inputs.stats['files']} files, seed of {seed.get('products')} products",
                  flush=True)
            continue
        machine.drop_caches(args.cold)
        days = list(range(2, last_day + 1))
        repeats = args.repeats_1m if big else args.repeats
        try:
            for latency in args.latency_ms:
                for repeat in range(1, (repeats if not latency else args.latency_repeats) + 1):
                    shift = (repeat - 1) % len(args.designs)
                    for design in args.designs[shift:] + args.designs[:shift]:
                        if design == "legacy" and big and repeat > 1:
                            continue  # 75 s of loading and 5 GB per run: once is enough to show it
                        print(f"N={n}: {design}, repeat {repeat}, +{latency:g} ms...", flush=True)
                        record = run_design(args, n, design, repeat=repeat, latency_ms=latency,
                                            days=days if not latency or args.latency_all_days else [2],
                                            inputs=inputs, dbs=dbs,
                                            size_dir=size_dir, limit_bytes=None,
                                            digest=repeat == 1 or args.digest_every_repeat)
                        entry["runs"].append(record)
                        _progress(record)
                        check_digests(entry)
                        _save(args, results)
            if cgroup_reason is None:
                for design in args.limited_designs:
                    machine.drop_caches(args.cold)
                    print(f"N={n}: {design}, whole job under {args.memory_limit >> 20} MB...", flush=True)
                    record = run_design(args, n, design, repeat=1, latency_ms=0, days=[2], inputs=inputs, dbs=dbs,
                                        size_dir=size_dir, limit_bytes=args.memory_limit, digest=False)
                    entry["runs"].append(record)
                    _progress(record)
                    _save(args, results)
        except DigestMismatch as error:
            mismatch = str(error)
            break
    if args.prepare_only:
        return 0  # nothing measured: the results file of record stays as it is
    results["finished_at"] = _now()
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["digest_mismatch"] = mismatch
    results["targets"] = evaluate_targets(results)
    _save(args, results, plot=not args.no_plot)
    print_targets(results["targets"])
    print(f"results: {args.out / (args.name + '.json')}, .md" + ("" if args.no_plot else ", .png"))
    if mismatch:
        print(f"FAILED: {mismatch}", file=sys.stderr)
        return 2
    return 0


def redact(text: str) -> str:
    """Hide the password of any database URL: the results are committed."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _progress(record: dict) -> None:
    for day, r in record["days"].items():
        if r.get("status") != "finished":
            print(f"    day {day}: {r.get('status')}: exit {r.get('returncode')}", flush=True)
            continue
        print(f"    day {day}: {r['elapsed_s']:.1f}s wall, {r['cpu_s']:.1f}s CPU ({r['startup_s']:.2f}s startup), "
              f"peak anon {r['peak_anon_bytes'] / 2**20:.0f} MB, {r['sql_statements']} statements", flush=True)
    if record.get("status") != "finished":
        print(f"    {record.get('status')}: {record.get('reason', '')}", flush=True)


def _save(args, results: dict, plot: bool = False) -> None:
    write_outputs(results, args.out, args.name, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
