"""`nativeval study init --lang CODE`: the study's matrix for any language of the Aya Dataset.

The study (Chen et al. 2024) tuned each base model on native Aya data of a language and on English Aya data
sampled to the same size and machine-translated into it (Google Translate; Command R through Cohere's
OpenAI-compatible API), plus the native data round-tripped through English, and scored every checkpoint on the
language's native and translated test sets. This module writes that study file for another language:

* native data: the Aya Dataset ``train`` rows whose ``language_code`` is the language's ISO 639-3 code (or one
  of its aliases in the registry), read through the dataset layer (a mirror under ``NATIVEVAL_DATA_DIR``:
  ``CohereForAI/aya_dataset/default/train.jsonl``, else the Hub at :data:`AYA_REVISION`);
* translated data: the English rows (``eng``), sampled by the study runner to the native size (seeded) and
  translated by each chosen backend, instruction and response separately;
* round trip: the native data translated to English and back by each backend;
* evaluation: the language's ``native_<lang>`` and ``translated_<lang>`` collections (those that have tasks).

Both data files are written in the Alpaca schema beside the study file (``<stem>_data/``), so that the study
runs offline; ``nativeval study FILE --dry-run`` plans it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nativeval.harness_ext.catalogue.model import builtin_catalogue
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_text
from nativeval.harness_ext.core.languages import Language, language
from nativeval.harness_ext.core.paths import inside, safe_segment

AYA_DATASET = "CohereForAI/aya_dataset"
# no commit could be looked up offline; `nativeval data download` records the one it reads
AYA_REVISION = "main"
AYA_SPLIT = "train"
ENGLISH_CODE = "eng"
SAMPLE_SEED = 2024
# The study's base models (Chen et al. 2024, §3): the default of --models.
STUDY_MODELS = {
    "Llama2-7B": "meta-llama/Llama-2-7b-hf",
    "Gemma-2B": "google/gemma-2b",
    "Gemma-7B": "google/gemma-7b",
    "Qwen1.5-0.5B": "Qwen/Qwen1.5-0.5B",
    "Qwen1.5-1.8B": "Qwen/Qwen1.5-1.8B",
    "Qwen1.5-4B": "Qwen/Qwen1.5-4B",
    "Qwen1.5-7B": "Qwen/Qwen1.5-7B",
    "Qwen1.5-14B": "Qwen/Qwen1.5-14B",
}
COHERE_URL = "https://api.cohere.com/compatibility/v1"
# The translation backends the study used, as study-file variant blocks (`nativeval translate` backends).
BACKENDS: dict[str, dict[str, Any]] = {
    "google": {"backend": "google"},
    "cohere": {
        "backend": "llm",
        "model": "command-r",
        "base_url": COHERE_URL,
        "extra_args": ["--api-key-env", "COHERE_API_KEY"],
    },
}
JUDGE_CONFIG = Path(__file__).resolve().parents[1] / "judge" / "configs" / "gpt-4-turbo.yaml"


@dataclass(frozen=True)
class InitResult:
    study_file: Path
    native_file: Path
    english_file: Path
    native_rows: int
    english_rows: int
    collections: tuple[str, ...]
    lacking: tuple[str, ...]  # collections of the language with no task (and so not evaluated)


def parse_models(specs: Sequence[str]) -> dict[str, str]:
    """``NAME=HF_ID_OR_DIR`` or a bare id (named after its last path part); none: the study's base models."""
    models: dict[str, str] = {}
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(","))):
            name, sep, ref = item.partition("=")
            if not sep:
                name, ref = item.rstrip("/").rsplit("/", 1)[-1], item
            if not name or not ref:
                raise InputError(f"--models {item!r}: give NAME=HF_ID or a Hugging Face id / local directory")
            models[name] = ref
    return models or dict(STUDY_MODELS)


def parse_backends(spec: str) -> list[str]:
    names = [b.strip() for b in spec.split(",") if b.strip()]
    unknown = [b for b in names if b not in BACKENDS]
    if unknown or not names:
        raise InputError(f"--backends {spec!r}: choose among {', '.join(BACKENDS)} (comma-separated)")
    return names


def _matches(row: dict[str, Any], lang: Language) -> bool:
    code = str(row.get("language_code") or "").strip().lower()
    return code == lang.iso639_3 or code in lang.iso639_3_aliases


def _alpaca(row: dict[str, Any], code3: str, n: int) -> dict[str, str]:
    """An Aya Hub row (``inputs``, ``targets``) in the Alpaca schema the study's data release uses."""
    return {
        "instruction": str(row.get("inputs") or ""),
        "input": "",
        "output": str(row.get("targets") or ""),
        "id": f"aya_{code3}_{n}",
    }


def aya_rows(lang: Language) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The language's native rows and the English pool, in the Alpaca schema (empty responses dropped)."""
    from nativeval.harness_ext.catalogue.dataset_loader import load_dataset

    split = load_dataset(AYA_DATASET, None, [AYA_SPLIT], revision=AYA_REVISION)[AYA_SPLIT]
    native, english = [], []
    for row in split:
        if not str(row.get("targets") or "").strip() or not str(row.get("inputs") or "").strip():
            continue
        if _matches(row, lang):
            native.append(_alpaca(row, lang.iso639_3, len(native)))
        elif str(row.get("language_code") or "").strip().lower() == ENGLISH_CODE:
            english.append(_alpaca(row, ENGLISH_CODE, len(english)))
    return native, english


