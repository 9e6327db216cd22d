"""Can this judge be believed? Agreement, position bias, length bias, language checks, self-consistency.

Everything is computed per stratum (language x test set: native / translated) from the columns of
:mod:`nativeval.harness_ext.judge.diagnostics_io`. Confidence intervals come from one cluster bootstrap per
stratum: questions (``task``, ``doc_id``) are resampled, so the answers of all models to one question move
together; each statistic is a weighted sum (:mod:`nativeval.harness_ext.judge.resampled_stats`), so the
bootstrap is matrix products.

The result is plain typed data (:class:`JudgeReport`); :mod:`nativeval.harness_ext.judge.report` writes it as
JSON, Markdown and plots, and the leaderboard embeds the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from nativeval.harness_ext.core.languages import language
from nativeval.harness_ext.core.stats import (
    CONFIDENCE,
    Estimate,
    Resampler,
    bootstrap_estimate,
    bootstrap_estimates,
    bootstrap_p,
)
from nativeval.harness_ext.judge.diagnostics_io import JudgeInfo, JudgeOutputs, PairJudgments, SingleJudgments
from nativeval.harness_ext.judge.resampled_stats import (
    centred_ranks,
    exact_and_within_one,
    group_means,
    group_sums,
    krippendorff_alpha_interval,
    pearson_of_centred,
    quadratic_kappa,
    spearman,
    spearman_rows,
    weighted_mean,
)

DEFAULT_RESAMPLES = 1000
TOP_DISAGREEMENTS = 5


# --- the report --------------------------------------------------------------------------------------
@dataclass
class PairAgreement:
    judge_a: str
    judge_b: str
    n_items: int
    kappa: Estimate  # quadratic-weighted Cohen's kappa
    exact: Estimate
    within_one: Estimate
    system_spearman: Estimate  # between the two judges' per-model mean ratings; n = models


@dataclass
class Disagreement:
    model: str
    task: str
    doc_id: str
    question: str
    response: str
    gap: float
    high_judge: str
    high_rating: float
    high_explanation: str
    low_judge: str
    low_rating: float
    low_explanation: str


@dataclass
class Agreement:
    judges: list[str]
    n_items: int
    alpha: Estimate | None  # Krippendorff's alpha (interval), three judges or more
    pairs: list[PairAgreement]
    disagreements: list[Disagreement]


@dataclass
class ModelRating:
    model: str
    n: int
    mean_length: float
    raw: Estimate
    length_controlled: Estimate


@dataclass
class LengthBias:
    judge: str
    unit: str  # "characters" | "words", from the language registry
    n: int
    correlation: Estimate  # Spearman's rho of rating with response length
    slope: Estimate  # rating points per SD of length difference to the question's mean
    models: list[ModelRating]
    ranking_changed: bool
    changes: list[str]  # "A > B flips to A < B" / "A > B is no longer separated"


@dataclass
class ModelLanguage:
    model: str
    n: int
    off_language_rate: float
    on_language_mean: float | None
    off_language_mean: float | None


@dataclass
class LanguageCheck:
    judge: str
    n_off: int
    n_on: int
    off_minus_on: Estimate  # mean rating of off-language answers minus on-language ones
    favours_off_language: bool
    models: list[ModelLanguage]


@dataclass
class SelfConsistency:
    judge: str
    repeats: int
    n_items: int
    mean_sd: Estimate  # mean over items of the SD of the K ratings
    identical_share: Estimate  # share of items whose K ratings are all equal


@dataclass
class PositionBias:
    judge: str
    comparisons: list[str]
    n_pairs: int
    swap_consistency: Estimate  # same winner in both orders
    first_slot_share: Estimate  # decisive verdicts that chose the answer shown first
    biased: bool  # first-slot share's interval excludes 0.5


@dataclass
class Stratum:
    language: str
    test_set: str
    n_items: int
    agreement: Agreement | None
    length: list[LengthBias] = field(default_factory=list)
    language_checks: list[LanguageCheck] = field(default_factory=list)
    consistency: list[SelfConsistency] = field(default_factory=list)
    position: list[PositionBias] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.language} / {self.test_set}"


@dataclass
class JudgeReport:
    judges: list[JudgeInfo]
    strata: list[Stratum]
    resamples: int
    seed: int
    confidence: float
    sources: list[str]


# --- computing ---------------------------------------------------------------------------------------
def _compact(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct codes in order, each element's index into them)."""
    distinct, local = np.unique(codes, return_inverse=True)
    return distinct, local


