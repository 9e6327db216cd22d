"""The embedded published numbers (all 3,120 of the study's 25 tables) and their one reader."""

from __future__ import annotations

from collections import Counter, defaultdict
from importlib import resources
from statistics import mean

import pytest

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.leaderboard.reference import load_reference, read_reference, reference_path

HEADER = "table,benchmark,metric,lang,base_model,train_data,lr,tuning,score\n"


@pytest.fixture(scope="module")
def rows():
    return read_reference("paper")


@pytest.fixture(scope="module")
def cells():
    return load_reference("paper")


def test_all_published_numbers_ship_with_the_package(rows):
    shipped = resources.files("nativeval.harness_ext.leaderboard").joinpath(
        "reference", "paper_results_full.csv"
    )
    assert shipped.is_file() and reference_path("paper").read_bytes() == shipped.read_bytes()
    assert len(rows) == 3120
    assert {r.table for r in rows} == {str(n) for n in range(1, 26)}
    assert "Chen" in reference_path("paper").with_name("README.md").read_text(encoding="utf-8")


def test_canonical_cells_are_per_language_and_each_counted_once(rows, cells):
    assert all(c.lang in ("es", "ru", "zh") for c in cells)
    identities = Counter(c.identity() for c in cells)
    assert max(identities.values()) == 1
    printed_twice = Counter(r.identity() for r in rows if not r.is_average)
    assert any(n > 1 for n in printed_twice.values())  # appendix tables repeat main-table cells
    assert len(cells) == len(printed_twice) == 2144


def test_mgsm_average_printed_two_ways_comes_from_its_cells(rows, cells):
    config = ("mgsm", "exact_match", "Llama2-7B", "cohere", "1e-6", "mono")

    def key(c):
        return (c.benchmark, c.metric, c.base_model, c.train_data, c.lr, c.tuning)

    printed = {r.table: r.score for r in rows if r.is_average and key(r) == config}
    assert printed == {"7": 9.8, "17": 9.9}
    own = [c.score for c in cells if key(c) == config]
    assert len(own) == 3 and round(mean(own), 2) == 9.87


def test_every_printed_average_agrees_with_its_cells_within_rounding(rows, cells):
    by_config = defaultdict(list)
    for c in cells:
        by_config[c.identity()[:2] + c.identity()[3:]].append(c.score)
    averages = [r for r in rows if r.is_average]
    assert averages
    for avg in averages:
        assert abs(mean(by_config[avg.identity()[:2] + avg.identity()[3:]]) - avg.score) < 0.1, avg


def test_judge_is_split_from_the_benchmark_name_and_every_benchmark_is_catalogued(cells):
    judged = {(c.benchmark, c.judge) for c in cells if c.judge}
    assert judged == {
        (b, j) for b in ("open_qa_native", "open_qa_translated") for j in ("gpt-4-turbo", "command-r-plus")
    }
    assert all(c.catalogue_benchmark is not None for c in cells)
    origins = {c.benchmark: c.catalogue_benchmark.origin for c in cells}
    assert origins["open_qa_native"] == "native" and origins["open_qa_translated"] == "human_translated"
    assert origins["mt_mmlu"] == "machine_translated" and origins["tydiqa"] == "native"


def test_two_tables_that_disagree_on_a_cell_are_refused(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text(
        HEADER + "1,xquad,exact_match,es,M,native,1e-4,mono,30.1\n"
        "2,xquad,exact_match,es,M,native,0.0001,mono,30.2\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_reference(str(path))
    assert "table 1" in str(err.value) and "table 2" in str(err.value) and "\n" not in str(err.value)


def test_agreeing_repeats_and_averages_make_one_cell(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text(
        HEADER + "1,xquad,exact_match,es,M,native,1e-4,mono,30.1\n"
        "2,xquad,exact_match,es,M,native,0.0001,mono,30.1\n"
        "2,xquad,exact_match,avg,M,native,1e-4,mono,31\n",
        encoding="utf-8",
    )
    assert len(read_reference(str(path))) == 3
    (cell,) = load_reference(str(path))
    assert (cell.table, cell.lr, cell.score, cell.source) == ("1", "1e-4", 30.1, "ref.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("benchmark,metric\nxquad,em\n", "lacks column(s) lang"),
        (HEADER + "1,xquad,exact_match,es,M,native,1e-4,mono,n/a\n", ":2: score 'n/a' is not a number"),
    ],
)
def test_bad_csv_is_one_line(tmp_path, text, message):
    path = tmp_path / "ref.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_reference(str(path))
    assert "\n" not in str(err.value)


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_reference(str(tmp_path / "absent.csv"))