def _collections(code: str) -> tuple[list[str], list[str]]:
    cat = builtin_catalogue()
    names = [f"{group}_{code}" for group in cat.origin_groups]
    return [n for n in names if cat.collection_members(n)], [
        n for n in names if not cat.collection_members(n)
    ]


def study_document(
    lang: Language,
    models: dict[str, str],
    backends: list[str],
    native_rows: int,
    data_dir: str,
    collections: list[str],
    lacking: list[str],
) -> dict[str, Any]:
    code = lang.code
    variants: dict[str, Any] = {"native": {"file": f"{data_dir}/aya_native.{{lang}}.json"}}
    for name in backends:
        variants[name] = {
            "translate": {
                **BACKENDS[name],
                "source": f"{data_dir}/aya_english.json",
                "sample": native_rows,
                "seed": SAMPLE_SEED,
            }
        }
    for name in backends:
        variants[f"rtt_{name}"] = {"round_trip": {**BACKENDS[name], "source": "native"}}
    doc: dict[str, Any] = {
        "study": safe_segment(f"aya_{code}"),
        "output_dir": f"{safe_segment(f'aya_{code}')}_results",
        "languages": [code],
        "base_models": models,
        "variants": variants,
        "finetune": {
            "recipe": {},
            "runs": [
                {"models": "all", "variants": ["native", *backends], "lr": [1.0e-4], "tuning": ["mono"]},
                {
                    "models": "all",
                    "variants": [f"rtt_{b}" for b in backends],
                    "lr": [1.0e-4],
                    "tuning": ["mono"],
                },
            ],
        },
        "eval": {"tasks": collections, "batch_size": "auto"},
        "leaderboard": {"title": f"{lang.name}: native vs translated instruction data (Aya)"},
    }
    cat = builtin_catalogue()
    if any(
        t.benchmark.task_type == "open_generation" for c in collections for t in cat.collection_members(c)
    ):
        doc["judges"] = [{"name": "gpt-4-turbo", "config": str(JUDGE_CONFIG)}]
    return doc


def _header(
    lang: Language,
    result_rows: int,
    english_rows: int,
    collections: list[str],
    lacking: list[str],
    backends: list[str],
) -> str:
    cat = builtin_catalogue()
    lines = [
        f"# The study's matrix for {lang.name} ({lang.code}), written by "
        f"`nativeval study init --lang {lang.code}`.",
        f"# Native data: {result_rows} Aya Dataset train rows with language_code {lang.iso639_3}"
        f" ({AYA_DATASET}@{AYA_REVISION}).",
        f"# Translated data: the {english_rows} English rows, sampled to the same size "
        f"(seed {SAMPLE_SEED}) and translated by {', '.join(backends)}.",
        "# Round trip: the native rows translated to English and back by each backend.",
        f"# Evaluation: {', '.join(collections)}.",
    ]
    for name in lacking:
        lines.append(f"# {name} has no task: {cat.empty_note(name)}.")
    lines += [
        "#",
        "#   nativeval study THIS_FILE --dry-run    # plan, GPU-hours, API calls",
        "#   nativeval study THIS_FILE              # run it, resumably "
        "(keys: $COHERE_API_KEY, $OPENAI_API_KEY)",
    ]
    return "\n".join(lines) + "\n"


def init_study(
    code: str,
    out: str | Path,
    *,
    models: Sequence[str] = (),
    backends: str = "google,cohere",
    force: bool = False,
) -> InitResult:
    """Write the study file ``out`` and its data folder for language ``code``; checks come before any read."""
    lang = language(code)  # an unknown code: one line naming the nearest known ones
    model_map, backend_names = parse_models(models), parse_backends(backends)
    collections, lacking = _collections(lang.code)
    if not collections:
        note = builtin_catalogue().empty_note(f"native_{lang.code}")
        raise InputError(f"no test set covers {lang.name} ({lang.code}): {note}")
    out = Path(out)
    if out.suffix not in (".yaml", ".yml"):
        raise InputError(f"--out {out}: give a .yaml file name for the study")
    if out.exists() and not force:
        raise InputError(f"{out} exists; choose another --out or pass --force to replace it")
    data_dir = f"{safe_segment(out.stem)}_data"
    folder = inside(out.resolve().parent, data_dir, what="data folder")
    native, english = aya_rows(lang)
    if not native:
        raise InputError(
            f"the Aya Dataset has no {AYA_SPLIT} rows with language_code {lang.iso639_3} "
            f"({lang.name}); the study needs native data"
        )
    if len(english) < len(native):
        raise InputError(
            f"the Aya Dataset has {len(english)} English rows, fewer than the {len(native)} "
            f"{lang.name} rows the translated data must match"
        )
    native_file = folder / f"aya_native.{lang.code}.json"
    english_file = folder / "aya_english.json"
    atomic_write_json(native_file, native)
    atomic_write_json(english_file, english)
    doc = study_document(lang, model_map, backend_names, len(native), data_dir, collections, lacking)
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110)
    atomic_write_text(
        out, _header(lang, len(native), len(english), collections, lacking, backend_names) + body
    )
    return InitResult(
        out, native_file, english_file, len(native), len(english), tuple(collections), tuple(lacking)
    )


def summary(result: InitResult) -> str:
    lines = [
        f"wrote {result.study_file} ({result.native_rows} native rows, {result.english_rows} English rows "
        f"in {result.native_file.parent}); evaluation: {', '.join(result.collections)}"
    ]
    lines += [f"note: {name} has no task, so the study evaluates without it" for name in result.lacking]
    return "\n".join(lines)
