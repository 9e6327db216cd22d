"""custom_dataset and one ``process_<subject>`` filter per MMMLU subject (named in the generated YAMLs)."""

from functools import partial

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.eval.partition import member_rows
from nativeval.harness_ext.eval.runtime import load_docs, mmmlu_subject
from nativeval.tasks.tag_subsets import task_of_source

__all__ = ["load_docs"]


def _register_subject_filters() -> None:
    for task in catalogue().tasks:
        if task.benchmark.name == "ht_mmlu":
            for leaf in task.leaves:
                globals()[f"process_{leaf.member}"] = partial(
                    member_rows,
                    field="Subject",
                    member=leaf.member,
                    key=mmmlu_subject,
                    task_of=task_of_source("ht_mmlu", leaf.member),
                )


_register_subject_filters()
