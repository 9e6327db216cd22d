"""Put a model directory into a Hugging Face Hub cache, in the layout huggingface_hub writes
(``models--org--name/snapshots/<commit>/`` + ``refs/<revision>``), so that offline loading by Hub id can be
tested without the Hub. (Schema from huggingface_hub's cache docs; it could not be downloaded here.)"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def add_to_hub_cache(
    model_dir: str | Path, cache_dir: str | Path, hub_id: str, revision: str = "main"
) -> Path:
    """Copy ``model_dir``'s files into ``cache_dir`` as the snapshot of ``hub_id`` at ``revision``;
    returns the snapshot folder."""
    commit = hashlib.sha1(f"{hub_id}@{revision}".encode()).hexdigest()
    repo = Path(cache_dir) / ("models--" + hub_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for item in Path(model_dir).iterdir():
        if item.is_file():
            shutil.copy2(item, snapshot / item.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / revision).write_text(commit, encoding="utf-8")
    return snapshot
