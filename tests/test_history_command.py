"""``bin/update-products history`` as an operator calls it (issue 22, item 3): a product's changes at a
store, oldest first, with its reference price; the JSON shape other tools read; one-line usage errors."""
from __future__ import annotations

import click
import orjson
import pytest
from click.testing import CliRunner

from catalog.models import Product
from update import cli
from update.orchestrator import run_update

from .conftest import PROJECT_ROOT
from .factories import product, write_file

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_STORE = {"store_id": "502", "store_name": "iga otherville", "state": "nsw"}


def invoke(*argv):
    return CliRunner().invoke(cli.main, list(argv), catch_exceptions=False)


def oats(price, **fields):
    # and ten others, so that a file without the oats is no partial scrape
    return [product("oats500g", sku="S1", price_current=price, **fields),
            *(product(f"rice{n}kg", sku=f"R{n}") for n in range(10))]


@pytest.fixture
def three_days(workspace):
    for day, lines in (("2025-09-01", oats(3.0)), ("2025-09-05", oats(2.5, is_on_special=True, price_was=3.0)),
                       ("2025-09-06", oats(2.5, is_on_special=True, price_was=3.0))):
        write_file(workspace.inbox, "iga", day, lines)
        run_update(workspace)
    write_file(workspace.inbox, "iga", "2025-09-02", oats(3.2), store=OTHER_STORE)
    run_update(workspace)
    write_file(workspace.inbox, "iga", "2025-09-03", oats(3.2)[1:], store=OTHER_STORE, name="iga-502-b.jsonl")
    run_update(workspace)


def test_json_is_the_changes_oldest_first_and_the_reference_price(three_days):
    result = invoke("history", "iga/501", "S1", "--json")

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == {
        "changes": [{"date": "2025-09-01", "price": "3.00", "was_price": None, "is_on_special": False},
                    {"date": "2025-09-05", "price": "2.50", "was_price": "3.00", "is_on_special": True}],
        "reference_price": "3.00"}


def test_text_says_the_special_and_its_verdict(three_days):
    result = invoke("history", "IGA/501", "S1")  # company names compare case-insensitively

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Oats500G (Acme, 1 kg) at iga/501 (iga testville), SKU S1",
        "  2025-09-01  $3.00",
        "  2025-09-05  $2.50  special, was $3.00",
        "  reference price $3.00: a real reduction"]


def test_product_shows_every_store_with_its_delisting(three_days):
    pid = Product.objects.get(normalized_name_brand_size="oats500g").id

    result = invoke("history", "--product", str(pid), "--json")

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == [
        {"store": "iga/501", "changes": [
            {"date": "2025-09-01", "price": "3.00", "was_price": None, "is_on_special": False},
            {"date": "2025-09-05", "price": "2.50", "was_price": "3.00", "is_on_special": True}],
         "reference_price": "3.00"},
        {"store": "iga/502", "changes": [
            {"date": "2025-09-02", "price": "3.20", "was_price": None, "is_on_special": False},
            {"date": "2025-09-03", "price": None, "was_price": None, "is_on_special": False}],
         "reference_price": None}]
    text = invoke("history", "--product", str(pid)).output
    assert "  2025-09-03  delisted" in text.splitlines()


def test_a_product_without_history_yet_is_said_and_exits_0(workspace):
    write_file(workspace.inbox, "iga", "2025-09-01", oats(3.0))
    run_update(workspace)
    from prices.models import PriceHistory

    PriceHistory.objects.all().delete()  # a catalog from before history
    result = invoke("history", "iga/501", "S1", "--json")
    assert result.exit_code == 0
    assert orjson.loads(result.output) == {"changes": [], "reference_price": None}
    assert invoke("history", "iga/501", "S1").output.splitlines()[-1] == "  no price history yet"


@pytest.mark.parametrize("argv, message", [
    (["iga-501", "S1"], "'iga-501' is not COMPANY/STORE_ID: give the store as, say, iga/21981 "
                            "(`update-products history --help`)"),
    (["coles/501", "S1"], "no company 'coles': give it as its files' metadata does (aldi, iga)"),
    (["iga/999", "S1"], "no store '999' at iga: give the store id its files' metadata has"),
    (["iga/501", "NOPE"], "no SKU 'NOPE' at iga: give the SKU as the company's files spell it"),
    (["--product", "999999"], "no product 999999: the admin's product page shows a product's id"),
    (["iga/501"], "give COMPANY/STORE_ID SKU, or --product ID (`update-products history --help`)"),
    ([], "give COMPANY/STORE_ID SKU, or --product ID (`update-products history --help`)"),
    (["iga/501", "S1", "--product", "1"], "give COMPANY/STORE_ID SKU, or --product ID (`update-products history --help`)"),
    (["iga/501", "--product", "1"], "give COMPANY/STORE_ID SKU, or --product ID, not both (`update-products history --help`)"),
])
def test_what_cannot_be_found_is_one_line_and_exits_2(three_days, argv, message):
    result = invoke("history", *argv)

    assert result.exit_code == 2
    assert (result.stderr, result.stdout) == (f"update-products: {message}\n", "")


def test_the_command_its_json_and_exit_statuses_are_documented():
    guide = (PROJECT_ROOT / "docs" / "history.md").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    for form in ("history COMPANY/STORE_ID SKU [--json]", "history --product ID [--json]",
                 "prune-history --keep-days N", "backfill-history [--archive DIR]"):
        assert form in guide and form in readme, form
    for param in [*cli.history.params, *cli.prune_history.params, *cli.backfill_history.params]:
        name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
        assert name in guide, f"{name} is not in docs/history.md"
    assert '{"changes": [{"date": "2025-09-01", "price": "3.00", "was_price": null, "is_on_special": false}' in guide
    assert "strings of decimals" in guide and "REFERENCE_WINDOW_DAYS" in guide
    help_text = CliRunner().invoke(cli.main, ["history", "--help"]).output
    for status in (0, 2, 3, 4):
        assert f"`{status}`" in guide and any(line.strip().startswith(str(status)) for line in help_text.splitlines())