def _est(values: np.ndarray, n: int, r: Resampler, units: np.ndarray | None = None) -> Estimate:
    """Row 0 is the point estimate, the other rows the bootstrap replicates over ``r``'s clusters (those of
    ``units``, a boolean mask over r's units, when only they enter the statistic)."""
    clusters = r.n_clusters if units is None else r.clusters_among(np.flatnonzero(units))
    return bootstrap_estimate(values[0], values[1:], n, clusters)


def _agreement(s: SingleJudgments, rows: np.ndarray, by_doc: Resampler, top: int) -> Agreement | None:
    judges, judge_local = _compact(s.judge[rows])
    if judges.size < 2:
        return None
    items, item_local = _compact(s.item[rows])
    ratings = np.full((judges.size, items.size), np.nan)
    ratings[judge_local, item_local] = s.rating[rows]
    row_of = np.full((judges.size, items.size), -1)
    row_of[judge_local, item_local] = rows
    first_row = np.zeros(items.size, dtype=np.int64)
    first_row[item_local] = np.arange(rows.size)
    r = by_doc.restrict(first_row)  # one unit per answer, clustered by its question
    models, model_local = _compact(s.model[rows][first_row])
    rated = np.isfinite(ratings)
    system = [group_means(r, ratings[j], model_local, models.size, rated[j]) for j in range(judges.size)]
    complete = [bool(np.isfinite(m).all()) for m in system]
    ranks = [centred_ranks(m) if ok else None for m, ok in zip(system, complete, strict=True)]

    def system_spearman(a: int, b: int) -> np.ndarray:
        if complete[a] and complete[b] and models.size >= 3:
            return pearson_of_centred(ranks[a], ranks[b])
        return spearman_rows(system[a], system[b])

    pairs = []
    for a, b in combinations(range(judges.size), 2):
        both = rated[a] & rated[b]
        n = int(both.sum())
        exact, within = exact_and_within_one(r, ratings[a], ratings[b], both)
        pairs.append(
            PairAgreement(
                s.judges[judges[a]],
                s.judges[judges[b]],
                n,
                kappa=_est(quadratic_kappa(r, ratings[a], ratings[b], both), n, r, both),
                exact=_est(exact, n, r, both),
                within_one=_est(within, n, r, both),
                system_spearman=_est(system_spearman(a, b), int(models.size), r),
            )
        )
    alpha = None
    if judges.size >= 3:
        pairable = rated.sum(axis=0) >= 2
        alpha = _est(krippendorff_alpha_interval(r, ratings), int(pairable.sum()), r, pairable)
    return Agreement(
        [s.judges[j] for j in judges],
        int(items.size),
        alpha,
        pairs,
        _disagreements(s, ratings, row_of, judges, top),
    )


def _disagreements(
    s: SingleJudgments, ratings: np.ndarray, row_of: np.ndarray, judges: np.ndarray, top: int
) -> list[Disagreement]:
    rated = np.isfinite(ratings)
    pairable = rated.sum(axis=0) >= 2
    high = np.where(rated, ratings, -np.inf).argmax(axis=0)
    low = np.where(rated, ratings, np.inf).argmin(axis=0)
    cols = np.arange(ratings.shape[1])
    gap = np.where(pairable, ratings[high, cols] - ratings[low, cols], -np.inf)
    order = [c for c in np.argsort(-gap, kind="stable")[:top] if gap[c] > 0]
    found = []
    for c in order:
        hi, lo = row_of[high[c], c], row_of[low[c], c]
        task, doc_id = s.docs[s.doc[hi]]
        found.append(
            Disagreement(
                model=s.models[s.model[hi]],
                task=task,
                doc_id=doc_id,
                question=s.question[hi],
                response=s.response[hi],
                gap=float(gap[c]),
                high_judge=s.judges[judges[high[c]]],
                high_rating=float(s.rating[hi]),
                high_explanation=s.explanation[hi],
                low_judge=s.judges[judges[low[c]]],
                low_rating=float(s.rating[lo]),
                low_explanation=s.explanation[lo],
            )
        )
    return found


