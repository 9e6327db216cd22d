"""The study's published numbers (and any CSV in their shape), read into typed cells: the one reader.

``reference/paper_results_full.csv`` holds all 3,120 numbers of the 25 tables of Chen, Yu, Guo, Haddow
(EMNLP 2024, arXiv 2406.12822), columns ``table, benchmark, metric, lang, base_model, train_data, lr, tuning,
score`` (``reference/README.md``). A user CSV may add ``judge`` and ``source``.

Canonical cells: the paper prints some numbers twice (a main table and its appendix twin) and prints
averages over languages (``lang = avg``). A *cell* is one published per-language score of one model
configuration, keyed by :meth:`ReferenceCell.identity`; averages are derived, never counted (the paper's
MGSM Llama2-7B cohere 1e-6 mono average reads 9.8 in Table 7 and 9.9 in Table 17; its cells give 9.87).
A number printed in two tables counts once; two tables that disagree on a cell are an error.

Judged benchmarks carry their judge in the study's benchmark name (``open_qa_translated_gpt4``): the reader
splits it off into ``judge`` (the judge config's name, ``harness_ext/judge/configs``) so that one catalogue
benchmark lines up with every judge.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import Benchmark
from nativeval.harness_ext.catalogue.references import EMBEDDED_REFERENCES as EMBEDDED
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.runs import format_lr

COLUMNS = ("table", "benchmark", "metric", "lang", "base_model", "train_data", "lr", "tuning", "score")
PAPER_SOURCE = "Chen et al. 2024, EMNLP (arXiv 2406.12822)"
# The study's judge suffixes -> the judge configs nativeval ships for the same judges.
PAPER_JUDGES = {"gpt4": "gpt-4-turbo", "cmdr": "command-r-plus"}
AVERAGE = "avg"


@dataclass(frozen=True)
class ReferenceCell:
    """One published number. ``benchmark`` is the study's name without its judge suffix."""

    table: str
    benchmark: str
    metric: str
    lang: str
    base_model: str
    train_data: str
    lr: str
    tuning: str
    judge: str | None
    score: float
    source: str = PAPER_SOURCE

    @property
    def is_average(self) -> bool:
        return self.lang == AVERAGE

    def identity(self) -> tuple[str, ...]:
        """What a cell is, whichever table printed it."""
        return (
            self.benchmark,
            self.metric,
            self.lang,
            self.base_model,
            self.train_data,
            self.lr,
            self.tuning,
            self.judge or "",
        )

    @property
    def catalogue_benchmark(self) -> Benchmark | None:
        """The catalogue benchmark these numbers belong to (None: the catalogue doesn't know it)."""
        return _by_reference_stem().get(self.benchmark)


def split_judge(name: str) -> tuple[str, str | None]:
    """``open_qa_translated_gpt4`` -> (``open_qa_translated``, ``gpt-4-turbo``); other names unchanged."""
    stem, _, suffix = name.rpartition("_")
    if stem and suffix in PAPER_JUDGES:
        return stem, PAPER_JUDGES[suffix]
    return name, None


@lru_cache(maxsize=1)
def _by_reference_stem() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for task in catalogue().tasks:
        key = task.benchmark.reference_key
        if key:
            found.setdefault(split_judge(key)[0], task.benchmark)
    return found


def reference_path(spec: str) -> Path:
    """``paper`` (the embedded numbers of Chen et al. 2024) or a CSV path."""
    if spec in EMBEDDED:
        return Path(
            str(resources.files("nativeval.harness_ext.leaderboard").joinpath("reference", EMBEDDED[spec]))
        )
    return Path(spec)


def read_reference(spec: str) -> list[ReferenceCell]:
    """Every row of a reference CSV (averages and repeats included), in file order."""
    path = reference_path(spec)
    if not path.is_file():
        raise InputError(
            f"{path}: reference CSV not found; pass a CSV path or 'paper' for the built-in numbers"
        )
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c != "table" and c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: reference CSV lacks column(s) {', '.join(missing)}")
        records = list(reader)
    default_source = PAPER_SOURCE if spec in EMBEDDED else path.name
    cells = []
    for lineno, rec in enumerate(records, start=2):
        try:
            score = float(rec["score"])
        except (TypeError, ValueError):
            raise InputError(f"{path}:{lineno}: score {rec['score']!r} is not a number") from None
        benchmark, judge = split_judge(rec["benchmark"].strip())
        cells.append(
            ReferenceCell(
                table=(rec.get("table") or "").strip(),
                benchmark=benchmark,
                metric=rec["metric"].strip(),
                lang=rec["lang"].strip(),
                base_model=rec["base_model"].strip(),
                train_data=rec["train_data"].strip(),
                lr=format_lr(rec["lr"].strip()),
                tuning=rec["tuning"].strip(),
                judge=(rec.get("judge") or "").strip() or judge,
                score=score,
                source=(rec.get("source") or "").strip() or default_source,
            )
        )
    return cells


def canonical_cells(rows: list[ReferenceCell]) -> list[ReferenceCell]:
    """Per-language cells, each once (first table that prints it); averages dropped; disagreement refused."""
    seen: dict[tuple[str, ...], ReferenceCell] = {}
    for row in rows:
        if row.is_average:
            continue
        first = seen.setdefault(row.identity(), row)
        if first.score != row.score:
            raise InputError(
                f"reference cell {' '.join(p for p in row.identity() if p)} is {first.score} in table "
                f"{first.table} and {row.score} in table {row.table}; fix one of them"
            )
    return list(seen.values())


def load_reference(spec: str) -> list[ReferenceCell]:
    """The canonical cells of a reference CSV (``paper``: the study's 2,144 per-language cells)."""
    return canonical_cells(read_reference(spec))
