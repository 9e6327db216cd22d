"""Findings: the training-data gap per test set, known answers on the study's numbers, planted
effects/nulls."""

from __future__ import annotations

import random

import pytest

from nativeval.harness_ext.leaderboard.findings import (
    POOLED,
    MeasuredScore,
    TestSet,
    Training,
    judge_name,
    measured_findings,
    reference_findings,
)
from nativeval.harness_ext.leaderboard.reference import ReferenceCell, load_reference

JSON_KEYS = {
    "benchmark",
    "language",
    "metric",
    "lr",
    "tuning",
    "judge",
    "translator",
    "gap",
    "ci_low",
    "ci_high",
    "verdict",
    "n_items",
    "n_clusters",
    "n_cells",
    "group",
    "note",
}


@pytest.fixture(scope="module")
def paper():
    return reference_findings(load_reference("paper"))


def headline(report, benchmark, metric, *, lr="1e-4", tuning="mono", judge=None, origin=None):
    (hit,) = [
        f
        for f in report.findings
        if f.benchmark == benchmark
        and f.metric == metric
        and f.lr == lr
        and f.tuning == tuning
        and f.judge == judge
        and f.translator == POOLED
        and f.language in ("all",) + (("ru", "zh") if benchmark in ("tydiqa", "cmmlu") else ())
        and (origin is None or f.origin == origin)
    ]
    return hit


@pytest.mark.parametrize(
    ("benchmark", "metric", "judge", "origin", "gap", "positive", "cells"),
    [
        ("tydiqa", "f1", None, None, 2.2, 8, 8),
        ("cmmlu", "acc", None, None, 2.7, 8, 8),
        ("xquad", "exact_match", None, None, 7.6, 22, 24),
        ("open_qa", "sum_rating", "gpt-4-turbo", "human_translated", 45.1, 24, 24),
    ],
)
def test_paper_gaps_that_separate(paper, benchmark, metric, judge, origin, gap, positive, cells):
    f = headline(paper, benchmark, metric, judge=judge, origin=origin)
    assert (round(f.gap, 1), f.positive_cells, f.n_cells, f.verdict) == (gap, positive, cells, "separates")
    assert f.ci_low > 0 and f.kind == "reference" and f.n_items is None


@pytest.mark.parametrize(
    ("benchmark", "metric", "judge", "origin", "expected", "positive"),
    [
        ("mgsm", "exact_match", None, None, (0.4, -1.0, 1.7), 14),
        ("mt_mmlu", "acc", None, None, (0.7, -0.2, 1.5), 15),
        ("open_qa", "sum_rating", "command-r-plus", "human_translated", (0.2, -4.5, 4.9), 14),
    ],
)
def test_paper_gaps_that_do_not_separate(paper, benchmark, metric, judge, origin, expected, positive):
    f = headline(paper, benchmark, metric, judge=judge, origin=origin)
    assert (f.gap, f.ci_low, f.ci_high) == pytest.approx(expected, abs=0.06)  # as printed, one decimal
    assert f.positive_cells == positive and f.n_cells == 24 and f.verdict != "separates"


def test_paper_at_1e6_every_gap_is_within_0_6(paper):
    low_lr = [f for f in paper.findings if f.lr == "1e-6" and f.translator == POOLED]
    assert {f.benchmark for f in low_lr} >= {"tydiqa", "cmmlu", "xquad", "mgsm", "mt_mmlu", "ht_mmlu"}
    assert all(abs(f.gap) <= 0.6 for f in low_lr if f.language == "all" or f.benchmark in ("tydiqa", "cmmlu"))


def test_paper_findings_are_grouped_by_origin_and_answer_form(paper):
    groups = {(f.benchmark, f.group) for f in paper.findings}
    assert ("xquad", ("human_translated", "free_form")) in groups
    assert ("mgsm", ("human_translated", "constrained")) in groups
    assert ("cmmlu", ("native", "constrained")) in groups and ("tydiqa", ("native", "free_form")) in groups
    translators = {f.translator for f in paper.findings}
    assert translators == {"cohere", "google", POOLED}
    record = paper.findings[0].to_json()
    assert set(record) >= JSON_KEYS and set(record["group"]) == {"origin", "answer_form"}


