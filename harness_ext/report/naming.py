"""The one rule that names a model in every report (leaderboard, `judge-report`, translationese).

A results file (lm-eval's, or `nativeval judge`'s, which copies its ``config`` and ``nativeval`` blocks) names
its row by, in order:

1. ``"nativeval": {"label": NAME}`` (``nativeval eval --label``; `nativeval judge` keeps it);
2. the ``nativeval_run.json`` manifest of the ``peft=`` / ``lora_local_path=`` / ``pretrained=`` directory:
   base model, training-data variant, learning rate, tuning, method;
3. the model reference: lm-eval's ``model_name`` (the adapter of a ``peft=`` run), else ``peft=`` /
``pretrained=``: a Hub id as it is; local paths,
   once all rows are known, by the shortest path suffix that tells them apart (:func:`unique_labels`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_json
from nativeval.harness_ext.core.models import hub_id_of
from nativeval.harness_ext.core.runs import format_lr

log = logging.getLogger(__name__)

MANIFEST_NAME = "nativeval_run.json"


@dataclass(frozen=True, order=True)
class RowKey:
    """What a leaderboard row stands for: one model (with its fine-tuning configuration, if a manifest
    says)."""

    base_model: str
    variant: str = ""
    lr: str = ""
    tuning: str = ""
    method: str = ""

    @property
    def label(self) -> str:
        parts = [self.base_model] + [p for p in (self.variant, self.lr, self.tuning, self.method) if p]
        return " · ".join(parts)


def model_args_dict(config: dict) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        pairs = (part.split("=", 1) for part in args.split(",") if "=" in part)
        return {k.strip(): v.strip() for k, v in pairs}
    return {}


def candidate_dir(value: str, results_dir: Path) -> Path | None:
    for base in (Path(value), results_dir / value):
        if base.is_dir():
            return base
    return None


def find_manifest(args: dict[str, str], results_dir: Path) -> Path | None:
    for key in ("peft", "lora_local_path", "pretrained"):
        if key in args:
            directory = candidate_dir(args[key], results_dir)
            if directory and (directory / MANIFEST_NAME).is_file():
                return directory / MANIFEST_NAME
    return None


@dataclass(frozen=True)
class ManifestNaming:
    """What a row's name takes from a ``nativeval_run.json`` beside a model: the few fields naming needs, read
    leniently (the full record, and its writer, is ``nativeval.finetune.manifest.RunManifest``; the layout
    keeps harness_ext from importing finetune)."""

    base_model: str
    variant: str
    lr: str  # as the paper writes it (:func:`format_lr`)
    tuning: str  # mono | multi (from the languages when the manifest does not say)
    method: str
    toy: bool  # a toy or demo model

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestNaming:
        hyper = data.get("hyperparameters") or {}
        languages = data.get("languages") or []
        tuning = data.get("tuning") or ("multi" if len(languages) > 1 else "mono" if languages else "")
        return cls(
            base_model=str(data.get("base_model") or ""),
            variant=str(data.get("variant") or ""),
            lr=format_lr(hyper.get("lr", hyper.get("learning_rate"))),
            tuning=str(tuning),
            method=str(data.get("method") or ""),
            toy=bool(data.get("toy")) or bool(data.get("demo")),
        )


def read_manifest(path: Path) -> ManifestNaming | None:
    try:
        data = read_json(path)
    except InputError as err:
        log.warning("%s; labelling the run by its model name", err)
        return None
    if not isinstance(data, dict) or data.get("kind") != "nativeval_run":
        log.warning("%s: not a nativeval_run manifest; labelling the run by its model name", path)
        return None
    return ManifestNaming.from_json(data)


def unique_labels(names: list[str]) -> dict[str, str]:
    """Labels for model references: Hub ids as they are; local paths by the shortest distinguishing suffix."""
    # the one model-reference rule (nativeval.harness_ext.core.models), by spelling alone
    local = sorted({n.rstrip("/") for n in names if hub_id_of(n) is None})
    labels = {n: hub_id_of(n) for n in names if hub_id_of(n) is not None}
    parts = {n: Path(n).parts for n in local}
    for name in local:
        for size in range(1, len(parts[name]) + 1):
            suffix = parts[name][-size:]
            clashes = [o for o in local if o != name and parts[o][-size:] == suffix]
            if not clashes and "/".join(suffix) not in labels.values():
                break
        labels[name] = "/".join(parts[name][-size:]) or name
    for raw in names:
        labels.setdefault(raw, labels.get(raw.rstrip("/"), raw))
    return labels


def row_key_for(base_label: str, manifest: ManifestNaming | None) -> RowKey:
    if manifest is None:
        return RowKey(base_model=base_label)
    return RowKey(base_label, manifest.variant, manifest.lr, manifest.tuning, manifest.method)


@dataclass(frozen=True)
class RunName:
    """How one results file names its row: the key, whether a user label gave it, the manifest read."""

    key: RowKey
    explicit: bool
    manifest_path: Path | None
    manifest: ManifestNaming | None
    model_name: str


def explicit_label(data: dict[str, Any]) -> str | None:
    nativeval = data.get("nativeval") if isinstance(data.get("nativeval"), dict) else {}
    label = nativeval.get("label")
    return label if isinstance(label, str) and label.strip() else None


def run_name(data: dict[str, Any], results_dir: Path) -> RunName:
    """The row a results file belongs to, by the rule of the module docstring (before paths are shortened)."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = model_args_dict(config)
    # lm-eval's model_name, which for pretrained=...,peft=... is the adapter (an adapter is a model of its
    # own)
    model_name = str(
        data.get("model_name")
        or args.get("peft")
        or args.get("lora_local_path")
        or args.get("pretrained")
        or args.get("model")
        or results_dir.name
    )
    manifest_path = find_manifest(args, results_dir)
    manifest = read_manifest(manifest_path) if manifest_path else None
    label = explicit_label(data)
    base = label or (manifest.base_model if manifest and manifest.base_model else model_name)
    return RunName(
        row_key_for(base, manifest),
        label is not None,
        manifest_path if manifest is not None else None,
        manifest,
        model_name,
    )


def row_key_of(data: dict[str, Any], results_dir: Path) -> RowKey:
    return run_name(data, results_dir).key


def label_keys(names: list[RunName]) -> list[RowKey]:
    """Row keys with model references shortened together (explicit labels and manifest base models as
    given)."""
    shorten = unique_labels([n.key.base_model for n in names if not n.explicit])
    out = []
    for name in names:
        key = name.key
        if not name.explicit:
            key = RowKey(shorten[key.base_model], key.variant, key.lr, key.tuning, key.method)
        out.append(key)
    return out
