"""Backends through their real client code: Google v2 REST (httpx) and v3 (google-cloud-translate,
REST transport) against a loopback Google server; the LLM backend (openai) against the loopback
OpenAI-compatible server; the hf backend with a tiny random M2M100 / NLLB-style model."""

from __future__ import annotations

import asyncio

import pytest

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.resilience import PermanentError, RetryPolicy, call_with_retries
from nativeval.harness_ext.testing.openai_stub import Fault, OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import (
    GoogleTranslateStub,
    fake_translate,
    llm_translating_responder,
)
from nativeval.translate.backends.google import GoogleV2Backend, GoogleV3Backend
from nativeval.translate.backends.llm import LLMBackend
from nativeval.translate.pipeline import translate_records

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.5, timeout=10)


def translate_via(backend, texts, src="en", tgt="zh", policy=FAST):
    async def go():
        try:
            return await call_with_retries(lambda: backend.translate_batch(texts, src, tgt), policy)
        finally:
            await backend.aclose()

    return asyncio.run(go())


# --- Google v2 ------------------------------------------------------------------------------------
def test_google_v2_batches_with_key_in_header_and_codes_mapped():
    with GoogleTranslateStub() as g:
        backend = GoogleV2Backend("gkey-1", base_url=g.base_url)
        result = translate_via(backend, ["Hello", "World ⟦0⟧"])
        (request,) = g.requests
        headers = g.headers_seen[0]
    assert result.texts == [fake_translate("Hello", "zh"), fake_translate("World ⟦0⟧", "zh")]
    assert result.characters == len("Hello") + len("World ⟦0⟧")
    assert request["path"] == "/language/translate/v2"
    assert request["body"] == {
        "q": ["Hello", "World ⟦0⟧"],
        "source": "en",
        "target": "zh-CN",
        "format": "text",
    }
    assert headers["x-goog-api-key"] == "gkey-1" and "key=" not in request["path"]


def test_google_v2_retries_429_with_retry_after_then_500_then_malformed():
    with GoogleTranslateStub() as g:
        g.add_faults(Fault("429", retry_after=0.05), Fault("500"), Fault("malformed"))
        result = translate_via(GoogleV2Backend("k", base_url=g.base_url), ["Hi there"], tgt="ru")
        assert len(g.requests) == 4
    assert result.texts == [fake_translate("Hi there", "ru")]


def test_google_v2_permanent_error_is_one_line_and_hides_key():
    with GoogleTranslateStub() as g:
        g.add_faults(Fault("403"))
        with pytest.raises(PermanentError) as err:
            translate_via(GoogleV2Backend("gkey-secret", base_url=g.base_url), ["Hi"])
        assert len(g.requests) == 1
    assert "HTTP 403" in str(err.value) and "\n" not in str(err.value) and "gkey-secret" not in str(err.value)


def test_google_pipeline_splits_requests_by_segment_and_char_limits():
    records = [{"id": i, "instruction": f"Sentence number {i} " + "x" * 40, "output": ""} for i in range(300)]
    with GoogleTranslateStub() as g:
        backend = GoogleV2Backend("k", base_url=g.base_url)
        run = translate_records(
            records, ["instruction", "output"], backend, "en", "es", KVCache(None), progress=False
        )
        sizes = [len(r["body"]["q"]) for r in g.requests]
    assert sum(sizes) == 300 and max(sizes) <= 128
    assert all(sum(len(q) for q in r["body"]["q"]) <= 5000 for r in g.requests)
    assert [r["id"] for r in run.records] == list(range(300))
    assert run.report.segments.empty_passthrough == 300 and all(r["output"] == "" for r in run.records)


