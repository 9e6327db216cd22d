"""custom_dataset and one ``process_<subject>`` filter per MMMLU subject (named in the generated YAMLs)."""

from functools import partial

from harness_ext.catalogue.model import catalogue
from harness_ext.eval.runtime import keep_subject, load_docs

__all__ = ["load_docs"]


def _register_subject_filters() -> None:
    for task in catalogue().tasks:
        if task.benchmark.name == "ht_mmlu":
            for leaf in task.leaves:
                globals()[f"process_{leaf.member}"] = partial(keep_subject, subject=leaf.member)


_register_subject_filters()
