"""`nativeval data check` and `nativeval data download`: where each task's data comes from, and mirrors.

A mirror written by :func:`download` has the layout the dataset layer reads
(``<dir>/<dataset id>/<config or "default">/<split>.jsonl``, rows in the Hub schema) plus, per dataset
config, ``_source.json`` recording the requested and the resolved Hub revision (the commit SHA to pin in
``harness_ext/catalogue/data``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nativeval.harness_ext.catalogue import catalogue, dataset_loader
from nativeval.harness_ext.catalogue.model import Catalogue, CatalogueTask, Leaf, leaf_sources
from nativeval.harness_ext.core.errors import DatasetUnavailable, InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, iter_jsonl, read_json
from nativeval.harness_ext.core.paths import inside

if TYPE_CHECKING:
    import datasets

log = logging.getLogger(__name__)
SOURCE_FILE = "_source.json"


@dataclass(frozen=True)
class TaskData:
    """Where one catalogue task's data comes from, over all its leaves and splits."""

    task: CatalogueTask
    sources: tuple[tuple[Leaf, tuple[dataset_loader.SplitSource, ...]], ...]

    @property
    def missing(self) -> list[str]:
        return [
            f"{leaf.config or 'default'}/{s.split}"
            for leaf, srcs in self.sources
            for s in srcs
            if s.kind == "missing"
        ]

    def split_kinds(self) -> dict[str, int]:
        """How many splits come from each kind of source ("mirror", "hub", "embedded", "missing")."""
        kinds: dict[str, int] = {}
        for _, srcs in self.sources:
            for s in srcs:
                kinds[s.kind] = kinds.get(s.kind, 0) + 1
        return kinds

    @property
    def source(self) -> str:
        """One word for the task ("mirror", "hub", "embedded", "missing"), or a mix over its leaves such as
        "mirror 3/67, missing 64/67"; `nativeval tasks` and `nativeval data check` both report this."""
        per_leaf: dict[str, int] = {}
        for _, srcs in self.sources:
            kinds = {s.kind for s in srcs}
            kind = "missing" if "missing" in kinds else next(iter(kinds)) if len(kinds) == 1 else "hub"
            per_leaf[kind] = per_leaf.get(kind, 0) + 1
        if len(per_leaf) == 1:
            return next(iter(per_leaf))
        return ", ".join(f"{k} {n}/{len(self.sources)}" for k, n in sorted(per_leaf.items()))

    def summary(self) -> str:
        kinds = self.split_kinds()
        total = sum(kinds.values())
        parts = [f"{kind} {n}/{total} splits" for kind, n in sorted(kinds.items())]
        depth = len(self.task.benchmark.dataset_id.split("/")) + 1  # <dir>/<id>/<config>/<split>.jsonl
        mirrors = sorted(
            {
                str(Path(s.location).parents[depth])
                for _, srcs in self.sources
                for s in srcs
                if s.kind == "mirror"
            }
        )
        where = f" from {', '.join(mirrors)}" if mirrors else ""
        status = "MISSING" if self.missing else "ok"
        return f"{status:7} {self.task.name}: {self.task.dataset_ref}: {', '.join(parts)}{where}"


def task_data(task: CatalogueTask) -> TaskData:
    """Where every leaf split of ``task`` would be read from."""
    by_config: dict[
        str | None, tuple[dataset_loader.SplitSource, ...]
    ] = {}  # a group's members share their config
    return TaskData(
        task,
        tuple(
            (leaf, by_config.setdefault(leaf.config, tuple(leaf_sources(task, leaf)))) for leaf in task.leaves
        ),
    )


def check(names: Iterable[str], cat: Catalogue | None = None) -> list[TaskData]:
    cat = cat or catalogue()
    by_task: dict[str, list[Leaf]] = {}
    tasks: dict[str, CatalogueTask] = {}
    for task, leaf in cat.resolve_leaves(names):
        by_task.setdefault(task.name, []).append(leaf)
        tasks[task.name] = task
    return [
        TaskData(tasks[name], tuple((leaf, tuple(leaf_sources(tasks[name], leaf))) for leaf in leaves))
        for name, leaves in by_task.items()
    ]


# --- `nativeval data check`: read every mirror file, ask the Hub ---------------------------------------
HUB_PROBE_TIMEOUT_S = 10.0
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class DataCheck:
    """One task's data as `data check` found it: mirror files parsed, the Hub asked for the pinned
    revision."""

    data: TaskData
    corrupt: tuple[str, ...] = ()  # one line per mirror file that does not parse
    hub: str | None = None  # None: nothing from the Hub; "reachable", NOT_CHECKED, or what went wrong

    @property
    def ok(self) -> bool:
        return not self.data.missing and not self.corrupt and self.hub in (None, "reachable", NOT_CHECKED)

    def summary(self) -> str:
        status = (
            "MISSING" if self.data.missing else "CORRUPT" if self.corrupt else "ok" if self.ok else "UNKNOWN"
        )
        line = f"{status:7} {self.data.summary().split(' ', 1)[1].lstrip()}"
        if self.hub is not None:
            line += f"; hub: {self.hub}"
        if self.corrupt:
            more = f" (and {len(self.corrupt) - 1} more file(s))" if len(self.corrupt) > 1 else ""
            line += f"; {self.corrupt[0]}{more}"
        return line


