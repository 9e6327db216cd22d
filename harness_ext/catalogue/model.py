"""The task catalogue: the one source of truth for every nativeval task, its provenance and its data.

* One data file per benchmark: ``harness_ext/catalogue/data/<benchmark>.yaml``. It names the benchmark's
  folder under ``tasks/`` (``task_dir``) and its hand-written lm-eval template there (``template``, the
  prompt, identical to lm-eval's built-in counterpart), the provenance facts (origin, translator, source
  language, task type, shots, metrics, Hub dataset id / splits / pinned revision) and its tasks. A task is
  either one lm-eval task (with an optional dataset ``config`` and extra YAML ``fields``) or a ``group`` of
  ``members`` (one lm-eval task per subject, aggregated by size-weighted mean).
* Collections: a task joins ``<origin group>_<language>`` and ``<origin group>``, the origin group being
  ``native`` for origin ``native`` and ``translated`` otherwise (``data/_collections.yaml`` says why a
  collection is empty). :mod:`.generate` writes the task and collection YAMLs from this model.
* Provenance origins: native, human_translated, machine_translated, machine_translated_post_edited,
  round_trip_translated (:data:`ORIGIN_GROUPS`); a benchmark that mixes them per language (Global-MMLU) sets
  ``origin`` and ``translator`` on the task. A task with ``variant_of`` (another prompt or shot count, e.g.
  INCLUDE's in-language 5-shot) and the tag subsets stay out of the collections.
* Item tags: ``item_tags`` names the doc fields that tag items (their known values in ``tag_vocabulary``);
  a group member's ``member_tags`` tag all its items (CMMLU / C-Eval subject categories). ``subsets``
  (name, field, values) generate ``<task>_<name>``: one flat task over the task's config from
  ``subset_template`` (+ ``subset_fields``) whose ``process_docs`` is ``utils.subset_<name>``.
* Adding a benchmark (for example open QA): write ``tasks/<task_dir>/<template>`` and its ``utils.py``
  (``custom_dataset: !function utils.load_docs``), add ``harness_ext/catalogue/data/<benchmark>.yaml``, run
  ``python -m nativeval.harness_ext.catalogue --write``. The collections, ``nativeval tasks``, ``data check``
  / ``data download`` and ``nativeval eval`` pick it up; no other file is edited by hand.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue.dataset_loader import HubSource, SplitSource, locate
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.languages import language

CATALOGUE_DIR = Path(__file__).resolve().parent / "data"
TASKS_DIR = Path(__file__).resolve().parents[2] / "tasks"
# Every provenance origin and its origin group (the collection family a task joins).
# machine_translated_post_edited: machine-translated, then verified or post-edited by people (Global-MMLU's
# es/zh, BenchMAX) - closer to human translation than raw MT, but its wording started as MT output.
ORIGIN_GROUPS = {
    "native": "native",
    "human_translated": "translated",
    "machine_translated": "translated",
    "machine_translated_post_edited": "translated",
    # round_trip_translated: X -> pivot -> X by machine (`nativeval translate-task --round-trip`): the
    # source's items and knowledge, with translation noise added.
    "round_trip_translated": "translated",
}
# How a benchmark's answers are written: free text (extractive QA, open generation) or constrained (a choice
# letter, a number). The study's finding turns on it: constrained translated test sets hide the gap.
ANSWER_FORMS = ("free_form", "constrained")


def origin_group(origin: str) -> str:
    return ORIGIN_GROUPS[origin]


@dataclass(frozen=True)
class Headline:
    """lm-eval's ``<metric>,<filter>`` results key of a benchmark's headline score (filter None: any)."""

    metric: str
    filter: str | None

    def matches(self, key: str) -> bool:
        metric, _, filt = key.partition(",")
        return metric == self.metric and (self.filter is None or filt == self.filter)


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    source_file: str
    task_dir: str
    template: str
    origin: str
    translator: str | None
    source_language: str | None  # None: written in each task's own language
    task_type: str
    num_fewshot: int
    metrics: tuple[str, ...]
    dataset_id: str
    revision: str
    splits: tuple[str, ...]
    license: str | None
    version: float
    headline: Headline | None  # the one score a leaderboard shows; None: not declared (nothing shown)
    percent: bool  # headline shown 0-100
    cluster_unit: (
        str | None
    )  # doc field (or ``subject``: the group member) items share as one sampling cluster
    reference_key: (
        str | None
    )  # this benchmark's name in harness_ext/leaderboard/reference/paper_results_full.csv
    answer_form: str | None  # one of ANSWER_FORMS (None: not declared)
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def origin_group(self) -> str:
        return origin_group(self.origin)

    @property
    def item_tags(self) -> tuple[str, ...]:
        """Doc fields that tag items (Global-MMLU cultural sensitivity, INCLUDE regional feature)."""
        return tuple(self.raw.get("item_tags") or ())

    def tag_vocabulary(self, tag: str) -> tuple[str, ...] | None:
        """The known values of an item tag, or None when its values are open (a subject, a level)."""
        values = (self.raw.get("tag_vocabulary") or {}).get(tag)
        return None if values is None else tuple(str(v) for v in values)

    @property
    def revision_pinned(self) -> bool:
        """The data read is fixed: the pinned commit, or for a script repo its parquet export's commit."""
        pinned = self.hub_source.load_revision or ""
        return len(pinned) == 40 and all(c in "0123456789abcdef" for c in pinned)

    @property
    def hub_source(self) -> HubSource:
        ds = self.raw["dataset"]
        return HubSource(self.dataset_id, self.revision, ds.get("loading_script"), ds.get("parquet_export"))

    @property
    def embedded(self) -> str | None:
        """The data file shipped inside ``tasks/<task_dir>`` (nothing to mirror or download), if any."""
        return self.raw["dataset"].get("embedded")


