"""The benchmark's outputs from one results JSON: markdown tables, a plot, and the issue's targets.

Every figure is a median over the repeats with its min-max range, read from the runs the JSON holds;
``python -m bench.results FILE.json`` redraws them all, so a figure in the docs is a figure of a file.
"""
from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

MB = 1 << 20
TITLES = {"lmdb": "LMDB index (this project)", "memory": "slim dicts in memory", "legacy": "legacy full objects",
          "nocache": "no index, batched queries + alias table", "baseline": "LMDB at the baseline commit",
          "memory-unfrozen": "slim dicts, maps left to the collector (pre-issue-10)",
          "floor": "read-side floor: parse, 2 digests, 3 LMDB gets a line"}


# ------------------------------------------------------------------------------------------ reading


def runs(entry: dict, design: str | None = None, *, latency: float = 0, limited: bool = False) -> list[dict]:
    return [r for r in entry["runs"] if (design is None or r["design"] == design)
            and r.get("latency_ms", 0) == latency and r.get("limited", False) == limited]


def designs_of(entry: dict) -> list[str]:
    return list(dict.fromkeys(r["design"] for r in entry["runs"]))


def values(entry: dict, design: str, day: str, metric, *, latency: float = 0) -> list[float]:
    """``metric`` (a key or a function of the day's summary) over the finished repeats."""
    found = []
    for r in runs(entry, design, latency=latency):
        summary = r["days"].get(day)
        if summary and summary.get("status") == "finished":
            value = metric(summary) if callable(metric) else summary.get(metric)
            if value is not None:
                found.append(value)
    return found


def spread(vals: list[float]) -> tuple[float, float, float, int] | None:
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals), len(vals)


def per_thousand(key: str):
    return lambda s: 1000 * s[key] / s["lines"] if s.get(key) is not None and s.get("lines") else None


def tuples_per_thousand(s: dict):
    activity = s.get("database_activity")
    if not activity or not s.get("lines"):
        return None
    return 1000 * (activity["tup_returned"] + activity["tup_fetched"]) / s["lines"]


def _fmt(stat, scale: float = 1.0, digits: int = 1) -> str:
    if stat is None:
        return "-"
    med, low, high, count = stat
    text = f"{med / scale:,.{digits}f}"
    if count > 1:
        text += f" ({low / scale:,.{digits}f}-{high / scale:,.{digits}f})"
    return text


# ------------------------------------------------------------------------------------------- targets


def _target(name, value, limit, *, met, ratio=None, unit="", note="") -> dict:
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": met,
            "ratio": None if ratio is None else round(ratio, 3), "note": note}


def _ratio_target(results, name, design, other, metric, limit, *, day="2", latency=0, unit="") -> dict:
    """``design``'s median over ``other``'s at the largest size where both ran."""
    for entry in sorted(results["sizes"], key=lambda e: -e["n"]):
        a = spread(values(entry, design, day, metric, latency=latency))
        b = spread(values(entry, other, day, metric, latency=latency))
        if a and b and b[0]:
            ratio = a[0] / b[0]
            return _target(f"{name} (N={entry['n']:,})", round(ratio, 3), limit, met=None if limit is None
                           else ratio <= limit, ratio=ratio, unit=unit,
                           note=f"medians {a[0]:,.2f} vs {b[0]:,.2f} over {a[3]} and {b[3]} runs")
    return _target(name, None, limit, met=None, note=f"not measured: no size where both {design} and {other} ran")


