"""The benchmark's outputs: the JSON of everything measured, a markdown table, a plot, and the targets.

The targets of issue #4 are checked here, on the measured figures, and printed as met or missed with
the ratio to the limit; nothing in the test suite times anything.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MB = 1 << 20
TITLES = {"lmdb": "LMDB index (this project)", "memory": "slim dicts in memory", "legacy": "legacy full objects",
          "nocache": "no cache, batched queries"}


# ------------------------------------------------------------------------------------------- targets


def _run(results, n, design, limited=False) -> dict | None:
    for entry in results["sizes"]:
        if entry["n"] == n:
            return entry["limited" if limited else "runs"].get(design)
    return None


def _finished(record) -> bool:
    return bool(record) and record.get("status") == "finished"


def _target(name, value, limit, *, met, ratio=None, unit="", note="") -> dict:
    return {"target": name, "value": value, "limit": limit, "unit": unit, "met": met,
            "ratio": None if ratio is None else round(ratio, 3), "note": note}


def evaluate_targets(results: dict, vendor: str | None) -> list[dict]:
    """Issue #4's targets at the largest size measured (they are stated for N = 1M)."""
    sizes = [e["n"] for e in results["sizes"] if e["runs"]]
    if not sizes:
        return []
    big, small = max(sizes), min(sizes)
    at = f" at N={big:,}" + ("" if big == 1_000_000 else " (the targets are stated for N=1,000,000)")
    targets = []
    lmdb = _run(results, big, "lmdb")
    if _finished(lmdb):
        anon = lmdb["peak_anon_bytes"] / MB
        targets.append(_target("LMDB peak anonymous memory <= 120 MB" + at, round(anon, 1), 120, unit="MB",
                               met=anon <= 120, ratio=anon / 120))
        base = _run(results, small, "lmdb")
        if _finished(base) and small != big:
            growth = lmdb["peak_anon_bytes"] / base["peak_anon_bytes"]
            targets.append(_target(f"LMDB peak anonymous memory <= 1.15 x its N={small:,} figure" + at,
                                   round(growth, 3), 1.15, met=growth <= 1.15, ratio=growth / 1.15))
        targets.append(_target("LMDB startup <= 0.5 s" + at, lmdb["startup_s"], 0.5, unit="s",
                               met=lmdb["startup_s"] <= 0.5, ratio=lmdb["startup_s"] / 0.5))
        memory = _run(results, big, "memory")
        if _finished(memory):
            per_file = lmdb["files_s"] / memory["files_s"]
            targets.append(_target("LMDB wall time in files <= 1.1 x the memory backend's" + at, round(per_file, 3), 1.1,
                                   met=per_file <= 1.1, ratio=per_file / 1.1,
                                   note=f"{lmdb['files_s']:.1f} s vs {memory['files_s']:.1f} s; worst file "
                                        f"{_worst_file_ratio(lmdb, memory):.2f} x"))
            if lmdb.get("files_cpu_s") and memory.get("files_cpu_s"):
                cpu = lmdb["files_cpu_s"] / memory["files_cpu_s"]
                targets.append(_target("LMDB CPU time in files <= 1.1 x the memory backend's" + at, round(cpu, 3),
                                       1.1, met=cpu <= 1.1, ratio=cpu / 1.1,
                                       note=f"{lmdb['files_cpu_s']:.1f} s vs {memory['files_cpu_s']:.1f} s of CPU: "
                                            "less sensitive than wall time to the machine's other load"))
                cpu = lmdb["cpu_s"] / memory["cpu_s"]
                targets.append(_target("LMDB whole-run CPU time lower than the memory backend's" + at,
                                       round(cpu, 3), 1.0, met=cpu < 1.0, ratio=cpu,
                                       note=f"{lmdb['cpu_s']:.1f} s vs {memory['cpu_s']:.1f} s of CPU"))
            whole = lmdb["elapsed_s"] / memory["elapsed_s"]
            targets.append(_target("LMDB whole run (startup included) faster than the memory backend" + at,
                                   round(whole, 3), 1.0, met=whole < 1.0, ratio=whole,
                                   note=f"{lmdb['elapsed_s']:.1f} s vs {memory['elapsed_s']:.1f} s"))
        build = lmdb.get("index_build")
        if build:
            per_s = build["products_per_s"]
            targets.append(_target("index build >= 100k products/s" + at + f" ({vendor})", per_s, 100_000,
                                   unit="products/s", met=per_s >= 100_000, ratio=per_s / 100_000,
                                   note=f"{build['products']:,} products + {build['skus']:,} SKUs in "
                                        f"{build['elapsed_s']:.2f} s, {build['rows_per_s']:,} rows/s"))
            per_product = build["file_bytes"] / build["products"]
            targets.append(_target("index <= 200 bytes/product on disk" + at, round(per_product, 1), 200,
                                   unit="B/product", met=per_product <= 200, ratio=per_product / 200,
                                   note=f"data.mdb {build['file_bytes'] / MB:.1f} MB; pages in use "
                                        f"{build['live_bytes'] / build['products']:.0f} B/product"))
    limited = {d: _run(results, big, d, limited=True) for d in ("lmdb", "memory", "legacy")}
    if all(limited.values()):
        outcome = {d: r.get("status") for d, r in limited.items()}
        met = outcome["lmdb"] == "finished" and outcome["memory"] != "finished" and outcome["legacy"] != "finished"
        targets.append(_target(f"under {results['parameters']['memory_limit_bytes'] // MB} MB: LMDB finishes, "
                               "memory and legacy do not" + at, outcome, None, met=met))
    elif not results["cgroup"]["available"]:
        targets.append(_target("under the memory limit" + at, None, None, met=None,
                               note=f"not measured: {results['cgroup']['reason']}"))
    return targets


