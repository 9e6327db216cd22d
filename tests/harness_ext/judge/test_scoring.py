"""Scores and judgment rows from replies: the rows keep the shape the judgments files have always had."""

from __future__ import annotations

from pathlib import Path

from nativeval.harness_ext.judge.calls import single_key
from nativeval.harness_ext.judge.config import JudgeConfig, load_prompt
from nativeval.harness_ext.judge.lm_eval_outputs import JudgeItem, TaskSamples
from nativeval.harness_ext.judge.replies import JudgeReply, Usage
from nativeval.harness_ext.judge.scoring import score_task

JUDGE = JudgeConfig(name="j", model="m", base_url="http://127.0.0.1:9/v1")
PROMPT = load_prompt("single_v2")
ITEMS = [JudgeItem("t", 0, "Q0?", "A0", "h0"), JudgeItem("t", 1, "Q1?", "A1", "h1")]
SAMPLES = TaskSamples("t", Path("samples_t_2025-01-01T00-00-00.jsonl"), "2025", ITEMS, language=None)
ROW_KEYS = [
    "task",
    "doc_id",
    "doc_hash",
    "question",
    "response",
    "rating",
    "valid",
    "explanation",
    "attempts",
    "off_language",
    "judge",
    "judge_model",
    "model_snapshot",
    "system_fingerprint",
    "prompt_version",
    "usage",
]


def reply(verdict: int | None) -> JudgeReply:
    return JudgeReply(verdict, verdict is not None, f"says {verdict}", 1, "m-1", None, Usage(5, 2), "j", "v")


def test_rows_keep_their_shape_and_repeats_add_the_ratings_column():
    replies = {single_key(JUDGE, PROMPT, i.question, i.response): reply(3 + i.doc_id) for i in ITEMS}
    score = score_task(SAMPLES, JUDGE, PROMPT, replies)
    assert score.ratings == [3, 4] and score.invalid == 0
    row = score.judgments[0].row()
    assert list(row) == ROW_KEYS and row["usage"] == {"prompt_tokens": 5, "completion_tokens": 2}

    replies = {
        single_key(JUDGE, PROMPT, i.question, i.response, r): reply(None if r == 0 else 2 * r)
        for i in ITEMS
        for r in range(3)
    }
    score = score_task(SAMPLES, JUDGE, PROMPT, replies, repeats=3)
    row = score.judgments[0].row()
    assert list(row) == ROW_KEYS[:7] + ["ratings"] + ROW_KEYS[7:]
    assert row["ratings"] == [None, 2, 4] and row["rating"] == 3 and row["attempts"] == 3


def test_an_item_with_an_unasked_repeat_is_counted_not_judged():
    score = score_task(SAMPLES, JUDGE, PROMPT, {}, repeats=2)
    assert score.not_judged == 2 and not score.judgments and score.mean is None