def probe_hub(source: dataset_loader.HubSource, timeout: float = HUB_PROBE_TIMEOUT_S) -> str:
    """Ask the Hub for the dataset at its pinned revision (one short request): "reachable", or why not."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().dataset_info(source.dataset_id, revision=source.load_revision, timeout=timeout)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return f"{source.dataset_id}@{source.load_revision or 'main'} not found on the Hub"
    except Exception as err:  # noqa: BLE001 - connection, timeout, auth: the Hub raises many types
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return f"unreachable ({reason[:200]}); the data is not known to be available"
    return "reachable"


def verify(
    reports: Sequence[TaskData], probe: Callable[[dataset_loader.HubSource], str] | None = probe_hub
) -> list[DataCheck]:
    """Each report checked: its mirror files parsed (each file once), the Hub asked once per dataset and
    revision (``probe=None`` leaves the Hub NOT_CHECKED)."""
    parsed: dict[str, str | None] = {}
    asked: dict[tuple[str, str | None], str] = {}
    checks = []
    for report in reports:
        corrupt = []
        uses_hub = False
        for _, sources in report.sources:
            for source in sources:
                uses_hub |= source.kind == "hub"
                if source.kind != "mirror":
                    continue
                if source.location not in parsed:
                    parsed[source.location] = _unparsable(source.location)
                if parsed[source.location]:
                    corrupt.append(parsed[source.location])
        hub = None
        if uses_hub:
            bench = report.task.benchmark
            key = (bench.dataset_id, bench.hub_source.load_revision)
            if key not in asked:
                asked[key] = probe(bench.hub_source) if probe is not None else NOT_CHECKED
            hub = asked[key]
        checks.append(DataCheck(report, tuple(dict.fromkeys(corrupt)), hub))
    return checks


def _unparsable(path: str) -> str | None:
    """None when every line of the mirror file is a JSON object; else the one line saying where it is not."""
    try:
        for lineno, row in enumerate(iter_jsonl(path), 1):
            if not isinstance(row, dict):
                return f"{path}:{lineno}: a row is {type(row).__name__}, not a JSON object in the Hub schema"
    except InputError as err:
        return str(err)
    except OSError as err:
        return f"{path}: cannot be read ({err.strerror or err})"
    return None


def resolve_revision(dataset_id: str, revision: str | None) -> str | None:
    """The commit SHA ``revision`` points to on the Hub, or None when it cannot be found out."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(dataset_id, revision=revision).sha
    except Exception as err:  # any Hub failure only loses the record, not the download
        log.warning(
            "could not resolve the revision of %s@%s: %s", dataset_id, revision, str(err).splitlines()[0]
        )
        return None


def download_config(
    task: CatalogueTask,
    config: str | None,
    to: Path,
    force: bool = False,
    loader: Callable[..., datasets.Dataset] | None = None,
) -> dict[str, Any]:
    """Download every split of one dataset config into the mirror ``to``; returns the _source.json record."""
    bench = task.benchmark
    loader = loader or (
        lambda _id, cfg, split, revision: dataset_loader.hub_load(bench.hub_source, cfg, split)
    )
    folder = inside(
        to, to / bench.dataset_id / (config or dataset_loader.DEFAULT_CONFIG_DIR), what="mirror folder"
    )
    record_path = folder / SOURCE_FILE
    record = read_json(record_path) if record_path.is_file() else {}
    if record.get("requested_revision") not in (None, bench.revision):
        force = True  # the catalogue now pins another revision: fetch again
    split_rows = dict(record.get("splits", {}))
    for split in bench.splits:
        path = folder / f"{split}.jsonl"
        if path.is_file() and split in split_rows and not force:
            continue
        try:
            dataset = loader(bench.dataset_id, config, split=split, revision=bench.revision)
        except Exception as err:  # the Hub raises many types
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise DatasetUnavailable(
                f"could not download {bench.dataset_id} (config {config or 'default'}, "
                f"split {split}, revision {bench.revision}): {reason}"
            ) from None
        atomic_write_jsonl(path, dataset)
        split_rows[split] = len(dataset)
    kept = {} if force else record  # a forced (re)download records its revision and time afresh
    record = {
        "dataset_id": bench.dataset_id,
        "config": config,
        "requested_revision": bench.revision,
        "resolved_revision": kept.get("resolved_revision")
        or resolve_revision(bench.dataset_id, bench.hub_source.load_revision),
        "splits": split_rows,
        "downloaded_at": kept.get("downloaded_at")
        or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_json(record_path, record)
    return record


def download(
    names: Sequence[str],
    to: Path,
    force: bool = False,
    cat: Catalogue | None = None,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Write a mirror of the named tasks' datasets under ``to``; finished configs are not fetched again."""
    cat = cat or catalogue()
    seen: set[tuple[str, str | None]] = set()
    records = []
    leaves = cat.resolve_leaves(names)
    for i, (task, leaf) in enumerate(leaves, 1):
        key = (task.benchmark.dataset_id, leaf.config)
        if key in seen:
            continue
        seen.add(key)
        if task.benchmark.embedded:
            continue  # shipped with nativeval: nothing to download
        record = download_config(task, leaf.config, Path(to), force=force)
        records.append(record)
        revision = record["resolved_revision"] or record["requested_revision"]
        progress(
            f"[{i}/{len(leaves)}] {task.benchmark.dataset_id} {leaf.config or 'default'}: "
            f"{sum(record['splits'].values())} rows @ {revision}"
        )
    return records
