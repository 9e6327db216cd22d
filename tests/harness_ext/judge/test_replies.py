"""The reply record: cached as the same JSON object the judge has always written, read back whole."""

from __future__ import annotations

import json

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.judge.replies import JudgeReply, Usage

CACHED = {  # a verdict as the cache holds it (key order included)
    "verdict": 4,
    "valid": True,
    "text": "Clear and correct. Rating: [[4]]",
    "attempts": 1,
    "model": "gpt-4-turbo-2024-04-09",
    "system_fingerprint": "fp_1",
    "usage": {"prompt_tokens": 90, "completion_tokens": 9},
    "judge": "gpt-4-turbo",
    "prompt_version": "single_v2",
}


def test_a_reply_is_cached_in_the_same_shape_and_read_back_whole(tmp_path):
    reply = JudgeReply.from_json(CACHED)
    assert reply.usage == Usage(90, 9) and reply.verdict == 4
    assert json.dumps(reply.to_json()) == json.dumps(CACHED)
    with KVCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", reply.to_json())
        assert JudgeReply.from_json(cache.get("k")) == reply


def test_a_reply_without_the_optional_fields_reads():
    reply = JudgeReply.from_json({"verdict": None, "valid": False, "text": "", "attempts": 2})
    assert reply.usage is None and reply.model is None and not reply.valid
