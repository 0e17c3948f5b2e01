"""Lines their store sent before skip the database, and the catalog is the one the full update makes.

Each scenario runs twice on an empty catalog, with the skip on and off (``UpdateOptions.skip_unchanged``),
and the two catalogs must have one digest; the skip must also have happened where it should, or the
comparison would prove nothing. Then the cases where a line is the same but must not be skipped: another
writer changed its product or moved its SKU, its was-price came from a price fall, its price was deleted,
it carries warnings of its own. Lines sharing a key are one unit, skipped or updated together.
"""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from catalog.digest import database_digest
from catalog.models import SKU, Category, Company, Price, Product, ProductBrand, ProductCategory, Store
from diskcache_tier.models import IndexChange, LogConsumer
from ledger.models import RunFile, UpdateRun
from update.orchestrator import run_update

from .conftest import drop
from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)


def _empty_catalog(workspace) -> None:
    # A new database: no index follows its log yet (an index of the last catalog would hold its rows back).
    for model in (RunFile, UpdateRun, Price, ProductCategory, SKU, Product, Category, ProductBrand, Store, Company,
                  IndexChange, LogConsumer):
        model.objects.all().delete()
    for folder in (workspace.inbox, workspace.archive, workspace.rejected):
        shutil.rmtree(folder)
        folder.mkdir()


def both_ways(workspace, tmp_path, steps) -> dict:
    """Run ``steps`` (callables of the workspace; each returns a report or None) with the skip on and off:
    {skip: (digest, [reports])}."""
    outcome = {}
    for skip in (True, False):
        _empty_catalog(workspace)
        workspace.index_path = tmp_path / f"index-{skip}"
        workspace.skip_unchanged = skip
        reports = [report for step in steps if (report := step(workspace)) is not None]
        assert all(not r.count("failed") for r in reports)
        outcome[skip] = (database_digest(), reports)
    assert outcome[True][0] == outcome[False][0], "the skip changed the catalog"
    return outcome


def day(products, date, company="iga"):
    def step(workspace):
        write_file(workspace.inbox, company, date, products)
        return run_update(workspace)
    return step


def unchanged(report) -> list[int]:
    return [f.lines_unchanged for f in report.files]


FILL = [product(f"p{n}", sku=f"S{n}", barcode=None) for n in range(40)]


def test_real_files_make_one_catalog_with_the_skip_on_and_off(workspace, tmp_path, real_files):
    def everything(ws):
        drop(real_files, ws.inbox)
        return run_update(ws)

    outcome = both_ways(workspace, tmp_path, [everything])
    files = {f.file: f for f in outcome[True][1][0].files}
    # 3 days after their first scrape, two Aldi stores' lines are nearly all the same.
    for name in ("aldi-carindale-g102-2025-09-12.jsonl", "aldi-highfields-g110-2025-09-12.jsonl"):
        assert files[name].lines_unchanged > 0.95 * files[name].unique_lines
        assert files[name].prices_unchanged >= files[name].lines_unchanged
    assert all(f.lines_unchanged == 0 for f in outcome[False][1][0].files)


def test_an_unchanged_day_is_skipped_and_a_changed_line_is_not(workspace, tmp_path):
    changed = [{**line, "price_current": 9.99} if n == 7 else line for n, line in enumerate(FILL)]
    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), day(FILL, "2025-09-02"),
                                              day(changed, "2025-09-03")])
    reports = outcome[True][1]
    assert unchanged(reports[1]) == [40] and unchanged(reports[2]) == [39]
    assert reports[2].files[0].prices_updated == 1
    assert Price.objects.get(product__normalized_name_brand_size="p7").price == Decimal("9.99")


class StatementCounter:
    """Counts statements, and apart the check PostgreSQL makes before each chunk for other writers."""

    def __init__(self):
        self.count = 0
        self.other_writer_checks = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("SELECT MAX(id), MIN("):  # changelog.head_and_first_other
            self.other_writer_checks += 1
        else:
            self.count += 1
        return execute(sql, params, many, context)


