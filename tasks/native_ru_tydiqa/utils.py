"""custom_dataset, the Russian filter (id prefix from the catalogue) and scoring for TyDi QA GoldP."""

from harness_ext.catalogue.model import catalogue
from harness_ext.eval.runtime import load_docs, qa_results, tydiqa_docs

__all__ = ["load_docs", "process_docs_ru", "process_results_ru"]


def process_docs_ru(dataset):
    prefix = catalogue().task("native_ru_tydiqa").extra["dataset_filter"]["id_prefix"]
    return tydiqa_docs(dataset, prefix)


def process_results_ru(doc, results):
    return qa_results(results, doc["answers"], "ru")
