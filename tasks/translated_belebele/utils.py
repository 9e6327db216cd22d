"""custom_dataset for this folder's tasks: the nativeval dataset loader (see
nativeval.harness_ext.eval.runtime)."""

from nativeval.harness_ext.eval.runtime import load_docs

__all__ = ["load_docs"]
