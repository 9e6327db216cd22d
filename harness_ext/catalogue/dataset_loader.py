"""The dataset layer: every nativeval task loads its data through :func:`load_dataset`.

Resolution order for each split: the mirror directories in ``NATIVEVAL_DATA_DIR``
(``os.pathsep``-separated, searched in order; layout ``<dir>/<dataset id>/<config or
"default">/<split>.jsonl``, rows exactly in the Hub schema), then the Hugging Face Hub at the
pinned revision. Each split file is read on its own, so a column that is null in one split and a
string in another (MGSM's ``answer``) does not break the load.

Hub repos that still carry a loading script: ``datasets`` >= 4 refuses them ("Dataset scripts are no
longer supported") and, at a pinned revision, does not fall back to the Hub's parquet export. The
catalogue records such a repo (``dataset.loading_script``) and the commit of its parquet export
(``dataset.parquet_export``, the ``refs/convert/parquet`` branch, laid out ``<config>/<split>/*.parquet``);
:func:`hub_load` then reads that export. A script repo the catalogue does not know about fails with one
line naming that fix.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.core.errors import DatasetUnavailable
from nativeval.harness_ext.core.io import read_jsonl


class _LazyDatasets:
    """The ``datasets`` package, imported on first use: listing the catalogue (`nativeval tasks`, lm-eval's
    index of the generated tasks) never needs it, and importing it costs over a second."""

    def __getattr__(self, name: str):
        import datasets as module

        return getattr(module, name)


datasets = _LazyDatasets()

log = logging.getLogger(__name__)

DATA_DIR_ENV = "NATIVEVAL_DATA_DIR"
MIRROR_SOURCE = "nativeval mirror: "  # DatasetInfo.description of a split read from a mirror file
DEFAULT_CONFIG_DIR = "default"
PARQUET_EXPORT_REF = "refs/convert/parquet"
_SCRIPT_ERROR = re.compile(r"Dataset scripts are no longer supported, but found (\S+)")
_warned_missing: set[Path] = set()
_warned_unpinned: set[str] = set()


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the Hub: the pinned revision, and for a repo that still has a loading
    script there, the commit of its parquet export (None: not recorded yet, the export branch is read)."""

    dataset_id: str
    revision: str | None
    loading_script: str | None = None
    parquet_export: str | None = None

    @property
    def via_parquet_export(self) -> bool:
        return self.loading_script is not None

    @property
    def load_revision(self) -> str | None:
        return (self.parquet_export or PARQUET_EXPORT_REF) if self.via_parquet_export else self.revision


def script_error_message(dataset_id: str, revision: str | None, script: str) -> str:
    return (
        f"dataset {dataset_id} at revision {revision or 'main'} has a loading script ({script}), which "
        f"datasets >= 4 no longer runs. Fix: load its parquet export - set `loading_script: {script}` and "
        f"`parquet_export: <commit of {PARQUET_EXPORT_REF}>` under `dataset:` in its file in "
        f"harness_ext/catalogue/data/ - or put a mirror under {DATA_DIR_ENV} (`nativeval data download`)"
    )


def hub_load(source: HubSource, config: str | None, split: str) -> datasets.Dataset:
    """One split from the Hub at the pinned revision, or from the parquet export of a script repo."""
    if source.via_parquet_export:
        if source.parquet_export is None and source.dataset_id not in _warned_unpinned:
            _warned_unpinned.add(source.dataset_id)
            log.warning(
                "%s has a loading script and no recorded parquet-export commit: reading %s unpinned",
                source.dataset_id,
                PARQUET_EXPORT_REF,
            )
        pattern = f"{config or DEFAULT_CONFIG_DIR}/{split}/*.parquet"
        return datasets.load_dataset(
            source.dataset_id, split=split, revision=source.load_revision, data_files={split: pattern}
        )
    try:
        return datasets.load_dataset(source.dataset_id, config, split=split, revision=source.revision)
    except RuntimeError as err:
        found = _SCRIPT_ERROR.search(str(err))
        if found:
            raise DatasetUnavailable(
                script_error_message(source.dataset_id, source.revision, found.group(1))
            ) from None
        raise


_load_progress: Callable[[], None] | None = None


def set_load_progress(hook: Callable[[], None] | None) -> Callable[[], None] | None:
    """Call ``hook`` after each :func:`load_dataset` (one task's data), e.g. to advance one progress bar over
    all tasks; returns the previous hook so that a caller can restore it."""
    global _load_progress
    previous, _load_progress = _load_progress, hook
    return previous


@dataclass(frozen=True)
class SplitSource:
    """Where one split would come from: ``kind`` is "mirror", "hub" or "missing"."""

    split: str
    kind: str
    location: str


