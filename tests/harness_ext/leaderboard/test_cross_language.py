"""Cross-language view: per language, native vs translated scores and the agreement of their model
rankings."""

from __future__ import annotations

import random

import pytest

from nativeval.harness_ext.leaderboard.cross_language import cross_language, reference_cross_language
from nativeval.harness_ext.leaderboard.findings import MeasuredScore, TestSet, Training
from nativeval.harness_ext.leaderboard.reference import load_reference

NATIVE = TestSet("include", "ko", "native", "acc", "constrained", percent=True, task="native_ko_include")
TRANSLATED = TestSet(
    "global_mmlu",
    "ko",
    "human_translated",
    "acc",
    "constrained",
    percent=True,
    task="translated_ko_global_mmlu",
)
ROUND_TRIP = TestSet(
    "include", "ko", "round_trip_translated", "acc", "constrained", percent=True, task="rtt_ko_include"
)
JUDGED = TestSet("open_qa", "ko", "human_translated", "rating", "free_form", task="translated_ko_open_qa")
ITEMS = 400


def scored(ts, model, rate, rng, judge=None):
    items = {f"q{i}": float(rng.random() < rate) for i in range(ITEMS)}
    clusters = {k: f"s{i % 40}" for i, k in enumerate(items)}
    return MeasuredScore(
        ts,
        Training(model, "native"),
        sum(items.values()) / ITEMS,
        judge=judge,
        items=items,
        clusters=clusters,
    )


def board(native_rates, translated_rates, seed=5):
    rng = random.Random(seed)
    rows = []
    for m, (n_rate, t_rate) in enumerate(zip(native_rates, translated_rates, strict=True)):
        rows += [
            scored(NATIVE, f"m{m}", n_rate, rng),
            scored(TRANSLATED, f"m{m}", t_rate, rng),
            scored(ROUND_TRIP, f"m{m}", 0.99, rng),
            scored(JUDGED, f"m{m}", 0.1, rng, judge="gpt-4-turbo"),
        ]
    return rows


def test_same_ranking_gives_tau_one_with_an_item_bootstrap_ci():
    (row,) = cross_language(board([0.3, 0.45, 0.6, 0.75, 0.9], [0.2, 0.35, 0.5, 0.65, 0.8]), resamples=500)
    assert row.language == "ko" and row.n_models == 5 and row.tau == 1.0 and row.discordant_pairs == 0
    assert row.tau_ci_low > 0.5 and "items" in row.tau_method
    assert row.gap == pytest.approx(0.1, abs=0.04) and row.ci_low > 0  # planted: native sets 0.1 higher
    assert row.native_sets == ("native_ko_include",) and row.translated_sets == ("translated_ko_global_mmlu",)


def test_reversed_ranking_gives_negative_tau():
    (row,) = cross_language(board([0.3, 0.45, 0.6, 0.75, 0.9], [0.8, 0.65, 0.5, 0.35, 0.2]), resamples=500)
    assert row.tau == -1.0 and row.discordant_pairs == 10 and row.tau_ci_high < -0.5


def test_one_model_gives_an_item_level_gap_and_no_tau():
    (row,) = cross_language(board([0.8], [0.4]), resamples=500)
    assert row.n_models == 1 and row.tau is None and row.tau_ci_low is None
    assert row.ci_low > 0.3 and "independent" in row.gap_method and "tau undefined" in row.note


def test_language_without_a_native_test_set_says_so():
    rng = random.Random(1)
    (row,) = cross_language([scored(TRANSLATED, "m0", 0.5, rng)], resamples=100)
    assert row.native_score is None and row.note == "no native test set in ko"


def test_paper_numbers_per_language():
    rows = {r.language: r for r in reference_cross_language(load_reference("paper"))}
    assert set(rows) == {"es", "ru", "zh"}
    assert rows["es"].note == "no native test set in es"
    zh = rows["zh"]
    assert zh.native_sets == ("CMMLU zh",) and "XQuAD zh" in zh.translated_sets and zh.n_models == 96
    assert zh.tau_method == "bootstrap over models" and zh.tau_ci_low < zh.tau < zh.tau_ci_high
    assert rows["ru"].tau < zh.tau  # TyDi QA ranks the models less like the translated sets than CMMLU does
