"""custom_dataset for this folder's tasks: the nativeval dataset layer (see harness_ext.eval.runtime)."""

from harness_ext.eval.runtime import load_docs

__all__ = ["load_docs"]
