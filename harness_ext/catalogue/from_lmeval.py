"""Catalogue entries from lm-eval's own task folders, so that prompts cannot drift from the built-ins.

``python -m nativeval.harness_ext.catalogue.from_lmeval`` reads the installed lm-eval's ``tasks/``
(include/default, openai-mmmlu, mgsm/native_cot, xquad, tydiqa, okapi/mmlu_multilingual, kmmlu/default,
arabicmmlu, turkishmmlu/config, belebele) and rewrites the ``per_language:``
block at the end of the matching catalogue files (include.yaml, ht_mmlu.yaml, mgsm.yaml, xquad.yaml,
tydiqa.yaml, mt_mmlu.yaml, kmmlu.yaml, arabicmmlu.yaml, turkishmmlu.yaml, belebele.yaml): one row per language
that the registry knows, with what lm-eval sets per language (dataset config, domains, the prompt's
``doc_to_text``, stop sequences). Languages the catalogue already lists by hand under ``tasks:`` (the study's
es/ru/zh, whose prompts carry documented corrections) are skipped. Run once per lm-eval upgrade; its output is
committed, and ``tests/tasks`` check the generated tasks against the built-ins. ``--check`` exits 1 when a
file differs from what lm-eval's folders give.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR
from nativeval.harness_ext.core.io import atomic_write_text
from nativeval.harness_ext.core.languages import registry

BLOCK_KEY = "per_language:"
# lm-eval's names for a language where they differ from the registry's English name.
NAME_ALIASES = {
    "Chinese": "zh",
    "Tagalog": "tl",
    "North Macedonian": "mk",
    "Brazilian Portuguese": "pt",
    "Simplified Chinese": "zh",
}


class _Loader(yaml.SafeLoader):
    """lm-eval YAML with ``!function`` kept as its dotted name."""


_Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def lmeval_tasks_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).resolve().parent / "tasks"


def _read(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def code_for_name(name: str) -> str | None:
    if name in NAME_ALIASES:
        return NAME_ALIASES[name]
    return next((code for code, lang in registry().items() if lang.name == name), None)


def _hand_languages(path: Path) -> set[str]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {t["language"] for t in raw.get("tasks") or () if not t.get("variant_of")}


def _func(value: str) -> str:
    return value.removeprefix("!function ").strip()


# --- per benchmark ------------------------------------------------------------------------------------
def include_block(tasks_dir: Path) -> dict[str, Any]:
    """INCLUDE base-44: one row per language folder of include/default, domains in lm-eval's group order."""
    rows: dict[str, Any] = {}
    titles: dict[str, str] = {}
    prefix = "The following is multiple-choice question about "
    for folder in sorted((tasks_dir / "include" / "default").iterdir()):
        if not folder.is_dir() or folder.name.startswith("_"):
            continue
        code = code_for_name(folder.name)
        if code is None:
            raise SystemExit(
                f"INCLUDE language {folder.name!r} has no registry entry: add it to languages.yaml"
            )
        slug = folder.name.lower().replace(" ", "_")
        group = _read(folder / f"_include_base_44_{slug}.yaml")
        members: list[Any] = []
        for task_name in group["task"]:
            leaf = _read(folder / f"{task_name}.yaml")
            domain = _func(leaf["process_docs"]).removeprefix("utils.process_")
            title = leaf["description"].removeprefix(prefix).rstrip(".")
            titles.setdefault(domain, title)
            members.append(
                domain
                if titles[domain] == title
                else {"name": domain, "fields": {"description": leaf["description"]}}
            )
        rows[code] = {"config": folder.name, "slug": slug, "members": members}
    return {
        "task": {
            "name": "native_{lang}_include",
            "config": "{config}",
            "lm_eval_builtin": "include_base_44_{slug_lang}",
            "group": {"aggregate_metrics": ["acc"]},
        },
        "member": {
            "lm_eval_builtin": "include_base_44_{slug_lang}_{member}",
            "fields": {"description": prefix + "{member_title}."},
            "function_fields": {"process_docs": "utils.process_{member}"},
        },
        "member_titles": titles,
        "languages": rows,
    }


