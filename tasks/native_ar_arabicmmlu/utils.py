"""custom_dataset, and ArabicMMLU's prompt: lm-eval 0.4.13's tasks/arabicmmlu/utils.py (MIT), itself the
ArabicMMLU authors' util_prompt.py ``prepare_data_en``; copied so that the prompt is byte for byte the
built-in's (a parity test compares them)."""

from nativeval.harness_ext.eval.runtime import load_docs

__all__ = ["doc_to_choice", "doc_to_text", "load_docs"]

PROMPT = "This is a {}. Select the correct answer!\n\nQuestion: {}\n{}\n\nAnswer:"
LEVEL_EN = {
    "Primary": "primary school",
    "Middle": "middle school",
    "High": "high school",
    "Univ": "university",
    "Prof": "professional",
}
LETTERS = ["A.", "B.", "C.", "D.", "E."]


def doc_to_text(doc):
    level = "" if not doc["Level"] else " for " + LEVEL_EN[doc["Level"]]
    country = "" if not doc["Country"] else " in " + doc["Country"]
    main_meta_data = f"{doc['Subject']} question{level}{country}"
    question = doc["Question"] if not doc["Context"] else f"{doc['Context']}\n\n{doc['Question']}"
    options = []
    for i, opt in enumerate(["Option 1", "Option 2", "Option 3", "Option 4", "Option 5"]):
        if not doc[opt]:
            break
        options.append(f"{LETTERS[i]} {doc[opt]}")
    return PROMPT.format(main_meta_data, question, "\n".join(options))


def doc_to_choice(doc):
    return [LETTERS[i][0] for i in range(5) if doc[f"Option {i + 1}"]]
