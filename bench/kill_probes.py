"""Kill probes (issue 15): `kill -9` at random moments, with 20 % injected API faults, then a rerun.

Not a test: prints, per job, the kills made and what they cost — records lost, records duplicated, paid
requests re-sent (a request the server answered, billed again after a kill) — against the ideal (0, 0, and
at most the requests in flight at each kill).

- translate: N records through the LLM backend (loopback stub, 20 % 429/500 replies); K kills; a final run.
- judge: N open-QA answers; K kills; then two processes at once on the same cache finish the job.
- finetune: LoRA on the tiny model, 6 epochs; K kills during training or saving, each followed by
  `--resume`; the adapter is compared with an uninterrupted run's (bit-identical is the goal).

    python bench/kill_probes.py [--kills 5] [--seed 0] [--n 200] [--only translate judge finetune]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nativeval.harness_ext.testing.judge_runs import judge_yaml, rating_by_length, write_run  # noqa: E402
from nativeval.harness_ext.testing.openai_stub import Fault, OpenAIStub  # noqa: E402
from nativeval.harness_ext.testing.translate_stubs import llm_translating_responder  # noqa: E402

CLI = [sys.executable, str(REPO / "cli.py")]
ENV = {
    **os.environ,
    "PYTHONPATH": str(REPO),
    "OPENAI_API_KEY": "sk-probe",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class PaidCountingStub(OpenAIStub):
    """Counts the replies that would be billed (HTTP 200 with a message), per request content."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paid: Counter[str] = Counter()

    async def _respond(self, method, path, headers, raw):
        status, body, extra = await super()._respond(method, path, headers, raw)
        if status == 200 and b'"choices": [{' in body:
            self.paid[json.loads(raw)["messages"][-1]["content"]] += 1
        return status, body, extra


def inject_faults(stub: OpenAIStub, rng: random.Random, requests: int, rate: float = 0.2) -> None:
    stub.add_faults(
        *[
            Fault(rng.choice(["429", "500"]), retry_after=0.01) if rng.random() < rate else Fault("ok")
            for _ in range(requests)
        ]
    )


