"""The admin in a real browser: log in, find a product by barcode, merge two, read a run's rejected lines;
the front page and the formatted lists as the owner reads them.

ADMIN_SCREENSHOTS=DIR saves the pages there (docs/ holds the committed ones).
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import pytest

from .conftest import NO_BROWSER

pytest.importorskip("selenium", reason=NO_BROWSER + " (and pip install selenium)")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from catalog.models import Product, Store  # noqa: E402
from ledger.models import RunFile  # noqa: E402
from update.orchestrator import run_update  # noqa: E402

from ..admin_catalog import BARCODE, IGA_SKU, build_catalog  # noqa: E402
from ..factories import product, write_file  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _screenshot(browser, name: str, height: int = 1400) -> None:
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = browser.get_window_size()
        # Tall enough for the product's inlines down to its prices.
        browser.set_window_size(1280, height)
        browser.save_screenshot(str(Path(folder) / name))
        browser.set_window_size(size["width"], size["height"])


def _heading_becomes(browser, text: str) -> None:
    """Wait for the next page: find_element alone may still see the page the click is leaving."""
    # While the old page goes away its elements turn stale or vanish: keep asking until the new one is there.
    WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda b: text in b.find_element(By.TAG_NAME, "h1").text)


def _texts(browser, selector: str) -> list[str]:
    return [element.text for element in browser.find_elements(By.CSS_SELECTOR, selector)]


def _log_in(browser, live_server, django_user_model) -> None:
    password = secrets.token_urlsafe(16)
    django_user_model.objects.create_superuser("boss", "boss@example.com", password)
    browser.get(live_server.url + "/admin/")
    assert "/admin/login/" in browser.current_url
    browser.find_element(By.ID, "id_username").send_keys("boss")
    browser.find_element(By.ID, "id_password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _heading_becomes(browser, "Catalog and update runs")


def test_staff_finds_merges_and_reads_rejected_lines(browser, live_server, workspace, django_user_model, settings):
    settings.TIME_ZONE = "Australia/Brisbane"  # the screenshots show an Australian owner's times
    build_catalog(workspace)
    _log_in(browser, live_server, django_user_model)

    # Search a barcode and open the product.
    browser.get(live_server.url + "/admin/catalog/product/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys(BARCODE)
    search.submit()
    WebDriverWait(browser, 30).until(lambda b: "q=" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and BARCODE in rows[0].text
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    _heading_becomes(browser, "Change product")
    milk = Product.objects.get(barcode=BARCODE)
    assert f"/admin/catalog/product/{milk.pk}/change/" in browser.current_url
    assert IGA_SKU in browser.find_element(By.ID, "content").text
    _screenshot(browser, "admin-product.png")

    # Merge the two chocolates: tick both, pick the action, confirm.
    browser.get(live_server.url + "/admin/catalog/product/?q=choc")
    boxes = browser.find_elements(By.CSS_SELECTOR, "#result_list input.action-select")
    assert len(boxes) == 2
    for box in boxes:
        box.click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("merge_selected_products")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    _heading_becomes(browser, "Merge products")
    content = browser.find_element(By.ID, "content").text
    assert "A merge is final." in content and "Preselected: #" in content
    _screenshot(browser, "admin-merge.png", height=800)
    browser.find_element(By.ID, "confirm-merge").click()
    _heading_becomes(browser, "Select product to change")
    assert any("Merged 1 products" in text for text in _texts(browser, "ul.messagelist li"))
    survivor = Product.objects.get(normalized_name_brand_size="choc dark 100g")
    assert "dark choc 100 g" in survivor.normalized_name_brand_size_variations
    assert not Product.objects.filter(normalized_name_brand_size="dark choc 100 g").exists()

    # Open the run, then its file with a refused line.
    browser.get(live_server.url + "/admin/ledger/updaterun/")
    browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr th a").click()
    _heading_becomes(browser, "View update run")
    _screenshot(browser, "admin-run.png")
    rejected = RunFile.objects.exclude(rejects_file="").get()
    browser.find_element(By.LINK_TEXT, rejected.name).click()
    _heading_becomes(browser, "View run file")
    content = browser.find_element(By.ID, "content").text
    assert "is not a usable price" in content and "call us" in content
    _screenshot(browser, "admin-run-file.png")


def test_owner_reads_the_front_page_and_the_formatted_lists(browser, live_server, workspace, django_user_model,
                                                            settings):
    settings.TIME_ZONE = "Australia/Brisbane"
    build_catalog(workspace)
    # A morning with something to see: a later aldi file refused as a partial scrape, an iga store silent.
    write_file(workspace.inbox, "aldi", "2025-01-03", [product("milk full 2l", sku="a-1")])
    run_update(workspace)
    silent = Store.objects.select_related("company").get(company__name__iexact="iga")
    RunFile.objects.filter(store=silent).update(started_at=RunFile.objects.earliest("started_at").started_at
                                                - dt.timedelta(days=10))
    _log_in(browser, live_server, django_user_model)

    runs = browser.find_element(By.ID, "last-runs").text
    assert "finished, some files or lines refused (exit 1)" in runs and "1 rejected" in runs and "AEST" in runs
    assert "Aldi Testville (G1)" in browser.find_element(By.ID, "rejected-waiting").text
    waiting = browser.find_element(By.ID, "rejected-waiting").text
    assert "Rejected files waiting: 1" in waiting and "aldi-testville-2025-01-03.jsonl" in waiting
    stopped = browser.find_element(By.ID, "stopped-sending").text
    assert "Stores that stopped sending: 1" in stopped and str(silent) in stopped
    _screenshot(browser, "admin-front-page.png", height=1000)

    browser.get(live_server.url + "/admin/catalog/product/")
    names = _texts(browser, "#result_list tbody tr th a") + _texts(browser, "#result_list tbody td.field-__str__ a")
    milk = Product.objects.select_related("brand").get(barcode=BARCODE)
    assert str(milk) in names
    assert f"{Product.objects.count()} products" in browser.find_element(By.CSS_SELECTOR, "p.paginator").text
    _screenshot(browser, "admin-products.png", height=800)

    browser.get(live_server.url + "/admin/catalog/price/")
    listed = browser.find_element(By.ID, "result_list").text
    assert "$2.50" in listed and "$0.25 per 100 g" in listed and "save $1.50 (was $7.50)" in listed
    assert "0.0000" not in listed and "Price object" not in listed
    _screenshot(browser, "admin-prices.png", height=800)


def test_owner_reads_what_a_store_shares_with_its_chain(browser, live_server, workspace, django_user_model):
    # Three Aldi stores of one state: the same prices but one store's milk, and one store without the cheese.
    shelf = [product("milk full 2l", sku="a-1", price_current=2.5), product("bread white", sku="a-2"),
             product("cheese tasty", sku="a-3", price_current=6)]
    stores = [{"store_id": f"G{n}", "store_name": name, "state": "qld"}
              for n, name in ((1, "testville"), (2, "carindale"), (3, "highfields"))]
    write_file(workspace.inbox, "aldi", "2025-01-02", shelf, store=stores[0])
    write_file(workspace.inbox, "aldi", "2025-01-02", [{**shelf[0], "price_current": 2.2}, *shelf[1:]],
               store=stores[1])
    write_file(workspace.inbox, "aldi", "2025-01-02", shelf[:2], store=stores[2])
    run_update(workspace)
    carindale = Store.objects.get(store_id="G2")
    _log_in(browser, live_server, django_user_model)
    browser.get(live_server.url + f"/admin/catalog/store/{carindale.pk}/change/")
    content = browser.find_element(By.ID, "content").text
    assert "shared with" in content and "testville" in content.lower() and "highfields" in content.lower()
    assert "its own: 1 price that differs, 0 products not carried" in content
    _screenshot(browser, "admin-store-shared-prices.png", height=900)
