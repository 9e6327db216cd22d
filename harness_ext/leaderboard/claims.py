"""The study's claims, each checked the same way on published reference cells and on measured rows.

Chen, Yu, Guo, Haddow (EMNLP 2024) claim (``DESIGN.md`` "Why it exists"):

a. native test sets and free-form generation show the training-data gap (native- minus translated-trained);
b. constrained translated test sets (a choice letter, a number) hide it;
c. the gap grows with base-model strength on generation (Fig. 4: Pearson r between S_native and
   ΔS = S_native − ½(S_cohere + S_google), per test set, over the per-language scores);
d. round-trip-translated native data stays close to native data (Tables 1–2);
e. a learning rate of 1e-6 closes the gap; f. multilingual tuning closes it.

Each claim gets evidence rows (numbers with CIs) and a verdict: ``supported`` (every test set in its scope
agrees), ``partly_supported`` (some do), ``not_supported`` (none does), ``not_testable`` (no rows in scope).
The standard configuration is the study's recipe (learning rate 1e-4, monolingual tuning) where the rows have
it, else the largest monolingual learning rate present. All estimates come from :mod:`findings` and
:mod:`nativeval.harness_ext.core.stats`: paired items for measured rows, a t-interval over model × language
cells for published ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats as scipy_stats

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.findings import (
    ALL_LANGUAGES,
    CONFIDENCE,
    MEASURED,
    NATIVE_DATA,
    POOLED,
    REFERENCE,
    TRANSLATED_ORIGINS,
    Finding,
    GapData,
    MeasuredScore,
    Unit,
    _other_headline,
    findings_of,
    judge_name,
    judge_verdict,
    measured_series,
    reference_series,
)
from nativeval.harness_ext.leaderboard.reference import ReferenceCell

SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_TESTABLE = (
    "supported",
    "partly_supported",
    "not_supported",
    "not_testable",
)
STUDY_RECIPE = ("1e-4", "mono")
SEPARATES = "separates"
# A gap "closes" when it is no_difference afterwards, or shrinks (a separating reduction) below this share of
# itself.
CLOSED_SHARE = 0.25


@dataclass(frozen=True)
class EvidenceRow:
    label: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str  # the statistic's own verdict: separates / no_difference / inconclusive, or "" (not tested)
    agrees: bool | None  # does this row bear the claim out (None: not counted)
    note: str = ""


@dataclass(frozen=True)
class Evidence:
    verdict: str
    summary: str
    rows: tuple[EvidenceRow, ...] = ()


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    source: str  # where the study makes it
    reference: Evidence | None = None
    measured: Evidence | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CLAIMS = {
    "a": ("Native test sets and free-form generation show the gap", "§4, Tables 4–6, 9"),
    "b": ("Constrained translated test sets hide the gap", "§4, Tables 7–8"),
    "c": ("The gap grows with base-model strength on generation", "Fig. 4"),
    "d": ("Round-trip-translated native data stays close to native data", "Tables 1–2"),
    "e": ("A learning rate of 1e-6 closes the gap", "§5, Tables 4–8 (1e-6)"),
    "f": ("Multilingual tuning closes the gap", "§5, Tables 4–9 (multi)"),
}


# --- shared helpers ---------------------------------------------------------------------------------------
def _lr_value(lr: str) -> float:
    try:
        return float(lr)
    except ValueError:
        return float("nan")


def standard_config(series: Sequence[GapData]) -> tuple[str, str, str] | None:
    configs = {d.config for d in series}
    if not configs:
        return None
    study = [c for c in configs if c[:2] == STUDY_RECIPE]
    if study:
        return sorted(study)[0]
    mono = [c for c in configs if c[1] in ("mono", "")] or list(configs)
    return max(mono, key=lambda c: (0.0 if math.isnan(_lr_value(c[0])) else _lr_value(c[0]), c))


def headline_series(series: Sequence[GapData]) -> list[GapData]:
    """Headline metric only; a reference test set pooled over languages stands for its per-language rows."""
    pooled = {
        (d.kind, d.test_set.benchmark, d.test_set.origin, d.test_set.metric)
        for d in series
        if d.test_set.language == ALL_LANGUAGES
    }
    return [
        d
        for d in series
        if d.test_set.headline
        and (
            d.test_set.language == ALL_LANGUAGES
            or (d.kind, d.test_set.benchmark, d.test_set.origin, d.test_set.metric) not in pooled
        )
    ]


def label(data: GapData | Finding) -> str:
    ts = data.test_set if isinstance(data, GapData) else data
    name = ts.task or f"{ts.title or ts.benchmark} ({ts.origin.replace('_', ' ')})"
    if ts.language != ALL_LANGUAGES and not ts.task:
        name += f" {ts.language}"
    return name + (f", judged by {judge_name(data.judge, data.judge_prompt)}" if data.judge else "")


def _finding_for(data: GapData, findings: Sequence[Finding]) -> Finding | None:
    """The pooled finding of a test set (the one translator's, where there is only one)."""
    ts = data.test_set
    translators = data.translators()
    translator = translators[0] if len(translators) == 1 else POOLED
    for f in findings:
        if (
            f.kind,
            f.benchmark,
            f.language,
            f.origin,
            f.metric,
            f.task,
            f.lr,
            f.tuning,
            f.judge,
            f.judge_prompt,
            f.translator,
        ) == (
            data.kind,
            ts.benchmark,
            ts.language,
            ts.origin,
            ts.metric,
            ts.task,
            data.lr,
            data.tuning,
            data.judge,
            data.judge_prompt,
            translator,
        ):
            return f
    return None


def _row(
    name: str, estimate: stats.Estimate | Finding, agrees: bool | None, note: str = "", unit: str = "units"
) -> EvidenceRow:
    if isinstance(estimate, Finding):
        return EvidenceRow(
            name,
            estimate.gap,
            estimate.ci_low,
            estimate.ci_high,
            estimate.verdict,
            agrees,
            note or estimate.note,
        )
    verdict, _, extra = judge_verdict(estimate, unit)
    value = None if estimate.value is None else float(estimate.value)
    low = None if estimate.ci_low is None else float(estimate.ci_low)
    high = None if estimate.ci_high is None else float(estimate.ci_high)
    return EvidenceRow(name, value, low, high, verdict, agrees, "; ".join(p for p in (note, extra) if p))


def _verdict(rows: Sequence[EvidenceRow], what: str, empty: str) -> Evidence:
    counted = [r for r in rows if r.agrees is not None]
    if not counted:
        return Evidence(NOT_TESTABLE, empty, tuple(rows))
    agree = [r.label for r in counted if r.agrees]
    disagree = [r.label for r in counted if not r.agrees]
    verdict = SUPPORTED if not disagree else NOT_SUPPORTED if not agree else PARTLY
    summary = f"{len(agree)} of {len(counted)} {what}"
    if disagree and agree:
        summary += f"; not: {', '.join(disagree)}"
    return Evidence(verdict, summary, tuple(rows))


def _paired(
    kind_by_items: bool,
    a: dict[Unit, float],
    b: dict[Unit, float],
    clusters: dict[Unit, str],
    resamples: int,
    seed: int,
) -> stats.Estimate:
    """a − b over the units both have: paired items (clusters kept), or a t-interval over cells."""
    shared = sorted(set(a) & set(b))
    if kind_by_items:
        key = "|".join
        return stats.paired_difference(
            {key(u): a[u] for u in shared},
            {key(u): b[u] for u in shared},
            {key(u): clusters.get(u, u[-1]) for u in shared},
            resamples=resamples,
            seed=seed,
            confidence=CONFIDENCE,
        )
    return stats.cells_difference([a[u] - b[u] for u in shared], confidence=CONFIDENCE)


# --- the claims -------------------------------------------------------------------------------------------
def claim_shows_gap(series: list[GapData], findings: list[Finding], **_: Any) -> Evidence:
    config = standard_config(series)
    rows = []
    for data in headline_series(series):
        ts = data.test_set
        in_scope = ts.origin == "native" or (
            ts.origin in TRANSLATED_ORIGINS and ts.answer_form == "free_form"
        )
        finding = _finding_for(data, findings)
        if data.config == config and in_scope and finding is not None:
            rows.append(_row(label(data), finding, finding.verdict == SEPARATES and finding.gap > 0))
    return _verdict(
        rows,
        "native or free-form test sets separate native- from translated-trained models",
        "no native or free-form test set with native- and translated-trained rows",
    )


def claim_constrained_hides(series: list[GapData], findings: list[Finding], **_: Any) -> Evidence:
    config = standard_config(series)
    rows = []
    for data in headline_series(series):
        ts = data.test_set
        finding = _finding_for(data, findings)
        if (
            data.config == config
            and ts.origin in TRANSLATED_ORIGINS
            and ts.answer_form == "constrained"
            and finding
        ):
            rows.append(_row(label(data), finding, finding.verdict != SEPARATES))
    return _verdict(
        rows,
        "constrained translated test sets do not separate them",
        "no constrained translated test set with native- and translated-trained rows",
    )


def strength_points(data: GapData) -> tuple[list[float], list[float]]:
    """(S_native, ΔS) per model × language cell (Fig. 4)."""
    xs, ys = [], []
    for cell, scores in sorted(data.headline.items()):
        native, other = scores.get(NATIVE_DATA), _other_headline(data, cell, POOLED)
        if native is not None and other is not None:
            xs.append(native)
            ys.append(native - other)
    return xs, ys


def claim_grows_with_strength(series: list[GapData], findings: list[Finding], **_: Any) -> Evidence:
    config = standard_config(series)
    rows = []
    for data in headline_series(series):
        if data.config != config or not data.translators() or data.test_set.answer_form is None:
            continue
        xs, ys = strength_points(data)
        r = stats.pearson_r(xs, ys)
        free = data.test_set.answer_form == "free_form"
        name = f"{label(data)}: Pearson r over {len(xs)} cells" + (
            "" if free else " (constrained, for contrast)"
        )
        if r is None:
            rows.append(EvidenceRow(name, None, None, None, "", None, "needs 3 or more cells with variation"))
            continue
        low = high = None
        if len(xs) > 3:
            interval = scipy_stats.pearsonr(xs, ys).confidence_interval(CONFIDENCE)  # Fisher z
            low, high = float(interval.low), float(interval.high)
        verdict = "" if low is None else SEPARATES if low > 0 or high < 0 else "inconclusive"
        agrees = (low is not None and low > 0) if free else None
        rows.append(
            EvidenceRow(
                name,
                r,
                low,
                high,
                verdict,
                agrees,
                "" if low is not None else "too few cells for an interval",
            )
        )
    return _verdict(
        rows,
        "free-form test sets show r > 0 (CI above 0)",
        "no free-form test set with 4 or more model × language cells",
    )


def claim_round_trip_close(
    series: list[GapData], findings: list[Finding], *, resamples: int, seed: int
) -> Evidence:
    config = standard_config(series)
    rows = []
    for data in headline_series(series):
        if data.config != config or not data.native:
            continue
        for rtt in data.translators("round_trip"):
            translator = rtt.split("_", 1)[1] if "_" in rtt else None
            gap_rtt = _paired(data.by_items, data.native, data.variants[rtt], data.clusters, resamples, seed)
            close_verdict, _, _ = judge_verdict(gap_rtt, "cells")
            closer = None
            if translator in data.variants:
                closer = _paired(
                    data.by_items,
                    data.variants[rtt],
                    data.variants[translator],
                    data.clusters,
                    resamples,
                    seed,
                )
            recovers = closer is not None and closer.excludes(0.0) and (closer.value or 0) > 0
            agrees = not (close_verdict == SEPARATES and (gap_rtt.value or 0) > 0) or recovers
            rows.append(_row(f"{label(data)}: native − {rtt}", gap_rtt, agrees, unit="cells"))
            if closer is not None:
                rows.append(_row(f"{label(data)}: {rtt} − {translator}", closer, None, unit="cells"))
    return _verdict(
        rows,
        "round-trip variants stay close to native data (native − rtt does not separate) or "
        "beat their translated counterpart",
        "no round-trip (rtt_*) training data beside native and translated data",
    )


def _closes(
    alternative: Callable[[tuple[str, str, str], set[tuple[str, str, str]]], tuple[str, str, str] | None],
    what: str,
):
    def claim(series: list[GapData], findings: list[Finding], *, resamples: int, seed: int) -> Evidence:
        config = standard_config(series)
        heads = headline_series(series)
        alt = alternative(config, {d.config for d in heads}) if config else None
        rows = []
        for data in heads:
            standard = _finding_for(data, findings)
            if (
                data.config != config
                or standard is None
                or standard.verdict != SEPARATES
                or standard.gap <= 0
            ):
                continue
            twin = (
                next(
                    (
                        d
                        for d in heads
                        if d.config == alt and d.test_set == data.test_set and d.judge == data.judge
                    ),
                    None,
                )
                if alt
                else None
            )
            if twin is None or _finding_for(twin, findings) is None:
                rows.append(
                    EvidenceRow(
                        f"{label(data)}: no rows {what}",
                        standard.gap,
                        standard.ci_low,
                        standard.ci_high,
                        standard.verdict,
                        None,
                        "not testable on these rows",
                    )
                )
                continue
            after = _finding_for(twin, findings)
            shrink = _paired(
                data.by_items,
                data.differences(POOLED),
                twin.differences(POOLED),
                data.clusters,
                resamples,
                seed,
            )
            verdict, _, _ = judge_verdict(shrink, "cells")
            closed = after.verdict == "no_difference" or (
                verdict == SEPARATES
                and (shrink.value or 0) > 0
                and abs(after.gap) < CLOSED_SHARE * standard.gap
            )
            rows.append(_row(f"{label(data)}: gap {what} (was {standard.gap:.3g})", after, closed))
            rows.append(_row(f"{label(data)}: reduction of the gap {what}", shrink, None, unit="cells"))
        return _verdict(
            rows,
            f"gaps that separate at the standard recipe close {what}",
            f"no test set that separates at the standard recipe has rows {what}",
        )

    return claim


def _lower_lr(config, configs):
    lower = [c for c in configs if c[1:] == config[1:] and _lr_value(c[0]) < _lr_value(config[0])]
    return min(lower, key=lambda c: _lr_value(c[0])) if lower else None


def _multilingual(config, configs):
    return next(
        (c for c in sorted(configs) if c[0] == config[0] and c[2] == config[2] and c[1] == "multi"), None
    )


CHECKS = {
    "a": claim_shows_gap,
    "b": claim_constrained_hides,
    "c": claim_grows_with_strength,
    "d": claim_round_trip_close,
    "e": _closes(_lower_lr, "at the lowest learning rate"),
    "f": _closes(_multilingual, "with multilingual tuning"),
}


def evaluate(
    series: list[GapData], findings: Sequence[Finding] | None = None, *, resamples: int = 2000, seed: int = 0
) -> dict[str, Evidence]:
    """Every claim on one kind of rows; ``findings``: the same rows' findings when already computed."""
    findings = list(findings) if findings is not None else findings_of(series, resamples=resamples, seed=seed)
    return {key: check(series, findings, resamples=resamples, seed=seed) for key, check in CHECKS.items()}


def _claims(reference: dict[str, Evidence] | None, measured: dict[str, Evidence] | None) -> list[Claim]:
    return [
        Claim(key, text, source, reference=(reference or {}).get(key), measured=(measured or {}).get(key))
        for key, (text, source) in CLAIMS.items()
    ]


def reference_claims(
    cells: Sequence[ReferenceCell], findings: Sequence[Finding] | None = None
) -> list[Claim]:
    return claims_side_by_side(cells, None, reference_findings=findings)


def measured_claims(
    scores: Sequence[MeasuredScore],
    findings: Sequence[Finding] | None = None,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> list[Claim]:
    return claims_side_by_side(None, scores, measured_findings=findings, resamples=resamples, seed=seed)


def claims_side_by_side(
    reference: Sequence[ReferenceCell] | None,
    measured: Sequence[MeasuredScore] | None,
    *,
    reference_findings: Sequence[Finding] | None = None,
    measured_findings: Sequence[Finding] | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> list[Claim]:
    """Each claim with its evidence on the reference cells and on the measured rows (None: that side absent).
    Pass the findings already computed for the same rows (``findings.reference_findings(...).findings``) to
    skip computing them again."""
    ref = evaluate(reference_series(reference)[0], reference_findings) if reference else None
    mea = (
        evaluate(measured_series(measured), measured_findings, resamples=resamples, seed=seed)
        if measured
        else None
    )
    return _claims(ref, mea)


__all__ = [
    "CLAIMS",
    "Claim",
    "Evidence",
    "EvidenceRow",
    "MEASURED",
    "REFERENCE",
    "claims_side_by_side",
    "measured_claims",
    "reference_claims",
]