def statements_of_a_day(workspace, tmp_path, lines: int, extra: list[dict] = ()) -> StatementCounter:
    _empty_catalog(workspace)
    # An index of its own: the emptied catalog is a new database, and PostgreSQL's ids do not start again.
    workspace.index_path = tmp_path / f"index-{lines}-{len(extra)}"
    fill = [product(f"q{n}", sku=f"Q{n}") for n in range(lines)] + list(extra)
    write_file(workspace.inbox, "aldi", "2025-09-01", fill)
    run_update(workspace)
    write_file(workspace.inbox, "aldi", "2025-09-02", fill)
    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        report = run_update(workspace)
    assert unchanged(report) == [len(fill)]
    return counter


def test_a_chunk_of_unchanged_lines_sends_no_statement(workspace, tmp_path):
    workspace.chunk_size = 50
    four, twenty_four = (statements_of_a_day(workspace, tmp_path, lines) for lines in (200, 1200))
    # 4 chunks or 24: the statements are the file's and the run's, none of them a chunk's ...
    assert four.count == twenty_four.count
    # ... but on PostgreSQL, where another writer may commit during the file, the log's head before the
    # first chunk and every tenth (one indexed MAX/MIN: a statement per 5,000 lines at the default size).
    if connection.vendor == "postgresql":
        assert (four.other_writer_checks, twenty_four.other_writer_checks) == (1, 3)
    else:
        assert four.other_writer_checks == twenty_four.other_writer_checks


def statements_of_a_changed_day(workspace, tmp_path, name: str, changed: list[int]) -> int:
    """Statements of a day on which the lines at ``changed`` (of 400) are products new to the catalog."""
    _empty_catalog(workspace)
    workspace.index_path = tmp_path / f"index-{name}"
    fill = [product(f"r{n}", sku=f"R{n}") for n in range(400)]
    write_file(workspace.inbox, "aldi", "2025-09-01", fill)
    run_update(workspace)
    launched = [product(f"new{n}", sku=f"N{n}") if n in changed else line for n, line in enumerate(fill)]
    write_file(workspace.inbox, "aldi", "2025-09-02", launched)
    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        report = run_update(workspace)
    assert unchanged(report) == [400 - len(changed)] and report.files[0].products_created == len(changed)
    return counter.count


def test_statements_follow_the_changed_lines_not_the_chunks_holding_them(workspace, tmp_path):
    """Eight new products cost the same statements in one chunk of 50 lines as one in each of eight
    chunks: the lines to update of several chunks go to the managers together (update/unchanged.py)."""
    workspace.chunk_size = 50
    together = statements_of_a_changed_day(workspace, tmp_path, "together", list(range(8)))
    spread = statements_of_a_changed_day(workspace, tmp_path, "spread", list(range(0, 400, 50)))
    assert spread == together


def test_a_product_another_writer_changed_is_not_skipped(workspace, tmp_path):
    def clear_url(ws):
        Product.objects.filter(normalized_name_brand_size="p3").update(url=None)  # the admin, say

    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), clear_url, day(FILL, "2025-09-02")])
    assert unchanged(outcome[True][1][1]) == [39]
    assert Product.objects.get(normalized_name_brand_size="p3").url == "https://shop.example/p3"


def test_an_sku_moved_by_another_writer_moves_the_price(workspace, tmp_path):
    def move_sku(ws):
        SKU.objects.filter(sku="S3").update(product=Product.objects.get(normalized_name_brand_size="p4"))

    lines = [line for line in FILL if line["sku"] != "S4"]  # p4 is not scraped any more but keeps its SKU
    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), move_sku, day(lines, "2025-09-02")])
    assert unchanged(outcome[True][1][1]) == [38]
    assert Price.objects.filter(product__normalized_name_brand_size="p4").count() == 1


