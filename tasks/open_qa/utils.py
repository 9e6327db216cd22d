"""custom_dataset and scoring for the open-QA tasks (the judge's ratings come later, from `cli.py judge`)."""

from nativeval.harness_ext.eval.open_qa import load_docs, off_language

__all__ = ["load_docs", "process_results"]


def process_results(doc, results):
    return off_language(doc, results)
