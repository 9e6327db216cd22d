"""The study's claims checked on its own numbers and on planted measured rows (claims that hold, that
fail)."""

from __future__ import annotations

import random

import pytest

from nativeval.harness_ext.leaderboard.claims import (
    CLAIMS,
    NOT_SUPPORTED,
    NOT_TESTABLE,
    PARTLY,
    SUPPORTED,
    claims_side_by_side,
    measured_claims,
    reference_claims,
)
from nativeval.harness_ext.leaderboard.findings import MeasuredScore, TestSet, Training
from nativeval.harness_ext.leaderboard.reference import load_reference


@pytest.fixture(scope="module")
def paper():
    return {c.key: c for c in reference_claims(load_reference("paper"))}


def test_every_claim_is_checked_on_the_papers_numbers(paper):
    assert set(paper) == set(CLAIMS)
    assert all(c.reference is not None and c.measured is None for c in paper.values())
    verdicts = {k: c.reference.verdict for k, c in paper.items()}
    assert verdicts == {"a": PARTLY, "b": SUPPORTED, "c": PARTLY, "d": PARTLY, "e": SUPPORTED, "f": PARTLY}


def test_paper_claim_a_holds_for_native_sets_xquad_and_gpt4_judged_open_qa(paper):
    rows = {r.label: r for r in paper["a"].reference.rows}
    agree = {label for label, r in rows.items() if r.agrees}
    assert agree == {
        "TyDi QA GoldP (native) ru",
        "CMMLU (native) zh",
        "XQuAD (human translated)",
        "open QA (human translated), judged by gpt-4-turbo",
    }
    assert rows["open QA (human translated), judged by command-r-plus"].verdict != "separates"
    assert "4 of 7" in paper["a"].reference.summary


def test_paper_claim_b_rows_are_the_constrained_translated_sets(paper):
    rows = paper["b"].reference.rows
    assert {r.label.split(" (")[0] for r in rows} == {"MGSM", "MT-MMLU", "HT-MMLU"}
    assert all(r.agrees and r.ci_low < 0 < r.ci_high for r in rows)


def test_paper_fig4_correlation_is_strong_on_xquad(paper):
    (xquad,) = [r for r in paper["c"].reference.rows if r.label.startswith("XQuAD")]
    assert xquad.value == pytest.approx(0.81, abs=0.01) and xquad.ci_low > 0.5 and xquad.agrees
    constrained = [r for r in paper["c"].reference.rows if "constrained" in r.label]
    assert constrained and all(r.agrees is None for r in constrained)  # shown for contrast, not counted


def test_paper_low_learning_rate_closes_and_multilingual_tuning_only_on_cmmlu(paper):
    e_rows = paper["e"].reference.rows
    assert [r for r in e_rows if r.label.startswith("open QA") and r.agrees is None]  # no 1e-6 open-QA rows
    f_closed = [r.label for r in paper["f"].reference.rows if r.agrees]
    assert f_closed == ["CMMLU (native) zh: gap with multilingual tuning (was 2.73)"]


# --- measured rows ------------------------------------------------------------------------------------------
NATIVE_QA = TestSet("tydiqa", "ru", "native", "f1", "free_form", percent=True, task="native_ru_tydiqa")
XQUAD = TestSet(
    "xquad", "ru", "human_translated", "exact_match", "free_form", percent=True, task="translated_ru_xquad"
)
MGSM = TestSet(
    "mgsm", "ru", "human_translated", "exact_match", "constrained", percent=True, task="translated_ru_mgsm"
)
ITEMS = 300


def bernoulli(rng, rate):
    return {f"q{i}": float(rng.random() < rate) for i in range(ITEMS)}


def null_partner(rng, items, flips=30):
    out = dict(items)
    for k in rng.sample([k for k, v in items.items() if v == 1.0], flips):
        out[k] = 0.0
    for k in rng.sample([k for k, v in items.items() if v == 0.0], flips):
        out[k] = 1.0
    return out