def test_a_was_price_from_a_price_fall_is_cleared_by_the_next_identical_scrape(workspace, tmp_path):
    fallen = [{**line, "price_current": 2.0} if n == 5 else line for n, line in enumerate(FILL)]
    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), day(fallen, "2025-09-02"),
                                              day(fallen, "2025-09-03")])
    assert unchanged(outcome[True][1][2]) == [39]  # p5's line is the same, its price is not
    price = Price.objects.get(product__normalized_name_brand_size="p5")
    assert price.price == Decimal("2.00") and price.was_price is None


def test_a_price_deleted_as_absent_is_created_again(workspace, tmp_path):
    without = [line for line in FILL if line["sku"] != "S9"]
    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), day(without, "2025-09-02"),
                                              day(FILL, "2025-09-03")])
    third = outcome[True][1][2].files[0]
    assert third.lines_unchanged == 39 and third.prices_created == 1


def test_a_line_with_warnings_is_warned_about_every_time(workspace, tmp_path):
    warned = [{**line, "is_on_special": "maybe"} if n == 2 else line for n, line in enumerate(FILL)]
    outcome = both_ways(workspace, tmp_path, [day(warned, "2025-09-01"), day(warned, "2025-09-02")])
    second = outcome[True][1][1].files[0]
    assert second.lines_with_warnings == 1 and second.lines_unchanged == 39


def warned_day(products, date, logs: dict, company="iga"):
    """``day``, keeping the rejects log's lines (line number, what, reason) under the skip in ``logs``."""
    def step(workspace):
        write_file(workspace.inbox, company, date, products)
        report = run_update(workspace)
        logs.setdefault(workspace.skip_unchanged, []).append(
            [(entry["line_no"], entry["action"], entry["reason"]) for f in report.files if f.rejects_file
             for entry in map(json.loads, Path(f.rejects_file).read_text().splitlines())])
        return report
    return step


def test_lines_sharing_a_key_are_skipped_as_one_unit_and_still_warned_about(workspace, tmp_path):
    # Two lines with one SKU under two NNBS are one unit and one product, warned about on every scrape.
    shared = [*FILL, product("p0 again", sku="S0")]
    logs = {}
    outcome = both_ways(workspace, tmp_path, [warned_day(shared, d, logs) for d in ("2025-09-01", "2025-09-02")])
    second = outcome[True][1][1].files[0]
    assert unchanged(outcome[True][1][1]) == [41] and second.products_updated == second.prices_updated == 0
    assert second.lines_with_warnings == outcome[False][1][1].files[0].lines_with_warnings == 1
    assert logs[True] == logs[False] and logs[True][1] == [
        (41, "kept", "sku 'S0' also on line 1 under another NNBS: both are one product")]


def test_lines_whose_nnbs_differ_but_for_spaces_are_skipped_as_one_unit(workspace, tmp_path):
    spaced = [*FILL, product("p 0", sku=None)]  # "p0" of FILL but for a space: one key, one product
    logs = {}
    outcome = both_ways(workspace, tmp_path, [warned_day(spaced, d, logs) for d in ("2025-09-01", "2025-09-02")])
    assert unchanged(outcome[True][1][1]) == [41]
    assert logs[True] == logs[False] and len(logs[True][1]) == 1 and "but for spaces" in logs[True][1][0][2]


def test_a_unit_of_lines_is_updated_when_one_of_them_changes_or_it_gains_a_line(workspace, tmp_path):
    shared = [*FILL, product("p0 again", sku="S0")]
    dearer = [*FILL, product("p0 again", sku="S0", name="P0 Again Family Pack")]
    joined = [*shared, product("p0 third", sku="S0")]
    outcome = both_ways(workspace, tmp_path, [day(shared, "2025-09-01"), day(dearer, "2025-09-02"),
                                              day(dearer, "2025-09-03"), day(joined, "2025-09-04"),
                                              day(shared, "2025-09-05")])
    assert [unchanged(report) for report in outcome[True][1]] == [[0], [39], [41], [39], [39]]


