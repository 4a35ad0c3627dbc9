"""The UI in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Chromium's own update, sync and metrics traffic has nowhere to go here and only slows start-up.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


SUCCESS_GREEN = "rgb(0, 128, 0)"  # Airflow's state colour for "success"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no chromium on PATH: install Debian's `chromium` package (or set CHROMIUM=/path)")
    return path


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        browser.close()


def test_log_in_and_see_the_successful_run_in_the_grid(stack, example_run, page, artifacts_dir):
    page.goto(f"{stack.base_url}/login/")
    page.fill("input[name=username]", "airflow")
    page.fill("input[name=password]", "airflow")
    page.click("input[type=submit]")
    page.wait_for_url("**/home**")

    page.goto(f"{stack.base_url}/dags/LocalIngestionDagv2/grid")
    # Our run is the manually triggered one; Airflow paints a successful run's bar green.
    run_bar = page.locator("[data-testid=run]:has([data-testid=manual-run])")
    expect(run_bar).to_have_count(1)
    expect(run_bar).to_have_css("background-color", SUCCESS_GREEN)
    run_bar.click()
    expect(page.get_by_text(example_run).first).to_be_visible()
    expect(page.get_by_text("success", exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "grid.png"), full_page=True)