def test_paper_interaction_is_free_form_versus_constrained_not_native_versus_translated(paper):
    inter = {i.name: i for i in paper.interactions if (i.lr, i.tuning) == ("1e-4", "mono")}
    free = inter["free_form_minus_constrained"]
    assert (
        free.verdict == "separates" and free.ci_low > 0 and free.unit == "base models" and free.n_units == 8
    )
    assert free.left_sets == ("xquad exact_match",)
    assert set(free.right_sets) == {"mgsm exact_match", "mt_mmlu acc", "ht_mmlu acc"}
    native = inter["native_minus_translated"]
    assert native.verdict != "separates" and native.ci_low < 0 < native.ci_high


def test_reference_rows_of_an_unknown_benchmark_are_listed_not_shown():
    cells = [
        ReferenceCell("1", "xquad", "exact_match", "es", m, data, "1e-4", "mono", None, score)
        for m, base in (("A", 30.0), ("B", 40.0))
        for data, score in (("native", base + 5), ("google", base))
    ]
    cells += [
        ReferenceCell("9", "belebele_x", "acc", lang, "A", "native", "1e-4", "mono", None, 50.0)
        for lang in ("es", "ru")
    ]
    report = reference_findings(cells)
    assert report.not_shown == [
        "not shown: reference benchmark 'belebele_x' (2 cells) is not in the catalogue "
        "(no catalogue benchmark has reference_key 'belebele_x')"
    ]
    assert [f.benchmark for f in report.findings] == ["xquad"] and report.findings[0].gap == 5.0


# --- measured rows: planted effects and nulls ---------------------------------------------------------------
XQUAD = TestSet(
    "xquad", "zh", "human_translated", "exact_match", "free_form", percent=True, task="translated_zh_xquad"
)
MGSM = TestSet(
    "mgsm", "zh", "human_translated", "exact_match", "constrained", percent=True, task="translated_zh_mgsm"
)
RTT_XQUAD = TestSet(
    "xquad", "zh", "round_trip_translated", "exact_match", "free_form", percent=True, task="rtt_zh_xquad"
)


def planted_items(rng, n, rate):
    return {f"q{i}": float(rng.random() < rate) for i in range(n)}


def null_partner(rng, items, flips):
    """The same scores with ``flips`` items moved 1->0 and as many 0->1: variance, no difference."""
    out = dict(items)
    ones = [k for k, v in items.items() if v == 1.0]
    zeros = [k for k, v in items.items() if v == 0.0]
    for k in rng.sample(ones, flips):
        out[k] = 0.0
    for k in rng.sample(zeros, flips):
        out[k] = 1.0
    return out


@pytest.fixture(scope="module")
def planted():
    rng = random.Random(7)
    scores = []
    clusters = {f"q{i}": f"c{i // 4}" for i in range(800)}
    for base in ("m1", "m2"):
        native = planted_items(rng, 800, 0.7)
        for data, items in (
            ("native", native),
            ("cohere", planted_items(rng, 800, 0.4)),
            ("google", planted_items(rng, 800, 0.4)),
        ):
            scores.append(
                MeasuredScore(
                    XQUAD,
                    Training(base, data, "1e-4", "mono"),
                    sum(items.values()) / 800,
                    items=items,
                    clusters=clusters,
                )
            )
        native_mgsm = planted_items(rng, 800, 0.5)
        for data, items in (
            ("native", native_mgsm),
            ("cohere", null_partner(rng, native_mgsm, 60)),
            ("google", null_partner(rng, native_mgsm, 60)),
        ):
            scores.append(
                MeasuredScore(
                    MGSM, Training(base, data, "1e-4", "mono"), sum(items.values()) / 800, items=items
                )
            )
        rtt = planted_items(rng, 800, 0.7)
        scores.append(
            MeasuredScore(
                RTT_XQUAD, Training(base, "native", "1e-4", "mono"), 0.7, items=rtt, clusters=clusters
            )
        )
        scores.append(
            MeasuredScore(
                RTT_XQUAD,
                Training(base, "google", "1e-4", "mono"),
                0.4,
                items=planted_items(rng, 800, 0.4),
                clusters=clusters,
            )
        )
    return measured_findings(scores, resamples=500, seed=1)


