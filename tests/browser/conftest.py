"""Headless Chromium from the distribution's packages, driven by Selenium; skipped, in one line, without it.

Selenium's own browser download can't be used (no internet); the packaged chromium and chromium-driver
are found on PATH, or named by CHROMIUM_BINARY and CHROMEDRIVER. ADMIN_BROWSER_REQUIRED=1 (set by .ci/run
when Chromium is installed) turns the skip into a failure, so CI can't pass without running them.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from django.test import override_settings

NO_BROWSER = "no headless Chromium: apt-get install chromium chromium-driver, or set CHROMIUM_BINARY and CHROMEDRIVER"


def _find(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.path.exists(os.environ[env]) else None
    return next((path for path in map(shutil.which, names) if path), None)


def _no_browser(reason: str):
    if os.environ.get("ADMIN_BROWSER_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_paths():
    binary = _find("CHROMIUM_BINARY", "chromium", "chromium-browser", "google-chrome")
    driver = _find("CHROMEDRIVER", "chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _no_browser(NO_BROWSER + " (and pip install selenium)")
    if not binary or not driver:
        _no_browser(NO_BROWSER)
    return binary, driver


@pytest.fixture(scope="session")
def plain_http():
    # The live server speaks plain HTTP on localhost. Set before it starts: its middleware reads them once.
    with override_settings(SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False,
                           SECURE_HSTS_SECONDS=0):
        yield


@pytest.fixture(scope="session")
def live_server(plain_http, live_server):
    return live_server


@pytest.fixture
def browser(chromium_paths, live_server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths
    profile = tempfile.mkdtemp(prefix="admin-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1100", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
