"""Instruction data for fine-tuning: load, attribute a language, mix with caps, split, template, tokenize.

Sources (``--data``): an Alpaca/Aya JSON list (``instruction``, ``input``, ``output``, ``id``), a JSONL
file with the same fields, or a Hugging Face dataset ``hf://ID[:CONFIG][@REVISION][#SPLIT]`` loaded
through :func:`nativeval.harness_ext.catalogue.dataset_loader.load_dataset` (mirror first, then the Hub
at the pinned revision).
Aya Hub rows (``inputs``/``targets``/``language_code``) are accepted as well.

Sampling is reproducible: per-language caps and the held-out split both draw with
``random.Random(seed)``; the same seed and files give the same examples on every machine.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import file_sha256, read_json, read_jsonl, read_yaml
from nativeval.harness_ext.core.languages import by_iso639_3, codes

PACKAGE_DIR = Path(__file__).parent
EMBEDDED_DATA_DIR = PACKAGE_DIR / "data"
IGNORE_INDEX = -100
HF_PREFIX = "hf://"


@dataclass
class Record:
    instruction: str
    input: str
    output: str
    id: str
    lang: str
    source: int  # index of the data source it came from


@dataclass
class SourceStats:
    """One entry of the manifest's ``data`` list."""

    path: str
    sha256: str
    records: int
    used: int = 0  # train + held_out
    train: int = 0
    held_out: int = 0
    skipped_empty: int = 0
    truncated: int = 0


@dataclass
class Example:
    """A tokenized example: the loss covers exactly the positions whose label is not IGNORE_INDEX."""

    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    source: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


@cache
def templates() -> dict[str, Any]:
    return read_yaml(PACKAGE_DIR / "templates.yaml")


def normalize_lang(code: str) -> str:
    """A record's language as nativeval's code: ISO 639-3 codes (``zho``) map through the language
    registry."""
    code = code.strip().lower()
    return by_iso639_3(code) or code


def lang_from_id(record_id: str) -> str | None:
    """The last ISO 639-3 code in an Aya id: ``aya_eng_google_translated_to_zho_3`` -> ``zh``."""
    found = [by_iso639_3(tok) for tok in re.split(r"[_\-.]", record_id.lower()) if len(tok) == 3]
    found = [code for code in found if code]
    return found[-1] if found else None


def lang_from_filename(path: str) -> str | None:
    """``aya_native_data_processed.zh.json`` or ``aya_native_zh_32.json`` -> ``zh``."""
    known = set(codes())
    tokens = [tok for tok in re.split(r"[_\-.]", Path(path).name.lower()) if tok in known]
    return tokens[-1] if tokens else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _normalize_row(row: dict[str, Any]) -> dict[str, str]:
    if "instruction" in row or "output" in row:
        return {
            "instruction": _text(row.get("instruction")),
            "input": _text(row.get("input")),
            "output": _text(row.get("output")),
            "id": _text(row.get("id")),
            "lang": _text(row.get("lang") or row.get("language_code") or row.get("language")),
        }
    if "inputs" in row and "targets" in row:  # the Aya Dataset's Hub schema
        return {
            "instruction": _text(row["inputs"]),
            "input": "",
            "output": _text(row["targets"]),
            "id": _text(row.get("id")),
            "lang": _text(row.get("language_code")),
        }
    raise InputError(
        f"record with fields {sorted(row)} has neither instruction/output nor inputs/targets; "
        "convert the data to the Alpaca schema (instruction, input, output, id)"
    )


def parse_hf_spec(spec: str) -> tuple[str, str | None, str | None, str]:
    """``hf://ID[:CONFIG][@REVISION][#SPLIT]`` -> (id, config, revision, split)."""
    rest = spec[len(HF_PREFIX) :]
    rest, _, split = rest.partition("#")
    rest, _, revision = rest.partition("@")
    dataset_id, _, config = rest.partition(":")
    if not dataset_id:
        raise InputError(f"--data {spec}: give a dataset id, e.g. hf://CohereForAI/aya_dataset@REVISION")
    return dataset_id, config or None, revision or None, split or "train"


