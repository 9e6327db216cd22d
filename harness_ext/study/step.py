"""One step of a study: a kind, its folder, its slice of the study file, its inputs and upstream steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.paths import safe_segment


@dataclass
class Step:
    id: str
    kind: str  # a name of study/kinds.py's KINDS
    out: Path
    params: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)  # role -> user file or directory, hashed by content
    deps: dict[str, list[str]] = field(default_factory=dict)  # role -> upstream step ids
    gpu_hours: float = 0.0
    api_calls: int = 0
    key: str = ""

    @property
    def slug(self) -> str:
        """The step id as one file name (its log, lock and per-step cache)."""
        return safe_segment(self.id.replace("/", "__"), max_length=200)

    def dep_ids(self) -> list[str]:
        return [d for ids in self.deps.values() for d in ids]