def evaluate_targets(results: dict) -> list[dict]:
    """The targets of the tier-1 issue and the fair memory comparison of issue 10, on medians."""
    targets = []
    mismatch = results.get("digest_mismatch")
    checked = [(e["n"], day) for e in results["sizes"] for day, c in e.get("digest_check", {}).items()
               if len(c["designs"]) > 1]
    targets.append(_target("every design wrote the same catalog after every day", len(checked), None,
                           met=(not mismatch) if checked else None,
                           note=mismatch or f"{len(checked)} (size, day) pairs compared"))
    cpu = "cpu_s"
    targets.append(_ratio_target(results, "day-2 update CPU: lmdb <= 0.5 x the pre-change LMDB design", "lmdb",
                                 "baseline", cpu, 0.5))
    targets.append(_ratio_target(results, "day-2 update CPU: lmdb <= 0.7 x the no-index design", "lmdb", "nocache",
                                 cpu, 0.7))
    targets.append(_ratio_target(results, "SQL statements per 1,000 lines on day 2: lmdb <= 0.5 x no-index", "lmdb",
                                 "nocache", per_thousand("sql_statements"), 0.5))
    targets.append(_ratio_target(results, "PostgreSQL +1 ms round trip, day-2 wall: lmdb <= 0.5 x no-index", "lmdb",
                                 "nocache", "elapsed_s", 0.5, latency=1))
    if any(r.get("latency_ms") and "3" in r.get("days", {}) for e in results["sizes"] for r in e["runs"]):
        # Day 2 follows the index's build, which remembers no line; day 3 is a cron day (issue 20).
        targets.append(_ratio_target(results, "PostgreSQL +1 ms round trip, day-3 wall (the index remembers "
                                     "day 2): lmdb <= 0.3 x no-index", "lmdb", "nocache", "elapsed_s", 0.3,
                                     day="3", latency=1))
    targets.append(_ratio_target(results, "day-2 update CPU, lmdb over the GC-fixed memory backend (no target)",
                                 "lmdb", "memory", cpu, None))
    if any(r["design"] == "memory-unfrozen" for e in results["sizes"] for r in e["runs"]):
        targets.append(_ratio_target(results, "day-2 update CPU, GC-fixed memory backend over the unfrozen one "
                                     "(the artifact; no target)", "memory", "memory-unfrozen", cpu, None))
    big = [e for e in results["sizes"] if e["n"] >= 1_000_000]
    if big:
        peaks = values(big[-1], "lmdb", "2", "peak_anon_bytes") + values(big[-1], "lmdb", "2",
                                                                           "parent_polled_peak_anon_bytes")
        if peaks:
            worst = max(peaks) / MB
            targets.append(_target("peak anonymous memory at 1M <= 60 MB (lmdb, worst run, either sampler)",
                                   round(worst, 1), 60, unit="MB", met=worst <= 60, ratio=worst / 60))
    limited = [r for e in results["sizes"] for r in runs(e, "lmdb", limited=True)]
    if limited:
        entry = max((e for e in results["sizes"] if runs(e, "lmdb", limited=True)), key=lambda e: e["n"])
        r = runs(entry, "lmdb", limited=True)[0]
        limit = results["parameters"]["memory_limit_bytes"] // MB
        targets.append(_target(f"day 2 finishes in a {limit} MB cgroup, build included (lmdb, N={entry['n']:,})",
                               r.get("status"), "finished", met=r.get("status") == "finished",
                               note=f"cgroup peak {r.get('cgroup', {}).get('max_usage_bytes', 0) / MB:.0f} MB"))
    elif not results["cgroup"]["available"]:
        targets.append(_target("day 2 under the memory limit", None, None, met=None,
                               note=f"not measured: {results['cgroup']['reason']}"))
    return targets


def print_targets(targets: list[dict]) -> None:
    print("targets:")
    for t in targets:
        verdict = {True: "MET   ", False: "MISSED", None: "n/a   "}[t["met"]]
        ratio = f"  (ratio {t['ratio']})" if t["ratio"] is not None else ""
        note = f"  [{t['note']}]" if t["note"] else ""
        print(f"  {verdict} {t['target']}: {t['value']} {t['unit']}{ratio}{note}")


# ------------------------------------------------------------------------------------------- outputs


def write_outputs(results: dict, out: Path, name: str, *, plot: bool) -> None:
    if plot:
        results["plot"] = write_plot(results, out / f"{name}.png")
    _write_atomically(out / f"{name}.json", json.dumps(results, indent=1, default=str))
    _write_atomically(out / f"{name}.md", markdown(results))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def markdown(results: dict) -> str:
    m, p = results["machine"], results["parameters"]
    git = results["git"]
    lines = [
        f"# Benchmark results ({results.get('database', {}).get('version', '?')})",
        "",
    ]
    if results.get("quick"):
        lines += ["**A --quick run (10k products, 2 repeats), on whatever machine and load the lines below name: "
                  "a check that the benchmark works, not the figures of record.**", ""]
    lines += [
        f"Command: `{results['command']}`  ",
        f"Commit {git['commit']}" + (f", **with uncommitted changes** in {', '.join(git['changed'])}"
                                     if git["dirty"] else ", clean tree") + "  ",
        f"From {results['started_at']} to {results.get('finished_at', '(unfinished)')} on {m.get('hostname', '?')}: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['memory_bytes'] / 2**30:.1f} GiB RAM, swap {m['swap_bytes'] / 2**30:.1f} GiB; "
        f"load average {m['load_average_at_start']} at start, {m.get('load_average_at_end', '?')} at end  ",
        f"Python {m['python']}, Django {m['django']}, py-lmdb {m['py_lmdb']} (LMDB {m['lmdb']}), kernel {m['kernel']}  ",
        f"Database: {results.get('database', {}).get('where', '?')}  ",
        f"Repeats: {p['repeats']} per design below 1M, {p['repeats_1m']} at 1M (legacy once), designs interleaved, "
        f"order rotated per repeat; days 2-{p['days']} measured on the kept catalog and index (2-{p['days_1m']} at 1M)  ",
        f"Memory: {results['memory_method']}.  ",
        f"Page cache: {results.get('cold_cache', '?')}.",
        "",
        "Figures are medians over the repeats, (min-max) beside them. Wall and CPU seconds are the update "
        "process's (CPU: user + system); startup is from the start of the run to its first file (opening, "
        "catching up or loading the index).",
        "",
    ]
    for entry in results["sizes"]:
        lines += _size_tables(results, entry)
    if results.get("targets"):
        lines += ["## Targets", ""]
        for t in results["targets"]:
            verdict = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
            ratio = f" (ratio {t['ratio']})" if t["ratio"] is not None else ""
            note = f"; {t['note']}" if t["note"] else ""
            lines.append(f"- {verdict}: {t['target']}: {t['value']} {t['unit']}{ratio}{note}")
    return "\n".join(lines) + "\n"