@dataclass(frozen=True)
class Leaf:
    """One lm-eval task that reads data: a whole catalogue task, or one member (subject) of a group."""

    name: str
    task_name: str
    member: str | None
    config: str | None
    lm_eval_builtin: str | None
    fields: dict[str, Any] = field(compare=False, hash=False)
    function_fields: dict[str, str] = field(compare=False, hash=False)
    template: str | None = None  # None: the benchmark's template
    member_tags: dict[str, str] = field(
        default_factory=dict, compare=False, hash=False
    )  # tags of all its items


@dataclass(frozen=True)
class Subset:
    """Items of a task whose doc ``field`` takes one of ``values`` (a tag), as a task of its own."""

    name: str
    field: str
    values: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class CatalogueTask:
    name: str
    language: str
    benchmark: Benchmark
    lm_eval_builtin: str | None
    leaves: tuple[Leaf, ...]
    is_group: bool
    aggregate_metrics: tuple[str, ...]
    extra: dict[str, Any] = field(compare=False, hash=False)

    subset: Subset | None = None
    subset_of: str | None = None

    @property
    def origin(self) -> str:
        """The task's origin: a benchmark that mixes them per language (Global-MMLU) says so per task."""
        return self.extra.get("origin") or self.benchmark.origin

    @property
    def translator(self) -> str | None:
        return self.extra.get("translator", self.benchmark.translator)

    @property
    def origin_group(self) -> str:
        return origin_group(self.origin)

    @property
    def num_fewshot(self) -> int:
        return int(self.extra.get("num_fewshot", self.benchmark.num_fewshot))

    @property
    def in_collections(self) -> bool:
        """Variants (another prompt or shot count) and tag subsets stay out of the collections."""
        return (
            self.subset is None
            and not self.extra.get("variant_of")
            and self.extra.get("collections") is not False  # e.g. the *_lmeval MGSM variants
            and not self.extra.get("user_made")
        )  # the collections are generated files of the installed tasks

    @property
    def collections(self) -> tuple[str, ...]:
        if not self.in_collections:
            return ()
        group = self.origin_group
        return (f"{group}_{self.language}", group)

    @property
    def source_language(self) -> str:
        return self.benchmark.source_language or self.language

    @property
    def dataset_ref(self) -> str:
        return f"{self.benchmark.dataset_id}@{self.benchmark.revision}"


