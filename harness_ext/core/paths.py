"""The one rule for paths made from data: names become safe segments, and targets stay inside their folder.

Model, variant, judge, task, label and language names come from study files, results files and the command
line. They become file names only through :func:`safe_segment`, and every write or delete whose target is
built from them goes through :func:`inside` first.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from harness_ext.core.errors import InputError

MAX_SEGMENT = 80
_UNSAFE = re.compile(r"[^\w.+-]+", re.UNICODE)


def safe_segment(name: object, *, max_length: int = MAX_SEGMENT, fallback: str = "unnamed") -> str:
    """``name`` as one file-name segment: no separators, no ``..``, no leading dot, at most ``max_length``.

    A name that is already safe comes back unchanged, so everyday names stay readable
    (``qwen-7b``, ``native_zh_xquad``). Any other name gets a short hash of the original appended, so two
    different unsafe names never share a segment (``a/b`` and ``a_b`` differ).
    """
    text = unicodedata.normalize("NFC", str(name))
    cleaned = _UNSAFE.sub("_", text).strip("._ ")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    if cleaned == text and 0 < len(text) <= max_length:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = (cleaned or fallback)[: max(1, max_length - len(digest) - 1)].rstrip("._ ") or fallback
    return f"{stem}-{digest}"


def inside(root: str | os.PathLike, target: str | os.PathLike, *, what: str = "path") -> Path:
    """``target`` resolved, after checking it lies inside ``root`` (symlinks resolved); else one-line InputError."""
    root_path = Path(root).resolve()
    target_path = Path(target)
    if not target_path.is_absolute():
        target_path = root_path / target_path
    resolved = target_path.resolve()
    if resolved != root_path and root_path not in resolved.parents:
        raise InputError(f"refusing to write {what} {str(target)!r}: it lies outside {str(root_path)!r}")
    return resolved