def _read_rows(spec: str) -> tuple[list[dict[str, Any]], str]:
    """The raw rows of one source and their sha256 (of the file bytes, or of the canonical rows)."""
    if spec.startswith(HF_PREFIX):
        from nativeval.harness_ext.catalogue.dataset_loader import load_dataset

        dataset_id, config, revision, split = parse_hf_spec(spec)
        rows = list(load_dataset(dataset_id, config, splits=[split], revision=revision)[split])
        canonical = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in rows)
        return rows, hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InputError(f"--data {spec}: file not found (give a JSON list, a JSONL file or hf://DATASET_ID)")
    digest = file_sha256(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path), digest
    rows = read_json(path)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"{spec}: expected a JSON list of objects (Alpaca schema) or a .jsonl file")
    return rows, digest


def load_source(spec: str, index: int, default_lang: str | None) -> tuple[list[Record], SourceStats]:
    """Read one source; records with an empty response are skipped and counted."""
    rows, digest = _read_rows(spec)
    stats = SourceStats(path=spec, sha256=digest, records=len(rows))
    file_lang = None if spec.startswith(HF_PREFIX) else lang_from_filename(spec)
    records = []
    for n, raw in enumerate(rows):
        row = _normalize_row(raw)
        if not row["output"].strip() or not (row["instruction"].strip() or row["input"].strip()):
            stats.skipped_empty += 1
            continue
        lang = (
            (normalize_lang(row["lang"]) if row["lang"] else None)
            or lang_from_id(row["id"])
            or file_lang
            or default_lang
            or "und"
        )
        records.append(
            Record(row["instruction"], row["input"], row["output"], row["id"] or f"{index}:{n}", lang, index)
        )
    return records, stats


def select_records(
    records: list[Record], languages: list[str] | None, per_language_cap: int | None, seed: int
) -> list[Record]:
    """Keep the requested languages; cap each language at ``per_language_cap`` records drawn with ``seed``."""
    if languages:
        records = [r for r in records if r.lang in languages]
    if not per_language_cap:
        return records
    by_lang: dict[str, list[Record]] = {}
    for record in records:
        by_lang.setdefault(record.lang, []).append(record)
    rng = random.Random(seed)
    kept: list[Record] = []
    for lang in sorted(by_lang):
        group = list(by_lang[lang])
        rng.shuffle(group)
        kept.extend(group[:per_language_cap])
    return kept


def split_heldout(records: list[Record], fraction: float, seed: int) -> tuple[list[Record], list[Record]]:
    """Shuffle with ``seed`` and hold out ``ceil(fraction * n)`` records (at least one when fraction > 0)."""
    if fraction <= 0:
        return list(records), []
    order = list(records)
    random.Random(seed).shuffle(order)
    n_eval = max(1, math.ceil(fraction * len(order)))
    if n_eval >= len(order):
        raise InputError(
            f"--eval-split {fraction} leaves no training data from {len(order)} records; "
            "lower --eval-split or add data"
        )
    return order[n_eval:], order[:n_eval]


def render(record: Record, template: str, tokenizer) -> tuple[str, str]:
    """(prompt text, response text) for one record; the loss later covers the response only."""
    if template == "alpaca":
        spec = templates()["alpaca"]
        fmt = spec["with_input"] if record.input.strip() else spec["without_input"]
        return fmt.format(instruction=record.instruction, input=record.input), record.output
    if template == "chat":
        user = record.instruction + (
            templates()["chat"]["user_joiner"] + record.input if record.input.strip() else ""
        )
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": user}, {"role": "assistant", "content": record.output}],
            tokenize=False,
        )
        if not full.startswith(prompt):
            raise InputError(
                "--template chat: the tokenizer's chat template does not render the prompt as a "
                "prefix of the conversation, so the response cannot be isolated; use --template alpaca"
            )
        return prompt, full[len(prompt) :]
    raise InputError(f"--template {template}: unknown template; choose alpaca or chat")


