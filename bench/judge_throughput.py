"""Judge throughput against the loopback OpenAI-compatible stub (not a test; prints side-by-side figures).

N judgments (default 2000) with the stub answering after a fixed latency (default 50 ms), the stub running
in its own process. Prints, from one run: (a) sequential calls (concurrency 1; measured on a subset and
scaled to N unless --full-sequential), (b) nativeval's judge at concurrency 64, (c) the ideal bound
N x latency / 64, (d) a fully cached rerun, with the number of requests the server saw during it.
Goal: (b) within 1.2x of (c); (d) under 2 s with zero requests.

    python bench/judge_throughput.py [--n 2000] [--latency 0.05] [--concurrency 64] [--sequential-sample 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nativeval.harness_ext.core.cache import KVCache  # noqa: E402
from nativeval.harness_ext.core.resilience import CostLedger  # noqa: E402
from nativeval.harness_ext.judge.calls import Call, single_call  # noqa: E402
from nativeval.harness_ext.judge.config import load_judge, load_prompt  # noqa: E402
from nativeval.harness_ext.judge.engine import JudgeEngine  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_stub(latency: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nativeval.harness_ext.testing",
            "serve",
            "judge",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}/v1"


def server_requests(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/stub/stats") as resp:
        return json.loads(resp.read())["requests"]


def make_calls(n: int, base_url: str, tag: str) -> list[Call]:
    judge = replace(load_judge("gpt-4-turbo"), base_url=base_url)
    prompt = load_prompt(judge.prompt)
    return [
        single_call(
            judge,
            prompt,
            f"Question {tag}-{i}: how do plants turn light into energy?",
            f"Answer {i}: " + "Photosynthesis converts light, water and CO2 into sugar. " * (1 + i % 5),
        )
        for i in range(n)
    ]


def timed_run(calls: list[Call], cache_path: Path, concurrency: int) -> tuple[float, float, JudgeEngine]:
    cache = KVCache(cache_path)
    engine = JudgeEngine(cache, CostLedger(), concurrency=concurrency, progress=False)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    engine.run(calls)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    cache.close()
    return wall, cpu, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sequential-sample", type=int, default=200)
    parser.add_argument("--full-sequential", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    proc, base_url = start_stub(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # warm-up: imports, langid-free client setup, first connections
            timed_run(
                make_calls(args.concurrency, base_url, "warm"), Path(tmp) / "warm.sqlite", args.concurrency
            )

            seq_n = args.n if args.full_sequential else min(args.n, args.sequential_sample)
            seq_wall, _, _ = timed_run(make_calls(seq_n, base_url, "seq"), Path(tmp) / "seq.sqlite", 1)
            seq_scaled = seq_wall * args.n / seq_n

            calls = make_calls(args.n, base_url, "main")
            cache_path = Path(tmp) / "judge.sqlite"
            ours_wall, ours_cpu, engine = timed_run(calls, cache_path, args.concurrency)
            assert engine.stats.requests == args.n, engine.stats

            before = server_requests(base_url)
            cached_wall, _, cached = timed_run(calls, cache_path, args.concurrency)
            rerun_requests = server_requests(base_url) - before
    finally:
        proc.terminate()
        proc.wait()

    ideal = args.n * args.latency / args.concurrency
    load = os.getloadavg()[0]
    print(
        f"judge throughput: N={args.n}, server latency {args.latency * 1000:.0f} ms, concurrency "
        f"{args.concurrency}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f}"
    )
    label = "measured" if seq_n == args.n else f"{seq_n} measured, scaled to N"
    print(f"(a) sequential            {seq_scaled:8.2f} s   ({label})")
    print(
        f"(b) nativeval, conc. {args.concurrency:<4} {ours_wall:8.2f} s   {ours_wall / ideal:5.2f}x ideal   "
        f"(client CPU {ours_cpu:.2f} s = {ours_cpu / args.n * 1000:.2f} ms/request)   goal <= 1.2x"
    )
    print(f"(c) ideal N*latency/{args.concurrency:<4} {ideal:8.2f} s")
    print(
        f"(d) fully cached rerun    {cached_wall:8.2f} s   requests to the server: {rerun_requests} "
        f"(cache hits {cached.stats.cache_hits})   goal < 2 s, 0 requests"
    )
    print(f"speed-up over sequential: {seq_scaled / ours_wall:.1f}x")


if __name__ == "__main__":
    main()
