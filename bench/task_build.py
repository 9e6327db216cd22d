"""Building a language's tasks at full size: nativeval vs a per-subject filter (naive) vs the ideal bound.

Writes, into a temporary mirror, full-size splits in the Hub schema for 10 languages: Global-MMLU (14,042 test
rows + 285 dev rows per language), openai/MMMLU (14,042 test rows per locale) and INCLUDE base-44 (its real
size per language, ~550 rows over the language's domains). Then, per language, times building the tasks of
`native_<lang>` and `translated_<lang>` that these datasets feed (INCLUDE; Global-MMLU; MMMLU: 115 lm-eval
tasks) up to the docs every leaf scores and draws shots from (lm-eval's TaskManager.load, then each leaf's
eval_docs and fewshot_docs):

  ours   nativeval: each split read once, members partitioned in one pass (harness_ext.eval.partition)
  naive  the same tasks with each member filtering the whole split (57 passes for Global-MMLU / MMMLU)
  bound  read each split once (jsonl -> Dataset) + one pass that partitions its rows by subject

and prints ours/bound (target <= 2x) and naive/bound. A second table times the task index: `nativeval tasks`
(all languages) and lm-eval's TaskManager over nativeval's tasks/ vs over lm-eval's own task folders.

    .venv/bin/python bench/task_build.py [--languages ar,bn,de,es,fr,hi,id,it,ja,ko] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nativeval.harness_ext.catalogue.model import TASKS_DIR, builtin_catalogue  # noqa: E402

GLOBAL_MMLU_TEST_ROWS = 14042  # MMLU's test split, per language
MMMLU_TEST_ROWS = 14042
INCLUDE_ROWS = 550  # INCLUDE base-44: 22,637 rows over 44 languages, ~515 per language
DEFAULT_LANGUAGES = "ar,bn,de,es,fr,hi,id,it,ja,ko"  # in INCLUDE, Global-MMLU and MMMLU


def _spread(total: int, parts: list[str]) -> dict[str, int]:
    base, extra = divmod(total, len(parts))
    return {p: base + (i < extra) for i, p in enumerate(parts)}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _options(i: int) -> dict[str, str]:
    return {f"option_{k}": f"option {k} of item {i} with some words to parse" for k in "abcd"}


def write_mirror(root: Path, languages: list[str]) -> dict[str, list[str]]:
    """Full-size rows in each dataset's Hub schema; returns lang -> the catalogue tasks they feed."""
    cat = builtin_catalogue()
    rng = random.Random(0)
    fed: dict[str, list[str]] = defaultdict(list)
    for lang in languages:
        gm = cat.task(f"translated_{lang}_global_mmlu")
        subjects = [leaf.member for leaf in gm.leaves]
        rows = []
        for subject, n in _spread(GLOBAL_MMLU_TEST_ROWS, subjects).items():
            rows += [
                {
                    "sample_id": f"{subject}/test/{i}",
                    "subject": subject,
                    "subject_category": "STEM",
                    "question": f"Question {i} about {subject}?",
                    **_options(i),
                    "answer": "ABCD"[rng.randrange(4)],
                    "required_knowledge": "[]",
                    "time_sensitive": "[]",
                    "reference": "[]",
                    "culture": "[]",
                    "region": "[]",
                    "country": "[]",
                    "cultural_sensitivity_label": rng.choice(["CS", "CA", ""]),
                    "is_annotated": True,
                }
                for i in range(n)
            ]
        rng.shuffle(rows)  # subjects interleaved, as a partition must cope with
        _write(root / "CohereForAI" / "Global-MMLU" / gm.leaves[0].config / "test.jsonl", rows)
        dev = [
            {
                "sample_id": f"{s}/dev/{i}",
                "subject": s,
                "subject_category": "STEM",
                "question": f"Dev {i} {s}?",
                **_options(i),
                "answer": "A",
                "required_knowledge": "[]",
                "time_sensitive": "[]",
                "reference": "[]",
                "culture": "[]",
                "region": "[]",
                "country": "[]",
                "cultural_sensitivity_label": "",
                "is_annotated": False,
            }
            for s in subjects
            for i in range(5)
        ]
        _write(root / "CohereForAI" / "Global-MMLU" / gm.leaves[0].config / "dev.jsonl", dev)
        fed[lang].append(gm.name)

        ht = cat.task(f"translated_{lang}_ht_mmlu")
        rows = []
        for subject, n in _spread(MMMLU_TEST_ROWS, [leaf.member for leaf in ht.leaves]).items():
            rows += [
                {
                    "Unnamed: 0": i,
                    "Question": f"Question {i} about {subject}?",
                    "A": "a",
                    "B": "b",
                    "C": "c",
                    "D": "d",
                    "Answer": "ABCD"[rng.randrange(4)],
                    "Subject": subject,
                }
                for i in range(n)
            ]
        rng.shuffle(rows)
        _write(root / "openai" / "MMMLU" / ht.leaves[0].config / "test.jsonl", rows)
        fed[lang].append(ht.name)

        inc = cat.task(f"native_{lang}_include")
        rows = []
        titles = inc.benchmark.raw["per_language"]["member_titles"]
        for domain, n in _spread(INCLUDE_ROWS, [leaf.member for leaf in inc.leaves]).items():
            rows += [
                {
                    "language": inc.leaves[0].config,
                    "country": "X",
                    "domain": titles[domain],
                    "subject": "s",
                    "regional_feature": "region agnostic",
                    "level": "1",
                    "question": f"Q{i} {domain}?",
                    **_options(i),
                    "answer": rng.randrange(4),
                }
                for i in range(n)
            ]
        _write(root / "CohereForAI" / "include-base-44" / inc.leaves[0].config / "test.jsonl", rows)
        fed[lang].append(inc.name)
    return fed