def pooled(report, test_set):
    (hit,) = [f for f in report.findings if f.task == test_set.task and f.translator == POOLED]
    return hit


def test_planted_gap_on_free_form_separates(planted):
    f = pooled(planted, XQUAD)
    assert f.verdict == "separates" and 0.22 < f.gap < 0.38 and f.ci_low > 0.15
    assert f.n_items == 1600 and f.n_clusters == 200 and f.n_cells == 2 and f.kind == "measured"


def test_planted_null_on_constrained_is_no_difference(planted):
    f = pooled(planted, MGSM)
    assert f.gap == pytest.approx(0.0, abs=1e-12) and f.verdict == "no_difference"
    assert f.mde is not None and -f.mde <= f.ci_low < 0 < f.ci_high <= f.mde


def test_per_translator_findings_beside_the_pooled_one(planted):
    per = {f.translator: f for f in planted.findings if f.task == XQUAD.task}
    assert set(per) == {"cohere", "google", POOLED}
    assert per[POOLED].gap == pytest.approx((per["cohere"].gap + per["google"].gap) / 2)


def test_round_trip_task_is_its_own_test_set_and_stays_out_of_the_interactions(planted):
    rtt = [f for f in planted.findings if f.task == RTT_XQUAD.task]
    assert [f.group for f in rtt] == [("round_trip_translated", "free_form")] and rtt[
        0
    ].translator == "google"
    (inter,) = [i for i in planted.interactions if i.name == "free_form_minus_constrained"]
    assert inter.left_sets == ("translated_zh_xquad",) and inter.right_sets == ("translated_zh_mgsm",)
    assert inter.verdict == "separates" and inter.unit == "items" and inter.ci_low > 0.15


def test_no_items_gives_a_t_interval_over_base_models_and_one_model_no_inference():
    def rows(bases):
        return [
            MeasuredScore(XQUAD, Training(b, data, "1e-4", "mono"), base + (0.1 if data == "native" else 0))
            for b, base in bases
            for data in ("native", "google")
        ]

    (two,) = measured_findings(rows([("m1", 0.5), ("m2", 0.3)])).findings
    assert two.n_cells == 2 and two.n_items is None and two.gap == pytest.approx(0.1)
    (one,) = measured_findings(rows([("m1", 0.5)])).findings
    assert one.verdict == "inconclusive" and one.ci_low is None and one.gap == pytest.approx(0.1)


def test_findings_per_learning_rate_and_judge():
    ts = TestSet("open_qa", "es", "human_translated", "rating", "free_form")
    scores = [
        MeasuredScore(
            ts,
            Training("m", data, lr, "mono"),
            3.0,
            judge=judge,
            items={"a": 3.0 + (data == "native"), "b": 2.0, "c": 4.0},
        )
        for lr in ("1e-4", "1e-6")
        for judge in ("gpt-4-turbo", "command-r-plus")
        for data in ("native", "google")
    ]
    found = {(f.lr, f.judge) for f in measured_findings(scores, resamples=200).findings}
    assert found == {(lr, j) for lr in ("1e-4", "1e-6") for j in ("gpt-4-turbo", "command-r-plus")}


