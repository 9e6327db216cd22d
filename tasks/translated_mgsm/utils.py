"""custom_dataset and per-language scoring for MGSM (localized number extraction, strict and flexible)."""

from harness_ext.eval.runtime import load_docs, mgsm_results

__all__ = ["load_docs", "process_results_es", "process_results_ru", "process_results_zh"]


def process_results_es(doc, results):
    return mgsm_results(doc, results, "es")


def process_results_ru(doc, results):
    return mgsm_results(doc, results, "ru")


def process_results_zh(doc, results):
    return mgsm_results(doc, results, "zh")