def test_lines_sharing_a_key_that_stay_two_products_are_not_skipped(workspace, tmp_path):
    # Each line's own barcode names a product of its own: they share an SKU but stay two, and such a unit
    # is never remembered (only a unit that went to one product is).
    apart = [product("a", sku="SA", barcode="4006381333931"), product("b", sku="SB", barcode="0012345678905"),
             *FILL]
    sharing_sku = [product("a", sku="SA", barcode="4006381333931"), product("b", sku="SA", barcode="0012345678905"),
                   *FILL]
    outcome = both_ways(workspace, tmp_path, [day(apart, "2025-09-01"), day(sharing_sku, "2025-09-02"),
                                              day(sharing_sku, "2025-09-03")])
    assert unchanged(outcome[True][1][2]) == [40]
    assert outcome[True][1][2].files[0].lines_with_warnings == 1


def test_a_unit_of_unchanged_lines_sends_no_statement(workspace, tmp_path):
    alone = statements_of_a_day(workspace, tmp_path, 200)
    with_unit = statements_of_a_day(workspace, tmp_path, 200, extra=[product("q0 again", sku="Q0")])
    assert with_unit.count == alone.count


def test_a_key_another_writer_freed_is_taken_by_the_same_line(workspace, tmp_path):
    # Aldi's line names P by its SKU, under an NNBS that IGA's product Q holds; once Q is deleted, the
    # same line makes that NNBS a variation of P, as the full update would.
    aldi_day = [product("oats", sku="A1"), *FILL]

    def delete_q(ws):
        Product.objects.filter(normalized_name_brand_size="oats").delete()

    outcome = both_ways(workspace, tmp_path, [
        day([product("oats", sku="I1")], "2025-09-01"),
        day([product("rolled oats", sku="A1"), *FILL], "2025-09-01", company="aldi"),
        day(aldi_day, "2025-09-02", company="aldi"),
        delete_q,
        day(aldi_day, "2025-09-03", company="aldi"),
    ])
    assert unchanged(outcome[True][1][2]) == [40]
    assert unchanged(outcome[True][1][3]) == [40]
    survivor = Product.objects.get(normalized_name_brand_size="rolled oats")
    assert survivor.normalized_name_brand_size_variations == ["oats"]


def test_a_dry_run_does_not_skip_a_line_whose_product_another_writer_changed(workspace):
    # The dry run's catch-up keeps the index as it is on disk: the entry it forgets must not count.
    write_file(workspace.inbox, "iga", "2025-09-01", FILL)
    run_update(workspace)
    Product.objects.filter(normalized_name_brand_size="p3").update(url=None)
    write_file(workspace.inbox, "iga", "2025-09-02", FILL)
    workspace.dry_run = True
    rehearsed = run_update(workspace).files[0]
    workspace.dry_run = False
    applied = run_update(workspace).files[0]
    assert (rehearsed.lines_unchanged, rehearsed.products_updated) == (39, 1)
    assert (applied.lines_unchanged, applied.products_updated) == (39, 1)


def _seen_entries(index_path) -> dict[str, int]:
    """The index's remembered lines by kind: a list's (product, list) entries and stores' own."""
    from diskcache_tier.lookup import LmdbIndex
    from diskcache_tier.seen_sharing import LIST_OWNER

    kinds = {"list": 0, "own": 0}
    with LmdbIndex(index_path, readonly=True) as index, index.env.begin() as txn:
        for key, _ in txn.cursor(db=index.dbs["seen"]):
            if key[:8] != b"\xff" * 8:  # not the bookkeeping
                kinds["list" if int.from_bytes(key[8:16], "big") & LIST_OWNER else "own"] += 1
    return kinds


