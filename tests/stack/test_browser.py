"""The UI in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Chromium's own update, sync and metrics traffic has nowhere to go here and only slows start-up.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


SUCCESS_GREEN = "rgb(0, 128, 0)"  # Airflow 2's state colour for "success"
SUCCESS_GREEN_REACT = "oklch(0.47 0.2 149)"  # Airflow 3's React UI: the success badge's green


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
    if stack.major >= 3:
        return see_the_successful_run_in_the_react_ui(stack, example_run, page, artifacts_dir)
    page.goto(f"{stack.base_url}/login/")
    page.fill("input[name=username]", "airflow")
    page.fill("input[name=password]", "airflow")
    page.click("input[type=submit]")
    page.wait_for_url("**/home**")

    page.goto(f"{stack.base_url}/dags/LocalIngestionDagv2/grid")
    # Our run is the newest manually triggered one (`./airflow-lite test-dag` adds one of 2021), the
    # rightmost; Airflow paints a successful run's bar green.
    run_bar = page.locator("[data-testid=run]:has([data-testid=manual-run])").last
    expect(run_bar).to_have_css("background-color", SUCCESS_GREEN)
    run_bar.click()
    expect(page.get_by_text(example_run).first).to_be_visible()
    expect(page.get_by_text("success", exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "grid.png"), full_page=True)


def log_in_to_the_react_ui(stack, page) -> None:
    """The FAB auth manager's login form of Airflow 3, from logged out (the page is the module's: a
    login from an earlier test would skip the form)."""
    page.context.clear_cookies()
    page.goto(f"{stack.base_url}/auth/login/")
    page.fill("input[name=username]", "airflow")
    page.fill("input[name=password]", "airflow")
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)


def see_the_successful_run_in_the_react_ui(stack, example_run, page, artifacts_dir):
    """Airflow 3's React UI: the FAB login form, then the run's page with its grid."""
    log_in_to_the_react_ui(stack, page)

    page.goto(f"{stack.base_url}/dags/LocalIngestionDagv2/runs/{example_run}")
    expect(page.get_by_role("heading", name=example_run)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    for task_id in ("wget", "ingest"):
        # the task's row in the run's task list, and its square in the grid, in success green
        expect(page.get_by_role("row", name=re.compile(rf"^{task_id} Success"))).to_be_visible()
        square = page.locator(f'[data-testid="grid-{example_run}-{task_id}"] [data-testid=task-state-badge]')
        expect(square).to_have_css("background-color", SUCCESS_GREEN_REACT)
    page.screenshot(path=str(artifacts_dir / f"grid-airflow{stack.major}.png"), full_page=True)


@pytest.mark.airflow3_only  # Airflow 2's UI has no Health panel (its /health: test_triggerer.py)
def test_the_home_pages_health_panel_is_all_green(stack, page, artifacts_dir):
    """Airflow 3's Home page: one badge per component, green when healthy (red without a triggerer)."""
    log_in_to_the_react_ui(stack, page)
    page.goto(f"{stack.base_url}/")
    panel = page.locator("div", has=page.get_by_role("heading", name="Health", exact=True)).last.locator("..")
    badges = panel.locator("[data-testid=state-badge]")
    expect(badges).to_have_text(["MetaDatabase", "Scheduler", "Triggerer", "Dag Processor"], timeout=30_000)
    for i in range(4):
        expect(badges.nth(i)).to_have_css("background-color", SUCCESS_GREEN_REACT)
    page.screenshot(path=str(artifacts_dir / "home-airflow3.png"), full_page=True)
