"""nativeval's lm-eval tasks: YAMLs generated from harness_ext/catalogue/data by
`python -m nativeval.harness_ext.catalogue --write`, hand-written templates, and small utils.py files that
delegate to harness_ext. Use with `lm_eval --include_path tasks` or `nativeval eval`."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