def check_template(template: str, tokenizer) -> None:
    if template == "chat" and not getattr(tokenizer, "chat_template", None):
        raise InputError(
            "--template chat: the base model's tokenizer has no chat template; use --template alpaca"
        )
    if template not in ("alpaca", "chat"):
        raise InputError(f"--template {template}: unknown template; choose alpaca or chat")


def tokenize(record: Record, tokenizer, template: str, max_length: int) -> Example:
    """Prompt + response token ids with prompt labels masked; too long -> the prompt loses its beginning.

    The response is kept whole unless it alone exceeds ``max_length - 1``, in which case its end is cut.
    A leading BOS token survives prompt truncation.
    """
    prompt_text, response_text = render(record, template, tokenizer)
    special = template == "alpaca"  # chat templates render their own BOS
    prompt = tokenizer(prompt_text, add_special_tokens=special)["input_ids"]
    response = tokenizer(response_text, add_special_tokens=False)["input_ids"]
    if template == "alpaca" and tokenizer.eos_token_id is not None:
        response = response + [tokenizer.eos_token_id]
    truncated = len(prompt) + len(response) > max_length
    if truncated:
        response = response[: max_length - 1]
        budget = max_length - len(response)
        bos = tokenizer.bos_token_id
        if prompt and prompt[0] == bos and budget >= 2 and len(prompt) > budget:
            prompt = [bos] + prompt[len(prompt) - budget + 1 :]
        else:
            prompt = prompt[len(prompt) - budget :] if budget < len(prompt) else prompt
    return Example(
        input_ids=prompt + response,
        labels=[IGNORE_INDEX] * len(prompt) + response,
        truncated=truncated,
        source=record.source,
        meta={"id": record.id, "lang": record.lang},
    )


@dataclass
class PreparedData:
    train: list[Example]
    heldout: list[Example]
    sources: list[SourceStats]
    languages: list[str]


def prepare(
    specs: list[str],
    tokenizer,
    *,
    template: str,
    max_length: int,
    languages: list[str] | None,
    per_language_cap: int | None,
    eval_split: float,
    seed: int,
) -> PreparedData:
    """Everything between ``--data`` and the tokenized train / held-out examples, with per-source counts."""
    if not specs:
        raise InputError("no --data given: pass at least one JSON/JSONL file or hf://DATASET_ID")
    check_template(template, tokenizer)
    default_lang = languages[0] if languages and len(languages) == 1 else None
    all_records: list[Record] = []
    sources: list[SourceStats] = []
    for index, spec in enumerate(specs):
        records, stats = load_source(spec, index, default_lang)
        all_records.extend(records)
        sources.append(stats)
    selected = select_records(all_records, languages, per_language_cap, seed)
    if not selected:
        wanted = ",".join(languages or []) or "any"
        found = sorted({r.lang for r in all_records}) or ["none"]
        raise InputError(
            f"no usable records for --lang {wanted} (languages found: {', '.join(found)}; "
            f"empty responses skipped: {sum(s.skipped_empty for s in sources)})"
        )
    train_records, heldout_records = split_heldout(selected, eval_split, seed)
    train = [tokenize(r, tokenizer, template, max_length) for r in train_records]
    heldout = [tokenize(r, tokenizer, template, max_length) for r in heldout_records]
    for examples, role in ((train, "train"), (heldout, "held_out")):
        for example in examples:
            stats = sources[example.source]
            stats.used += 1
            setattr(stats, role, getattr(stats, role) + 1)
            stats.truncated += int(example.truncated)
    return PreparedData(train, heldout, sources, sorted({r.lang for r in selected}))