def mmmlu_block(tasks_dir: Path) -> dict[str, Any]:
    """openai/MMMLU: 14 locales, 57 subjects each, lm-eval's task_alias and description per subject."""
    folder = tasks_dir / "openai-mmmlu"
    locales = json.loads((folder / "languages.json").read_text(encoding="utf-8"))
    subjects = list(json.loads((folder / "subjects.json").read_text(encoding="utf-8")))
    rows = {}
    for locale in locales:
        code = code_for_name(locale["display_name"])
        if code is None:
            raise SystemExit(f"MMMLU locale {locale['display_name']!r} has no registry entry")
        rows[code] = {
            "config": locale["dataset_name"],
            "display_name": locale["display_name"],
            "slug": locale["slug"],
        }
    return {
        "task": {
            "name": "translated_{lang}_ht_mmlu",
            "lm_eval_builtin": "mmmlu_{slug_lang}",
            "group": {"aggregate_metrics": ["acc", "acc_norm"]},
        },
        "member": {
            "config": "{config}",
            "lm_eval_builtin": "mmmlu_{slug_lang}_{member}",
            "fields": {
                "task_alias": "{member_title} ({display_name})",
                "description": "The following are multiple choice questions (with answers) "
                "about {member_title} ({display_name}).\n\n",
            },
            "function_fields": {"process_docs": "utils.process_{member}"},
        },
        "members": subjects,
        "languages": rows,
    }


def _filters(lang: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "filter": [
                {"function": "localized_number", "language": lang, "mode": mode},
                {"function": "take_first"},
            ],
        }
        for name, mode in (("strict-match", "strict"), ("flexible-extract", "flexible"))
    ]


def mgsm_block(tasks_dir: Path) -> dict[str, Any]:
    """MGSM native CoT: lm-eval's doc_to_text and stop sequences per language; scoring by the registry."""
    rows = {}
    for path in sorted((tasks_dir / "mgsm" / "native_cot").glob("mgsm_native_cot_*.yaml")):
        cfg = _read(path)
        lang = cfg["dataset_name"]
        if lang == "en" or lang not in registry():
            continue
        rows[lang] = {
            "config": lang,
            "fields": {
                "doc_to_text": cfg["doc_to_text"],
                "generation_kwargs": {"do_sample": False, "until": list(cfg["generation_kwargs"]["until"])},
                "filter_list": _filters(lang),
            },
        }
    return {
        "task": {
            "name": "translated_{lang}_mgsm",
            "config": "{config}",
            "lm_eval_builtin": "mgsm_native_cot_{lang}",
        },
        "languages": rows,
    }


def xquad_block(tasks_dir: Path) -> dict[str, Any]:
    rows = {}
    for path in sorted((tasks_dir / "xquad").glob("xquad_*.yaml")):
        cfg = _read(path)
        lang = cfg["task"].removeprefix("xquad_")
        if lang == "en" or lang not in registry():
            continue
        rows[lang] = {"config": cfg["dataset_name"], "fields": {"doc_to_text": cfg["doc_to_text"]}}
    return {
        "task": {
            "name": "translated_{lang}_xquad",
            "config": "{config}",
            "lm_eval_builtin": "xquad_{lang}",
            "function_fields": {"process_results": "utils.process_results_{lang}"},
        },
        "languages": rows,
    }


def tydiqa_block(tasks_dir: Path) -> dict[str, Any]:
    rows = {}
    for path in sorted((tasks_dir / "tydiqa").glob("tydiqa_goldp_*.yaml")):
        cfg = _read(path)
        lang = cfg["task"].removeprefix("tydiqa_goldp_")
        if lang == "en" or lang not in registry():
            continue
        rows[lang] = {
            "fields": {"doc_to_text": cfg["doc_to_text"]},
            "dataset_filter": {"id_prefix": registry()[lang].name.lower() + "-"},
        }
    return {
        "task": {
            "name": "native_{lang}_tydiqa",
            "config": "secondary_task",
            "lm_eval_builtin": "tydiqa_goldp_{lang}",
            "function_fields": {
                "process_docs": "utils.process_docs_{lang}",
                "process_results": "utils.process_results_{lang}",
            },
        },
        "languages": rows,
    }


def okapi_block(tasks_dir: Path) -> dict[str, Any]:
    """Okapi m_MMLU: one task per language of okapi/mmlu_multilingual (the config is the language code)."""
    rows = {}
    for path in sorted((tasks_dir / "okapi" / "mmlu_multilingual").glob("m_mmlu_*.yaml")):
        lang = _read(path)["dataset_name"]
        if lang != "en" and lang in registry():
            rows[lang] = {"config": lang}
    return {
        "task": {
            "name": "translated_{lang}_mt_mmlu",
            "config": "{config}",
            "lm_eval_builtin": "m_mmlu_{lang}",
        },
        "languages": rows,
    }


def kmmlu_block(tasks_dir: Path) -> dict[str, Any]:
    """KMMLU: one task per subject of kmmlu/default (its dataset config), tagged with lm-eval's category."""
    members = []
    for path in sorted((tasks_dir / "kmmlu" / "default").glob("kmmlu_*.yaml")):
        cfg = _read(path)
        category = str(cfg.get("tag", "")).removeprefix("kmmlu_").removesuffix("_tasks")
        members.append(
            {
                "name": cfg["task"].removeprefix("kmmlu_"),
                "config": cfg["dataset_name"],
                "member_tags": {"subject_category": category},
            }
        )
    return {
        "task": {
            "name": "native_{lang}_kmmlu",
            "lm_eval_builtin": "kmmlu",
            "group": {"aggregate_metrics": ["acc"]},
        },
        "member": {"lm_eval_builtin": "kmmlu_{member}"},
        "languages": {"ko": {"members": members}},
    }


