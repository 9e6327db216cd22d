"""custom_dataset, one ``process_<subject>`` filter per subject task, ``subset_<name>`` per tag subset, and
the task class that gives a tag subset the per-subject prompts."""

from nativeval.harness_ext.eval.runtime import load_docs
from nativeval.tasks.tag_subsets import (
    SameFieldShotsTask,
    all_docs,
    register_domain_filters,
    register_subset_filters,
)

__all__ = ["SubjectShotsTask", "all_docs", "load_docs"]


class SubjectShotsTask(SameFieldShotsTask):
    shot_field = "subject"


register_domain_filters(globals(), "global_mmlu", field="subject")
register_subset_filters(globals(), "global_mmlu")
