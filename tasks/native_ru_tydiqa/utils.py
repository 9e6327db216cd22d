"""custom_dataset, the per-language filter (id prefix from the catalogue) and scoring for TyDi QA GoldP.

``process_docs_<lang>`` and ``process_results_<lang>`` exist for every evaluable registry language (PEP 562).
"""

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.eval.runtime import load_docs, per_language, qa_process_results, tydiqa_docs

__all__ = ["load_docs"]


def _docs_of(lang):
    def process_docs(dataset):
        task = next(t for t in catalogue().tasks if t.benchmark.name == "tydiqa" and t.language == lang)
        return tydiqa_docs(dataset, task.extra["dataset_filter"]["id_prefix"])

    return process_docs


_PER_LANGUAGE = {"process_docs": _docs_of, "process_results": qa_process_results(lambda doc: doc["answers"])}


def __getattr__(name):
    return per_language(__name__, name, _PER_LANGUAGE)
