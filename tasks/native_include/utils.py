"""custom_dataset, one ``process_<domain>`` filter per INCLUDE domain task, one ``subset_<name>`` per tag
subset."""

from nativeval.harness_ext.eval.runtime import load_docs
from nativeval.tasks.tag_subsets import register_domain_filters, register_subset_filters

__all__ = ["load_docs"]

register_domain_filters(globals(), "include", field="domain")
register_subset_filters(globals(), "include")