# --- Google v3 ------------------------------------------------------------------------------------
def test_google_v3_client_against_loopback_rest_endpoint():
    pytest.importorskip("google.cloud.translate_v3")
    from google.auth.credentials import AnonymousCredentials

    with GoogleTranslateStub() as g:
        g.add_faults(Fault("429", retry_after=0.05))
        backend = GoogleV3Backend("my-proj", base_url=g.base_url, credentials=AnonymousCredentials())
        result = translate_via(backend, ["Good morning", "Thanks"])
        assert len(g.requests) == 2
        request = g.requests[-1]
    assert result.texts == [fake_translate("Good morning", "zh"), fake_translate("Thanks", "zh")]
    assert request["path"].startswith("/v3/projects/my-proj/locations/global:translateText")
    assert request["body"]["contents"] == ["Good morning", "Thanks"]
    assert request["body"]["targetLanguageCode"] == "zh-CN" and request["body"]["mimeType"] == "text/plain"


def test_google_v3_request_names_custom_model():
    backend = GoogleV3Backend("p", location="us-central1", model="general/translation-llm", client=object())
    request = backend.build_request(["a"], "en", "ru")
    assert request["parent"] == "projects/p/locations/us-central1"
    assert request["model"] == "projects/p/locations/us-central1/models/general/translation-llm"
    assert request["target_language_code"] == "ru"


# --- LLM ------------------------------------------------------------------------------------------
def test_llm_backend_sends_versioned_prompt_at_temperature_zero(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with OpenAIStub(llm_translating_responder) as stub:
        backend = LLMBackend(model="stub-model", base_url=stub.base_url)
        result = translate_via(backend, ["What is ⟦0⟧?"], tgt="ru")
        (request,) = stub.requests
    assert backend.prompt_version == "command_r_v1"
    assert result.texts == [fake_translate("What is ⟦0⟧?", "ru")]
    assert request["temperature"] == 0 and request["model"] == "stub-model"
    system, user = request["messages"]
    assert "from English into Russian" in system["content"] and "⟦0⟧" in system["content"]
    assert user == {"role": "user", "content": "What is ⟦0⟧?"}
    assert result.input_tokens > 0 and result.output_tokens > 0


def test_llm_backend_survives_scripted_faults(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with OpenAIStub(llm_translating_responder) as stub:
        stub.add_faults(Fault("429", retry_after=0.05), Fault("500"), Fault("malformed"), Fault("empty"))
        result = translate_via(
            LLMBackend(model="stub-model", base_url=stub.base_url),
            ["Hello"],
            policy=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.5, timeout=10),
        )
        assert stub.request_count == 5
    assert result.texts == [fake_translate("Hello", "zh")]


def test_llm_backend_timeout_is_retried(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with OpenAIStub(llm_translating_responder) as stub:
        stub.add_faults(Fault("timeout", seconds=1.0))
        policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1, timeout=0.3)
        result = translate_via(
            LLMBackend(model="stub-model", base_url=stub.base_url), ["Hello"], policy=policy
        )
    assert result.texts == [fake_translate("Hello", "zh")]


def test_llm_backend_without_key_or_url_says_what_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="set OPENAI_API_KEY"):
        LLMBackend(model="m")


# --- hf (tiny random seq2seq) ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_mt(tmp_path_factory):
    from nativeval.harness_ext.testing.toy_mt import build_tiny_mt_model

    return build_tiny_mt_model(tmp_path_factory.mktemp("tiny-mt"))


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory):
    from nativeval.harness_ext.testing.toy_mt import build_tiny_mt_model

    return build_tiny_mt_model(tmp_path_factory.mktemp("tiny-nllb"), style="nllb")


TEXTS = [
    "Hi",
    "A much longer sentence about the weather today and tomorrow.",
    "Cats",
    "Two words",
    "Medium length one.",
]


def test_hf_batched_output_equals_one_at_a_time_in_input_order(tiny_mt):
    from nativeval.translate.backends.hf import HFBackend

    batched = HFBackend(str(tiny_mt), batch_size=4, max_new_tokens=8, device="cpu")
    single = HFBackend(str(tiny_mt), batch_size=1, max_new_tokens=8, device="cpu")
    many = asyncio.run(batched.translate_batch(TEXTS, "en", "zh")).texts
    one_by_one = [asyncio.run(single.translate_batch([t], "en", "zh")).texts[0] for t in TEXTS]
    assert many == one_by_one
    assert len(set(many)) > 1  # outputs depend on the input, so a shuffled order would show


