"""Dataset I/O: Alpaca/Aya JSON lists, JSONL, and ``hf://dataset_id[:config][@revision]``.

Output is written in the input's format (an ``hf://`` input becomes JSON or JSONL by the output's
suffix), atomically, with every record's other fields and id kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, read_json, read_jsonl

HF_SPEC = re.compile(
    r"^hf://(?P<id>[^:@#]+)(?::(?P<config>[^@#]+))?(?:@(?P<revision>[^#]+))?(?:#(?P<split>.+))?$"
)


@dataclass
class Dataset:
    records: list[dict[str, Any]]
    fmt: str  # "json" | "jsonl"
    source: str


def record_id(record: dict[str, Any], index: int) -> str:
    return str(record["id"]) if "id" in record else f"#{index + 1}"


def format_for(path: str | Path) -> str:
    return "jsonl" if str(path).endswith(".jsonl") else "json"


def read_dataset(spec: str, split: str = "train") -> Dataset:
    """Records of a JSON list, a JSONL file, or ``hf://id[:config][@revision][#split]``."""
    match = HF_SPEC.match(spec)
    if match:
        from nativeval.harness_ext.catalogue.dataset_loader import load_dataset

        split = match.group("split") or split
        dataset = load_dataset(match.group("id"), match.group("config"), [split], match.group("revision"))
        return Dataset([dict(row) for row in dataset[split]], "jsonl", spec)
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix == ".jsonl" or (path.suffix != ".json" and _looks_like_jsonl(path)):
        records, fmt = read_jsonl(path), "jsonl"
    else:
        records, fmt = read_json(path), "json"
        if not isinstance(records, list):
            raise InputError(
                f"{path}: expected a JSON list of records (Alpaca/Aya style), got {type(records).__name__}"
            )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"{path}: record #{index + 1} is {type(record).__name__}, not an object")
    return Dataset(records, fmt, spec)


def _looks_like_jsonl(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(1024).lstrip()
    return not head.startswith(b"[")


def write_dataset(path: str | Path, records: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "jsonl":
        atomic_write_jsonl(path, records)
    else:
        atomic_write_json(path, records, indent=2)