def build(manager, names: list[str]) -> int:
    """lm-eval's task build plus every leaf's scored and few-shot docs; returns the number of docs."""
    tasks = manager.load(names)["tasks"]
    total = 0
    for task in tasks.values():
        total += len(task.eval_docs)
        if task.has_training_docs() or task.config.fewshot_split:
            total += len(task.fewshot_docs() or ())
    return total


def bound(root: Path, lang_tasks: list[str]) -> int:
    """Read each split once (jsonl -> the Dataset lm-eval's custom_dataset must return) + one pass that
    partitions its rows by subject; nothing per member."""
    import datasets

    from nativeval.harness_ext.core.io import read_jsonl
    from nativeval.tasks.tag_subsets import member_slug

    cat = builtin_catalogue()
    total = 0
    for name in lang_tasks:
        task = cat.task(name)
        field = {"global_mmlu": "subject", "ht_mmlu": "Subject", "include": "domain"}[task.benchmark.name]
        for split in task.benchmark.splits:
            path = root / task.benchmark.dataset_id / task.leaves[0].config / f"{split}.jsonl"
            dataset = datasets.Dataset.from_list(read_jsonl(path))
            groups = defaultdict(list)
            for row in dataset.to_list():
                groups[member_slug(row[field])].append(row)
            total += sum(len(groups[leaf.member]) for leaf in task.leaves)
    return total


def naive_filters() -> None:
    """Swap in the per-member filter nativeval had before (each member filters the whole split)."""
    import nativeval.tasks.tag_subsets as tag_subsets
    from nativeval.harness_ext.eval import partition
    from nativeval.harness_ext.eval.runtime import quiet_filter

    def member_rows(dataset, field, member, key, task_of=None):
        return quiet_filter(dataset, lambda doc: key(doc[field]) == member)

    partition.member_rows = member_rows
    tag_subsets.member_rows = member_rows
    for module in [
        m for name, m in sys.modules.items() if name.endswith("utils") and hasattr(m, "member_rows")
    ]:
        module.member_rows = member_rows