def study(
    gap_on: dict,
    *,
    seed=3,
    strengths=(0.45, 0.55, 0.65, 0.75, 0.85),
    configs=(("1e-4", "mono"),),
    round_trip=False,
    translators=("cohere", "google"),
):
    """Measured rows: per base model of strength s, native data scores s; translated data s − gap * s on the
    test sets in ``gap_on`` (none elsewhere, nor at 1e-6 or multi); round trip = native with noise."""
    rng = random.Random(seed)
    rows = []
    for lr, tuning in configs:
        for m, strength in enumerate(strengths):
            for ts in (NATIVE_QA, XQUAD, MGSM):
                native = bernoulli(rng, strength)
                variants = {"native": native}
                for translator in translators:
                    gap = gap_on.get(ts.task, 0.0) if (lr, tuning) == ("1e-4", "mono") else 0.0
                    variants[translator] = (
                        bernoulli(rng, strength - gap * strength) if gap else null_partner(rng, native)
                    )
                if round_trip:
                    variants["rtt_google"] = null_partner(rng, native)
                for data, items in variants.items():
                    rows.append(
                        MeasuredScore(
                            ts, Training(f"m{m}", data, lr, tuning), sum(items.values()) / ITEMS, items=items
                        )
                    )
    return rows


@pytest.fixture(scope="module")
def holds():
    rows = study(
        {NATIVE_QA.task: 0.4, XQUAD.task: 0.4},
        configs=(("1e-4", "mono"), ("1e-6", "mono"), ("1e-4", "multi")),
        round_trip=True,
    )
    return {c.key: c.measured for c in measured_claims(rows, resamples=300, seed=0)}


def test_planted_study_where_every_claim_holds(holds):
    assert {k: e.verdict for k, e in holds.items()} == {k: SUPPORTED for k in CLAIMS}
    (xquad_r,) = [r for r in holds["c"].rows if r.label.startswith("translated_ru_xquad")]
    assert xquad_r.value > 0.5 and xquad_r.ci_low > 0


def test_planted_gap_on_constrained_and_none_on_free_form_refutes_a_and_b():
    claims = {c.key: c.measured for c in measured_claims(study({MGSM.task: 0.4}), resamples=300, seed=0)}
    assert claims["a"].verdict == NOT_SUPPORTED and claims["b"].verdict == NOT_SUPPORTED
    assert {r.label: r.verdict for r in claims["b"].rows} == {"translated_ru_mgsm": "separates"}


def test_claims_without_their_rows_are_not_testable():
    rows = study({XQUAD.task: 0.4}, strengths=(0.5, 0.7))  # two base models, one configuration, no round trip
    claims = {c.key: c.measured for c in measured_claims(rows, resamples=300, seed=0)}
    assert claims["a"].verdict == PARTLY  # native TyDi-like set has no gap planted
    for key in ("c", "d", "e", "f"):
        assert claims[key].verdict == NOT_TESTABLE, key
        assert claims[key].summary


def test_side_by_side_has_both_sides_and_json():
    measured = study({XQUAD.task: 0.4}, strengths=(0.5, 0.7))
    claims = claims_side_by_side(load_reference("paper"), measured, resamples=300)
    assert [c.key for c in claims] == list(CLAIMS)
    assert all(c.reference is not None and c.measured is not None for c in claims)
    record = claims[0].to_json()
    assert record["reference"]["verdict"] == PARTLY and record["measured"]["rows"]
    assert claims_side_by_side(None, measured, resamples=300)[0].reference is None


def test_one_translator_is_enough_to_check_the_claims():
    rows = study({XQUAD.task: 0.4}, translators=("google",))
    claims = {c.key: c.measured for c in measured_claims(rows, resamples=300, seed=0)}
    assert claims["b"].verdict == SUPPORTED and claims["c"].verdict == SUPPORTED
    assert {r.label for r in claims["a"].rows if r.agrees} == {"translated_ru_xquad"}


def test_findings_computed_once_give_the_same_claims():
    from nativeval.harness_ext.leaderboard.findings import reference_findings

    cells = load_reference("paper")
    again = reference_claims(cells, reference_findings(cells).findings)
    assert [c.reference for c in again] == [c.reference for c in reference_claims(cells)]