def test_the_stores_of_a_list_share_their_remembered_lines(workspace, tmp_path):
    """Three stores of one list send the same 40 lines; one store's price moves a day before the others'.
    Each store skips exactly its own unchanged lines, and the index keeps one entry per product."""
    moved = [{**line, "price_current": 9.99} if n == 7 else line for n, line in enumerate(FILL)]

    def chain_day(date, lines_of):
        def step(ws):
            for n in (1, 2, 3):
                write_file(ws.inbox, "aldi", date, lines_of(n),
                           store={"store_id": f"G{n}", "store_name": f"aldi {n}", "state": "nsw"})
            return run_update(ws)
        return step

    counts = []

    def entries(ws):
        counts.append(_seen_entries(ws.index_path))

    outcome = both_ways(workspace, tmp_path, [
        chain_day("2025-09-01", lambda n: FILL), entries,
        chain_day("2025-09-02", lambda n: moved if n == 1 else FILL), entries,
        chain_day("2025-09-03", lambda n: moved), entries])
    reports = outcome[True][1]
    assert [unchanged(r) for r in reports] == [[0, 0, 0], [39, 40, 40], [40, 39, 39]]
    # One entry per product; on day 2 store G1's moved line is its own, as store G1 alone reads its price.
    assert counts[:3] == [{"list": 40, "own": 0}, {"list": 40, "own": 1}, {"list": 40, "own": 0}]


def test_an_edit_after_the_files_first_pass_is_caught_up_before_its_lines_are_judged(workspace, tmp_path,
                                                                                   monkeypatch):
    """The run caught up with other writers when it opened the index; an edit made later, while a file is
    being read (here, between its two passes), is caught up by the file's own freshness check before any
    line of it is taken as seen."""
    import update.orchestrator as orchestrator

    real_survey = orchestrator.survey

    def survey_then_edit(*args, **kwargs):
        surveyed = real_survey(*args, **kwargs)
        Product.objects.filter(normalized_name_brand_size="p3").update(url=None)  # the admin, say
        return surveyed

    def edited_day(ws):
        with monkeypatch.context() as patch:
            patch.setattr(orchestrator, "survey", survey_then_edit)
            return day(FILL, "2025-09-02")(ws)

    outcome = both_ways(workspace, tmp_path, [day(FILL, "2025-09-01"), edited_day])
    assert unchanged(outcome[True][1][1]) == [39]
    assert Product.objects.get(normalized_name_brand_size="p3").url == "https://shop.example/p3"


def test_a_file_written_again_during_its_update_fails_whole_and_stays_in_the_inbox(workspace, monkeypatch):
    """Between the file's two passes a scraper writes it again in place: nothing of it is applied, the run
    says why in one line, and the file waits in the inbox for the next run, which applies it."""
    import update.orchestrator as orchestrator

    day(FILL, "2025-09-01")(workspace)
    before = database_digest()
    real_survey = orchestrator.survey
    changed = [product(f"p{n}", sku=f"S{n}", barcode=None, price_current=9.99) for n in range(40)]

    def survey_then_rewrite(path, *args, **kwargs):
        surveyed = real_survey(path, *args, **kwargs)
        rewritten = write_file(path.parent.parent, "iga", "2025-09-02", changed)
        rewritten.replace(path)
        return surveyed

    path = write_file(workspace.inbox, "iga", "2025-09-02", [product(f"p{n}", sku=f"S{n}", barcode=None,
                                                                     price_current=n + 1) for n in range(40)])
    with monkeypatch.context() as patch:
        patch.setattr(orchestrator, "survey", survey_then_rewrite)
        report = run_update(workspace)
    (result,) = report.files
    assert result.status == "failed" and "changed while the update read it" in result.reason
    assert path.exists() and database_digest() == before
    report = run_update(workspace)
    assert [f.status for f in report.files] == ["processed"]
    assert {p.price for p in Price.objects.for_store(Store.objects.get())} == {Decimal("9.99")}
