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

from nativeval.harness_ext.core.errors import InputError

MAX_SEGMENT = 80  # characters
# UTF-8 bytes: below every common file system's 255-byte name limit, with room for suffixes
MAX_SEGMENT_BYTES = 200
DIGEST_LENGTH = 8
_UNSAFE = re.compile(r"[^\w.+-]+", re.UNICODE)
# names Windows reserves in any folder, with or without an extension (a results folder may be shared with it)
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def _fits(text: str, max_length: int) -> bool:
    return 0 < len(text) <= max_length and len(text.encode("utf-8")) <= MAX_SEGMENT_BYTES


def _plain(text: str, max_length: int) -> bool:
    """Already a segment: plain characters, no ``..``, no leading dot or dash (an option to many tools), no
    trailing dot, not a name Windows reserves, within the length bounds."""
    return (
        not _UNSAFE.search(text)
        and ".." not in text
        and not text.startswith((".", "-"))
        and not text.endswith(".")
        and not _WINDOWS_RESERVED.fullmatch(text)
        and _fits(text, max_length)
    )


def is_safe_segment(name: object, *, max_length: int = MAX_SEGMENT) -> bool:
    """Whether ``name`` is already a safe segment: :func:`safe_segment` keeps it
    (up to Unicode normalization)."""
    return isinstance(name, str) and safe_segment(name, max_length=max_length) == unicodedata.normalize(
        "NFC", name
    )


def safe_segment(name: object, *, max_length: int = MAX_SEGMENT, fallback: str = "unnamed") -> str:
    """``name`` as one file-name segment: no separators, no ``..``, no leading dot or
    dash, at most ``max_length``.

    A name that is already safe comes back unchanged, so everyday names stay readable
    (``qwen-7b``, ``native_zh_xquad``). Any other name gets a short hash of the original appended, so two
    different unsafe names never share a segment (``a/b`` and ``a_b`` differ). Names that differ only in
    Unicode normalization (NFC vs NFD) are one name and give one segment.
    """
    text = unicodedata.normalize("NFC", str(name))
    if _plain(text, max_length):
        return text
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", text)).strip("._ -")
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_LENGTH]
    room = max(1, max_length - DIGEST_LENGTH - 1)
    stem = (cleaned or fallback)[:room]
    while len(stem.encode("utf-8")) > MAX_SEGMENT_BYTES - DIGEST_LENGTH - 1:
        stem = stem[:-1]
    stem = stem.rstrip("._ -") or fallback
    return f"{stem}-{digest}"


def inside(root: str | os.PathLike, target: str | os.PathLike, *, what: str = "path") -> Path:
    """``target`` resolved, after checking it lies inside ``root`` (symlinks resolved);
    else one-line InputError.

    A relative ``target`` is taken relative to ``root``. ``root`` itself counts as inside; a caller that
    deletes ``target`` checks that it is not ``root`` (see :func:`strictly_inside`)."""
    root_path = Path(root).resolve()
    target_path = Path(target)
    if "\0" in str(target_path):
        raise InputError(f"refusing to use {what} {str(target)!r}: it contains a NUL byte")
    if not target_path.is_absolute():
        target_path = root_path / target_path
    resolved = target_path.resolve()
    if resolved != root_path and root_path not in resolved.parents:
        raise InputError(
            f"{what} {str(target)!r} lies outside {str(root_path)!r}; nativeval reads, writes and "
            "deletes only inside it"
        )
    return resolved


def strictly_inside(root: str | os.PathLike, target: str | os.PathLike, *, what: str = "path") -> Path:
    """Like :func:`inside`, but ``root`` itself is refused too: for targets that get deleted or replaced."""
    resolved = inside(root, target, what=what)
    if resolved == Path(root).resolve():
        raise InputError(
            f"refusing to replace {what} {str(target)!r}: it is the folder {str(resolved)!r} itself"
        )
    return resolved
