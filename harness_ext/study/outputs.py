"""What a finished step leaves behind, checked: each step kind promises outputs (study/kinds.py).

A step whose command exited 0 is done only when its outputs exist and parse — an evaluation whose save
failed, a translation cut off by a full disk or an empty site is a failed step, never a marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import iter_jsonl, read_json, read_text

FORMATS = ("json", "records")


@dataclass(frozen=True)
class PromisedOutput:
    """One promise of a step kind: some file matching one of ``files`` exists, and every match parses."""

    files: tuple[str, ...]  # globs under the step folder
    format: str  # json: one JSON document (with ``key`` at its top level); records: a list of objects
    key: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS or not self.files:
            raise ValueError(f"a promised output needs files and a format of {', '.join(FORMATS)}")

    def problem(self, folder: Path) -> str | None:
        """Why ``folder`` breaks this promise (one line), or None."""
        matches = sorted({p for pattern in self.files for p in folder.glob(pattern) if p.is_file()})
        if not matches:
            return f"no {' or '.join(self.files)} in {folder}"
        for path in matches:
            problem = _parse_problem(path, self.format, self.key)
            if problem:
                return problem
        return None


def _parse_problem(path: Path, fmt: str, key: str | None) -> str | None:
    try:
        if fmt == "records":
            return _records_problem(path)
        document: Any = read_json(path)
    except InputError as err:
        return str(err)
    except OSError as err:
        return f"{path}: cannot be read ({err.strerror or err})"
    if key is not None and not (isinstance(document, dict) and key in document):
        return f"{path}: has no {key!r} at its top level"
    return None


def _records_problem(path: Path) -> str | None:
    """A JSON list of objects, or JSON Lines of objects (both are what translate and sample write)."""
    text = read_text(path)
    if not text.strip():
        return f"{path}: is empty"
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        rows = list(iter_jsonl(path))  # a malformed line: InputError naming it
    else:
        rows = (
            document if isinstance(document, list) else [document] if text.lstrip().startswith("{") else None
        )
        if rows is None:
            return f"{path}: expected a JSON list of records or JSON Lines"
    if not all(isinstance(row, dict) for row in rows):
        return f"{path}: every record must be a JSON object"
    return None