@dataclass(frozen=True)
class Catalogue:
    tasks: tuple[CatalogueTask, ...]
    languages: tuple[str, ...]
    origin_groups: tuple[str, ...]
    empty_notes: dict[str, str] = field(compare=False, hash=False)

    def task(self, name: str) -> CatalogueTask:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def collection_names(self) -> list[str]:
        per_lang = [f"{g}_{lang}" for g in self.origin_groups for lang in self.languages]
        return per_lang + list(self.origin_groups)

    @cached_property
    def _members(self) -> dict[str, list[CatalogueTask]]:
        members: dict[str, list[CatalogueTask]] = {}
        for task in self.tasks:
            for name in task.collections:
                members.setdefault(name, []).append(task)
        return members

    @cached_property
    def _coverage(self) -> dict[str, dict[str, set[str]]]:
        """origin group -> benchmark title -> languages its collection tasks cover."""
        coverage: dict[str, dict[str, set[str]]] = {}
        for task in self.tasks:
            if task.in_collections:
                coverage.setdefault(task.origin_group, {}).setdefault(task.benchmark.title, set()).add(
                    task.language
                )
        return coverage

    def collection_members(self, collection: str) -> list[CatalogueTask]:
        return list(self._members.get(collection, ()))

    def lacking(self, collection: str) -> list[str]:
        """Multilingual test sets of the collection's origin group (benchmark titles) that skip its
        language."""
        group, _, lang = collection.partition("_")
        if not lang:
            return []
        titles = self._coverage.get(
            group, {}
        )  # multilingual test sets only: CMMLU is not "missing" in Korean
        return sorted(
            title for title, languages in titles.items() if len(languages) > 1 and lang not in languages
        )

    def empty_note(self, collection: str) -> str:
        group, _, lang = collection.partition("_")
        if collection in self.empty_notes:
            return self.empty_notes[collection]
        name = language(lang).name if lang else "any language"
        lacking = self.lacking(collection)
        return f"no {group} test set covers {name}" + (f" ({', '.join(lacking)} do not)" if lacking else "")

    def leaves(self) -> list[tuple[CatalogueTask, Leaf]]:
        return [(t, leaf) for t in self.tasks for leaf in t.leaves]

    def known_names(self) -> list[str]:
        names = self.collection_names() + [t.name for t in self.tasks]
        return names + [leaf.name for t in self.tasks if t.is_group for leaf in t.leaves]

    def resolve(self, names: Iterable[str]) -> list[CatalogueTask | tuple[CatalogueTask, Leaf]]:
        """Expand task, collection and member names; unknown or empty ones raise a one-line InputError."""
        resolved: list[CatalogueTask | tuple[CatalogueTask, Leaf]] = []
        collections = set(self.collection_names())
        by_name = {t.name: t for t in self.tasks}
        by_leaf = {leaf.name: (t, leaf) for t, leaf in self.leaves() if t.is_group}
        for name in names:
            name = name.strip()
            if not name:
                continue
            if name in collections:
                members = self.collection_members(name)
                if not members:
                    raise InputError(f"collection {name} has no tasks: {self.empty_note(name)}")
                resolved.extend(members)
            elif name in by_name:
                resolved.append(by_name[name])
            elif name in by_leaf:
                resolved.append(by_leaf[name])
            else:
                raise InputError(unknown_name_message(name, self.known_names()))
        return _dedupe(resolved)

    def resolve_leaves(self, names: Iterable[str]) -> list[tuple[CatalogueTask, Leaf]]:
        leaves: list[tuple[CatalogueTask, Leaf]] = []
        for item in self.resolve(names):
            if isinstance(item, CatalogueTask):
                leaves.extend((item, leaf) for leaf in item.leaves)
            else:
                leaves.append(item)
        return _dedupe(leaves)