def _size_tables(results: dict, entry: dict) -> list[str]:
    n = entry["n"]
    inputs, seed = entry["inputs"], entry["seed"]
    lines = [f"## N = {n:,} products, {entry['stores_per_company']} store(s) per company", "",
             f"Inputs: {inputs['files']} files, {inputs['lines']:,} lines over {len(inputs['days'])} days "
             f"(lines per day {', '.join(f'{v:,}' for v in inputs['lines_by_day'].values())}). "
             f"Seed (day 1): {seed['products']:,} products, {seed['skus']:,} SKUs, {seed['prices']:,} prices in "
             f"{seed['elapsed_s']:.0f} s, at commit {seed.get('git', 'unknown')}"
             f"{' (a template reused from an earlier invocation)' if seed.get('reused') else ''}.", ""]
    check = entry.get("digest_check", {})
    if check:
        lines += ["Catalog digests after each day: " + "; ".join(
            f"day {day}: {'same' if c['same'] else '**DIFFERENT**'} for {', '.join(c['designs'])}"
            for day, c in sorted(check.items())), ""]
    designs = designs_of(entry)
    floor_cpu = spread(values(entry, "floor", "2", "cpu_s"))
    lines += ["### Day 2", "",
              "| design | runs | wall s | CPU s | CPU x floor | startup s | peak anon MB | parent-polled peak anon MB | "
              "VmHWM MB | SQL statements / 1,000 lines | DB tuples read / 1,000 lines |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for design in designs:
        count = len(runs(entry, design))
        if not count:
            continue
        get = lambda metric: spread(values(entry, design, "2", metric))  # noqa: E731
        cpu = get("cpu_s")
        # The ratio of medians, taken in this run: the floor read the same lines on the same machine.
        ratio = f"{cpu[0] / floor_cpu[0]:.2f}" if cpu and floor_cpu and floor_cpu[0] else "-"
        lines.append(f"| {design} | {count} | {_fmt(get('elapsed_s'))} | {_fmt(cpu)} | {ratio} | "
                     f"{_fmt(get('startup_s'), digits=2)} | {_fmt(get('peak_anon_bytes'), MB)} | "
                     f"{_fmt(get('parent_polled_peak_anon_bytes'), MB)} | {_fmt(get('vm_hwm_bytes'), MB)} | "
                     f"{_fmt(get(per_thousand('sql_statements')))} | {_fmt(get(tuples_per_thousand), digits=0)} |")
    lines += _statement_kinds_table(entry, designs)
    days = sorted({d for r in runs(entry) for d in r["days"]}, key=int)
    if len(days) > 1:
        lines += ["", "### Steady state: each day on what the day before left", "",
                  "| design | day | wall s | CPU s | startup s (catch-up or load) | peak anon MB |",
                  "|---|---:|---:|---:|---:|---:|"]
        for design in designs:
            for day in days:
                get = lambda metric: spread(values(entry, design, day, metric))  # noqa: E731
                if get("elapsed_s"):
                    lines.append(f"| {design} | {day} | {_fmt(get('elapsed_s'))} | {_fmt(get('cpu_s'))} | "
                                 f"{_fmt(get('startup_s'), digits=3)} | {_fmt(get('peak_anon_bytes'), MB)} |")
        lines += ["", "Amortized cost of keeping an index, per run (seconds): the build once (and again after "
                  "a migration, which rebuilds), then each run's startup, against loading at every start.", "",
                  "| design | build / preparation s | startup, day 2 | startup, later days (catch-up) | "
                  "runs for the build to pay for itself |", "|---|---:|---:|---:|---:|"]
        memory_start = spread(values(entry, "memory", "2", "startup_s"))
        for design in designs:
            prep = spread([r["prepare"]["elapsed_s"] for r in runs(entry, design)
                           if r.get("prepare", {}).get("elapsed_s") is not None])
            later = spread([v for day in days[1:] for v in values(entry, design, day, "startup_s")])
            first = spread(values(entry, design, "2", "startup_s"))
            payback = "-"
            if prep and later and memory_start and memory_start[0] > later[0]:
                payback = f"{prep[0] / (memory_start[0] - later[0]):.1f}"
            lines.append(f"| {design} | {_fmt(prep, digits=2)} | {_fmt(first, digits=3)} | {_fmt(later, digits=3)} "
                         f"| {payback} |")
    latencies = sorted({r.get("latency_ms", 0) for r in entry["runs"]} - {0})
    latency_days = sorted({day for r in entry["runs"] if r.get("latency_ms") for day in r.get("days", {})}, key=int)
    for day in latency_days:
        measured = results["parameters"].get("latency_measured_ms") or {}
        lines += ["", f"### Round trip added to the database (day {day})", ""]
        if measured:
            lines += ["Measured through the proxy at the start (median of 50 exchanges, less the same without "
                      "it): " + ", ".join(f"{k} ms adds {v} ms" for k, v in measured.items()) + ".", ""]
        lines += ["| design | added round trip ms | runs | wall s | CPU s | SQL statements / 1,000 lines | "
                  "DB tuples read / 1,000 lines |", "|---|---:|---:|---:|---:|---:|---:|"]
        for design in designs:
            for latency in [0, *latencies]:
                get = lambda metric: spread(values(entry, design, day, metric, latency=latency))  # noqa: E731
                if get("elapsed_s"):
                    lines.append(f"| {design} | {latency:g} | {len(runs(entry, design, latency=latency))} | "
                                 f"{_fmt(get('elapsed_s'))} | {_fmt(get('cpu_s'))} | "
                                 f"{_fmt(get(per_thousand('sql_statements')))} | "
                                 f"{_fmt(get(tuples_per_thousand), digits=0)} |")
    limited = runs(entry, limited=True)
    if limited:
        limit = results["parameters"]["memory_limit_bytes"] // MB
        lines += ["", f"### The whole job in a {limit} MB cgroup (preparation and day 2, page cache charged)", "",
                  "| design | outcome | cgroup peak MB | OOM kills | day-2 peak anon MB | parent-polled MB |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in limited:
            day2 = r["days"].get("2", {})
            cg = r.get("cgroup", {})
            lines.append(f"| {r['design']} | {r.get('status')} | {cg.get('max_usage_bytes', 0) / MB:.0f} | "
                         f"{cg.get('oom_kills', '-')} | {(day2.get('peak_anon_bytes') or 0) / MB:.0f} | "
                         f"{(day2.get('parent_polled_peak_anon_bytes') or 0) / MB:.0f} |")
    lines += ["", "<details><summary>Every run: commit, load and steal time</summary>", "",
              "| design | repeat | +ms | limited | commit | started | load avg start / end | steal s | status |",
              "|---|---:|---:|---|---|---|---|---:|---|"]
    for r in entry["runs"]:
        pv = r["provenance"]
        lines.append(f"| {r['design']} | {r['repeat']} | {r.get('latency_ms', 0):g} | {r.get('limited', False)} | "
                     f"{pv['commit'][:10]} | {pv['started_at']} | {pv['load_average_at_start'][0]} / "
                     f"{pv.get('load_average_at_end', ['?'])[0]} | {pv.get('steal_s', '-')} | {r.get('status')} |")
    lines += ["", "</details>", ""]
    return lines


def _statement_kinds_table(entry: dict, designs: list[str]) -> list[str]:
    """Day 2's statements per 1,000 lines by verb and first table, per design: which work the index saves
    and which it cannot (writes, and the reads that decide them)."""
    def kind_rate(kind):
        return lambda s: (1000 * s["sql_by_kind"].get(kind, 0) / s["lines"]
                          if s.get("sql_by_kind") is not None and s.get("lines") else None)

    kinds = sorted({k for r in runs(entry) for k in (r["days"].get("2", {}).get("sql_by_kind") or {})})
    if not kinds:
        return []
    rates = {(d, k): spread(values(entry, d, "2", kind_rate(k))) for d in designs for k in kinds}
    shown = [d for d in designs if any(rates[d, k] for k in kinds)]
    kinds.sort(key=lambda k: -max((rates[d, k] or (0,))[0] for d in shown))
    lines = ["", "Where day 2's statements go: per 1,000 lines, by verb and the first table named (median of the "
             "repeats).", "", "| statement | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
    for kind in kinds:
        lines.append(f"| {kind} | " + " | ".join(f"{rates[d, kind][0]:.2f}" if rates[d, kind] else "-"
                                                 for d in shown) + " |")
    return lines


def write_plot(results: dict, path: Path) -> str:
    """Day 2 against N, one line per design, median with min-max error bars; says why when there is none."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not drawn: matplotlib is not installed (pip install -e .[bench])"
    panels = [("peak anonymous memory, day 2 (MB)", "peak_anon_bytes", MB),
              ("wall seconds, day 2", "elapsed_s", 1), ("CPU seconds, day 2", "cpu_s", 1),
              ("SQL statements per 1,000 lines, day 2", per_thousand("sql_statements"), 1)]
    fig, axes = plt.subplots(1, len(panels), figsize=(19, 4.8))
    designs = list(dict.fromkeys(d for e in results["sizes"] for d in designs_of(e)))
    sizes = sorted(results["sizes"], key=lambda e: e["n"])
    for ax, (title, metric, scale) in zip(axes, panels):
        for rank, design in enumerate(designs):
            # Each design a little to the side of the size it ran at, so error bars do not hide each other.
            dodge = 1 + 0.06 * (rank - (len(designs) - 1) / 2)
            xs, meds, lows, highs = [], [], [], []
            for e in sizes:
                stat = spread(values(e, design, "2", metric))
                if stat:
                    xs.append(e["n"] * dodge)
                    meds.append(stat[0] / scale)
                    lows.append((stat[0] - stat[1]) / scale)
                    highs.append((stat[2] - stat[0]) / scale)
            if xs:
                ax.errorbar(xs, meds, yerr=[lows, highs], marker="o", capsize=3, label=TITLES.get(design, design))
        ax.set_xscale("log")
        ns = [e["n"] for e in sizes]
        if ns:
            ax.set_xlim(min(ns) * 0.75, max(ns) * 1.33)
            ax.minorticks_off()
            ax.set_xticks(ns, [f"{n:,}" for n in ns])
        ax.set_xlabel("catalog size N (products)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    m = results["machine"]
    version = results.get("database", {}).get("version", "?")
    fig.suptitle(f"day-2 update per design, median and min-max of the repeats ({version}, {m['nproc']} CPUs, {m['date_utc']}, commit {results['git']['commit'][:10]}"
                 + (", QUICK RUN" if results.get("quick") else "") + ")", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path.name)


DOCS_BEGIN = "<!-- results:begin (python -m bench.results --docs docs/benchmarks.md FILE.json...) -->"
DOCS_END = "<!-- results:end -->"


def write_docs(docs: Path, files: list[Path]) -> None:
    """Replace the results region of ``docs`` with the tables and plot of each results file, so every
    figure there is one of a committed file, redrawn by one command."""
    text = docs.read_text()
    start, end = text.index(DOCS_BEGIN), text.index(DOCS_END)
    parts = []
    for path in files:
        results = json.loads(path.read_text())
        rel = os.path.relpath(path, docs.parent)
        body = markdown(results).replace("\n## ", "\n#### ").replace("\n### ", "\n##### ")
        body = body.split("\n", 1)[1]  # its title becomes the heading below
        parts.append(f"### From [`{path.name}`]({rel}) ({results.get('database', {}).get('version', '?')})\n"
                     + (f"\n![day 2 per design]({os.path.relpath(path.with_suffix('.png'), docs.parent)})\n"
                        if path.with_suffix(".png").exists() else "") + body)
    docs.write_text(text[:start + len(DOCS_BEGIN)] + "\n\n" + "\n".join(parts) + "\n" + text[end:])


def main(argv=None) -> int:
    """Redraw the tables, the plot and the targets from results files: ``python -m bench.results FILE...``;
    with ``--docs docs/benchmarks.md`` also rewrite that page's results from them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.results")
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--docs", type=Path, default=None)
    args = parser.parse_args(argv)
    for path in args.results:
        results = json.loads(path.read_text())
        results["targets"] = evaluate_targets(results)
        write_outputs(results, path.parent, path.stem, plot=True)
        print(path)
        print_targets(results["targets"])
    if args.docs:
        write_docs(args.docs, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
