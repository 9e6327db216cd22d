"""custom_dataset, targets and the localized-number filter (`localized_number`, registered on import) for
MGSM.

Nothing here is per language: each task YAML names its language in its filters (see the catalogue).
"""

from nativeval.harness_ext.eval.runtime import LocalizedNumberFilter, load_docs, mgsm_target

__all__ = ["LocalizedNumberFilter", "load_docs", "mgsm_target"]