def test_ratings_made_with_two_prompt_versions_are_never_compared_and_the_prompt_is_named():
    ts = TestSet("open_qa", "es", "human_translated", "rating", "free_form")
    scores = [
        MeasuredScore(
            ts,
            Training("m", data, "1e-4", "mono"),
            3.0,
            judge="gpt-4-turbo",
            items={"a": 3.0 + (data == "native"), "b": 2.0, "c": 4.0},
            judge_prompt=prompt,
        )
        for data, prompt in (("native", "single_v2"), ("google", "single_v1"))
    ]
    assert measured_findings(scores, resamples=200).findings == []  # native judged one way, google another
    scores[1] = MeasuredScore(**{**scores[1].__dict__, "judge_prompt": "single_v2"})
    (finding,) = measured_findings(scores, resamples=200).findings
    assert (finding.judge, finding.judge_prompt) == ("gpt-4-turbo", "single_v2")
    assert finding.to_json()["judge_prompt"] == "single_v2"
    assert judge_name("gpt-4-turbo", "single_v2") == "gpt-4-turbo (prompt single_v2)"
    assert judge_name("a+b", "x+") == "a (prompt x) + b" and judge_name("a", None) == "a"


def test_rows_without_a_training_data_variant_take_no_part():
    rows = [
        MeasuredScore(XQUAD, Training("m", data), 0.5, items={"a": 1.0, "b": 0.0, "c": 1.0})
        for data in ("", "google")
    ]
    assert measured_findings(rows).findings == []


def test_measured_languages_are_also_pooled_like_the_studys_tables():
    rng = random.Random(2)
    rows = []
    for lang, gap in (("es", 0.3), ("ru", 0.3)):
        ts = TestSet(
            "xquad",
            lang,
            "human_translated",
            "exact_match",
            "free_form",
            percent=True,
            task=f"translated_{lang}_xquad",
        )
        clusters = {f"q{i}": f"c{i // 4}" for i in range(400)}
        for data, rate in (("native", 0.6), ("google", 0.6 - gap)):
            rows.append(
                MeasuredScore(
                    ts, Training("m", data), rate, items=planted_items(rng, 400, rate), clusters=clusters
                )
            )
    report = measured_findings(rows, resamples=300)
    pooled_all = [f for f in report.findings if f.language == "all"]
    assert [(f.task, f.n_items, f.n_clusters, f.n_cells) for f in pooled_all] == [("", 800, 200, 2)]
    assert pooled_all[0].verdict == "separates" and report.findings[0] is pooled_all[0]
    assert not [i for i in report.interactions if "all" in i.left_sets + i.right_sets]


def test_inconclusive_says_how_many_clusters_would_be_needed():
    clusters = {f"q{i}": f"c{i // 2}" for i in range(60)}
    native = {f"q{i}": float(i % 2) for i in range(60)}
    translated = dict(native)
    for i in range(6):  # planted: native better on 6 items, worse on 3: a gap of 0.05 over 30 clusters
        native[f"q{2 * i}"] = 1.0
    for i in range(3):
        translated[f"q{2 * (20 + i)}"] = 1.0
    rows = [
        MeasuredScore(XQUAD, Training("m", data), 0.5, items=items, clusters=clusters)
        for data, items in (("native", native), ("google", translated))
    ]
    (f,) = measured_findings(rows, resamples=500).findings
    assert f.verdict == "inconclusive" and f.n_clusters == 30
    needed = int(f.note.split("about ")[1].split(" clusters")[0])
    assert needed > 30 and f"(have {f.n_clusters})" in f.note


# --- one set of draws per test set --------------------------------------------------------------------------
def two_language_rows(seed: int = 3) -> list[MeasuredScore]:
    """XQuAD es and ru (passages of 4), two base models, native and two translators (planted gap 0.2)."""
    rng = random.Random(seed)
    rows = []
    for lang in ("es", "ru"):
        ts = TestSet(
            "xquad",
            lang,
            "human_translated",
            "exact_match",
            "free_form",
            percent=True,
            task=f"translated_{lang}_xquad",
        )
        clusters = {f"q{i}": f"c{i // 4}" for i in range(400)}
        for base in ("m1", "m2"):
            for data, rate in (("native", 0.6), ("cohere", 0.4), ("google", 0.45)):
                rows.append(
                    MeasuredScore(
                        ts,
                        Training(base, data, "1e-4", "mono"),
                        rate,
                        items=planted_items(rng, 400, rate),
                        clusters=clusters,
                    )
                )
    return rows


