"""The admin's price history (issue 22, item 6): the product page's chart and table, and the price changes
page, on a catalog and history the update made; what they show, what they filter, what they query."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Company, Price, Product, Store
from prices import product_page
from prices.chart import SPECIAL_SERIES, Change, date_labels, price_chart_svg, store_steps
from prices.models import PriceHistory
from prices.product_page import table_rows

from .admin_catalog import build_price_history

pytestmark = pytest.mark.django_db

CHANGES_URL = "/admin/prices/pricehistory/"


@pytest.fixture
def history(workspace):
    return build_price_history(workspace)


@pytest.fixture
def staff(client, django_user_model, settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "a long test pw 22"))
    return client


def _text(response) -> str:
    """The page's content as a person reads it: tags and the chart's SVG dropped, spaces collapsed."""
    html = response.content.decode()
    html = html[html.index('<div id="content"'):]
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def _section(text: str, title: str, next_title: str | None) -> str:
    start = text.index(title)
    return text[start:text.index(next_title, start)] if next_title else text[start:]


def _product(nnbs: str) -> Product:
    return Product.objects.get(normalized_name_brand_size=nnbs)


# The product page.

def test_product_page_draws_its_prices_per_store_with_specials_marked(staff, history):
    bread = _product("bread white 700g")
    response = staff.get(reverse("admin:catalog_product_change", args=[bread.pk]))
    page = response.content.decode()
    svg = re.search(r"<svg.*?</svg>", page[page.index('id="price-history"'):], flags=re.S).group(0)
    assert "Aldi Testville (G1)" in svg and SPECIAL_SERIES in svg  # the store's line and the specials' series
    assert "Aldi Testville (G1): on special" in svg  # the special's dot, on the day it began
    assert "<script" not in svg.split("</script>", 1)[-1] and "kozea.github.io" not in page  # nothing from the web
    table = _section(_text(response), "Changes, newest first", "Skus")
    assert re.findall(r"2025-01-0\d", table) == ["2025-01-04", "2025-01-03", "2025-01-02"]
    assert "2025-01-04 Aldi Testville (G1) $3.00 -0.50 $3.50 on special" in table
    assert "2025-01-03 Aldi Testville (G1) $3.50 +1.00" in table


def test_product_page_shows_every_store_of_the_product(staff, history):
    milk = _product("milk full 2l")  # one product at both companies' stores
    table = _section(_text(staff.get(reverse("admin:catalog_product_change", args=[milk.pk]))),
                     "Changes, newest first", "Skus")
    assert "2025-01-02 Iga Testville (501) $2.50" in table and "2025-01-04 Aldi Testville (G1) $1.25 -0.75" in table


def test_a_product_without_history_says_so(staff, history):
    lone = Product.objects.create(name="lone", normalized_name_brand_size="lone 1kg")
    text = _text(staff.get(reverse("admin:catalog_product_change", args=[lone.pk])))
    assert "No price history yet" in text and "Changes, newest first" not in text


def test_product_page_reads_history_in_one_query_whatever_the_stores_and_rows(staff, history):
    milk = _product("milk full 2l")
    url = reverse("admin:catalog_product_change", args=[milk.pk])
    with CaptureQueriesContext(connection) as before:
        staff.get(url)
    history_queries = [q for q in before if "prices_pricehistory" in q["sql"]]
    assert len(history_queries) == 1
    aldi = Company.objects.get(name__iexact="aldi")
    for n in range(15):  # 15 more stores, each with 10 changes
        store = Store.objects.create(company=aldi, store_id=f"X{n}", store_name=f"extra {n}")
        PriceHistory.objects.bulk_create(PriceHistory(store=store, product=milk, price=Decimal("2.00") + d,
                                                      date=date(2025, 1, 1) + timedelta(d)) for d in range(10))
    with CaptureQueriesContext(connection) as after:
        text = _text(staff.get(url))
    assert len(after) == len(before)
    assert "(X14)" in text and "The chart draws the first 12 of 17 stores" in text


def test_product_page_reads_only_the_newest_rows(staff, history, monkeypatch):
    monkeypatch.setattr(product_page, "HISTORY_ROWS_READ", 2)
    milk = _product("milk full 2l")
    text = _text(staff.get(reverse("admin:catalog_product_change", args=[milk.pk])))
    table = _section(text, "Changes, newest first", "Skus")
    assert re.findall(r"2025-01-0\d", table) == ["2025-01-04", "2025-01-03"]
    assert "Only the newest 2 changes are read" in text


# The chart and the table on plain data.

def _change(day: int, price, special=False, store="S"):
    return Change(store, date(2025, 3, day), None if price is None else Decimal(price), None, special)


def test_steps_hold_a_price_until_the_next_change_and_break_at_a_delisting():
    rows = [_change(1, "3.00"), _change(5, "2.50", special=True), _change(9, None), _change(12, "3.10")]
    assert store_steps(rows, until=date(2025, 3, 20)) == [
        (date(2025, 3, 1), 3.0), (date(2025, 3, 5), 3.0), (date(2025, 3, 5), 2.5), (date(2025, 3, 9), 2.5),
        (date(2025, 3, 9), None), (date(2025, 3, 12), 3.1), (date(2025, 3, 20), 3.1)]


def test_table_gives_each_change_its_difference_from_the_same_stores_previous_price():
    rows = [_change(12, "3.10"), _change(9, None), _change(6, "2.00", store="T"), _change(5, "2.50"),
            _change(1, "3.00"), _change(1, "2.20", store="T")]
    assert [row.difference for row in table_rows(rows)] == [None, None, Decimal("-0.20"), Decimal("-0.50"),
                                                            None, None]


def test_chart_escapes_the_names_it_draws():
    svg = price_chart_svg([_change(1, "3.00", special=True, store="<img src=x onerror=alert(1)>")])
    assert "<img" not in svg and "&lt;img src=x" in svg


# The price changes page.

def test_price_changes_lists_drops_rises_new_specials_and_specials_that_are_not_real(staff, history):
    text = _text(staff.get(CHANGES_URL))  # default: the 7 days up to the newest history date
    drops = _section(text, "Biggest drops", "Biggest rises")
    assert re.findall(r"\$(\d\.\d\d) \$(\d\.\d\d) -\d\.\d\d \((-\d+%)\)", drops) == [
        ("2.00", "1.25", "-38%"), ("2.50", "2.00", "-20%"), ("2.50", "2.00", "-20%"), ("3.50", "3.00", "-14%")]
    rises = _section(text, "Biggest rises", "New specials")
    assert re.findall(r"(\w+ \w+ \d+G).*?(\+\d+%)", rises) == [("Bread White 700G", "+40%"),
                                                              ("Cheese Tasty 500G", "+25%")]
    specials = _section(text, "New specials", "Specials that are not real reductions")
    assert "2025-01-04 Bread White 700G (Baker, 1 kg) Aldi Testville (G1) $3.00 $3.50 $2.50: not a real reduction" \
        in specials
    assert "Eggs Free Range 12 (Acme, 1 kg) Iga Testville (501) $2.00 $2.50 $2.50: a real reduction" in specials
    assert "2025-01-02 Cheese Tasty 500G (Farm, 1 kg) Aldi Testville (G1) $6.00 $7.50 special ended" in specials
    not_real = _section(text, "Specials that are not real reductions", None)
    assert "2025-01-04 Bread White 700G (Baker, 1 kg) Aldi Testville (G1) $3.00 $3.50 $2.50" in not_real
    assert "Eggs" not in not_real
    assert Price.objects.filter(is_real_reduction=False).count() == 1


def test_price_changes_by_company(staff, history):
    iga = Company.objects.get(name__iexact="iga")
    text = _text(staff.get(CHANGES_URL, {"company": iga.pk}))
    assert "Aldi" not in text.split("Biggest drops", 1)[1]
    assert "Eggs Free Range 12" in _section(text, "Biggest drops", "Biggest rises")
    assert "No such change in these days" in _section(text, "Biggest rises", "New specials")
    assert "None: every special" in _section(text, "Specials that are not real reductions", None)


def test_price_changes_by_date(staff, history):
    text = _text(staff.get(CHANGES_URL, {"since": "2025-01-03", "until": "2025-01-03"}))
    drops = _section(text, "Biggest drops", "Biggest rises")
    assert re.findall(r"2025-01-0\d", drops) == ["2025-01-03"] and "Milk Full 2L" in drops
    assert len(re.findall(r"2025-01-03", _section(text, "Biggest rises", "New specials"))) == 2
    assert "No price went on special in these days" in text
    assert "None: every special" in text  # the bread's special was set on the 4th


@pytest.mark.parametrize("params, message", [
    ({"since": "2025-01-05", "until": "2025-01-04"}, "'from' (2025-01-05) is after 'to' (2025-01-04): swap them."),
    ({"since": "2024-11-01", "until": "2025-01-04"}, "65 days is too long a range: choose at most 31 days."),
    ({"since": "4/1/2025"}, "since '4/1/2025' is not a date: type it as YYYY-MM-DD."),
    ({"company": "aldi"}, "company 'aldi' is not a company's id: choose one from the list."),
])
def test_price_changes_refuses_a_filter_it_cannot_use_in_one_line(staff, history, params, message):
    response = staff.get(CHANGES_URL, params)
    assert response.status_code == 200
    assert message in _text(response) and "Biggest drops" not in _text(response)


def test_price_changes_runs_a_fixed_number_of_bounded_queries_whatever_the_rows(staff, history):
    with CaptureQueriesContext(connection) as before:
        staff.get(CHANGES_URL)
    aldi_store = Store.objects.get(company__name__iexact="aldi")
    products = [Product.objects.create(name=f"extra {n}", normalized_name_brand_size=f"extra {n}") for n in range(30)]
    for n, extra in enumerate(products):  # 30 more drops and 30 new specials, in range
        PriceHistory.objects.bulk_create([
            PriceHistory(store=aldi_store, product=extra, date=date(2025, 1, 2), price=Decimal("9.00")),
            PriceHistory(store=aldi_store, product=extra, date=date(2025, 1, 4),
                         price=Decimal("8.00") - Decimal(n) / 10, is_on_special=True)])
    with CaptureQueriesContext(connection) as after:
        text = _text(staff.get(CHANGES_URL))
    assert len(after) == len(before)
    # One pass for drops, rises and new specials, each list cut at 25 rows; one for the not-real specials.
    [moves] = [q["sql"] for q in after if "WITH moves" in q["sql"]]
    assert moves.count("LIMIT 25") == 3
    [not_real] = [q["sql"] for q in after if "is_real_reduction" in q["sql"] and "scraped_date" in q["sql"]
                  and "prices_pricehistory" not in q["sql"]]
    assert "LIMIT 25" in not_real
    assert len(re.findall(r"\(-\d+%\)", _section(text, "Biggest drops", "Biggest rises"))) == 25


def test_price_history_is_view_only(staff, history):
    row = PriceHistory.objects.first()
    assert staff.get(reverse("admin:prices_pricehistory_add")).status_code == 403
    assert staff.post(reverse("admin:prices_pricehistory_change", args=[row.pk]), {}).status_code == 403
    assert staff.post(reverse("admin:prices_pricehistory_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert PriceHistory.objects.filter(pk=row.pk).exists()


def test_price_changes_needs_a_staff_login(client, history, settings):
    settings.SECURE_SSL_REDIRECT = False
    response = client.get(CHANGES_URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_dates_under_the_chart_are_change_days_thinned_evenly():
    days = {date(2025, 1, 1) + timedelta(n) for n in range(0, 60, 3)}  # 20 days with a change
    labels = date_labels(days)
    assert len(labels) == 10 and labels[0] == date(2025, 1, 1) and labels[-1] == date(2025, 2, 27)
    assert set(labels) <= days
    assert date_labels({date(2025, 1, 2), date(2025, 1, 1)}) == [date(2025, 1, 1), date(2025, 1, 2)]


def test_chart_of_a_product_only_delisted_among_the_rows_read_still_draws():
    svg = price_chart_svg([_change(9, None), _change(9, None, store="T")])
    assert svg.startswith("<svg") and "T" in svg


def test_price_changes_before_any_history(staff, db):
    text = _text(staff.get(CHANGES_URL))
    assert "No such change in these days" in text and "No price went on special in these days" in text


def test_a_line_goes_on_to_the_stores_last_scrape_with_dots_only_at_changes():
    one_day = [_change(1, "3.00")]  # a price seen once: still a dot and a line, not an empty chart
    svg = price_chart_svg(one_day, {"S": date(2025, 3, 8)})
    assert len(re.findall(r'<circle[^>]*r="3"', svg)) == 1
    assert re.search(r'<path d="M[\d.]+ [\d.]+ L[\d.]+ [\d.]+" class="line reactive nofill"', svg)


def test_a_delisting_reads_delisted_in_the_table(staff, history):
    choc = _product("choc dark 100g")
    aldi_store = Store.objects.get(company__name__iexact="aldi")
    PriceHistory.objects.create(store=aldi_store, product=choc, date=date(2025, 1, 5), price=None)  # an end row
    table = _section(_text(staff.get(reverse("admin:catalog_product_change", args=[choc.pk]))),
                     "Changes, newest first", "Skus")
    assert "2025-01-05 Aldi Testville (G1) delisted" in table
