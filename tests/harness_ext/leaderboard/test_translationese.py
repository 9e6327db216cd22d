"""Translationese sensitivity: a planted source-over-translation effect is found with a CI excluding 0; an
unbiased translation is not flagged; items pair by id, never by position; the results adapter finds pairs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from nativeval.harness_ext.leaderboard.translationese import pairs_in_results, translationese_sensitivity


def scores(n: int, p: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    return {f"doc-{i}": float(rng.random() < p) for i in range(n)}


def test_a_planted_drop_on_the_translation_is_found():
    source = scores(400, 0.7, seed=1)
    rng = random.Random(2)
    # the translation loses each correct item with probability 0.25: a true drop of about 0.7 * 0.25 = 0.175
    translation = {k: (0.0 if v and rng.random() < 0.25 else v) for k, v in source.items()}
    result = translationese_sensitivity(source, translation, resamples=2000)
    assert result.significant and result.ci_low > 0.1 and 0.12 < result.sensitivity < 0.23
    assert result.n == 400 and result.source_score > result.translation_score
    assert result.p_value < 0.01


def test_an_unbiased_translation_is_not_flagged():
    source = scores(400, 0.6, seed=3)
    rng = random.Random(4)
    # symmetric noise: as many items gained as lost in expectation
    translation = {k: (1.0 - v if rng.random() < 0.1 else v) for k, v in source.items()}
    result = translationese_sensitivity(source, translation, resamples=2000)
    assert result.ci_low < 0 < result.ci_high and not result.significant


def test_items_pair_by_id_and_unpaired_ones_are_counted_not_compared():
    source = {"a": 1.0, "b": 1.0, "c": 0.0, "excluded": 1.0}
    translation = {"c": 0.0, "b": 1.0, "a": 1.0}  # other order, one item excluded
    result = translationese_sensitivity(source, translation, resamples=200)
    assert (result.n, result.sensitivity, result.source_only, result.translation_only) == (3, 0.0, 1, 0)
    with pytest.raises(ValueError, match="share no scored item"):
        translationese_sensitivity({"a": 1.0}, {"b": 1.0})


def write_run(
    folder: Path, label: str | None, tasks: dict[str, tuple[dict, list[dict]]], model_args: str = ""
) -> None:
    """An lm-eval results file + samples files, as `--log_samples` writes them."""
    folder.mkdir(parents=True)
    stamp = "2026-01-01T00-00-00.000000"
    configs = {
        name: {"task": name, "metadata": {"provenance": provenance}}
        for name, (provenance, _) in tasks.items()
    }
    data = {
        "configs": configs,
        "config": {"model_args": model_args},
        **({"nativeval": {"label": label}} if label else {}),
    }
    (folder / f"results_{stamp}.json").write_text(json.dumps(data))
    for name, (_, rows) in tasks.items():
        (folder / f"samples_{name}_{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_adapter_pairs_a_source_and_its_translation_per_model(tmp_path):
    source_prov = {
        "benchmark": "tydiqa",
        "task": "native_ru_tydiqa",
        "language": "ru",
        "origin": "native",
        "metrics": ["exact_match"],
    }
    rtt_prov = {
        **source_prov,
        "task": "rtt_ru_tydiqa",
        "origin": "round_trip_translated",
        "source_task": "native_ru_tydiqa",
    }
    ids = [f"russian-{i}" for i in range(60)]
    source_rows = [
        {"doc_id": i, "doc": {"id": d}, "filter": "none", "exact_match": 1.0} for i, d in enumerate(ids)
    ]
    # item russian-0 was excluded from the translation, so every later doc_id shifts by one
    rtt_rows = [
        {"doc_id": i, "doc": {"id": d}, "filter": "none", "exact_match": 0.0 if i % 2 else 1.0}
        for i, d in enumerate(ids[1:])
    ]
    write_run(
        tmp_path / "strong",
        "strong-model",
        {"native_ru_tydiqa": (source_prov, source_rows), "rtt_ru_tydiqa": (rtt_prov, rtt_rows)},
    )
    write_run(
        tmp_path / "alone", "other-model", {"rtt_ru_tydiqa": (rtt_prov, rtt_rows)}
    )  # no source run: no pair
    (pair,) = pairs_in_results([tmp_path], lambda bench, prov: ("exact_match", "none"))
    assert (pair.model, pair.benchmark, pair.language, pair.origin) == (
        "strong-model",
        "tydiqa",
        "ru",
        "round_trip_translated",
    )
    assert pair.result.n == 59 and pair.result.source_only == 1
    assert pair.result.sensitivity == pytest.approx(1 - sum(r["exact_match"] for r in rtt_rows) / 59)
    assert pair.to_dict()["significant"] is True


def test_adapters_on_one_base_model_are_separate_models(tmp_path):
    source_prov = {
        "benchmark": "xquad",
        "task": "translated_zh_xquad",
        "language": "zh",
        "origin": "human_translated",
    }
    rtt_prov = {
        **source_prov,
        "task": "rtt_zh_xquad",
        "origin": "round_trip_translated",
        "source_task": "translated_zh_xquad",
    }
    for name, score in (("native", 1.0), ("google", 0.0)):
        rows = [
            {"doc_id": i, "doc": {"id": f"q{i}"}, "filter": "none", "exact_match": score} for i in range(5)
        ]
        dropped = [{**r, "exact_match": 0.0} for r in rows]
        write_run(
            tmp_path / name,
            None,
            {"translated_zh_xquad": (source_prov, rows), "rtt_zh_xquad": (rtt_prov, dropped)},
            model_args=f"pretrained=/m/base,peft=/ckpt/{name}",
        )
    pairs = {
        p.model: p.result for p in pairs_in_results([tmp_path], lambda bench, prov: ("exact_match", "none"))
    }
    # the one naming rule (nativeval.harness_ext.report.naming): an adapter run is named by its adapter, as
    # lm-eval does
    assert set(pairs) == {"/ckpt/native", "/ckpt/google"}
    assert pairs["/ckpt/native"].sensitivity == 1.0 and pairs["/ckpt/google"].sensitivity == 0.0


def passage_clustered_pair(rng, n_passages: int = 40, per_passage: int = 10, drop: float = 0.1):
    """Source and translation scores of questions in passages: a passage's difficulty and how much its
    translation hurts are shared by its questions. True sensitivity: ``drop`` (the mean of the passage drops;
    probabilities stay inside [0, 1], so nothing is clipped)."""
    difficulty = np.repeat(rng.uniform(0.45, 0.8, n_passages), per_passage)
    hurt = np.repeat(rng.uniform(drop - 0.3, drop + 0.3, n_passages), per_passage)
    source = (rng.random(difficulty.size) < difficulty).astype(float)
    translation = (rng.random(difficulty.size) < difficulty - hurt).astype(float)
    ids = [f"doc-{i}" for i in range(difficulty.size)]
    passages = {k: f"passage-{i // per_passage}" for i, k in enumerate(ids)}
    return dict(zip(ids, source, strict=True)), dict(zip(ids, translation, strict=True)), passages


def test_passage_clustered_sensitivity_covers_the_true_drop_95_percent():
    """Resampling items alone on passage-clustered data covered ~0.83; clustered by the catalogue's unit it
    covers ~0.95."""
    rng = np.random.default_rng(0)
    sims, truth = 300, 0.1
    clustered = alone = 0
    for trial in range(sims):
        source, translation, passages = passage_clustered_pair(rng, drop=truth)
        with_unit = translationese_sensitivity(source, translation, passages, resamples=300, seed=trial)
        without = translationese_sensitivity(source, translation, resamples=300, seed=trial)
        clustered += with_unit.ci_low <= truth <= with_unit.ci_high
        alone += without.ci_low <= truth <= without.ci_high
        assert with_unit.estimate.n_clusters == 40 and with_unit.estimate.method == "paired cluster bootstrap"
    assert clustered / sims >= 0.90
    assert alone / sims <= clustered / sims - 0.04


def test_the_adapter_clusters_items_by_the_catalogues_unit(tmp_path):
    """XQuAD's cluster unit is the passage (``context``): the source's context names an item's cluster, and a
    round trip whose questions all come from one passage gets no interval."""

    def row(i: int, em: float, context: str) -> dict:
        return {"doc_id": i, "doc": {"id": f"q{i}", "context": context}, "filter": "none", "exact_match": em}

    prov = {
        "benchmark": "xquad",
        "language": "zh",
        "origin": "human_translated",
        "task": "translated_zh_xquad",
    }
    rtt = {
        **prov,
        "task": "rtt_zh_xquad",
        "origin": "round_trip_translated",
        "source_task": "translated_zh_xquad",
    }
    for name, contexts in (("one", ["p"] * 6), ("three", ["p", "p", "q", "q", "r", "r"])):
        write_run(
            tmp_path / name,
            name,
            {
                "translated_zh_xquad": (prov, [row(i, 1.0, c) for i, c in enumerate(contexts)]),
                "rtt_zh_xquad": (
                    rtt,
                    [row(i, float(i % 2), c + " (round trip)") for i, c in enumerate(contexts)],
                ),
            },
        )
    pairs = {p.model: p.result for p in pairs_in_results([tmp_path], resamples=200)}
    assert pairs["one"].estimate.n_clusters == 1 and pairs["one"].ci_low is None
    assert pairs["one"].estimate.note == "n/a: one cluster" and not pairs["one"].significant
    assert pairs["three"].estimate.n_clusters == 3 and pairs["three"].ci_low is not None