def _subject_configs(
    folder: Path,
    pattern: str,
    prefix: str,
    lang: str,
    group: str,
    tag_prefix: str | None,
    aggregate: list[str],
) -> dict[str, Any]:
    """A native exam with one dataset config per subject (ArabicMMLU, TurkishMMLU): one member per built-in
    task."""
    members = []
    for path in sorted(folder.glob(pattern)):
        cfg = _read(path)
        member: dict[str, Any] = {"name": cfg["task"].removeprefix(prefix), "config": cfg["dataset_name"]}
        if tag_prefix:
            member["member_tags"] = {
                "subject_category": str(cfg.get("tag", "")).removeprefix(tag_prefix).removesuffix("_tasks")
            }
        if cfg.get("task_alias"):
            member["fields"] = {"task_alias": cfg["task_alias"]}
        members.append(member)
    return {
        "task": {
            "name": f"native_{{lang}}_{group}",
            "lm_eval_builtin": group,
            "group": {"aggregate_metrics": aggregate},
        },
        "member": {"lm_eval_builtin": prefix + "{member}"},
        "languages": {lang: {"members": members}},
    }


def arabicmmlu_block(tasks_dir: Path) -> dict[str, Any]:
    return _subject_configs(
        tasks_dir / "arabicmmlu",
        "arabicmmlu_*.yaml",
        "arabicmmlu_",
        "ar",
        "arabicmmlu",
        "arabicmmlu_",
        ["acc"],
    )


def turkishmmlu_block(tasks_dir: Path) -> dict[str, Any]:
    return _subject_configs(
        tasks_dir / "turkishmmlu" / "config",
        "[A-Z]*.yaml",
        "turkishmmlu_",
        "tr",
        "turkishmmlu",
        None,
        ["acc", "acc_norm"],
    )


def belebele_block(tasks_dir: Path) -> dict[str, Any]:
    """Belebele: the language whose registry `nllb` (FLORES-200) code is the built-in's dataset config."""
    by_flores = {lang.codes.get("nllb"): code for code, lang in registry().items()}
    rows = {}
    for path in sorted((tasks_dir / "belebele").glob("belebele_*.yaml")):
        flores = _read(path).get("dataset_name")
        code = by_flores.get(flores)
        if code and code != "en":
            rows[code] = {"config": flores}
    return {
        "task": {
            "name": "translated_{lang}_belebele",
            "config": "{config}",
            "lm_eval_builtin": "belebele_{config}",
        },
        "languages": rows,
    }


BLOCKS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "include.yaml": include_block,
    "ht_mmlu.yaml": mmmlu_block,
    "mgsm.yaml": mgsm_block,
    "xquad.yaml": xquad_block,
    "tydiqa.yaml": tydiqa_block,
    "mt_mmlu.yaml": okapi_block,
    "kmmlu.yaml": kmmlu_block,
    "arabicmmlu.yaml": arabicmmlu_block,
    "turkishmmlu.yaml": turkishmmlu_block,
    "belebele.yaml": belebele_block,
}


def _with_slugs(block: dict[str, Any]) -> dict[str, Any]:
    for row in block["languages"].values():
        if "slug" in row:  # {slug_lang}: the placeholder model.expand_per_language fills from the row
            row["slug_lang"] = row.pop("slug")
    return block


def rendered(path: Path, block: dict[str, Any]) -> str:
    text = path.read_text(encoding="utf-8")
    hand = _hand_languages(path)
    block = _with_slugs(block)
    block["languages"] = {code: row for code, row in block["languages"].items() if code not in hand}
    head = text.split("\n# Generated by `python -m nativeval.harness_ext.catalogue.from_lmeval`", 1)[0]
    head = head.split("\n" + BLOCK_KEY, 1)[0].rstrip("\n")
    dumped = yaml.safe_dump({"per_language": block}, allow_unicode=True, sort_keys=False, width=120)
    note = (
        "# Generated by `python -m nativeval.harness_ext.catalogue.from_lmeval` from lm-eval's task folders "
        "(languages listed under `tasks:` by hand are skipped). Do not edit by hand."
    )
    return f"{head}\n{note}\n{dumped}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nativeval.harness_ext.catalogue.from_lmeval", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a catalogue file differs")
    args = parser.parse_args(argv)
    tasks_dir, stale = lmeval_tasks_dir(), []
    for name, build in BLOCKS.items():
        path = CATALOGUE_DIR / name
        text = rendered(path, build(tasks_dir))
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                atomic_write_text(path, text)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
