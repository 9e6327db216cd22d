"""Writing lm-eval task YAMLs: ``!function`` references and the layout every generated task file shares
(the catalogue's generated tasks and the user tasks of `nativeval translate-task`)."""

from __future__ import annotations

from typing import Any

import yaml


class FunctionRef(str):
    """A YAML scalar written as ``!function <module.fn>`` (lm-eval resolves it next to the YAML)."""


class _TaskYamlDumper(yaml.SafeDumper):
    pass


_TaskYamlDumper.add_representer(FunctionRef, lambda d, v: d.represent_scalar("!function", str(v), style=""))
_TaskYamlDumper.add_representer(
    str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if "\n" in v else None)
)


def dump_task_yaml(doc: dict[str, Any], header: str) -> str:
    """``doc`` as task YAML (keys in order, Unicode kept, lines never folded) below the comment ``header``."""
    body = yaml.dump(doc, Dumper=_TaskYamlDumper, allow_unicode=True, sort_keys=False, width=100000)
    return f"{header}\n{body}"
