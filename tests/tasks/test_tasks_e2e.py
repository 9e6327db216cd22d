"""End to end: plain `lm_eval --include_path tasks` offline on the fixture mirror, every leaf task scored."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import TASKS_DIR

COLLECTIONS = ["native_zh", "translated_zh", "native_ru", "translated_ru", "translated_es"]


@pytest.mark.slow
def test_lm_eval_cli_runs_every_leaf_of_the_collections(tiny_model, fixture_mirror, tmp_path):
    env = {
        **os.environ,
        "NATIVEVAL_DATA_DIR": str(fixture_mirror),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model}",
            "--include_path",
            str(TASKS_DIR),
            "--tasks",
            ",".join(COLLECTIONS),
            "--limit",
            "1",
            "--batch_size",
            "64",
            "--device",
            "cpu",
            "--output_path",
            str(tmp_path),
            "--log_samples",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    cat = catalogue()
    leaves = {leaf.name for c in COLLECTIONS for t in cat.collection_members(c) for leaf in t.leaves}
    assert leaves <= set(results["results"])
    for name in leaves:
        scores = results["results"][name]
        if name.endswith("_mgsm"):  # lm-eval's MGSM names, from plain lm_eval on our filters
            assert {"exact_match,strict-match", "exact_match,flexible-extract"} <= set(scores), name
        else:
            assert any(k.endswith(",none") for k in scores), name
    for group in ("native_zh_cmmlu", "native_zh_ceval", "translated_zh_ht_mmlu", "translated_es_ht_mmlu"):
        assert "acc,none" in results["groups"][group]
