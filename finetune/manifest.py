"""``nativeval_run.json``: what a fine-tuning run was, written last and atomically (its presence = done).

Shape (schema_version 1), read by the leaderboards to label runs::

    {"kind": "nativeval_run", "schema_version": 1, "base_model", "variant", "languages", "tuning",
     "method", "template", "hyperparameters": {...}, "data": [{path, sha256, records, used,
     skipped_empty, truncated}], "seed", "best_epoch", "epochs": [{epoch, train_loss,
     eval_perplexity}], "versions": {torch, transformers, peft, nativeval}, "created"}
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nativeval.finetune.data import SourceStats
from nativeval.harness_ext.core.io import atomic_write_json, read_json
from nativeval.harness_ext.core.runs import RUN_MANIFEST

MANIFEST_NAME = RUN_MANIFEST
SCHEMA_VERSION = 1


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float | None  # mean over the epoch's logged steps
    eval_perplexity: float | None  # held-out; None without held-out data


@dataclass
class RunManifest:
    base_model: str
    variant: str
    languages: list[str]
    tuning: str  # "mono" | "multi"
    method: str  # "lora" | "full"
    template: str
    hyperparameters: dict[str, Any]
    data: list[SourceStats]
    seed: int
    best_epoch: int
    epochs: list[EpochRecord]
    versions: dict[str, str]
    created: str
    kind: str = "nativeval_run"
    schema_version: int = SCHEMA_VERSION

    @property
    def best(self) -> EpochRecord | None:
        return next((e for e in self.epochs if e.epoch == self.best_epoch), None)

    def to_json(self) -> dict[str, Any]:
        fields = asdict(self)
        return {"kind": self.kind, "schema_version": self.schema_version, **fields}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> RunManifest:
        # manifests from before the train / held-out split counted only what was used
        data = [SourceStats(**{"train": d["used"], **d}) for d in record["data"]]
        epochs = [EpochRecord(**e) for e in record["epochs"]]
        return cls(**{**record, "data": data, "epochs": epochs})


def epoch_records(log_history: list[dict[str, Any]]) -> list[EpochRecord]:
    """Per-epoch mean training loss and held-out perplexity from a Trainer's ``log_history``."""
    losses: dict[int, list[float]] = defaultdict(list)
    perplexities: dict[int, float] = {}
    for entry in log_history:
        if "epoch" not in entry:
            continue
        if "loss" in entry:
            losses[max(1, math.ceil(entry["epoch"] - 1e-6))].append(float(entry["loss"]))
        if "eval_perplexity" in entry:
            perplexities[max(1, round(entry["epoch"]))] = float(entry["eval_perplexity"])
    epochs = sorted(set(losses) | set(perplexities))
    return [
        EpochRecord(
            epoch=e,
            train_loss=sum(losses[e]) / len(losses[e]) if losses[e] else None,
            eval_perplexity=perplexities.get(e),
        )
        for e in epochs
    ]


def select_best_epoch(epochs: list[EpochRecord]) -> int:
    """The epoch with the lowest held-out perplexity (the earliest on ties); the last one without held-out
    data."""
    scored = [e for e in epochs if e.eval_perplexity is not None]
    if not scored:
        return epochs[-1].epoch if epochs else 0
    return min(scored, key=lambda e: (e.eval_perplexity, e.epoch)).epoch


def library_versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    from nativeval import __version__

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "nativeval": __version__,
    }


def build_manifest(
    *,
    base_model: str,
    variant: str,
    languages: list[str],
    method: str,
    template: str,
    hyperparameters: dict[str, Any],
    data: list[SourceStats],
    seed: int,
    epochs: list[EpochRecord],
) -> RunManifest:
    return RunManifest(
        base_model=base_model,
        variant=variant,
        languages=languages,
        tuning="multi" if len(languages) > 1 else "mono",
        method=method,
        template=template,
        hyperparameters=hyperparameters,
        data=data,
        seed=seed,
        best_epoch=select_best_epoch(epochs),
        epochs=epochs,
        versions=library_versions(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def write_manifest(out_dir: str | Path, manifest: RunManifest) -> Path:
    path = Path(out_dir) / MANIFEST_NAME
    atomic_write_json(path, manifest.to_json())
    return path


def read_manifest(out_dir: str | Path) -> RunManifest:
    return RunManifest.from_json(read_json(Path(out_dir) / MANIFEST_NAME))
