"""Findings: the training-data gap per test set, known answers on the study's numbers, planted effects/nulls."""

from __future__ import annotations

import random

import pytest

from harness_ext.leaderboard.findings import (
    POOLED,
    MeasuredScore,
    TestSet,
    Training,
    measured_findings,
    reference_findings,
)
from harness_ext.leaderboard.reference import ReferenceCell, load_reference

JSON_KEYS = {"benchmark", "language", "metric", "lr", "tuning", "judge", "translator", "gap", "ci_low", "ci_high",
             "verdict", "n_items", "n_clusters", "n_cells", "group", "note"}


@pytest.fixture(scope="module")
def paper():
    return reference_findings(load_reference("paper"))


def headline(report, benchmark, metric, *, lr="1e-4", tuning="mono", judge=None, origin=None):
    (hit,) = [f for f in report.findings if f.benchmark == benchmark and f.metric == metric and f.lr == lr
              and f.tuning == tuning and f.judge == judge and f.translator == POOLED and f.language in ("all",)
              + (("ru", "zh") if benchmark in ("tydiqa", "cmmlu") else ()) and (origin is None or f.origin == origin)]
    return hit


@pytest.mark.parametrize(("benchmark", "metric", "judge", "origin", "gap", "positive", "cells"), [
    ("tydiqa", "f1", None, None, 2.2, 8, 8),
    ("cmmlu", "acc", None, None, 2.7, 8, 8),
    ("xquad", "exact_match", None, None, 7.6, 22, 24),
    ("open_qa", "sum_rating", "gpt-4-turbo", "human_translated", 45.1, 24, 24),
])
def test_paper_gaps_that_separate(paper, benchmark, metric, judge, origin, gap, positive, cells):
    f = headline(paper, benchmark, metric, judge=judge, origin=origin)
    assert (round(f.gap, 1), f.positive_cells, f.n_cells, f.verdict) == (gap, positive, cells, "separates")
    assert f.ci_low > 0 and f.kind == "reference" and f.n_items is None


@pytest.mark.parametrize(("benchmark", "metric", "judge", "origin", "expected", "positive"), [
    ("mgsm", "exact_match", None, None, (0.4, -1.0, 1.7), 14),
    ("mt_mmlu", "acc", None, None, (0.7, -0.2, 1.5), 15),
    ("open_qa", "sum_rating", "command-r-plus", "human_translated", (0.2, -4.5, 4.9), 14),
])
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
    assert free.verdict == "separates" and free.ci_low > 0 and free.unit == "base models" and free.n_units == 8
    assert free.left_sets == ("xquad exact_match",)
    assert set(free.right_sets) == {"mgsm exact_match", "mt_mmlu acc", "ht_mmlu acc"}
    native = inter["native_minus_translated"]
    assert native.verdict != "separates" and native.ci_low < 0 < native.ci_high


def test_reference_rows_of_an_unknown_benchmark_are_listed_not_shown():
    cells = [ReferenceCell("1", "xquad", "exact_match", "es", m, data, "1e-4", "mono", None, score)
             for m, base in (("A", 30.0), ("B", 40.0)) for data, score in (("native", base + 5), ("google", base))]
    cells += [ReferenceCell("9", "belebele_x", "acc", lang, "A", "native", "1e-4", "mono", None, 50.0)
              for lang in ("es", "ru")]
    report = reference_findings(cells)
    assert report.not_shown == ["not shown: reference benchmark 'belebele_x' (2 cells) is not in the catalogue "
                                "(no catalogue benchmark has reference_key 'belebele_x')"]
    assert [f.benchmark for f in report.findings] == ["xquad"] and report.findings[0].gap == 5.0


# --- measured rows: planted effects and nulls ----------------------------------------------------------------
XQUAD = TestSet("xquad", "zh", "human_translated", "exact_match", "free_form", percent=True,
                task="translated_zh_xquad")
MGSM = TestSet("mgsm", "zh", "human_translated", "exact_match", "constrained", percent=True,
               task="translated_zh_mgsm")