def mirror_dirs() -> list[Path]:
    """The existing mirror directories of ``NATIVEVAL_DATA_DIR``, in order; warns about missing ones."""
    dirs = []
    for entry in os.environ.get(DATA_DIR_ENV, "").split(os.pathsep):
        if not entry.strip():
            continue
        path = Path(entry).expanduser()
        if path.is_dir():
            dirs.append(path)
        elif path not in _warned_missing:
            _warned_missing.add(path)
            log.warning("%s names %s, which does not exist; skipping it", DATA_DIR_ENV, path)
    return dirs


def mirror_path(root: str | os.PathLike, dataset_id: str, config: str | None, split: str) -> Path:
    return Path(root) / dataset_id / (config or DEFAULT_CONFIG_DIR) / f"{split}.jsonl"


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def locate(dataset_id: str, config: str | None, splits: Sequence[str]) -> list[SplitSource]:
    """Where each split would be read from, without reading it."""
    dirs = mirror_dirs()
    sources = []
    for split in splits:
        candidates = (mirror_path(d, dataset_id, config, split) for d in dirs)
        found = next((path for path in candidates if path.is_file()), None)
        if found is not None:
            sources.append(SplitSource(split, "mirror", str(found)))
        elif hub_offline():
            sources.append(SplitSource(split, "missing", f"hf://{dataset_id}"))
        else:
            sources.append(SplitSource(split, "hub", f"hf://{dataset_id}"))
    return sources


def _unavailable(
    dataset_id: str, config: str | None, split: str, revision: str | None, why: str
) -> DatasetUnavailable:
    cfg = config or DEFAULT_CONFIG_DIR
    return DatasetUnavailable(
        f"dataset {dataset_id} (config {cfg}, split {split}) is not available: {why}. "
        f"Fix: put {dataset_id}/{cfg}/{split}.jsonl under a directory listed in {DATA_DIR_ENV} "
        f"(`nativeval data download` writes one on a machine with internet), "
        f"or allow network access to the Hugging Face Hub (unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE)"
        + (f"; revision {revision}" if revision else "")
    )


def _from_hub(source: HubSource, config: str | None, split: str) -> datasets.Dataset:
    dataset_id, revision = source.dataset_id, source.load_revision
    if hub_offline():
        raise _unavailable(dataset_id, config, split, revision, "no mirror has it and the Hub is offline")
    try:
        return hub_load(source, config, split)
    except DatasetUnavailable:
        raise
    except Exception as err:  # the Hub raises many types: connection, auth, missing config
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise _unavailable(
            dataset_id, config, split, revision, f"no mirror has it and the Hub failed ({reason})"
        ) from None


@functools.lru_cache(maxsize=8)
def _parse_mirror_file(path: str, stamp: tuple[int, int, int]) -> datasets.Dataset:
    # the file is recorded in the split's info, so that a one-line error can name where rows are missing
    return datasets.Dataset.from_list(
        read_jsonl(path), info=datasets.DatasetInfo(description=MIRROR_SOURCE + path)
    )


def _read_mirror_file(path: str) -> datasets.Dataset:
    """A mirror split file as a Dataset, parsed once while it is unchanged: the subjects of a group that share
    one file (HT-MMLU's 57 per locale) each load it. Datasets are immutable, so sharing one is safe."""
    stat = os.stat(path)
    return _parse_mirror_file(path, (stat.st_ino, stat.st_mtime_ns, stat.st_size))


def load_split(
    dataset_id: str, config: str | None, split: str, revision: str | None = None, hub: HubSource | None = None
) -> datasets.Dataset:
    (source,) = locate(dataset_id, config, [split])
    if source.kind == "mirror":
        return _read_mirror_file(source.location)
    return _from_hub(hub or HubSource(dataset_id, revision), config, split)


def load_dataset(
    dataset_id: str | None = None,
    config: str | None = None,
    splits: Sequence[str] | str = ("test",),
    revision: str | None = None,
    loading_script: str | None = None,
    parquet_export: str | None = None,
    **_ignored,
) -> datasets.DatasetDict:
    """Load ``splits`` of ``dataset_id``/``config`` from a mirror or the Hub at ``revision`` (for a repo
    with a ``loading_script``, its parquet export at commit ``parquet_export``).

    Used by every task YAML as ``custom_dataset``; lm-eval passes the task's metadata and
    ``dataset_kwargs`` as keyword arguments, so unknown keywords are ignored.
    """
    if not dataset_id:
        raise DatasetUnavailable("no dataset id given: set dataset_kwargs.dataset_id in the task YAML")
    if isinstance(splits, str):
        splits = [splits]
    hub = HubSource(dataset_id, revision, loading_script, parquet_export)
    loaded = datasets.DatasetDict(
        {split: load_split(dataset_id, config, split, revision, hub) for split in splits}
    )
    if _load_progress is not None:
        _load_progress()
    return loaded
