"""The static leaderboard page in real headless Chromium: the findings in the first screen at 1400x900, no
sideways page scroll at 400 px, every image loads, sorting works, input-derived strings stay inert - on a
study-like site (variants, a round trip, a hostile label) and on the published numbers alone."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException

from nativeval.harness_ext.leaderboard.build import build_leaderboard, write_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromedriver",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, unrelated_models, variant_study, add_round_trip) -> Path:
    """Like the demo: a variant study with a round trip of XQuAD zh, three unrelated models, a hostile
    label."""
    root = tmp_path_factory.mktemp("browser")
    results = root / "results"
    shutil.copytree(unrelated_models, results / "models")
    shutil.copytree(variant_study, results / "study")
    add_round_trip(results / "study", 0.5)
    victim = next(p for p in sorted(results.rglob("results_*.json")) if "gamma" in str(p))
    data = json.loads(victim.read_text(encoding="utf-8"))
    data["nativeval"] = {"label": EVIL}  # a hostile label straight from a results file
    victim.write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([results], resamples=300, title=EVIL)
    write_site(board, root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def paper_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paper")
    write_site(build_leaderboard([], reference="paper", resamples=200), root / "site")
    return root / "site"


def show(driver, page: Path, width: int, height: int = 900, open_all: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get(page.as_uri())
    if open_all:
        driver.execute_script(
            "document.querySelectorAll('details').forEach(function (d) { d.open = true; });"
        )


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__pwned = false; window.alert = function () { window.__pwned = true; };"},
    )
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


@pytest.mark.parametrize("which", ["site", "paper_site"])
def test_the_findings_fill_the_first_screen_and_nothing_scrolls_sideways(driver, which, request):
    page = request.getfixturevalue(which) / "index.html"
    show(driver, page, 1400)
    findings = driver.find_element("id", "section-findings")
    top, bottom = driver.execute_script(
        "var r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", findings
    )
    assert top >= 0 and bottom <= 900  # the whole findings summary in the first 1400x900 screen
    assert "separates" in findings.text or "inconclusive" in findings.text or "no difference" in findings.text
    for width in (1400, 400):
        show(driver, page, width, open_all=True)  # every section open: the widest the page gets
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), (
            width
        )
        images = driver.find_elements("css selector", "figure img")
        assert images and all(
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
            for img in images
        )
        assert all(
            driver.execute_script(
                "return arguments[0].getBoundingClientRect().right <= window.innerWidth", img
            )
            for img in images
        )  # figures shrink to the screen


@pytest.mark.parametrize("width", [1400, 400])
def test_the_cross_language_section_shows_a_row_and_a_point_per_language(driver, paper_site, width, tmp_path):
    """The published numbers cover es, ru and zh: one table row per language (named, not coded), the figure
    loads and fits the screen, and the section fits the page at both widths."""
    show(driver, paper_site / "index.html", width, open_all=True)
    section = driver.find_element("id", "section-cross-language")
    driver.execute_script("arguments[0].scrollIntoView();", section)
    rows = section.find_elements("css selector", "table#cross-language tbody tr")
    languages = [row.find_element("css selector", "td.first").text for row in rows]  # the sticky column
    assert languages == ["Spanish (es)", "Russian (ru)", "Simplified Chinese (zh)"]
    russian = rows[1].find_elements("css selector", "td")
    assert (
        russian[0].text == "Russian (ru)"
        and russian[4].text.startswith(("+", "-"))
        and "[" in russian[4].text
    )  # a gap with its CI
    assert "native: none" in rows[0].text  # Spanish has no native test set in the study: said, not blank
    images = section.find_elements("css selector", "figure img")
    assert len(images) == 1
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", images[0])
    assert driver.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "return r.left >= 0 && r.right <= window.innerWidth && r.height > 50",
        images[0],
    )
    assert driver.execute_script(
        "return arguments[0].getBoundingClientRect().right <= window.innerWidth", section
    )
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert section.screenshot(str(tmp_path / f"cross-language-{width}.png"))


def test_page_shows_the_ranking_the_flips_and_the_round_trip(driver, site):
    show(driver, site / "index.html", 1400, open_all=True)
    ranking = driver.find_element("css selector", "table[id^='ranking-cmmlu_zh_native']")
    first = ranking.find_elements("css selector", "tbody tr")[0].find_elements("css selector", "td")
    assert first[0].text == "1" and first[1].text == "alpha"
    flips = driver.find_element("css selector", "table[id='flips-zh']").text
    assert "translated_zh ranks" in flips and "native_zh ranks alpha above" in flips
    headers = [th.text for th in driver.find_elements("css selector", "#leaderboard thead th")]
    assert sum(h.startswith("XQuAD zh") for h in headers) == 2 and any("(round trip)" in h for h in headers)
    captions = " ".join(f.text for f in driver.find_elements("css selector", "figcaption"))
    assert "score per model (95% CI)" in captions and "native vs translated" in captions


def test_clicking_a_header_sorts_the_column(driver, site):
    show(driver, site / "index.html", 1400, open_all=True)
    index = column_index(driver, "CMMLU zh")
    header = driver.find_elements("css selector", "#leaderboard thead th")[index]
    header.click()
    ascending = column_values(driver, index)
    present = [v for v in ascending if v is not None]
    assert len(present) == 9 and present == sorted(present)
    assert all(v is None for v in ascending[len(present) :])  # blank cells sort last, never as zeros
    header.click()
    assert [v for v in column_values(driver, index) if v is not None] == sorted(present, reverse=True)


def test_hostile_model_name_renders_as_text_and_runs_nothing(driver, site):
    show(driver, site / "index.html", 1400, open_all=True)
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
