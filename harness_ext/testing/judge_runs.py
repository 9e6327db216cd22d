"""Shared kit for the judge tests: fake lm-eval output directories and scripted judge replies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from nativeval.harness_ext.testing.openai_stub import judged_answer

__all__ = ["judge_yaml", "judged_answer", "rating_by_length", "write_run"]

DATE = "2025-01-02T03-04-05.678901"


def write_run(
    root: Path, model: str, tasks: dict[str, list[tuple[str, str]]], lang: str | None = None, date: str = DATE
) -> Path:
    """An lm-eval output directory: samples_<task>_<date>.jsonl per task plus a results_<date>.json."""
    folder = root / model
    folder.mkdir(parents=True, exist_ok=True)
    configs = {}
    for task, pairs in tasks.items():
        task_lang = lang or task.split("_")[1]
        rows = []
        for i, (question, response) in enumerate(pairs):
            rows.append(
                {
                    "doc_id": i,
                    "doc": {"id": f"q{i}", "question": question, "lang": task_lang},
                    "target": "",
                    "arguments": {"gen_args_0": {"arg_0": f"<|user|>\n{question}", "arg_1": {}}},
                    "resps": [[response]],
                    "filtered_resps": [response],
                    "filter": "none",
                    "metrics": ["off_language_rate"],
                    "doc_hash": f"h{i}",
                    "prompt_hash": "p",
                    "target_hash": "t",
                }
            )
        (folder / f"samples_{task}_{date}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        configs[task] = {
            "task": task,
            "metadata": {
                "version": 1.0,
                "provenance": {
                    "task": task,
                    "language": task_lang,
                    "origin": "native" if task.startswith("native") else "human_translated",
                    "metrics": ["judge_rating", "off_language_rate"],
                },
            },
        }
    results = {
        "results": {t: {"alias": t, "off_language_rate,none": 0.0} for t in tasks},
        "configs": configs,
        "versions": {t: 1.0 for t in tasks},
        "config": {"model": "hf", "model_args": f"pretrained={model}"},
        "model_name": model,
        "model_name_sanitized": model,
    }
    (folder / f"results_{date}.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


def rating_by_length(request: dict[str, Any]) -> str:
    """A known-answer judge: rating = 1 + len(answer) // 20, capped at 5."""
    rating = min(5, 1 + len(judged_answer(request)) // 20)
    return f"The answer is judged by length only. Rating: [[{rating}]]"


def judge_yaml(path: Path, **overrides: Any) -> Path:
    """A judge config for tests: fast retries and a short timeout."""
    config = {
        "name": "test-judge",
        "model": "gpt-4-turbo-2024-04-09",
        "base_url": "http://127.0.0.1:9/v1",
        "api_key_env": "OPENAI_API_KEY",
        "timeout_s": 1.0,
        "max_attempts": 6,
        "retry_base_delay_s": 0.01,
        "invalid_retries": 1,
        "max_tokens": 100,
    }
    config.update(overrides)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