def _dedupe(items: list) -> list:
    seen: set = set()
    out = []
    for item in items:
        key = item.name if isinstance(item, CatalogueTask) else (item[0].name, item[1].name)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def unknown_name_message(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `nativeval tasks` lists them"
    return f"unknown task or collection {name!r}{hint}"


# --- loading ----------------------------------------------------------------------------------------
def _benchmark(raw: dict[str, Any], path: Path) -> Benchmark:
    try:
        ds = raw["dataset"]
        return Benchmark(
            name=raw["benchmark"],
            title=raw.get("title", raw["benchmark"]),
            source_file=f"harness_ext/catalogue/data/{path.name}",
            task_dir=raw["task_dir"],
            template=raw["template"],
            origin=raw["origin"],
            translator=raw.get("translator"),
            source_language=raw.get("source_language"),
            task_type=raw["task_type"],
            num_fewshot=int(raw["num_fewshot"]),
            metrics=tuple(raw["metrics"]),
            dataset_id=ds["id"],
            revision=str(ds["revision"]),
            splits=tuple(ds["splits"]),
            license=ds.get("license"),
            version=float(raw.get("version", 1.0)),
            headline=_headline(raw, path),
            percent=bool(raw.get("percent", False)),
            cluster_unit=raw.get("cluster_unit"),
            reference_key=raw.get("reference_key"),
            answer_form=_answer_form(raw, path),
            raw=raw,
        )
    except KeyError as err:
        raise InputError(f"{path}: missing key {err.args[0]!r}") from None


def _answer_form(raw: dict[str, Any], path: Path) -> str | None:
    form = raw.get("answer_form")
    if form is not None and form not in ANSWER_FORMS:
        raise InputError(f"{path}: answer_form {form!r} is not one of {', '.join(ANSWER_FORMS)}")
    return form


def _check_origin(origin: str, where: str) -> None:
    if origin not in ORIGIN_GROUPS:
        raise InputError(f"{where}: unknown origin {origin!r}; use one of {', '.join(ORIGIN_GROUPS)}")


def _subsets(raw: dict[str, Any], path: Path) -> tuple[Subset, ...]:
    subsets = []
    for entry in raw.get("subsets") or ():
        try:
            subsets.append(
                Subset(
                    name=entry["name"],
                    field=entry["field"],
                    values=tuple(str(v) for v in entry["values"]),
                    title=entry.get("title", entry["name"]),
                )
            )
        except (KeyError, TypeError):
            raise InputError(f"{path}: each subsets entry needs name, field and values") from None
        if subsets[-1].field not in (raw.get("item_tags") or ()):
            raise InputError(
                f"{path}: subset {entry['name']!r} filters on {entry['field']!r}, "
                "which is not listed in item_tags"
            )
    return tuple(subsets)


def _subset_task(task: CatalogueTask, subset: Subset, template: str) -> CatalogueTask:
    """One flat lm-eval task over the whole config of ``task``, keeping only the subset's items."""
    bench = task.benchmark
    fields = dict(bench.raw.get("subset_fields") or {})
    name = f"{task.name}_{subset.name}"
    config = task.extra.get("config") or task.leaves[0].config
    leaf = Leaf(
        name=name,
        task_name=name,
        member=None,
        config=config,
        lm_eval_builtin=None,
        fields=fields,
        function_fields={"process_docs": f"utils.subset_{subset.name}"},
        template=template,
    )
    return CatalogueTask(
        name=name,
        language=task.language,
        benchmark=bench,
        lm_eval_builtin=None,
        leaves=(leaf,),
        is_group=False,
        aggregate_metrics=(),
        extra=dict(task.extra),
        subset=subset,
        subset_of=task.name,
    )


def _headline(raw: dict[str, Any], path: Path) -> Headline | None:
    value = raw.get("headline")
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("metric"), str):
        raise InputError(f"{path}: headline must be {{metric: <lm-eval metric>, filter: <lm-eval filter>}}")
    filt = value.get("filter")
    return Headline(metric=value["metric"], filter=None if filt is None else str(filt))


