"""custom_dataset and scoring for XQuAD (nativeval.harness_ext.eval.metrics.qa_scores over all gold answers).

``process_results_<lang>`` exists for every evaluable registry language (PEP 562 ``__getattr__``).
"""

from nativeval.harness_ext.eval.runtime import load_docs, per_language, qa_process_results

__all__ = ["load_docs"]

_PER_LANGUAGE = {"process_results": qa_process_results(lambda doc: doc["answers"]["text"])}


def __getattr__(name):
    return per_language(__name__, name, _PER_LANGUAGE)