RTT_XQUAD = TestSet("xquad", "zh", "round_trip_translated", "exact_match", "free_form", percent=True,
                    task="rtt_zh_xquad")


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
        for data, items in (("native", native), ("cohere", planted_items(rng, 800, 0.4)),
                            ("google", planted_items(rng, 800, 0.4))):
            scores.append(MeasuredScore(XQUAD, Training(base, data, "1e-4", "mono"), sum(items.values()) / 800,
                                        items=items, clusters=clusters))
        native_mgsm = planted_items(rng, 800, 0.5)
        for data, items in (("native", native_mgsm), ("cohere", null_partner(rng, native_mgsm, 60)),
                            ("google", null_partner(rng, native_mgsm, 60))):
            scores.append(MeasuredScore(MGSM, Training(base, data, "1e-4", "mono"), sum(items.values()) / 800,
                                        items=items))
        rtt = planted_items(rng, 800, 0.7)
        scores.append(MeasuredScore(RTT_XQUAD, Training(base, "native", "1e-4", "mono"), 0.7, items=rtt,
                                    clusters=clusters))
        scores.append(MeasuredScore(RTT_XQUAD, Training(base, "google", "1e-4", "mono"), 0.4,
                                    items=planted_items(rng, 800, 0.4), clusters=clusters))
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
    assert [f.group for f in rtt] == [("round_trip_translated", "free_form")] and rtt[0].translator == "google"
    (inter,) = [i for i in planted.interactions if i.name == "free_form_minus_constrained"]
    assert inter.left_sets == ("translated_zh_xquad",) and inter.right_sets == ("translated_zh_mgsm",)
    assert inter.verdict == "separates" and inter.unit == "items" and inter.ci_low > 0.15


def test_no_items_gives_a_t_interval_over_base_models_and_one_model_no_inference():
    def rows(bases):
        return [MeasuredScore(XQUAD, Training(b, data, "1e-4", "mono"), base + (0.1 if data == "native" else 0))
                for b, base in bases for data in ("native", "google")]

    (two,) = measured_findings(rows([("m1", 0.5), ("m2", 0.3)])).findings
    assert two.n_cells == 2 and two.n_items is None and two.gap == pytest.approx(0.1)
    (one,) = measured_findings(rows([("m1", 0.5)])).findings
    assert one.verdict == "inconclusive" and one.ci_low is None and one.gap == pytest.approx(0.1)


def test_findings_per_learning_rate_and_judge():
    ts = TestSet("open_qa", "es", "human_translated", "rating", "free_form")
    scores = [MeasuredScore(ts, Training("m", data, lr, "mono"), 3.0, judge=judge,
                            items={"a": 3.0 + (data == "native"), "b": 2.0, "c": 4.0})
              for lr in ("1e-4", "1e-6") for judge in ("gpt-4-turbo", "command-r-plus")
              for data in ("native", "google")]
    found = {(f.lr, f.judge) for f in measured_findings(scores, resamples=200).findings}
    assert found == {(lr, j) for lr in ("1e-4", "1e-6") for j in ("gpt-4-turbo", "command-r-plus")}


def test_rows_without_a_training_data_variant_take_no_part():
    rows = [MeasuredScore(XQUAD, Training("m", data), 0.5, items={"a": 1.0, "b": 0.0, "c": 1.0})
            for data in ("", "google")]
    assert measured_findings(rows).findings == []


def test_measured_languages_are_also_pooled_like_the_studys_tables():
    rng = random.Random(2)
    rows = []
    for lang, gap in (("es", 0.3), ("ru", 0.3)):
        ts = TestSet("xquad", lang, "human_translated", "exact_match", "free_form", percent=True,
                     task=f"translated_{lang}_xquad")
        clusters = {f"q{i}": f"c{i // 4}" for i in range(400)}
        for data, rate in (("native", 0.6), ("google", 0.6 - gap)):
            rows.append(MeasuredScore(ts, Training("m", data), rate, items=planted_items(rng, 400, rate),
                                      clusters=clusters))
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
    rows = [MeasuredScore(XQUAD, Training("m", data), 0.5, items=items, clusters=clusters)
            for data, items in (("native", native), ("google", translated))]
    (f,) = measured_findings(rows, resamples=500).findings
    assert f.verdict == "inconclusive" and f.n_clusters == 30
    needed = int(f.note.split("about ")[1].split(" clusters")[0])
    assert needed > 30 and f"(have {f.n_clusters})" in f.note
