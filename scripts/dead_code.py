"""Unused definitions in nativeval's package (a `make lint` step): vulture, with tests/ and bench/ as users.

Besides Python code, two kinds of users reach names by string: `!function module.name` in the task YAMLs,
and the reasoned allow-list scripts/vulture_allowlist.py (framework hooks, other libraries' attributes).
Only definitions in the package are reported (tests' fixtures look unused to vulture). Exit status 1 if any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from vulture import Vulture

REPO = Path(__file__).resolve().parents[1]
PACKAGE = ("harness_ext", "translate", "finetune", "tasks", "cli.py", "__init__.py")
USERS = ("tests", "bench", "scripts/vulture_allowlist.py")
# vulture gives 60% to every unused function, class, method, attribute and variable; 100% to unused arguments
MIN_CONFIDENCE = 60
FUNCTION_TAG = re.compile(r"!function\s+(?:[\w.]+\.)?(\w+)")


def yaml_function_names() -> set[str]:
    names: set[str] = set()
    for folder in ("tasks", "harness_ext"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and (path.suffix == ".yaml" or path.name.endswith("_yaml")):
                names.update(FUNCTION_TAG.findall(path.read_text(encoding="utf-8")))
    return names


def main() -> int:
    vulture = Vulture()
    vulture.scavenge([str(REPO / p) for p in (*PACKAGE, *USERS)])
    vulture.used_names.update(yaml_function_names())
    package = [REPO / p for p in PACKAGE]
    unused = [
        item
        for item in vulture.get_unused_code(min_confidence=MIN_CONFIDENCE)
        if any(Path(item.filename).resolve().is_relative_to(p) for p in package)
    ]
    for item in unused:
        print(item.get_report(add_size=False).replace(f"{REPO}/", ""))
    if unused:
        print(
            f"dead code: {len(unused)} unused definitions (delete them, or allow-list a name reached by "
            "string "
            "in scripts/vulture_allowlist.py with its reason)",
            file=sys.stderr,
        )
    return 1 if unused else 0


if __name__ == "__main__":
    sys.exit(main())
