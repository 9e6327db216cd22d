"""nativeval's lm-eval tasks: YAMLs generated from harness_ext/catalogue/data by
`python -m nativeval.harness_ext.catalogue --write`, hand-written templates, and small utils.py files that
delegate to harness_ext. Use with `lm_eval --include_path "$(nativeval tasks --path)"`, `nativeval eval` or
`nativeval.task_manager()`; the folder's path is `nativeval.harness_ext.catalogue.model.TASKS_DIR`."""
