"""`translate-task` throughput (a benchmark, not a test): XQuAD ru (1,190 items, real data) machine-translated
into zh against loopback servers with latency L, concurrency C. The stand-in translator (fake_translate)
measures plumbing, not translation.

1. Google v2 backend (batched requests, the server in its own thread): ours at C, ours at concurrency 1, the
   naive loop (one request per item field, sequential: computed as fields x L), the issue's ideal bound
   N x L / C for N items, and a rerun (goal: 0 requests). Goal: ours <= 1.3 x N x L / C.
2. LLM backend (one segment per request, the server in its own process): ours vs the request bound
   ceil(R / C) x L for the R requests sent, and sequential (measured on a slice, scaled by requests).

Usage: python bench/translate_task.py [--data /work/shared/data/hf_mirror] [--latency 0.05] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from translate_throughput import stub_in_own_process

from nativeval.harness_ext.core.langid import detect_language
from nativeval.harness_ext.testing.translate_stubs import GoogleTranslateStub
from nativeval.translate.backends.google import GoogleV2Backend
from nativeval.translate.backends.llm import LLMBackend
from nativeval.translate.task.request import TaskTranslationRequest
from nativeval.translate.task.run import translate_task

SHARED_MIRROR = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "hf_mirror"
)  # ../shared beside the checkout


def run(backend, out: Path, concurrency: int, limit: int | None = None) -> tuple[float, dict]:
    request = TaskTranslationRequest(
        task="translated_ru_xquad",
        mode="mt",
        target="zh",
        out=out,
        limit=limit,
        concurrency=concurrency,
        progress=False,
    )
    start = time.perf_counter()
    result = translate_task(backend, request)
    return time.perf_counter() - start, result.quality.to_json()


def requests_of(report: dict) -> int:
    return sum(
        leg["segments"].get("requests", 0) + leg.get("retry_requests_now", 0) for leg in report["legs"]
    )


def bench_google(latency: float, concurrency: int, tmp: Path) -> None:
    with GoogleTranslateStub(latency=latency) as g:
        backend = GoogleV2Backend("bench-key", base_url=g.base_url)
        ours, report = run(backend, tmp / "google", concurrency)
        sent = len(g.requests)
        rerun, _ = run(backend, tmp / "google", concurrency)
        resent = len(g.requests) - sent
        one_at_a_time, _ = run(backend, tmp / "google-c1", 1)
    items = report["span_recovery"]["items"]
    bound = items * latency / concurrency
    naive = items * 3 * latency  # context, question and answer of every item, one request each, in turn
    print(
        f"\n[google v2] translate-task translated_ru_xquad -> mt_zh_xquad: {items} items, "
        f"{report['legs'][0]['segments']['unique']} unique segments in {sent} batched requests, "
        f"{latency * 1000:.0f} ms latency, concurrency {concurrency}"
    )
    print(f"  naive loop (3 fields x N items x L, computed) {naive:8.2f} s")
    print(f"  ours at concurrency 1                        {one_at_a_time:8.2f} s")
    print(f"  ours                                         {ours:8.2f} s   ({items / ours:.0f} items/s)")
    print(f"  ideal bound N x L / C                        {bound:8.2f} s")
    print(f"  rerun                                        {rerun:8.2f} s   ({resent} requests)")
    print(
        f"  ours / ideal = {ours / bound:.2f} (goal <= 1.3); naive / ours = {naive / ours:.0f}x; "
        f"span recovery {report['span_recovery']['rate']:.1%}; rerun sends 0 requests: {resent == 0}"
    )


def bench_llm(latency: float, concurrency: int, slice_items: int, tmp: Path) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    with stub_in_own_process(latency) as base_url:
        backend = LLMBackend(model="stub-model", base_url=base_url)
        ours, report = run(backend, tmp / "llm", concurrency)
        sent = requests_of(report)
        rerun, again = run(backend, tmp / "llm", concurrency)
        slice_time, slice_report = run(backend, tmp / "llm-c1", 1, limit=slice_items)
        sequential = slice_time * sent / max(1, requests_of(slice_report))
    ideal = math.ceil(sent / concurrency) * latency
    print(
        f"\n[llm] the same task, one segment per request: {sent} requests, {latency * 1000:.0f} ms latency, "
        f"concurrency {concurrency}"
    )
    print(f"  sequential (scaled from {slice_items} items)      {sequential:8.2f} s")
    print(f"  ours                                    {ours:8.2f} s")
    print(f"  request bound ceil(R/C) x L             {ideal:8.2f} s")
    print(f"  rerun                                   {rerun:8.2f} s   ({requests_of(again)} requests)")
    print(
        f"  ours / request bound = {ours / ideal:.2f}; sequential / ours = {sequential / ours:.1f}x "
        "(the openai client's CPU per request dominates on a loaded 2-core machine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NATIVEVAL_DATA_DIR") or str(SHARED_MIRROR))
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--slice", type=int, default=40, help="items of the sequential llm run (scaled up)")
    parser.add_argument("--skip-llm", action="store_true")
    args = parser.parse_args()
    os.environ["NATIVEVAL_DATA_DIR"] = args.data
    detect_language("warm up the language identifier before timing")
    print(f"CPU cores visible: {os.cpu_count()} (shared machine: figures vary run to run)")
    with tempfile.TemporaryDirectory() as tmp:
        bench_google(args.latency, args.concurrency, Path(tmp))
        if not args.skip_llm:
            bench_llm(args.latency, args.concurrency, args.slice, Path(tmp))


if __name__ == "__main__":
    main()