def kill_at_random(argv: list[str], rng: random.Random, started: Callable[[], bool], within: float) -> bool:
    """Run ``argv``; once ``started()`` (the job is doing its work, not starting up), SIGKILL it after a
    random delay of up to ``within`` seconds. True if it was killed, False if it finished first."""
    proc = subprocess.Popen(
        argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    while not started() and proc.poll() is None:
        time.sleep(0.02)
    try:
        proc.wait(timeout=rng.uniform(0.0, within))
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def resent(stub: PaidCountingStub) -> int:
    return sum(count - 1 for count in stub.paid.values() if count > 1)


def probe_translate(work: Path, rng: random.Random, kills: int, n: int) -> dict:
    rows = [
        {
            "id": f"r{i}",
            "instruction": f"Question {i}: why is the sky blue?",
            "output": f"Answer {i}: scattering.",
        }
        for i in range(n)
    ]
    src, out = work / "in.json", work / "out.json"
    src.write_text(json.dumps(rows))
    made = 0
    with PaidCountingStub(llm_translating_responder, latency=0.5) as stub:
        inject_faults(stub, rng, 4 * n)
        argv = CLI + [
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
            "--concurrency",
            "8",
        ]
        while made < kills and not out.exists():  # a finished run leaves nothing to interrupt
            seen = stub.request_count
            made += kill_at_random(argv, rng, lambda seen=seen: stub.request_count > seen, 5.0)
        final = subprocess.run(argv, env=ENV, capture_output=True, text=True)
    got = json.loads(out.read_text()) if out.exists() else []
    ids = Counter(r["id"] for r in got)
    return {
        "job": "translate",
        "kills": made,
        "records": n,
        "exit": final.returncode,
        "lost": sum(1 for r in rows if r["id"] not in ids),
        "duplicated": sum(c - 1 for c in ids.values() if c > 1),
        "paid": sum(stub.paid.values()),
        "unique": 2 * n,
        "re_sent": resent(stub),
    }


def probe_judge(work: Path, rng: random.Random, kills: int, n: int) -> dict:
    items = [
        (f"Pregunta {i}: ¿qué es la luz?", f"Respuesta {i}: una onda electromagnética.") for i in range(n)
    ]
    run = write_run(work / "out", "model-a", {"native_es_open_qa": items})
    config = judge_yaml(work / "judge.yaml", invalid_retries=0, timeout_s=30.0)
    cache = work / "judge_cache.sqlite"
    made = 0
    with PaidCountingStub(rating_by_length, latency=1.0) as stub:
        inject_faults(stub, rng, 4 * n)
        argv = CLI + [
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
        ]
        while made < kills and not list(run.glob("results_judge_*.json")):
            seen = stub.request_count
            made += kill_at_random(argv, rng, lambda seen=seen: stub.request_count > seen, 5.0)
        procs = [
            subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        codes = [p.wait() for p in procs]
    (judgments,) = run.glob("judgments_native_es_open_qa_*.jsonl")
    rows = [json.loads(line) for line in judgments.read_text().splitlines()]
    ids = Counter(r["doc_id"] for r in rows)
    return {
        "job": "judge",
        "kills": made,
        "records": n,
        "exit": max(codes),
        "lost": sum(1 for i in range(n) if ids.get(i) is None or rows[i]["rating"] is None),
        "duplicated": sum(c - 1 for c in ids.values() if c > 1),
        "paid": sum(stub.paid.values()),
        "unique": n,
        "re_sent": resent(stub),
    }


def probe_finetune(work: Path, rng: random.Random, kills: int) -> dict:
    from safetensors.torch import load_file

    from nativeval.harness_ext.testing.toymodel import build_tiny_model

    base = build_tiny_model(work / "tiny")
    data = str(REPO / "finetune" / "data" / "aya_native_zh_32.json")

    def argv(out: Path) -> list[str]:
        return CLI + [
            "finetune",
            "--base",
            str(base),
            "--data",
            data,
            "--lang",
            "zh",
            "--variant",
            "native",
            "--out",
            str(out),
            "--epochs",
            "6",
            "--batch-size",
            "8",
            "--max-length",
            "64",
            "--resume",
        ]

    clean, killed = work / "clean", work / "killed"
    subprocess.run(argv(clean), env=ENV, capture_output=True, check=True)
    made = 0
    while made < kills and not (killed / "nativeval_run.json").is_file():
        # once the first checkpoint exists: kills during training, checkpoint saves and the final save
        made += kill_at_random(argv(killed), rng, lambda: (killed / "checkpoints").is_dir(), 1.5)
    final = subprocess.run(argv(killed), env=ENV, capture_output=True, text=True)
    a, b = load_file(clean / "adapter_model.safetensors"), load_file(killed / "adapter_model.safetensors")
    identical = set(a) == set(b) and all(bool((a[k] == b[k]).all()) for k in a)
    return {
        "job": "finetune",
        "kills": made,
        "exit": final.returncode,
        "identical_to_uninterrupted": identical,
        "lost": 0 if (killed / "nativeval_run.json").is_file() else 1,
        "duplicated": 0,
        "re_sent": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=["translate", "judge", "finetune"], help="probes to run")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = []
        for name, probe in (
            ("translate", lambda w: probe_translate(w, rng, args.kills, args.n)),
            ("judge", lambda w: probe_judge(w, rng, args.kills, args.n // 2)),
            ("finetune", lambda w: probe_finetune(w, rng, args.kills)),
        ):
            if name not in args.only:
                continue
            (work / name).mkdir()
            results.append(probe(work / name))
            print(json.dumps(results[-1]), flush=True)
    print(
        "\njob        kills  exit  lost  duplicated  re-sent (paid / unique)   ideal: 0 lost, 0 duplicated, "
        "re-sent <= in flight at the kills"
    )
    for r in results:
        extra = (
            f"{r['re_sent']:>7} ({r['paid']} / {r['unique']})"
            if "paid" in r
            else f"adapter identical to an uninterrupted run: {r['identical_to_uninterrupted']}"
        )
        print(f"{r['job']:<10} {r['kills']:>5} {r['exit']:>5} {r['lost']:>5} {r['duplicated']:>11}  {extra}")


if __name__ == "__main__":
    main()
