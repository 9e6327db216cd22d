"""kill -9 in the middle of translating 500 records: the rerun loses and duplicates nothing and
sends no segment that was already finished (checked against the loopback server's request log)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from translate_helpers import REPO, llm_key, write_json

from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import fake_translate, llm_translating_responder

N = 500


def cached_keys(path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        try:
            return {row[0] for row in conn.execute("SELECT k FROM kv")}
        except sqlite3.OperationalError:  # table not created yet
            return set()


def test_sigkill_mid_run_then_rerun_resumes_without_loss_duplication_or_resending(tmp_path):
    rows = [
        {
            "id": f"aya_{i}",
            "instruction": f"Question number {i}: why is the sky blue?",
            "input": "",
            "output": f"Answer number {i}: because of Rayleigh scattering.",
        }
        for i in range(N)
    ]
    src = write_json(tmp_path / "in.json", rows)
    out, cache = tmp_path / "out.json", tmp_path / "segments.sqlite"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(REPO)}
    with OpenAIStub(llm_translating_responder, latency=0.01) as stub:
        command = [
            sys.executable,
            str(REPO / "cli.py"),
            "translate",
            "--backend",
            "llm",
            "--base-url",
            stub.base_url,
            "--model",
            "stub-model",
            "--src",
            "en",
            "--tgt",
            "zh",
            "--in",
            str(src),
            "--out",
            str(out),
            "--cache",
            str(cache),
            "--concurrency",
            "4",
        ]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while len(cached_keys(cache)) < 150 and proc.poll() is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        assert not out.exists()

        finished = cached_keys(cache)
        first_run = [r["messages"][-1]["content"] for r in stub.requests]
        assert 150 <= len(finished) < 2 * N

        rerun = subprocess.run(command, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        second_run = [r["messages"][-1]["content"] for r in stub.requests[len(first_run) :]]

    all_segments = {r[f] for r in rows for f in ("instruction", "output")}
    assert len(second_run) == len(set(second_run)), "a segment was sent twice in the rerun"
    resent = [s for s in second_run if llm_key(s, "en", "zh") in finished]
    assert resent == [], f"{len(resent)} finished segments were sent again"
    assert {llm_key(s, "en", "zh") for s in all_segments} == finished | {
        llm_key(s, "en", "zh") for s in second_run
    }
    assert set(first_run) | set(second_run) == all_segments

    got = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    assert all(g["output"] == fake_translate(r["output"], "zh") for g, r in zip(got, rows, strict=True))
    report = json.loads((tmp_path / "out.json.report.json").read_text())
    assert report["segments"]["cached"] == len(finished) and report["segments"]["sent"] == len(second_run)
