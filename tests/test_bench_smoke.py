"""The benchmark end to end at a tiny size: every design runs and reports sane figures.

A smoke test of the benchmark's plumbing (seeding, copies, child processes, cgroups, outputs), not of
speed: timing targets are checked by the benchmark itself, on real sizes, never here.
"""
from __future__ import annotations

import json

import pytest

from bench import cgroup
from bench.run import DESIGN_ORDER, main

PRODUCTS = 300


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    out = root / "out"
    # An explicit empty URL: SQLite files under --work, whatever DATABASE_URL the suite runs with.
    assert main(["--sizes", str(PRODUCTS), "--work", str(root / "work"), "--out", str(out),
                 "--database-url", ""]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_every_design_ran_day_2_completely(results):
    _, data = results
    (entry,) = data["sizes"]
    day2_lines = entry["inputs"]["lines_by_day"]["2"]
    assert entry["seed"]["products"] > 0.5 * PRODUCTS
    assert set(entry["runs"]) == set(DESIGN_ORDER)
    for design, run in entry["runs"].items():
        assert run["status"] == "finished", (design, run.get("log_tail"))
        assert run["all_processed"], design
        assert run["lines"] == day2_lines
        assert 10 << 20 < run["peak_anon_bytes"] <= run["peak_rss_bytes"] < 2 << 30, design
        assert 0 <= run["startup_s"] <= run["elapsed_s"]
        assert 0 < run["files_s"] <= run["elapsed_s"]
        assert run["lines_per_s"] > 0
        assert 0 < run["files_cpu_s"] <= run["cpu_s"]
        assert [f["file"] for f in run["files"]] == sorted(f["file"] for f in run["files"])


def test_designs_found_the_seeded_catalog(results):
    _, data = results
    runs = data["sizes"][0]["runs"]
    # All designs ran the same update on the same copy: they must agree on what it did.
    totals = {design: {k: run["totals"][k] for k in ("products_created", "prices_created", "prices_updated",
                                                     "prices_deleted")} for design, run in runs.items()}
    assert len({json.dumps(t, sort_keys=True) for t in totals.values()}) == 1, totals
    # A cache that knows the catalog repairs nothing; the design without one asks the database for every key.
    assert runs["lmdb"]["totals"]["index_repairs"] == 0
    assert runs["memory"]["totals"]["index_repairs"] == 0
    assert runs["legacy"]["totals"]["index_repairs"] == 0
    assert runs["nocache"]["totals"]["index_repairs"] > 0


def test_lmdb_index_build_is_measured(results):
    _, data = results
    entry = data["sizes"][0]
    build = entry["runs"]["lmdb"]["index_build"]
    assert build["products"] == entry["seed"]["products"]
    assert build["skus"] == entry["seed"]["skus"]
    assert build["products_per_s"] > 0
    assert 0 < build["live_bytes"] <= build["used_bytes"] <= build["file_bytes"]


def test_memory_limit_runs_or_says_why_not(results):
    _, data = results
    entry = data["sizes"][0]
    if cgroup.unavailable_reason():
        assert not data["cgroup"]["available"] and data["cgroup"]["reason"]
        assert entry["limited"] == {}
        return
    assert set(entry["limited"]) == set(DESIGN_ORDER)
    for design, run in entry["limited"].items():
        # 300 products fit in 256 MB whatever the design.
        assert run["status"] == "finished", (design, run.get("log_tail"))
        assert run["cgroup"]["oom_kills"] == 0
        assert run["cgroup"]["max_usage_bytes"] > 0


def test_outputs_and_targets(results):
    out, data = results
    table = (out / "results.md").read_text()
    for design in DESIGN_ORDER:
        assert f"| {PRODUCTS} | {design} |" in table
    assert {t["met"] for t in data["targets"]} <= {True, False, None}
    assert any("LMDB startup" in t["target"] for t in data["targets"])
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert data["plot"].startswith("not drawn")
    else:
        assert (out / "results.png").stat().st_size > 0
