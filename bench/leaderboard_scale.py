"""Leaderboard statistics at scale (not a test; prints side-by-side figures).

M models x T test sets x N items with per-item samples (default 50 x 20 x 1,000, binary scores, items in
passages of 5 on half the test sets), R bootstrap resamples (default 10,000). Prints, from one run:
(a) nativeval: every test set's per-model cluster-bootstrap CIs and all M(M-1)/2 pairwise tests, with
    the resamples shared across models and pairs (leaderboard.model.column_stats), then the findings
    (native- minus translated-trained gap per test set, per translator and pooled, and pooled over languages)
    from the same per-item scores - no second pass over the samples; a test set's gaps read the
    first 2,000 of its columns' cluster draws again (stats.shared_draws) and share them across translators;
(b) naive: one paired bootstrap per pair in a Python loop (measured on --naive-pairs pairs, scaled to all);
(c) ideal: only the shared resampled means (bootstrap_means), the part no method can skip;
with wall and CPU time and peak memory (tracemalloc: numpy's allocations included). Goal: (a) within 1.5x of
(c) and under 1 GiB. On a shared machine compare the CPU-time ratio: wall time counts other processes.

    python bench/leaderboard_scale.py [--models 50] [--tasks 20] [--items 1000] [--resamples 10000]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nativeval.harness_ext.catalogue import catalogue  # noqa: E402
from nativeval.harness_ext.core import stats  # noqa: E402
from nativeval.harness_ext.leaderboard.columns import ColumnKey  # noqa: E402
from nativeval.harness_ext.leaderboard.findings import measured_findings  # noqa: E402
from nativeval.harness_ext.leaderboard.model import Entry, column_stats, findings_resamples  # noqa: E402
from nativeval.harness_ext.report.naming import RowKey  # noqa: E402

VARIANTS = ("native", "google", "cohere")  # the models are base models x training data, as in a study

PER_PASSAGE = 5


def synthetic_entries(
    models: int, tasks: int, items: int, seed: int = 0
) -> tuple[list[Entry], list[ColumnKey]]:
    """Entries as the results reader builds them: per-item 0/100 scores, passages on XQuAD-like columns."""
    rng = np.random.default_rng(seed)
    columns = [
        ColumnKey("xquad" if t % 2 else "mgsm", f"l{t}", "exact_match", "human_translated")
        for t in range(tasks)
    ]
    ability = rng.normal(0, 1, models)
    entries = [
        Entry(RowKey(f"base-{m // 3:02d}", VARIANTS[m % 3], "1e-4", "mono", "lora"), "measured", {})
        for m in range(models)
    ]
    for column in columns:
        difficulty = np.repeat(rng.normal(0, 1, items // PER_PASSAGE + 1), PER_PASSAGE)[:items]
        probability = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :])))
        scores = (rng.random((models, items)) < probability) * 100.0
        ids = [str(i) for i in range(items)]
        passages = {k: f"passage-{int(k) // PER_PASSAGE}" for k in ids}
        for m, entry in enumerate(entries):
            entry.items[column] = dict(zip(ids, scores[m].tolist(), strict=True))
            entry.values[column] = float(scores[m].mean())
            entry.n[column] = items
            if column.benchmark == "xquad":
                entry.clusters[column] = passages
    return entries, columns


def findings_input(entries: list[Entry]) -> list:
    """The entries as the findings read them (the board's measured_scores, without a board)."""
    from nativeval.harness_ext.leaderboard.findings import MeasuredScore, TestSet, Training

    out = []
    for entry in entries:
        training = Training(
            entry.key.base_model, entry.key.variant, entry.key.lr, entry.key.tuning, entry.key.method
        )
        for column, value in entry.values.items():
            answer_form = "free_form" if column.benchmark == "xquad" else "constrained"
            test_set = TestSet(
                column.benchmark, column.language, column.origin, column.metric, answer_form, True
            )
            out.append(
                MeasuredScore(
                    test_set, training, value, None, entry.items[column], entry.clusters.get(column)
                )
            )
    return out


def measure(label: str, work) -> tuple[float, float, float]:
    """Time one run, then measure peak memory in a second run: tracemalloc slows every allocation, so timing
    under it penalises whichever side allocates more small objects."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    print(f"{label:<52} {elapsed:8.1f} s wall {cpu:8.1f} s CPU   peak {peak:5.2f} GiB")
    return elapsed, cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--naive-pairs", type=int, default=20)
    args = parser.parse_args()
    entries, columns = synthetic_entries(args.models, args.tasks, args.items)
    catalogue()  # loaded before timing: the leaderboard has it loaded already when it computes statistics
    pairs = args.models * (args.models - 1) // 2
    print(
        f"{args.models} models x {args.tasks} test sets x {args.items} items, {args.resamples} resamples, "
        f"{pairs} pairs per test set, {os.environ['OMP_NUM_THREADS']} BLAS threads"
    )

    def ours_work() -> None:  # as build_board: the findings read the first of the columns' draws again
        with stats.shared_draws(findings_resamples(args.resamples)):
            for column in columns:
                column_stats(column, entries, args.resamples, seed=0)
            measured_findings(findings_input(entries), resamples=findings_resamples(args.resamples), seed=0)

    ours, ours_cpu, ours_peak = measure("(a) nativeval: shared resamples, all pairs, findings", ours_work)

    def naive_sample() -> None:
        column = columns[1]
        units = entries[0].clusters[column]
        keys = sorted(entries[0].items[column])
        for k in range(args.naive_pairs):
            a, b = entries[k % args.models], entries[(k + 1) % args.models]
            stats.paired_arrays_difference(
                np.array([a.items[column][i] for i in keys]),
                np.array([b.items[column][i] for i in keys]),
                [units[i] for i in keys],
                resamples=args.resamples,
                seed=k,
            )

    sample, _, _ = measure(f"(b) naive: {args.naive_pairs} pairs, one paired bootstrap each", naive_sample)
    naive = sample / args.naive_pairs * pairs * args.tasks
    print(f"{'    scaled to all pairs (' + str(pairs * args.tasks) + ')':<52} {naive:8.1f} s wall")

    def ideal() -> None:
        for column in columns:
            members = list(range(args.models))
            keys = sorted(entries[0].items[column])
            values = np.array([[entries[m].items[column][k] for k in keys] for m in members])
            index = stats.cluster_index(None, len(keys))
            stats.bootstrap_means(values, np.ones_like(values, dtype=bool), index, args.resamples)

    ideal_time, ideal_cpu, _ = measure("(c) ideal: shared resampled means only", ideal)
    ratio = ours_cpu / ideal_cpu
    print(
        f"ours vs naive: {naive / ours:.0f}x faster; ours vs ideal: {ours / ideal_time:.2f}x wall, "
        f"{ratio:.2f}x CPU; target within 1.5x of ideal (CPU) and < 1 GiB: "
        f"{'met' if ratio <= 1.5 and ours_peak < 1 else 'NOT met'} "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time counts other processes)"
    )


if __name__ == "__main__":
    main()
