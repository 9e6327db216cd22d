"""Judge diagnostics at scale: 10 judges x 20 models x 300 items (3 tasks: es/zh native, es translated).

Prints ours (vectorised: one matrix of bootstrap weights over questions per stratum, every statistic a
weighted sum of per-question column sums) against a naive loop (re-slice the resampled data and recompute
per resample, as a first version would; kappa and exact agreement only, timed on a few resamples and
scaled), and the ideal bound (parsing the judgments files once, no statistics). Goal: under 10 s on
2 cores, files read included; wall time on a shared machine, so the CPU time is printed too.

    PYTHONPATH=$PWD python bench/judge_report.py [--judges 10 --models 20 --items 300 --resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

TASKS = ("native_es_open_qa", "translated_es_open_qa", "native_zh_open_qa")


def synthetic_outputs(root: Path, judges: int, models: int, items: int, seed: int = 0) -> None:
    """`nativeval judge` outputs: per model a run directory with a results file and
    judgments per judge and task."""
    rng = np.random.default_rng(seed)
    per_task = items // len(TASKS)
    quality = rng.normal(3, 0.6, size=models)
    lengths = rng.integers(5, 200, size=(models, len(TASKS), per_task))
    severity = rng.normal(0, 0.4, size=judges)
    for m in range(models):
        folder = root / f"model-{m:02d}"
        folder.mkdir(parents=True)
        for j in range(judges):
            name = f"judge-{j}"
            configs = {
                t: {
                    "metadata": {
                        "provenance": {
                            "language": t.split("_")[1],
                            "origin": "native" if t.startswith("native") else "human_translated",
                        }
                    }
                }
                for t in TASKS
            }
            doc = {
                "results": {t: {} for t in TASKS},
                "configs": configs,
                "model_name": f"model-{m:02d}",
                "judge": {"name": name, "model": name, "model_snapshots": [], "repeats": 1},
            }
            (folder / f"results_judge_{name}_2025-01-01T00-00-00.json").write_text(
                json.dumps(doc), encoding="utf-8"
            )
            for t, task in enumerate(TASKS):
                noise = rng.normal(0, 0.8, size=per_task)
                ratings = np.clip(np.rint(quality[m] + severity[j] + 0.004 * lengths[m, t] + noise), 1, 5)
                rows = [
                    {
                        "task": task,
                        "doc_id": i,
                        "question": f"q{i}",
                        "response": "w " * int(lengths[m, t, i]),
                        "rating": int(ratings[i]),
                        "valid": True,
                        "explanation": f"Rating: [[{int(ratings[i])}]]",
                        "off_language": bool(rng.random() < 0.05),
                        "judge": name,
                    }
                    for i in range(per_task)
                ]
                path = folder / f"judgments_{task}_{name}_2025-01-01T00-00-00.jsonl"
                path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def naive_bootstrap(single, resamples: int, rng: np.random.Generator) -> float:
    """Seconds for the pairwise kappas, exact agreement and per-model means by a loop over resamples."""
    start = time.perf_counter()
    for t in range(len(single.tasks)):
        rows = np.flatnonzero(single.task == t)
        docs = np.unique(single.doc[rows])
        by_judge = {j: {} for j in np.unique(single.judge[rows])}
        for r in rows:
            by_judge[single.judge[r]][(single.model[r], single.doc[r])] = single.rating[r]
        for _ in range(resamples):
            drawn = rng.choice(docs, size=docs.size)
            for a, b in combinations(sorted(by_judge), 2):
                pairs = [
                    (by_judge[a][(m, d)], by_judge[b][(m, d)])
                    for d in drawn
                    for m in range(len(single.models))
                    if (m, d) in by_judge[a] and (m, d) in by_judge[b]
                ]
                x, y = np.array(pairs).T
                observed = np.mean((x - y) ** 2)
                expected = x.var() + y.var() + (x.mean() - y.mean()) ** 2
                _kappa, _exact = 1 - observed / expected, np.mean(x == y)
    return time.perf_counter() - start


def ideal_bound(root: Path) -> float:
    """Seconds to parse every judgments row once and nothing else: no report can read the files faster."""
    start = time.perf_counter()
    for path in root.rglob("judgments_*.jsonl"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", type=int, default=10)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--naive-resamples", type=int, default=3, help="naive loop: resamples timed, then scaled"
    )
    args = parser.parse_args()
    from nativeval.harness_ext.judge.diagnostics import judge_report
    from nativeval.harness_ext.judge.diagnostics_io import load_judge_outputs

    print(
        f"{args.judges} judges x {args.models} models x {args.items} items, {args.resamples} bootstrap "
        "resamples, "
        f"{os.cpu_count()} CPUs visible"
    )
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_outputs(Path(tmp), args.judges, args.models, args.items)
        start, cpu = time.perf_counter(), time.process_time()
        outputs = load_judge_outputs([tmp])
        loaded, loaded_cpu = time.perf_counter() - start, time.process_time() - cpu
        ideal = ideal_bound(Path(tmp))
    start, cpu = time.perf_counter(), time.process_time()
    report = judge_report(outputs, resamples=args.resamples)
    computed, computed_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert (
        len(report.strata) == 3
        and len(report.strata[0].agreement.pairs) == args.judges * (args.judges - 1) // 2
    )
    rng = np.random.default_rng(0)
    naive = naive_bootstrap(outputs.single, args.naive_resamples, rng) * args.resamples / args.naive_resamples
    print(
        f"ours:  read {loaded:.2f} s + diagnostics {computed:.2f} s = {loaded + computed:.2f} s "
        f"(goal < 10 s){'' if loaded + computed < 10 else '  GOAL MISSED'}; CPU time "
        f"{loaded_cpu + computed_cpu:.2f} s"
    )
    print(
        f"naive: {naive:.1f} s (loop over resamples, kappa and exact agreement only; "
        f"{args.naive_resamples} resamples timed, scaled to {args.resamples})"
    )
    print(f"ideal: {ideal:.2f} s (parsing every judgments row once, no statistics)")


if __name__ == "__main__":
    main()