def _worst_file_ratio(a: dict, b: dict) -> float:
    times = {f["file"]: f["elapsed_s"] for f in b["files"]}
    return max((f["elapsed_s"] / times[f["file"]] for f in a["files"] if times.get(f["file"])), default=0.0)


def print_targets(targets: list[dict]) -> None:
    print("targets (issue #4):")
    for t in targets:
        verdict = {True: "MET   ", False: "MISSED", None: "n/a   "}[t["met"]]
        ratio = f"  (ratio to limit {t['ratio']})" if t["ratio"] is not None else ""
        note = f"  [{t['note']}]" if t["note"] else ""
        print(f"  {verdict} {t['target']}: {t['value']} {t['unit']}{ratio}{note}")


# ------------------------------------------------------------------------------------------- outputs


def write_outputs(results: dict, out: Path, name: str, *, plot: bool) -> None:
    _write_atomically(out / f"{name}.json", json.dumps(results, indent=1, default=str))
    _write_atomically(out / f"{name}.md", markdown(results))
    if plot:
        results["plot"] = write_plot(results, out / f"{name}.png")
        _write_atomically(out / f"{name}.json", json.dumps(results, indent=1, default=str))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _num(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _mb(value) -> str:
    return f"{value / MB:.0f}" if value else "-"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark results ({results['database']['vendor'] if 'database' in results else '?'})",
        "",
        "Commands: " + "; ".join(f"`{c}`" for c in results["commands"]) + "  ",
        f"Date: {m['date_utc']}; git {m['git']}  ",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_bytes'] / 2**30:.1f} GiB RAM, "
        f"swap {m['swap_bytes'] / 2**30:.1f} GiB; load average at start {m['load_average_at_start']}"
        + (f", at end {m['load_average_at_end']}" if "load_average_at_end" in m else "") + "  ",
        f"Python {m['python']}, SQLite {m['sqlite']}, Django {m['django']}, py-lmdb {m['py_lmdb']} "
        f"(LMDB {m['lmdb']}), kernel {m['kernel']}  ",
        f"Inputs: {results['parameters']['stores_per_company']} store per company, 3 companies, 2 days; "
        "day 1 seeds the database, day 2 is measured.  ",
        f"Memory: {results['memory_method']}.",
        "",
        *[f"N={e['n']:,} measured {m['started_at']} to {m.get('finished_at', '?')}, load average "
          f"{m['load_average_at_start']} at start, {m.get('load_average_at_end', '?')} at end (2 CPUs shared "
          "with other work)  " for e in results["sizes"] for m in e.get("measured", [])],
        "",
        "Times are wall seconds unless marked CPU (user + system seconds of the update process, which the "
        "other load on the machine disturbs much less); lines/s is lines over the time spent in files.",
        "",
        "| N | design | peak anon MB | peak RSS MB | startup s | files s | whole run s | lines/s | files CPU s | "
        f"whole run CPU s | under {results['parameters']['memory_limit_bytes'] // MB} MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in results["sizes"]:
        for design, r in entry["runs"].items():
            limited = entry["limited"].get(design)
            if not results["cgroup"]["available"]:
                under = "not measured"
            elif limited is None:
                under = "-"
            else:
                under = limited.get("status", "?")
                if limited.get("status") == "finished":
                    under += f" ({limited['elapsed_s']:.0f} s)"
            if r.get("status") != "finished":
                lines.append(f"| {entry['n']:,} | {design} | {r.get('status')} | | | | | | | | {under} |")
                continue
            lines.append(f"| {entry['n']:,} | {design} | {_mb(r['peak_anon_bytes'])} | {_mb(r['peak_rss_bytes'])} | "
                         f"{r['startup_s']:.2f} | {r['files_s']:.1f} | {r['elapsed_s']:.1f} | {r['lines_per_s']:,} | "
                         f"{_num(r.get('files_cpu_s'))} | {_num(r.get('cpu_s'))} | {under} |")
    lines += ["", "Per file (seconds, lines/s):", "",
              "| N | design | file | lines | s | lines/s | CPU s |", "|---:|---|---|---:|---:|---:|---:|"]
    for entry in results["sizes"]:
        for design, r in entry["runs"].items():
            for f in r.get("files", []):
                lines.append(f"| {entry['n']:,} | {design} | {f['file']} | {f['lines']:,} | {f['elapsed_s']:.1f} | "
                             f"{f['lines_per_s']:,} | {_num(f.get('cpu_s'))} |")
    lines += ["", "LMDB index build (a separate process, on the seeded database):", "",
              "| N | products | SKUs | build s | products/s | rows/s | data.mdb MB | B/product (file) | "
              "B/product (pages in use) | build peak anon MB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in results["sizes"]:
        b = (entry["runs"].get("lmdb") or {}).get("index_build")
        if b:
            lines.append(f"| {entry['n']:,} | {b['products']:,} | {b['skus']:,} | {b['elapsed_s']:.2f} | "
                         f"{b['products_per_s']:,} | {b['rows_per_s']:,} | {b['file_bytes'] / MB:.1f} | "
                         f"{b['file_bytes'] / b['products']:.0f} | {b['live_bytes'] / b['products']:.0f} | "
                         f"{_mb(b['peak_anon_bytes'])} |")
    lines += ["", "Under the memory limit (cgroup):", ""]
    if not results["cgroup"]["available"]:
        lines.append(f"Not measured: {results['cgroup']['reason']}.")
    else:
        lines += ["| N | design | outcome | exit | peak anon MB | cgroup max usage MB | OOM kills |",
                  "|---:|---|---|---:|---:|---:|---:|"]
        for entry in results["sizes"]:
            for design, r in entry["limited"].items():
                cg = r.get("cgroup", {})
                lines.append(f"| {entry['n']:,} | {design} | {r.get('status')} | {r.get('returncode')} | "
                             f"{_mb(r.get('peak_anon_bytes'))} | {_mb(cg.get('max_usage_bytes'))} | "
                             f"{cg.get('oom_kills', '-')} |")
    lines += ["", "Seeding (day 1, LMDB backend, once per N):", "",
              "| N | products | SKUs | prices | day-1 lines | seconds | database MB |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in results["sizes"]:
        s = entry["seed"]
        lines.append(f"| {entry['n']:,} | {s['products']:,} | {s['skus']:,} | {s['prices']:,} | {s['lines']:,} | "
                     f"{s['elapsed_s']:.0f} | {_mb(s.get('database_bytes'))} |")
    if results.get("targets"):
        lines += ["", "Targets (issue #4):", ""]
        for t in results["targets"]:
            verdict = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
            ratio = f" (ratio to the limit {t['ratio']})" if t["ratio"] is not None else ""
            note = f"; {t['note']}" if t["note"] else ""
            lines.append(f"- {verdict}: {t['target']}: {t['value']} {t['unit']}{ratio}{note}")
    return "\n".join(lines) + "\n"


def write_plot(results: dict, path: Path) -> str:
    """Memory and time against N, one line per design; says why when there is no plot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return "not drawn: matplotlib is not installed (pip install -e .[bench])"
    panels = [("peak anonymous memory (MB)", lambda r: r["peak_anon_bytes"] / MB),
              ("startup: index ready (s)", lambda r: r["startup_s"]),
              ("whole run, day 2 (s)", lambda r: r["elapsed_s"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.6))
    designs = list(dict.fromkeys(d for e in results["sizes"] for d in e["runs"]))
    for ax, (title, value) in zip(axes, panels):
        for design in designs:
            points = [(e["n"], value(e["runs"][design])) for e in results["sizes"]
                      if _finished(e["runs"].get(design))]
            if points:
                ax.plot(*zip(*points), marker="o", label=TITLES.get(design, design))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("catalog size N (products)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    limit = results["parameters"]["memory_limit_bytes"] / MB
    axes[0].axhline(limit, color="grey", linestyle="--", linewidth=1)
    axes[0].text(axes[0].get_xlim()[0], limit * 1.05, f" {limit:.0f} MB limit", color="grey", fontsize=8)
    axes[0].legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(f"grocery-update day-2 run per design ({results.get('database', {}).get('vendor', '?')}, "
                 f"{m['nproc']} CPUs, {m['date_utc']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path.name)


def main(argv=None) -> int:
    """Redraw the table, the plot and the targets from a results JSON: ``python -m bench.results FILE``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.results")
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    results["targets"] = evaluate_targets(results, results.get("database", {}).get("vendor"))
    write_outputs(results, args.results.parent, args.results.stem, plot=True)
    print_targets(results["targets"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