def _task(raw: dict[str, Any], bench: Benchmark) -> CatalogueTask:
    name = raw["name"]
    group = raw.get("group")
    if group:
        leaves = tuple(
            Leaf(
                name=f"{name}_{m['name']}",
                task_name=name,
                member=m["name"],
                config=m.get("config", raw.get("config")),
                lm_eval_builtin=m.get("lm_eval_builtin"),
                fields=dict(m.get("fields") or {}),
                function_fields=dict(m.get("function_fields") or {}),
                template=raw.get("template"),
                member_tags={k: str(v) for k, v in (m.get("member_tags") or {}).items()},
            )
            for m in group["members"]
        )
        aggregate = tuple(group.get("aggregate_metrics") or bench.metrics)
    else:
        leaves = (
            Leaf(
                name=name,
                task_name=name,
                member=None,
                config=raw.get("config"),
                lm_eval_builtin=raw.get("lm_eval_builtin"),
                fields=dict(raw.get("fields") or {}),
                function_fields=dict(raw.get("function_fields") or {}),
                template=raw.get("template"),
            ),
        )
        aggregate = ()
    known = {"name", "language", "group", "lm_eval_builtin", "fields", "function_fields", "template"}
    return CatalogueTask(
        name=name,
        language=raw["language"],
        benchmark=bench,
        lm_eval_builtin=raw.get("lm_eval_builtin"),
        leaves=leaves,
        is_group=bool(group),
        aggregate_metrics=aggregate,
        extra={k: v for k, v in raw.items() if k not in known},
    )


_PLACEHOLDER = re.compile(r"(?<!\{)\{(lang|config|member|member_title|display_name|[a-z_]+_lang)\}(?!\})")


def _fill(value: Any, ctx: dict[str, str]) -> Any:
    """``value`` with ``{lang}``, ``{config}``, ``{member}`` ... replaced (Jinja's ``{{x}}`` is left
    alone)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: ctx.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    return value


def expand_per_language(raw: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The task entries of a ``per_language`` block: one ``task`` template filled in per language row.

    ``per_language: {task: {...}, members: [...], member: {...}, member_titles: {...},
    languages: {code: row}}``.
    A row holds the language's ``config`` and whatever differs per language (``origin``, ``translator``,
    ``evidence``, its own ``members``); its keys other than ``config`` and ``members`` join the task entry.
    For a group, each member name becomes ``member`` filled in (``{member}``, ``{member_title}``).
    """
    block = raw.get("per_language")
    if not block:
        return []
    try:
        template, rows = block["task"], block["languages"]
    except (KeyError, TypeError):
        raise InputError(f"{path}: per_language needs `task` and `languages`") from None
    titles = block.get("member_titles") or {}
    tasks = []
    for lang, row in rows.items():
        row = dict(row or {})
        ctx = {
            "lang": str(lang),
            "config": str(row.get("config", lang)),
            "display_name": str(row.get("display_name") or language(str(lang)).name),
            **{k: str(row.pop(k)) for k in list(row) if k.endswith("_lang")},
        }
        task = _fill(template, ctx)
        members = row.pop("members", block.get("members"))
        if "group" in task:
            entries = []
            for member in members or ():
                name = member if isinstance(member, str) else member["name"]
                mctx = {**ctx, "member": name, "member_title": titles.get(name, name.replace("_", " "))}
                entry = {"name": name, **_fill(block.get("member") or {}, mctx)}
                entries.append(entry if isinstance(member, str) else {**entry, **member})
            task["group"] = {**task["group"], "members": entries}
        row.pop("display_name", None)
        task.update({k: v for k, v in row.items() if k != "config"})
        task["language"] = str(lang)
        tasks.append(task)
    return tasks