def _ranking_changes(models: list[str], raw: np.ndarray, controlled: np.ndarray) -> list[str]:
    """Pairs ordered by the raw means (interval of the difference excludes 0) whose order flips, or whose
    difference at least halves and stops being separated.

    An interval excludes 0 when the core's bootstrap p-value (the percentile interval inverted) is below
    1 - CONFIDENCE: the percentile rule without sorting the (resamples x pairs) matrix."""
    a, b = np.triu_indices(len(models), k=1)
    if a.size == 0:
        return []

    def side(diff: np.ndarray) -> np.ndarray:
        """+1 / -1 where the interval lies above / below 0, else 0."""
        replicates = diff[1:]
        if replicates.shape[0] < 2:
            return np.zeros(diff.shape[1])
        separated = bootstrap_p(replicates, axis=0) < 1 - CONFIDENCE
        mostly_above = (replicates > 0).sum(axis=0) > (replicates < 0).sum(axis=0)
        return np.where(separated, np.where(mostly_above, 1, -1), 0)

    raw_diff, lc_diff = raw[:, a] - raw[:, b], controlled[:, a] - controlled[:, b]
    raw_side, lc_side = side(raw_diff), side(lc_diff)
    changes = []
    for k in np.flatnonzero(raw_side != 0):
        i, j = a[k], b[k]
        hi, lo = (models[i], models[j]) if raw_side[k] > 0 else (models[j], models[i])
        if lc_side[k] == -raw_side[k]:
            changes.append(f"{hi} > {lo} flips to {hi} < {lo}")
        elif lc_side[k] == 0 and abs(lc_diff[0, k]) < 0.5 * abs(raw_diff[0, k]):
            changes.append(f"{hi} > {lo} is no longer separated")
    return changes


def _split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return values[0], values[1:]


def _length_bias(
    s: SingleJudgments, rows: np.ndarray, by_doc: Resampler, judge: int, unit: str
) -> LengthBias | None:
    """AlpacaEval-style length control for ratings.

    rating - (question's mean rating) = model term + slope * z, z = (length - question's mean length) / SD;
    the slope is fitted within models (two-way fixed effects), and a model's length-controlled rating is its
    mean rating minus slope times its mean z: the model term at zero length difference, on the rating scale.
    """
    local = np.flatnonzero((s.judge[rows] == judge) & np.isfinite(s.rating[rows]))
    if local.size < 3:
        return None
    r = by_doc.restrict(local)
    mine = rows[local]
    docs_here = r.cluster
    models, model_local = _compact(s.model[mine])
    y, length = s.rating[mine], s.length[mine]
    n_docs = int(by_doc.weights.shape[1])
    per_doc = np.maximum(np.bincount(docs_here, minlength=n_docs), 1).astype(float)
    doc_y = np.bincount(docs_here, y, minlength=n_docs) / per_doc
    doc_len = np.bincount(docs_here, length, minlength=n_docs) / per_doc
    y_dev, len_dev = y - doc_y[docs_here], length - doc_len[docs_here]
    spread = float(np.std(len_dev))
    z = len_dev / spread if spread > 0 else np.zeros_like(len_dev)
    count, sz, sy, szz, szy, s_raw = group_sums(r, model_local, models.size, z, y_dev, z * z, z * y_dev, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(count > 0, count, 1)
        sxx = (szz - sz**2 / safe).sum(axis=1)
        sxy = (szy - sz * sy / safe).sum(axis=1)
        slope = np.where(sxx > 1e-12, sxy / np.where(sxx > 1e-12, sxx, 1), 0.0)
        raw = np.where(count > 0, s_raw / safe, np.nan)
        controlled = raw - slope[:, None] * np.where(count > 0, sz / safe, np.nan)
    n_per_model = np.bincount(model_local, minlength=models.size)
    mean_length = np.bincount(model_local, length, minlength=models.size) / np.maximum(n_per_model, 1)
    names = [s.models[m] for m in models]
    raw_est = bootstrap_estimates(*_split(raw), 0, r.n_clusters)
    lc_est = bootstrap_estimates(*_split(controlled), 0, r.n_clusters)
    per_model = [
        ModelRating(
            names[k],
            int(n_per_model[k]),
            float(mean_length[k]),
            replace(raw_est[k], n_items=int(n_per_model[k])),
            replace(lc_est[k], n_items=int(n_per_model[k])),
        )
        for k in range(models.size)
    ]
    slope_est = _est(slope, int(mine.size), r)
    # without a length effect the two rankings differ by noise alone: nothing to flag
    changes = _ranking_changes(names, raw, controlled) if slope_est.excludes(0.0) else []
    return LengthBias(
        s.judges[judge],
        unit,
        int(mine.size),
        _est(spearman(r, y, length), int(mine.size), r),
        slope_est,
        per_model,
        bool(changes),
        changes,
    )


def _language_check(
    s: SingleJudgments, rows: np.ndarray, by_doc: Resampler, judge: int
) -> LanguageCheck | None:
    mine_local = np.flatnonzero(s.judge[rows] == judge)
    if mine_local.size == 0:
        return None
    mine = rows[mine_local]
    known_local = mine_local[np.isfinite(s.rating[mine]) & (s.off_language[mine] >= 0)]
    known = rows[known_local]
    r = by_doc.restrict(known_local)
    off = (s.off_language[known] == 1).astype(float)
    y = s.rating[known]
    difference = _est(weighted_mean(r, y, off) - weighted_mean(r, y, 1 - off), int(known.size), r)
    models = []
    for m in np.unique(s.model[mine]):
        rows_m = mine[s.model[mine] == m]
        known_m = rows_m[np.isfinite(s.rating[rows_m]) & (s.off_language[rows_m] >= 0)]
        flags = s.off_language[known_m] == 1
        models.append(
            ModelLanguage(
                s.models[m],
                int(rows_m.size),
                float((s.off_language[rows_m] == 1).mean()),
                float(s.rating[known_m][~flags].mean()) if (~flags).any() else None,
                float(s.rating[known_m][flags].mean()) if flags.any() else None,
            )
        )
    return LanguageCheck(
        s.judges[judge],
        int(off.sum()),
        int((1 - off).sum()),
        difference,
        difference.excludes(0.0) and difference.value > 0,
        models,
    )


def _self_consistency(
    s: SingleJudgments, rows: np.ndarray, by_doc: Resampler, judge: int
) -> SelfConsistency | None:
    local = np.flatnonzero((s.judge[rows] == judge) & np.isfinite(s.repeat_sd[rows]))
    if local.size == 0:
        return None
    mine, r = rows[local], by_doc.restrict(local)
    return SelfConsistency(
        s.judges[judge],
        int(s.repeats[mine].max()),
        int(mine.size),
        _est(weighted_mean(r, s.repeat_sd[mine]), int(mine.size), r),
        _est(weighted_mean(r, s.repeat_identical[mine]), int(mine.size), r),
    )


def _position_bias(
    p: PairJudgments, rows: np.ndarray, resamples: int, rng: np.random.Generator
) -> list[PositionBias]:
    found = []
    for judge in np.unique(p.judge[rows]):
        mine = rows[p.judge[rows] == judge]
        r = Resampler.units(mine.size, resamples, rng)
        valid = np.isfinite(p.consistent[mine])
        consistency = weighted_mean(r, p.consistent[mine], valid)
        sums = r.sums(p.first_slot_wins[mine], p.decisive[mine])
        with np.errstate(invalid="ignore", divide="ignore"):
            first = np.where(sums[:, 1] > 0, sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], 1), np.nan)
        share = _est(first, int(p.decisive[mine].sum()), r, p.decisive[mine] > 0)
        found.append(
            PositionBias(
                p.judges[judge],
                sorted({p.comparisons[c] for c in p.comparison[mine]}),
                int(mine.size),
                _est(consistency, int(valid.sum()), r, valid),
                share,
                share.excludes(0.5),
            )
        )
    return found