def test_hf_language_codes_m2m100_and_nllb(tiny_mt, tiny_nllb):
    from nativeval.translate.backends.hf import HFBackend

    m2m = HFBackend(str(tiny_mt), max_new_tokens=4, device="cpu")
    nllb = HFBackend(str(tiny_nllb), max_new_tokens=4, device="cpu")
    assert (m2m.scheme, nllb.scheme) == ("m2m100", "nllb")
    for backend, src_token, tgt_token in ((m2m, "__en__", "__zh__"), (nllb, "eng_Latn", "zho_Hans")):
        ids = backend.encode(["Hello"], "en", "zh")[0]
        assert ids[0] == backend.tokenizer.convert_tokens_to_ids(src_token)
        assert ids[-1] == backend.tokenizer.eos_token_id
        import torch

        generated = backend.net.generate(
            input_ids=torch.tensor([ids]),
            max_new_tokens=3,
            forced_bos_token_id=backend.tokenizer.convert_tokens_to_ids(tgt_token),
        )
        assert generated[0, 1].item() == backend.tokenizer.convert_tokens_to_ids(tgt_token)
    assert "zh" in m2m.supported_languages() and "en" in nllb.supported_languages()


def test_hf_unknown_language_lists_supported_codes(tiny_mt):
    from nativeval.translate.backends.hf import HFBackend

    backend = HFBackend(str(tiny_mt), device="cpu")
    with pytest.raises(InputError) as err:
        backend.check_languages("en", "xx")
    prefix = "unknown target language code 'xx' for backend hf; supported: "
    assert str(err.value).startswith(prefix)
    supported = str(err.value)[len(prefix) :].split(", ")
    # the tiny model's vocabulary holds a token for every registry language m2m100 covers, and no other
    assert supported == sorted(supported) and {"ar", "en", "es", "ru", "zh"} <= set(supported)
    assert "ky" not in supported  # the registry has Kyrgyz, m2m100 does not


def test_hf_pipeline_sorts_by_length_and_keeps_record_order(tiny_mt):
    from nativeval.translate.backends.hf import HFBackend

    backend = HFBackend(str(tiny_mt), batch_size=2, max_new_tokens=6, device="cpu")
    calls = []
    original = backend.generate

    def spy(texts, src, tgt):
        calls.append(list(texts))
        return original(texts, src, tgt)

    backend.generate = spy
    records = [{"id": f"r{i}", "instruction": t, "output": t + " again"} for i, t in enumerate(TEXTS)]
    run = translate_records(
        records, ["instruction", "output"], backend, "en", "ru", KVCache(None), progress=False
    )
    sent = [t for call in calls for t in call]
    assert [len(t) for t in sent] == sorted((len(t) for t in sent), reverse=True)
    reference = HFBackend(str(tiny_mt), batch_size=1, max_new_tokens=6, device="cpu")
    assert (
        run.records[1]["instruction"]
        == asyncio.run(reference.translate_batch([TEXTS[1]], "en", "ru")).texts[0]
    )
    assert [r["id"] for r in run.records] == [f"r{i}" for i in range(5)]


def test_llm_prompt_renders_in_one_pass_so_user_text_with_placeholders_survives():
    from nativeval.translate.backends.llm import load_prompt, render_messages

    text = "Keep {tgt_name}, {src_name} and {text} as written; {other} too."
    system, user = render_messages(load_prompt(), text, "en", "zh")
    assert text in user["content"]  # the old chained .replace turned {tgt_name} into "Simplified Chinese"
    assert "Simplified Chinese" in system["content"] and "{tgt_name}" not in system["content"]


def test_translation_and_judge_read_one_price_table():
    from nativeval.harness_ext.core.prices import TABLE, token_prices
    from nativeval.harness_ext.judge.config import load_prices

    assert (
        LLMBackend(model="command-r-plus", base_url="http://127.0.0.1:9").price()
        == load_prices()["command-r-plus"]
        == token_prices(TABLE)["command-r-plus"]
    )
    assert GoogleV2Backend(api_key="k").price() == {"char": 20.0}
    assert "stub-model" not in token_prices(TABLE)  # the loopback server's model is priced by the tests