def counting_draws(monkeypatch) -> list[int]:
    from nativeval.harness_ext.core import stats

    calls: list[int] = []
    real = stats.cluster_counts

    def counted(n_clusters, draws, rng):
        calls.append(n_clusters)
        return real(n_clusters, draws, rng)

    monkeypatch.setattr(stats, "cluster_counts", counted)
    return calls


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(a))
    )


def test_every_translator_and_the_pooled_gap_share_one_draw_and_match_separate_draws(monkeypatch):
    from nativeval.harness_ext.leaderboard.findings import findings_of, gap_estimate, measured_series

    series = measured_series(two_language_rows())
    assert [d.test_set.language for d in series] == ["es", "ru", "all"]
    alone = {
        (d.test_set.language, t): gap_estimate(d, t, resamples=400, seed=5)
        for d in series
        for t in ("cohere", "google", POOLED)
    }
    calls = counting_draws(monkeypatch)
    shared = findings_of(series, resamples=400, seed=5)
    assert sorted(calls) == [
        100,
        100,
        200,
    ]  # one draw per test set (es, ru: 100 passages; all: 200), not three
    assert len(shared) == 9
    for f in shared:
        e = alone[(f.language, f.translator)]
        assert close(f.gap, e.value) and close(f.ci_low, e.ci_low) and close(f.ci_high, e.ci_high)
        assert close(f.p_value, e.p_value) and f.n_clusters == e.n_clusters


def test_the_pooled_language_set_joined_from_arrays_equals_one_built_from_items():
    from dataclasses import replace

    from nativeval.harness_ext.leaderboard.findings import findings_of, measured_series

    pooled_set = measured_series(two_language_rows())[-1]
    assert pooled_set.parts and pooled_set.test_set.language == "all"
    from_items = replace(pooled_set, parts=(), _variants=pooled_set.variants, _clusters=pooled_set.clusters)
    assert len(from_items.variants["native"]) == 1600 and from_items.clusters[("m1", "es|q5")] == "es|c1"
    joined, built = findings_of([pooled_set], resamples=300), findings_of([from_items], resamples=300)
    assert [f.translator for f in joined] == [f.translator for f in built] == ["pooled", "cohere", "google"]
    for a, b in zip(joined, built, strict=True):
        assert (a.n_items, a.n_clusters, a.n_cells) == (b.n_items, b.n_clusters, b.n_cells) == (1600, 200, 4)
        assert close(a.gap, b.gap) and close(a.ci_low, b.ci_low) and close(a.ci_high, b.ci_high)


def test_findings_read_the_draws_the_test_set_statistics_already_made(monkeypatch):
    """Under stats.shared_draws the first resamples drawn for a test set's clusters are served again: the
    findings draw nothing the per-model statistics drew, and their numbers do not change."""
    import numpy as np

    from nativeval.harness_ext.core import stats

    rows = two_language_rows()
    without = measured_findings(rows, resamples=300, seed=2).findings
    calls = counting_draws(monkeypatch)
    with stats.shared_draws(300):
        for n_clusters in (100, 200):  # as column_stats draws for the test sets: more resamples, same seed
            stats.bootstrap_means(
                np.ones((1, n_clusters)), np.ones((1, n_clusters), bool), np.arange(n_clusters), 1000, seed=2
            )
        drawn = len(calls)
        within = measured_findings(rows, resamples=300, seed=2).findings
    assert (
        drawn == 2 and len(calls) == 2
    )  # the findings drew nothing new (the interactions draw other clusters:
    assert within == without  # none here: one origin and answer form only)
