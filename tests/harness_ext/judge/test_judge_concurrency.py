"""The judge under concurrency (issue 15 items 4-5): the cost cap is exact whatever the concurrency, the
spend reported is the ledger's, items judged before the cap are kept in a results file marked partial,
and processes sharing one cache pay for each item once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.testing.judge_runs import judge_yaml, rating_by_length, write_run
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

KEY = "sk-test-concurrency"
REPO = Path(__file__).resolve().parents[3]
# 40 items of identical size, so every call has the same worst case and the same true cost
ITEMS = [
    (
        f"Pregunta número {i:02d}: ¿qué es la fotosíntesis?",
        f"Respuesta {i:02d}: la luz se vuelve energía química.",
    )
    for i in range(40)
]
PRICE = 1000.0  # USD per million tokens, in and out: $0.001 a token


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def judged_rows(run: Path) -> list[dict]:
    (path,) = run.glob("judgments_native_es_open_qa_test-judge_*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def true_spend(rows: list[dict]) -> float:
    return sum((r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]) * PRICE / 1e6 for r in rows)


def capped_run(tmp_path: Path, concurrency: int, cap: str) -> tuple[int, str, Path, int]:
    run = write_run(tmp_path / f"c{concurrency}", "model-a", {"native_es_open_qa": ITEMS})
    prices = tmp_path / "prices.yaml"
    prices.write_text(f"per_million_tokens:\n  gpt-4-turbo-2024-04-09: {{input: {PRICE}, output: {PRICE}}}\n")
    config = judge_yaml(tmp_path / "judge.yaml", invalid_retries=0)
    with OpenAIStub(rating_by_length, latency=0.02) as stub:
        result = CliRunner().invoke(
            main,
            [
                "judge",
                str(run),
                "--judge",
                str(config),
                "--base-url",
                stub.base_url,
                "--cache",
                str(tmp_path / f"cache{concurrency}.sqlite"),
                "--prices",
                str(prices),
                "--concurrency",
                str(concurrency),
                "--max-cost",
                cap,
            ],
        )
        return result.exit_code, result.output, run, stub.request_count


def test_cost_cap_judges_as_many_items_at_concurrency_4_as_at_1_and_reports_the_true_spend(tmp_path):
    # worst case per call ~ $0.23 (prompt bytes + max_tokens), true cost ~ $0.09: a $2 cap fits about 20
    outcomes = {c: capped_run(tmp_path, c, "2.0") for c in (1, 4)}
    for code, output, run, requests in outcomes.values():
        assert code == 2, output
        rows = judged_rows(run)
        assert 5 < len(rows) == requests < len(ITEMS)
        spent = float(re.search(r"spent \$([\d.]+) in (\d+) call", output).group(1))
        assert spent == pytest.approx(true_spend(rows), abs=1e-4) and 0 < spent <= 2.0
        assert f"({len(ITEMS) - len(rows)} judgment(s) not made)" in output
        (path,) = run.glob("results_judge_test-judge_*.json")
        doc = json.loads(path.read_text())
        assert doc["partial"]["not_judged"] == {"native_es_open_qa": len(ITEMS) - len(rows)}
        assert doc["results"]["native_es_open_qa"]["n,test-judge"] == len(rows)
        assert doc["judge"]["cost_this_run"]["spent_usd"] == pytest.approx(spent, abs=1e-4)
    assert len(judged_rows(outcomes[4][2])) == len(judged_rows(outcomes[1][2]))


def test_partial_results_are_completed_by_the_rerun(tmp_path):
    code, output, run, first = capped_run(tmp_path, 4, "2.0")
    assert code == 2
    code, output, run, second = capped_run(tmp_path, 4, "100")
    assert code == 0, output
    assert first + second == len(ITEMS)
    (path,) = run.glob("results_judge_test-judge_*.json")
    doc = json.loads(path.read_text())
    assert "partial" not in doc and doc["results"]["native_es_open_qa"]["n,test-judge"] == len(ITEMS)


@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_judge_processes_on_one_cache_pay_for_each_item_once(tmp_path, processes):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": ITEMS})
    config = judge_yaml(tmp_path / "judge.yaml", invalid_retries=0, timeout_s=600.0)
    cache = tmp_path / "shared" / "judge_cache.sqlite"
    with OpenAIStub(rating_by_length, latency=0.02) as stub:
        # hold every reply until each process has its first requests in flight: all of them then work at once
        stub.paused = True
        env = {**os.environ, "OPENAI_API_KEY": KEY}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "cli.py"),
                    "judge",
                    str(run),
                    "--judge",
                    str(config),
                    "--base-url",
                    stub.base_url,
                    "--cache",
                    str(cache),
                    "--concurrency",
                    "4",
                    "--out",
                    str(tmp_path / f"judged{n}"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in range(processes)
        ]
        while stub.request_count < 4 * processes and all(p.poll() is None for p in procs):
            time.sleep(0.05)
        held = [r["messages"][-1]["content"] for r in stub.requests]
        stub.paused = False
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        paid = stub.request_count
    assert all(p.returncode == 0 for p in procs), outputs
    assert len(set(held)) == len(held) == 4 * processes, "two processes asked for the same item"
    assert paid == len(ITEMS), outputs
    sent = [int(re.search(r"(\d+) request\(s\) sent", out).group(1)) for out in outputs]
    assert sum(sent) == len(ITEMS) and all(sent), sent
    for n in range(processes):
        rows = judged_rows(tmp_path / f"judged{n}" / "model-a")
        assert [r["rating"] for r in rows] == [min(5, 1 + len(a) // 20) for _, a in ITEMS]
