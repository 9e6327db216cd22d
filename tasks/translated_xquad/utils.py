"""custom_dataset and per-language scoring for XQuAD (harness_ext.eval.metrics.qa_scores over all gold answers)."""

from harness_ext.eval.runtime import load_docs, qa_results

__all__ = ["load_docs", "process_results_es", "process_results_ru", "process_results_zh"]


def process_results_es(doc, results):
    return qa_results(results, doc["answers"]["text"], "es")


def process_results_ru(doc, results):
    return qa_results(results, doc["answers"]["text"], "ru")


def process_results_zh(doc, results):
    return qa_results(results, doc["answers"]["text"], "zh")