def load_catalogue(directory: Path = CATALOGUE_DIR) -> Catalogue:
    """Read every ``<benchmark>.yaml`` (files starting with ``_`` hold shared settings)."""
    settings = read_yaml(directory / "_collections.yaml")
    tasks: list[CatalogueTask] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        raw = read_yaml(path)
        bench = _benchmark(raw, path)
        _check_origin(bench.origin, str(path))
        subsets = _subsets(raw, path)
        for raw_task in [*raw.get("tasks", []), *expand_per_language(raw, path)]:
            task = _task(raw_task, bench)
            _check_origin(task.origin, f"{path}: task {task.name}")
            tasks.append(task)
            if subsets and task.in_collections:
                tasks.extend(_subset_task(task, s, raw["subset_template"]) for s in subsets)
    for task in tasks:
        language(task.language)  # an unknown code is a one-line error naming the language registry
    tasks.sort(key=lambda t: t.origin_group != "native")  # stable: native first, then by file
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"catalogue: task names defined twice: {', '.join(duplicates)}")
    languages = tuple(dict.fromkeys(sorted(t.language for t in tasks)))
    return Catalogue(
        tasks=tuple(tasks),
        languages=languages,
        origin_groups=tuple(settings["origin_groups"]),
        empty_notes=dict(settings.get("empty_notes") or {}),
    )


@cache
def builtin_catalogue() -> Catalogue:
    return load_catalogue()


# --- provenance -------------------------------------------------------------------------------------
def provenance(task: CatalogueTask, leaf: Leaf | None = None) -> dict[str, Any]:
    """The machine-readable record that every task's lm-eval ``metadata.provenance`` carries."""
    bench = task.benchmark
    record: dict[str, Any] = {
        "benchmark": bench.name,
        "task": task.name,
        "language": task.language,
        "origin": task.origin,
        "translator": task.translator,
        "source_language": task.source_language,
        "task_type": bench.task_type,
        "num_fewshot": task.num_fewshot,
        "metrics": list(bench.metrics),
        "dataset": {
            "id": bench.dataset_id,
            "config": leaf.config if leaf else None,
            "revision": bench.revision,
            "splits": list(bench.splits),
        },
        "lm_eval_builtin": (leaf.lm_eval_builtin if leaf else task.lm_eval_builtin),
        "catalogue": bench.source_file,
    }
    if leaf is not None and leaf.member is not None:
        record["subtask"] = leaf.member
    if leaf is not None and leaf.member_tags:
        record["member_tags"] = dict(leaf.member_tags)  # item tags every item of this subject shares
    if "dataset_filter" in task.extra:
        record["dataset"]["filter"] = dict(task.extra["dataset_filter"])
    if bench.hub_source.via_parquet_export:  # the repo has a loading script: its parquet export is read
        record["dataset"]["loading_script"] = bench.hub_source.loading_script
        record["dataset"]["parquet_export"] = bench.hub_source.parquet_export
    if bench.item_tags:
        record["item_tags"] = list(bench.item_tags)
    if task.subset is not None:
        record["subset"] = {
            "of": task.subset_of,
            "name": task.subset.name,
            "field": task.subset.field,
            "values": list(task.subset.values),
        }
    if task.extra.get("variant_of"):
        record["variant_of"] = task.extra["variant_of"]
    return record


def leaf_sources(task: CatalogueTask, leaf: Leaf) -> list[SplitSource]:
    embedded = task.benchmark.embedded
    if embedded:
        where = str(TASKS_DIR / task.benchmark.task_dir / embedded)
        return [SplitSource(split, "embedded", where) for split in task.benchmark.splits]
    return locate(task.benchmark.dataset_id, leaf.config, task.benchmark.splits)
