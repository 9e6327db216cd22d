"""The static leaderboard page in real headless Chromium: ranking, flips and plots shown, sorting works,
input-derived strings stay inert."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException

from harness_ext.leaderboard.build import build_leaderboard, write_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                       reason="needs Debian's chromium and chromedriver"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, unrelated_models) -> Path:
    root = tmp_path_factory.mktemp("browser")
    results = root / "results"
    shutil.copytree(unrelated_models, results)
    victim = next(p for p in sorted(results.rglob("results_*.json")) if "gamma" in str(p))
    data = json.loads(victim.read_text(encoding="utf-8"))
    data["nativeval"] = {"label": EVIL}  # a hostile label straight from a results file
    victim.write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([results], reference="paper-excerpt", resamples=300, title=EVIL)
    write_site(board, root / "site")
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
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.__pwned = false; window.alert = function () { window.__pwned = true; };"})
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


def test_page_shows_the_ranking_the_flips_and_the_plots(driver, site):
    driver.get((site / "index.html").as_uri())
    ranking = driver.find_element("css selector", "table[id^='ranking-cmmlu_zh_native']")
    first = ranking.find_elements("css selector", "tbody tr")[0].find_elements("css selector", "td")
    assert first[0].text == "1" and first[1].text == "alpha"
    flips = driver.find_element("css selector", "table[id='flips-zh']").text
    assert "translated_zh ranks" in flips and "native_zh ranks alpha above" in flips
    images = driver.find_elements("css selector", "figure img")
    assert len(images) >= 3
    assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
               for img in images)  # every embedded PNG decodes and displays
    captions = " ".join(f.text for f in driver.find_elements("css selector", "figcaption"))
    assert "score per model with 95% CI" in captions and "native vs translated" in captions


def test_clicking_a_header_sorts_the_column(driver, site):
    driver.get((site / "index.html").as_uri())
    index = column_index(driver, "CMMLU zh")
    header = driver.find_elements("css selector", "#leaderboard thead th")[index]
    header.click()
    ascending = column_values(driver, index)
    present = [v for v in ascending if v is not None]
    assert len(present) == 3 and present == sorted(present)
    assert all(v is None for v in ascending[len(present):])  # blank cells sort last, never as zeros
    header.click()
    assert [v for v in column_values(driver, index) if v is not None] == sorted(present, reverse=True)


def test_hostile_model_name_renders_as_text_and_runs_nothing(driver, site):
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
