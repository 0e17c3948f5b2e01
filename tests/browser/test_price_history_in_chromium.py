"""The price history in a real browser: the product page's chart and table, and the price changes page
with its filters (issue 22, item 6). ADMIN_SCREENSHOTS=DIR saves the pages there, as the other tests do."""
from __future__ import annotations

import pytest

from .conftest import NO_BROWSER

pytest.importorskip("selenium", reason=NO_BROWSER + " (and pip install selenium)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from catalog.models import Product  # noqa: E402

from ..admin_catalog import build_price_history  # noqa: E402
from .test_admin_in_chromium import _heading_becomes, _log_in, _screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_product_page_draws_the_price_history(browser, live_server, workspace, django_user_model):
    build_price_history(workspace)
    _log_in(browser, live_server, django_user_model)
    bread = Product.objects.get(normalized_name_brand_size="bread white 700g")
    browser.get(live_server.url + f"/admin/catalog/product/{bread.pk}/change/")
    _heading_becomes(browser, "Change product")

    chart = browser.find_element(By.CSS_SELECTOR, "#price-history figure svg")
    assert chart.size["width"] >= 900 and chart.size["height"] >= 300  # drawn, not an empty box
    legend = chart.text
    assert "Aldi Testville (G1)" in legend and "on special" in legend
    # The store's step line, and one dot for the day the special began.
    assert chart.find_elements(By.CSS_SELECTOR, ".serie-0 path.line")
    assert len(chart.find_elements(By.CSS_SELECTOR, ".serie-1 .dots")) == 1
    table = browser.find_element(By.CSS_SELECTOR, "table.price-history-table").text
    assert "2025-01-04 Aldi Testville (G1) $3.00 -0.50 $3.50 on special" in table
    fieldset = browser.find_element(By.ID, "price-history").find_element(By.XPATH, "ancestor::fieldset")
    browser.execute_script("arguments[0].scrollIntoView()", fieldset)
    _screenshot(browser, "admin-product-history.png", height=900)


def test_price_changes_page_and_its_filters(browser, live_server, workspace, django_user_model):
    build_price_history(workspace)
    _log_in(browser, live_server, django_user_model)
    browser.find_element(By.LINK_TEXT, "Price history").click()
    _heading_becomes(browser, "Price changes")
    content = browser.find_element(By.ID, "content").text
    assert "Bread White 700G (Baker, 1 kg) Aldi Testville (G1) $3.00 $3.50 $2.50: not a real reduction" in content
    assert "+1.00 (+40%)" in browser.find_element(By.CSS_SELECTOR, "#rises + table").text
    _screenshot(browser, "admin-price-changes.png", height=1080)

    # The owner narrows it to iga on the 4th.
    Select(browser.find_element(By.ID, "changes-company")).select_by_visible_text("iga")
    for field in ("changes-since", "changes-until"):
        browser.execute_script("arguments[0].value = '2025-01-04'", browser.find_element(By.ID, field))
    browser.find_element(By.CSS_SELECTOR, "#change-filter input[type=submit]").click()
    # The filtered page has the same heading as the one it leaves: wait for its address instead.
    WebDriverWait(browser, 30).until(lambda b: "since=2025-01-04" in b.current_url)
    _heading_becomes(browser, "Price changes")
    drops = browser.find_element(By.CSS_SELECTOR, "#drops + table").text
    assert "Eggs Free Range 12" in drops and "Aldi" not in drops
    assert "since=2025-01-04" in browser.current_url and "until=2025-01-04" in browser.current_url
    assert Select(browser.find_element(By.ID, "changes-company")).first_selected_option.text == "iga"
