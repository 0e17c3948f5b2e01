"""The backfill (issue 22, item 4): the archive replayed oldest first into history only gives the history
live ingestion of the same files wrote, changes current prices not at all, and adds nothing run twice."""
from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from catalog.digest import database_digest
from prices.models import PriceHistory
from tests.conftest import drop
from update import cli
from update.orchestrator import run_update

from .factories import STORES, product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ("store_id", "product_id", "date", "price", "was_price", "is_on_special", "unit_price")


def history() -> list[tuple]:
    return list(PriceHistory.objects.order_by(*FIELDS[:3]).values_list(*FIELDS))


def backfill(workspace, *extra):
    result = CliRunner().invoke(cli.main, ["backfill-history", "--archive", str(workspace.archive),
                                           "--index-path", str(workspace.index_path), *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_the_backfill_of_an_archive_is_the_history_live_ingestion_wrote(workspace, real_files):
    drop(real_files, workspace.inbox)
    assert {f.status for f in run_update(workspace).files} == {"processed"}
    live, catalog = history(), database_digest()
    PriceHistory.objects.all().delete()

    first = backfill(workspace, "--silent")

    assert history() == live
    assert first.stdout.splitlines()[-1] == (f"7 archived files replayed: {len(live)} history rows added, "
                                             "0 already there; 0 lines matched no product")
    assert database_digest() == catalog  # products and current prices as they were
    again = backfill(workspace, "--silent")
    assert history() == live
    assert again.stdout.splitlines()[-1] == (f"7 archived files replayed: 0 history rows added, "
                                             f"{len(live)} already there; 0 lines matched no product")


FILL = [product(f"p{n}", sku=f"S{n}") for n in range(20)]


def with_p3(**fields) -> list[dict]:
    return [{**line, **fields} if line["sku"] == "S3" else line for line in FILL]


def test_a_fall_a_delisting_and_a_return_replay_as_they_were_applied(workspace):
    days = [("2025-09-01", FILL), ("2025-09-02", with_p3(price_current=1.5)), ("2025-09-03", with_p3(price_current=1.5)),
            ("2025-09-04", FILL[:3] + FILL[4:]), ("2025-09-08", with_p3(price_current=2.0, is_on_special=True,
                                                                         price_was=2.5, unit_price=0.2))]
    for day, lines in days:
        write_file(workspace.inbox, "iga", day, lines)
        run_update(workspace)
    live = history()
    assert len(live) == 20 + 4  # then p3's fall (was 2.50), its was cleared, delisted, back on special
    PriceHistory.objects.all().delete()

    result = backfill(workspace)

    assert history() == live
    lines = result.stdout.splitlines()
    # A line per file (stamped, as the update's log lines), then the summary.
    assert lines[0].endswith("Z iga-iga-testville-2025-09-01.jsonl: 20 history rows added, 0 already there")
    assert lines[-1] == "5 archived files replayed: 24 history rows added, 0 already there; 0 lines matched no product"


def test_part_of_the_history_already_there_is_kept_and_the_rest_added(workspace):
    for day, lines in (("2025-09-01", FILL), ("2025-09-02", with_p3(price_current=1.0)),
                       ("2025-09-03", with_p3(price_current=0.9))):
        write_file(workspace.inbox, "iga", day, lines)
        run_update(workspace)
    live = history()
    PriceHistory.objects.filter(date__lt="2025-09-03").delete()  # history began with the last file, say

    result = backfill(workspace, "--silent")

    assert history() == live
    assert result.stdout.splitlines()[-1] == ("3 archived files replayed: 21 history rows added, 1 already "
                                              "there; 0 lines matched no product")


def test_a_file_of_a_store_no_longer_in_the_catalog_is_skipped_with_its_reason(workspace):
    write_file(workspace.archive, "aldi", "2025-09-01", FILL[:2])
    result = CliRunner().invoke(cli.main, ["backfill-history", "--archive", str(workspace.archive),
                                           "--index-path", str(workspace.index_path)], catch_exceptions=False)

    assert result.exit_code == 0
    # (after the index's own warning: it is built on first use)
    assert result.stderr.splitlines()[-1].endswith(
        "Z skipped aldi-testville-2025-09-01.jsonl: no store aldi/G1 in the catalog")
    assert result.stdout.splitlines()[-1] == ("0 archived files replayed: 0 history rows added, 0 already "
                                              "there; 0 lines matched no product; 1 skipped (each said why on stderr)")
    assert PriceHistory.objects.count() == 0


def test_no_archive_folder_is_a_usage_error(workspace, tmp_path):
    result = CliRunner().invoke(cli.main, ["backfill-history", "--archive", str(tmp_path / "nope"),
                                           "--index-path", str(workspace.index_path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == (f"update-products: no archive folder {tmp_path / 'nope'}: give it with --archive "
                             "or $UPDATE_ARCHIVE\n")


def test_the_backfill_reads_history_a_batch_of_lines_at_a_time(workspace, monkeypatch):
    from django.db import connection

    from update import backfill as module

    for day in ("2025-09-01", "2025-09-02"):
        write_file(workspace.inbox, "iga", day, FILL)
        run_update(workspace)
    PriceHistory.objects.all().delete()
    monkeypatch.setattr(module, "BATCH", 10)
    reads = []

    def counter(execute, sql, params, many, context):
        if sql.startswith("SELECT") and '"prices_pricehistory"' in sql:
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        backfill(workspace, "--silent")

    # 20 lines a file, 10 a batch: 2 reads of the rows in force each; then the end-row walk over the
    # store's products, 10 at a time until an empty batch (none the first day, 20 on the second).
    assert len(reads) == (2 + 1) + (2 + 3)
    assert PriceHistory.objects.count() == 20
