"""Model references: the one rule for "is this a local directory or a Hugging Face Hub id?".

A reference is, in this order:

1. ``hf://org/name`` (or ``hf://name``): a Hub id, never a local path;
2. an existing directory (``~`` expanded, relative to ``base_dir`` when given): a local model;
3. something only a path can be (starts with ``/``, ``.`` or ``~``, holds a backslash or more than one
   ``/``, or has characters a Hub id cannot have): a missing local directory, "no such directory";
4. anything else (``gpt2``, ``Qwen/Qwen1.5-7B``): a Hub id. Offline (``HF_HUB_OFFLINE`` /
   ``TRANSFORMERS_OFFLINE``) it must be in the Hugging Face cache (``HF_HUB_CACHE``), as transformers
   would otherwise fail after the tasks were built.

The cache is read in its documented layout (``models--org--name/refs/<revision>`` naming a commit under
``snapshots/``), the layout ``huggingface_hub`` writes and ``transformers`` reads offline.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError

HF_SCHEME = "hf://"
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelRef:
    """A resolved reference: ``location`` is what ``from_pretrained`` takes (a directory or a Hub id)."""

    given: str
    kind: str  # "local" or "hub"
    location: str

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def hub_id_of(reference: str) -> str | None:
    """The Hub id a reference names by its spelling alone (no file system, no network), else None."""
    text = reference.strip()
    if text.startswith(HF_SCHEME):
        return text[len(HF_SCHEME) :].strip("/")
    if text.startswith((".", "/", "~")) or "\\" in text or not _HUB_ID.match(text.rstrip("/")):
        return None
    return text.rstrip("/")


def hub_offline() -> str | None:
    """The environment variable that takes the Hub offline for models, if one does."""
    return next(
        (v for v in OFFLINE_ENV if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")), None
    )


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache transformers reads in this process."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_snapshot(hub_id: str, revision: str | None = None, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot directory of ``hub_id`` at ``revision`` (default ``main``), if it holds files."""
    folder = (cache_dir or hub_cache_dir()) / ("models--" + hub_id.replace("/", "--"))
    revision = revision or "main"
    commit = revision
    if not _COMMIT.match(revision):
        ref = folder / "refs" / revision
        if not ref.is_file():
            return None
        commit = ref.read_text(encoding="utf-8").strip()
    snapshot = folder / "snapshots" / commit
    return snapshot if snapshot.is_dir() and any(snapshot.iterdir()) else None


def resolve_model(
    reference: str,
    what: str,
    *,
    base_dir: Path | None = None,
    revision: str | None = None,
    check_cache: bool = True,
) -> ModelRef:
    """Resolve ``reference`` by the rule above; ``what`` names it in errors (``--base X``, ``pretrained=X``).

    Raises a one-line InputError for a missing local directory, or (``check_cache``) for a Hub id that is
    not in the cache while the Hub is offline.
    """
    text = reference.strip()
    if not text:
        raise InputError(f"{what}: empty model reference; give a model directory or a Hub id")
    hub_id = hub_id_of(text) if text.startswith(HF_SCHEME) else None
    if hub_id is None:
        path = Path(os.path.expanduser(text))
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        if path.is_dir():
            return ModelRef(text, "local", str(path.resolve()))
        if path.exists():
            raise InputError(f"{what}: not a directory; give a model directory or a Hub id")
        hub_id = hub_id_of(text)
        if hub_id is None:
            raise InputError(f"{what}: no such directory; give an existing model directory or a Hub id")
    if not hub_id:
        raise InputError(f"{what}: empty Hub id after {HF_SCHEME}")
    offline = hub_offline()
    if check_cache and offline and cached_snapshot(hub_id, revision) is None:
        raise InputError(not_in_cache(what, hub_id, f"the Hugging Face Hub is offline ({offline}=1)"))
    return ModelRef(text, "hub", hub_id)


def not_in_cache(what: str, hub_id: str, why: str) -> str:
    return (
        f"{what}: {why} and {hub_id} is not in the cache ({hub_cache_dir()}); download it on a machine with "
        f"internet (`huggingface-cli download {hub_id}`) and point HF_HUB_CACHE at that cache, or pass the "
        "model's local directory"
    )


def hub_unreachable(err: BaseException) -> bool:
    """Whether loading failed because the Hub could not be reached for a file that is not in the cache (what
    transformers raises then is a plain OSError; huggingface_hub's LocalEntryNotFoundError is its cause)."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, LocalEntryNotFoundError) or "couldn't connect to 'https://huggingface.co'" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
