"""Leaderboard inputs made by nativeval's own tasks: real lm-eval runs of scripted models on the fixture data.

``unrelated_models``: three models on native_zh_cmmlu (134 items, 67 subjects) and three translated zh
test sets, planted so that the native ranking (alpha > beta > gamma) is the reverse of the translated one.
``variant_study``: two base models x training data native / google / cohere (``nativeval_run.json``
manifests); the native-data variant is planted 40 points better on CMMLU, equal on the translated sets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nativeval.harness_ext.testing.scripted_lm import run_scripted, write_script

TRANSLATED_ZH = ["translated_zh_xquad", "translated_zh_mgsm", "translated_zh_mt_mmlu"]
MODELS_TASKS = ["native_zh_cmmlu", *TRANSLATED_ZH]
STUDY_TASKS = ["native_zh_cmmlu", "translated_zh_xquad", "translated_zh_mt_mmlu"]
UNRELATED = {
    "alpha": {"native": 0.9, "translated": 0.0},
    "beta": {
        "native": 0.6,
        "translated_zh_xquad": 1.0,
        "translated_zh_mgsm": 0.0,
        "translated_zh_mt_mmlu": 0.0,
    },
    "gamma": {"native": 0.3, "translated": 1.0},
}


@pytest.fixture(scope="session")
def task_manager():
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.catalogue.model import TASKS_DIR

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


@pytest.fixture(scope="session")
def unrelated_models(tmp_path_factory, task_manager) -> Path:
    root = tmp_path_factory.mktemp("unrelated")
    for name, rates in UNRELATED.items():
        model = write_script(root / "models" / name, rates, seed=11)
        run_scripted(model, MODELS_TASKS, root / "results", task_manager=task_manager)
    return root / "results"


@pytest.fixture(scope="session")
def variant_study(tmp_path_factory, task_manager) -> Path:
    root = tmp_path_factory.mktemp("study")
    for base in ("BaseA-1B", "BaseB-7B"):
        for variant, native_rate in (("native", 0.8), ("google", 0.4), ("cohere", 0.4)):
            manifest = {
                "base_model": base,
                "variant": variant,
                "hyperparameters": {"lr": 1e-4},
                "languages": ["zh"],
                "method": "lora",
                "toy": True,
            }
            model = write_script(
                root / "models" / f"{base}-{variant}",
                {"native": native_rate, "translated": 0.5},
                seed=7 if base == "BaseA-1B" else 8,
                manifest=manifest,
            )
            run_scripted(model, STUDY_TASKS, root / "results", task_manager=task_manager)
    return root / "results"


def _add_round_trip(results: Path, exact_match: float, source_present: bool = True) -> None:
    """Add `rtt_zh_xquad` to every results file, as `nativeval translate-task --round-trip` + lm-eval write it
    (its config's metadata.provenance as translate/task/output.py's provenance), with per-item samples."""
    for path in sorted(results.rglob("results_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        stamp = path.stem.removeprefix("results_")
        source = dict(data["results"]["translated_zh_xquad"])
        source["exact_match,none"] = exact_match
        data["results"]["rtt_zh_xquad"] = source
        config = json.loads(json.dumps(data["configs"]["translated_zh_xquad"]))
        config["task"] = "rtt_zh_xquad"
        config["metadata"] = {
            "provenance": {
                "benchmark": "xquad",
                "task": "rtt_zh_xquad",
                "language": "zh",
                "origin": "round_trip_translated",
                "user_made": True,
                "source_task": "translated_zh_xquad",
                "translator": "google",
            }
        }
        data["configs"]["rtt_zh_xquad"] = config
        rows = []
        samples = path.parent / f"samples_translated_zh_xquad_{stamp}.jsonl"
        for line in samples.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row["exact_match"] = exact_match
            rows.append(json.dumps(row))
        (path.parent / f"samples_rtt_zh_xquad_{stamp}.jsonl").write_text(
            "\n".join(rows) + "\n", encoding="utf-8"
        )
        if not source_present:
            del data["results"]["translated_zh_xquad"]
            samples.unlink()
        path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="session")
def add_round_trip():
    """Adds `rtt_zh_xquad` (a round trip of translated_zh_xquad) with a planted score to every results
    file."""
    return _add_round_trip