def time_builds(root: Path, fed: dict[str, list[str]], repeats: int, naive: bool) -> dict[str, float]:
    """Each language's build in a fresh process (no cache shared between languages or with the other mode)."""
    out = {}
    for lang, names in fed.items():
        code = (
            f"import sys, time, logging; sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, "
            f"{str(REPO / 'bench')!r})\n"
            "logging.disable(logging.WARNING)\n"
            "from lm_eval.tasks import TaskManager\nimport task_build as tb\n"
            f"{'tb.naive_filters()' if naive else ''}\n"
            f"manager = TaskManager(include_path={str(TASKS_DIR)!r}, include_defaults=False)\n"
            "best = float('inf')\n"
            f"for _ in range({repeats}):\n"
            "    t = time.perf_counter()\n"
            f"    tb.build(manager, {names!r})\n"
            "    best = min(best, time.perf_counter() - t)\n"
            "    manager = TaskManager(include_path=" + repr(str(TASKS_DIR)) + ", include_defaults=False)\n"
            "    from nativeval.harness_ext.catalogue import dataset_loader\n"
            "    dataset_loader._parse_mirror_file.cache_clear()\n"
            "print(best)\n"
        )
        env = {
            **os.environ,
            "NATIVEVAL_DATA_DIR": str(root),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
        }
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        out[lang] = float(proc.stdout.strip().splitlines()[-1])
    return out


def time_index() -> list[tuple[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    rows = []
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "tasks", "--json"], check=True, capture_output=True, env=env
    )
    rows.append(("nativeval tasks --json (all languages, process)", time.perf_counter() - t))
    for label, code in (
        (
            "lm-eval TaskManager over nativeval tasks/",
            f"TaskManager(include_path={str(TASKS_DIR)!r}, include_defaults=False)",
        ),
        ("lm-eval TaskManager over its own tasks", "TaskManager()"),
    ):
        script = (
            "import time; from lm_eval.tasks import TaskManager\n"
            f"t = time.perf_counter(); m = {code}; print(time.perf_counter() - t, len(m.all_tasks))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        seconds, count = proc.stdout.split()
        rows.append((f"{label} ({count} names)", float(seconds)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default=DEFAULT_LANGUAGES)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--naive-languages",
        default="ko,ar",
        help="languages to time the naive build for (57 whole-split filters per group: slow)",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    languages = [c.strip() for c in args.languages.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="nativeval-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        fed = write_mirror(root, languages)
        print(
            f"mirror written in {time.perf_counter() - t:.1f}s: {len(languages)} languages, tasks "
            f"{sum(map(len, fed.values()))}"
        )
        ours = time_builds(root, fed, args.repeats, naive=False)
        wanted = {c.strip() for c in args.naive_languages.split(",") if c.strip()}
        naive = time_builds(root, {k: v for k, v in fed.items() if k in wanted}, args.repeats, naive=True)
        import datasets  # noqa: F401 - imported before timing the bound, as in the processes timed above

        bounds = {}
        for lang, names in fed.items():
            t = time.perf_counter()
            bound(root, names)
            bounds[lang] = time.perf_counter() - t
    print(f"\n{'lang':5} {'ours s':>8} {'naive s':>8} {'bound s':>8} {'ours/bound':>10} {'naive/bound':>11}")
    for lang in fed:
        n = naive.get(lang)
        print(
            f"{lang:5} {ours[lang]:8.2f} {n if n is not None else float('nan'):8.2f} {bounds[lang]:8.2f} "
            f"{ours[lang] / bounds[lang]:10.2f} {(n or float('nan')) / bounds[lang]:11.2f}"
        )
    total = (sum(ours.values()), sum(bounds.values()))
    naive_ratio = (sum(naive.values()) / sum(bounds[k] for k in naive)) if naive else float("nan")
    print(
        f"{'all':5} {total[0]:8.2f} {'':8} {total[1]:8.2f} {total[0] / total[1]:10.2f} {naive_ratio:11.2f}"
        "   (target ours/bound <= 2; naive over the languages timed)"
    )
    print("\nindex")
    for label, seconds in time_index():
        print(f"  {label:60} {seconds:6.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