def judge_report(
    outputs: JudgeOutputs, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0, top: int = TOP_DISAGREEMENTS
) -> JudgeReport:
    """All diagnostics for every stratum found in ``outputs``."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], Stratum] = {}
    s = outputs.single
    if s is not None:
        for lang, test_set in sorted({(t.language, t.test_set) for t in s.tasks}):
            tasks_here = [i for i, t in enumerate(s.tasks) if (t.language, t.test_set) == (lang, test_set)]
            rows = np.flatnonzero(np.isin(s.task, tasks_here))
            docs, doc_local = _compact(s.doc[rows])
            by_doc = Resampler.bootstrap(doc_local, docs.size, resamples, rng)
            unit = language(lang).length_unit
            stratum = Stratum(
                lang, test_set, int(np.unique(s.item[rows]).size), _agreement(s, rows, by_doc, top)
            )
            for judge in np.unique(s.judge[rows]):
                length = _length_bias(s, rows, by_doc, judge, unit)
                check = _language_check(s, rows, by_doc, judge)
                consistency = _self_consistency(s, rows, by_doc, judge)
                stratum.length += [length] if length else []
                stratum.language_checks += [check] if check else []
                stratum.consistency += [consistency] if consistency else []
            strata[(lang, test_set)] = stratum
    p = outputs.pairwise
    if p is not None:
        for key in sorted({(t.language, t.test_set) for t in p.tasks}):
            tasks_here = [i for i, t in enumerate(p.tasks) if (t.language, t.test_set) == key]
            rows = np.flatnonzero(np.isin(p.task, tasks_here))
            stratum = strata.setdefault(key, Stratum(key[0], key[1], 0, None))
            stratum.position.extend(_position_bias(p, rows, resamples, rng))
    return JudgeReport(
        outputs.judges, [strata[k] for k in sorted(strata)], resamples, seed, CONFIDENCE, outputs.sources
    )
