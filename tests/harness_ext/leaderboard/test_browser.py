"""The static leaderboard page in real headless Chromium: sorting works, input-derived strings stay inert."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException

from harness_ext.leaderboard.build import build_leaderboard, write_site

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "results"))
from generate import TINY_RUN, synthesize_study  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="needs Debian's chromium and chromedriver"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    study = synthesize_study(root, items=40)
    evil_run = root / "results" / "evil"
    shutil.copytree(next(TINY_RUN.iterdir()), evil_run)
    results = next(evil_run.glob("results_*.json"))
    data = json.loads(results.read_text(encoding="utf-8"))
    data["model_name"] = EVIL
    data["config"]["model_args"] = {"pretrained": EVIL}
    results.write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([study], reference="paper-excerpt", resamples=200, title=EVIL)
    write_site(board, root / "site", make_plots=False)
    return root / "site"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield browser
    browser.quit()


def column_index(driver, header_text: str) -> int:
    headers = driver.find_elements("css selector", "#leaderboard thead th")
    return next(i for i, th in enumerate(headers) if th.text.startswith(header_text))


def column_values(driver, index: int) -> list[float | None]:
    values = []
    for row in driver.find_elements("css selector", "#leaderboard tbody tr"):
        raw = row.find_elements("css selector", "td")[index].get_attribute("data-sort")
        values.append(float(raw) if raw else None)
    return values


def test_clicking_a_header_sorts_the_column(driver, site):
    driver.get((site / "index.html").as_uri())
    index = column_index(driver, "XQuAD zh")
    header = driver.find_elements("css selector", "#leaderboard thead th")[index]
    before = [v for v in column_values(driver, index) if v is not None]
    assert before != sorted(before)  # the page starts unsorted, so the click has work to do
    header.click()
    ascending = column_values(driver, index)
    present = [v for v in ascending if v is not None]
    assert len(present) == 7 and present == sorted(present)
    assert all(v is None for v in ascending[len(present):])  # blank cells sort last, never as zeros
    header.click()
    descending = [v for v in column_values(driver, index) if v is not None]
    assert descending == sorted(present, reverse=True)
    first_model = driver.find_elements("css selector", "#leaderboard tbody tr td")[0].text
    assert first_model in ("BaseA-1B", "BaseB-7B", EVIL)


def test_hostile_model_name_renders_as_text_and_runs_nothing(driver, site):
    hook = "window.__pwned = false; window.alert = function () { window.__pwned = true; };"
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": hook})  # before any page script
    driver.get((site / "index.html").as_uri())
    alerts = []
    with contextlib.suppress(NoAlertPresentException):
        alerts.append(driver.switch_to.alert.text)
    assert alerts == []
    assert driver.execute_script("return window.__pwned") is False
    assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    cells = [td.text for td in driver.find_elements("css selector", "#leaderboard tbody td")]
    assert EVIL in cells
    assert EVIL in driver.find_element("css selector", "h1").text
    assert driver.title == EVIL
