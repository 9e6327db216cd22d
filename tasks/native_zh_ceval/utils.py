"""custom_dataset for this folder's tasks: the nativeval dataset layer (see harness_ext.tasks_runtime)."""

from harness_ext.tasks_runtime import load_docs

__all__ = ["load_docs"]
