"""Dataset translation end to end through the CLI: cache and reruns, cost, bad input, secrets,
quality checks, round trips, formats, and the study's real Aya data."""

from __future__ import annotations

import json

import pytest
from translate_helpers import AYA, run_cli, write_json

from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import (
    GoogleTranslateStub,
    fake_translate,
    llm_translating_responder,
)
from nativeval.translate.quality import FieldOutcome, check_fields, chrf_report

KEY_ENV = {"OPENAI_API_KEY": "sk-live-SECRET-0123456789", "GOOGLE_TRANSLATE_API_KEY": "AIza-SECRET-GOOGLE-42"}


def records(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "instruction": f"Describe item {i} briefly.",
            "input": "",
            "output": f"Item {i} is a useful thing.",
        }
        for i in range(start, start + n)
    ]


def llm_args(stub, src, out, *extra):
    return (
        "translate",
        "--backend",
        "llm",
        "--base-url",
        stub.base_url,
        "--model",
        "stub-model",
        "--src",
        "en",
        "--tgt",
        "zh",
        "--in",
        str(src),
        "--out",
        str(out),
        *extra,
    )


def test_rerun_reads_the_cache_and_sends_nothing(tmp_path):
    src = write_json(tmp_path / "in.json", records(20))
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        first = run_cli(*llm_args(stub, src, out), env=KEY_ENV)
        sent_first = stub.request_count
        text_first = out.read_text(encoding="utf-8")
        second = run_cli(*llm_args(stub, src, out), env=KEY_ENV)
        assert stub.request_count == sent_first == 40
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert out.read_text(encoding="utf-8") == text_first
    assert "40 from cache, 0 sent" in second.output
    rows = json.loads(text_first)
    assert rows[3] == {
        "id": "r3",
        "instruction": fake_translate("Describe item 3 briefly.", "zh"),
        "input": "",
        "output": fake_translate("Item 3 is a useful thing.", "zh"),
    }


def test_duplicate_segments_are_sent_once(tmp_path):
    rows = [{"id": i, "instruction": "Same question?", "output": f"Answer {i}"} for i in range(5)]
    src = write_json(tmp_path / "in.json", rows)
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(*llm_args(stub, src, tmp_path / "out.json"), env=KEY_ENV)
        assert stub.request_count == 6
    assert result.exit_code == 0


def test_dry_run_estimates_and_sends_and_writes_nothing(tmp_path):
    src = write_json(tmp_path / "in.json", records(10))
    out = tmp_path / "out.json"
    with GoogleTranslateStub() as g:
        result = run_cli(
            "translate",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--src",
            "en",
            "--tgt",
            "ru",
            "--in",
            str(src),
            "--out",
            str(out),
            "--dry-run",
            env=KEY_ENV,
        )
        assert g.requests == []
    chars = sum(len(r["instruction"]) + len(r["output"]) for r in records(10))
    assert result.exit_code == 0
    assert f"characters {chars:,}" in result.output and f"${chars * 20 / 1e6:.4f}" in result.output
    assert not out.exists()


def test_max_cost_stops_before_the_cap_and_a_rerun_finishes_the_rest(tmp_path, stub_prices):
    src = write_json(tmp_path / "in.json", records(30))
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        capped = run_cli(
            *llm_args(stub, src, out, "--max-cost", "0.002", "--concurrency", "1"),
            env={**KEY_ENV, **stub_prices},
        )
        sent_capped = stub.request_count
        assert capped.exit_code != 0
        assert "error: stopping before --max-cost $0.00 would be exceeded" in capped.output
        assert not out.exists() and 0 < sent_capped < 60
        done = run_cli(*llm_args(stub, src, out), env={**KEY_ENV, **stub_prices})
        assert done.exit_code == 0
        assert stub.request_count == 60  # nothing finished under the cap was sent again
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 30


def test_unknown_language_code_lists_supported_codes(tmp_path):
    src = write_json(tmp_path / "in.json", records(2))
    result = run_cli(
        "translate",
        "--backend",
        "google",
        "--src",
        "en",
        "--tgt",
        "klingon",
        "--in",
        str(src),
        "--out",
        str(tmp_path / "o.json"),
        env=KEY_ENV,
    )
    assert result.exit_code == 2
    line = result.output.strip()
    prefix = "error: unknown target language code 'klingon' for backend google; supported: "
    assert line.startswith(prefix)
    supported = line[len(prefix) :].split(", ")
    assert supported == sorted(supported) and {"ar", "en", "es", "ru", "zh"} <= set(supported)
    assert "\n" not in line


def test_missing_field_names_record_and_field_and_keeps_existing_output(tmp_path):
    rows = records(3) + [{"id": "broken-7", "instruction": "Hi"}]
    src = write_json(tmp_path / "in.json", rows)
    out = tmp_path / "out.json"
    out.write_text("previous results\n")
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(*llm_args(stub, src, out), env=KEY_ENV)
        assert stub.request_count == 0
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: record broken-7 (#4): field 'output' is missing; fix the input, "
        "choose --fields, or pass --skip-invalid"
    )
    assert out.read_text() == "previous results\n"


def test_skip_invalid_continues_and_reports(tmp_path):
    rows = records(3) + [
        {"id": "broken-7", "instruction": "Hi"},
        {"id": "bad-type", "instruction": "x", "output": 5},
    ]
    src = write_json(tmp_path / "in.json", rows)
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(*llm_args(stub, src, out, "--skip-invalid"), env=KEY_ENV)
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(out.read_text(encoding="utf-8"))] == ["r0", "r1", "r2"]
    report = json.loads((tmp_path / "out.json.report.json").read_text())
    assert report["records"]["skipped_invalid"] == 2
    assert report["records"]["skipped"][1] == {
        "id": "bad-type",
        "index": 4,
        "field": "output",
        "problem": "not a string (int)",
    }
    assert "skipped invalid records: 2" in result.output


def test_empty_strings_are_passed_through_not_sent(tmp_path):
    rows = [
        {"id": 1, "instruction": "Say hi", "output": ""},
        {"id": 2, "instruction": "   ", "output": "Hello"},
    ]
    src = write_json(tmp_path / "in.json", rows)
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(*llm_args(stub, src, out), env=KEY_ENV)
        sent = sorted(r["messages"][-1]["content"] for r in stub.requests)
    assert result.exit_code == 0
    assert sent == ["Hello", "Say hi"]
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got[0]["output"] == "" and got[1]["instruction"] == "   "


@pytest.mark.parametrize(
    "name,blob,where",
    [
        ("bad.json", b'[\n  {"id": 1, "instruction": "a", "output": "b"},\n  {"id": 2,, }\n]', "bad.json:3:"),
        ("bad.jsonl", b'{"id": 1, "instruction": "a", "output": "b"}\n{"id": 2, "instr\n', "bad.jsonl:2:"),
        (
            "bad.json",
            b'[{"id": 1, "instruction": "caf\xe9", "output": "b"}]',
            "bad.json: byte 30: the file is not valid UTF-8",
        ),
        (
            "bad.jsonl",
            b'{"id": 1, "instruction": "a", "output": "b"}\n{"id": 2, "instruction": "\xe5\xa5',
            "bad.jsonl: byte 71: the file ends in the middle of a character",
        ),
    ],
)
def test_malformed_input_is_one_line_naming_file_and_line_or_byte(tmp_path, name, blob, where):
    src = tmp_path / name
    src.write_bytes(blob)
    out = tmp_path / "out.json"
    out.write_text("keep me")
    result = run_cli(
        "translate",
        "--backend",
        "google",
        "--src",
        "en",
        "--tgt",
        "zh",
        "--in",
        str(src),
        "--out",
        str(out),
        env=KEY_ENV,
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and where in result.output and result.output.count("\n") == 1
    assert out.read_text() == "keep me"


def test_keys_from_env_never_reach_output_cache_or_report(tmp_path):
    src = write_json(tmp_path / "in.json", records(5))
    with OpenAIStub(llm_translating_responder) as stub, GoogleTranslateStub() as g:
        a = run_cli(*llm_args(stub, src, tmp_path / "llm.json"), env=KEY_ENV)
        b = run_cli(
            "rtt",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--lang",
            "en",
            "--pivot-lang",
            "zh",
            "--in",
            str(src),
            "--out",
            str(tmp_path / "rtt.json"),
            "--pivot-out",
            str(tmp_path / "piv.json"),
            env=KEY_ENV,
        )
        assert stub.headers_seen[0]["authorization"] == f"Bearer {KEY_ENV['OPENAI_API_KEY']}"
        assert g.headers_seen[0]["x-goog-api-key"] == KEY_ENV["GOOGLE_TRANSLATE_API_KEY"]
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert len(files) >= 8  # outputs, pivot, reports, caches (+ WAL files)
    for path in files:
        blob = path.read_bytes()
        for secret in KEY_ENV.values():
            assert secret.encode() not in blob, f"{secret} leaked into {path.name}"
        assert b"SECRET" not in blob


def test_round_trip_keeps_pivot_and_reports_chrf(tmp_path):
    src = write_json(
        tmp_path / "native.json",
        [
            {"id": "a", "instruction": "Tell me a story", "output": "Once upon a time"},
            {"id": "b", "instruction": "Name a colour", "output": "Blue"},
        ],
    )
    with GoogleTranslateStub() as g:
        result = run_cli(
            "rtt",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--lang",
            "ru",
            "--pivot-lang",
            "zh",
            "--in",
            str(src),
            "--out",
            str(tmp_path / "rtt.json"),
            "--pivot-out",
            str(tmp_path / "piv.json"),
            "--max-wrong-language",
            "1",
            env=KEY_ENV,
        )  # the stand-in's Cyrillic is not Russian
    assert result.exit_code == 0, result.output
    pivot = json.loads((tmp_path / "piv.json").read_text(encoding="utf-8"))
    assert pivot[0] == {
        "id": "a",
        "instruction": fake_translate("Tell me a story", "zh"),
        "output": fake_translate("Once upon a time", "zh"),
    }
    back = json.loads((tmp_path / "rtt.json").read_text(encoding="utf-8"))
    assert back[1]["output"] == fake_translate("Blue", "ru")
    report = json.loads((tmp_path / "rtt.json.report.json").read_text())
    assert report["forward"]["tgt"] == "zh" and report["back"]["tgt"] == "ru"
    assert next(iter(report)) == "legs" and [leg["leg"] for leg in report["legs"]] == ["forward", "back"]
    assert report["round_trip_chrf"]["instruction"]["n"] == 2
    assert "round-trip chrF instruction" in result.output
    assert (
        "leg 1/2: quality over 4 fields" in result.output
        and "leg 2/2: quality over 4 fields" in result.output
    )


def test_rtt_reports_a_bad_pivot_leg_and_exits_1_keeping_the_output(tmp_path):
    """The pivot leg comes back in the wrong language (Cyrillic asked for English): both legs are reported,
    the run exits 1 with one line naming the pivot leg, and the files are written."""
    src = write_json(
        tmp_path / "native.json",
        [
            {
                "id": str(i),
                "instruction": f"Tell me story number {i} about the sea",
                "output": "Once upon a time",
            }
            for i in range(6)
        ],
    )
    with GoogleTranslateStub(lambda text, tgt: fake_translate(text, "ru")) as g:
        result = run_cli(
            "rtt",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--lang",
            "en",
            "--pivot-lang",
            "es",
            "--in",
            str(src),
            "--out",
            str(tmp_path / "rtt.json"),
            "--pivot-out",
            str(tmp_path / "piv.json"),
            env=KEY_ENV,
        )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert (
        len(errors) == 1 and "forward leg (en->es)" in errors[0] and "--max-wrong-language 5.0%" in errors[0]
    )
    assert "leg 1/2" in result.output and "leg 2/2" in result.output
    report = json.loads((tmp_path / "rtt.json.report.json").read_text())
    assert report["legs"][0]["wrong_language_rate"] > 0.5
    assert len(json.loads((tmp_path / "rtt.json").read_text(encoding="utf-8"))) == 6
    assert len(json.loads((tmp_path / "piv.json").read_text(encoding="utf-8"))) == 6


def test_jsonl_in_jsonl_out_and_hf_dataset_input(tmp_path, monkeypatch):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records(3)))
    mirror = tmp_path / "mirror" / "someone" / "instr" / "default"
    mirror.mkdir(parents=True)
    (mirror / "train.jsonl").write_text(jsonl.read_text())
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path / "mirror"))
    with GoogleTranslateStub() as g:
        common = ("--backend", "google", "--base-url", g.base_url, "--src", "en", "--tgt", "zh")
        a = run_cli(
            "translate", *common, "--in", str(jsonl), "--out", str(tmp_path / "out.jsonl"), env=KEY_ENV
        )
        b = run_cli(
            "translate",
            *common,
            "--in",
            "hf://someone/instr",
            "--out",
            str(tmp_path / "hf.json"),
            env={**KEY_ENV, "NATIVEVAL_DATA_DIR": str(tmp_path / "mirror")},
        )
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["r0", "r1", "r2"]
    hf_rows = json.loads((tmp_path / "hf.json").read_text(encoding="utf-8"))
    assert [json.loads(x) for x in lines] == hf_rows


def test_quality_checks_flag_known_problems():
    src, tgt = "en", "zh"
    good = "这是一个很好的翻译，内容完整。"
    outcomes = [
        FieldOutcome(f"ok{i}", "output", "This is a fine sentence to translate.", good, [("x", good)])
        for i in range(5)
    ] + [
        FieldOutcome("empty", "output", "Some text here that is long.", "", [("Some", "")]),
        FieldOutcome(
            "same",
            "output",
            "Leave me as I am please.",
            "Leave me as I am please.",
            [("Leave me as I am please.", "Leave me as I am please.")],
        ),
        FieldOutcome("long", "output", "Short source text, twenty+.", good * 12, [("Short", good * 12)]),
        FieldOutcome(
            "fmt", "output", "Use the code in the answer.", good, [("u", good)], ["lost protected span '`x`'"]
        ),
    ]
    quality = check_fields(outcomes, src, tgt)
    ids = {name: [i["id"] for i in found] for name, found in quality.issues.items()}
    assert ids["empty_output"] == ["empty"]
    assert ids["untranslated"] == ["same"] and ids["wrong_language"] == ["same"]
    assert ids["length_ratio_outlier"] == ["long"]
    assert ids["format"] == ["fmt"]


# --- the study's real Aya data (translate/data/aya_sample, Apache-2.0) ------------------------------
def test_aya_sample_translates_with_ids_kept_and_code_untouched(tmp_path):
    rows = json.loads((AYA / "en.json").read_text(encoding="utf-8"))
    out = tmp_path / "aya_zh.json"
    with GoogleTranslateStub() as g:
        result = run_cli(
            "translate",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--src",
            "en",
            "--tgt",
            "zh",
            "--in",
            str(AYA / "en.json"),
            "--out",
            str(out),
            env=KEY_ENV,
        )
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    assert all(r["input"] == "" for r in got)
    by_id = {r["id"]: r for r in got}
    code_rows = [r for r in rows if "```" in r["output"]]
    assert len(code_rows) == 4
    for row in code_rows:
        for block in __import__("re").findall(r"```[\s\S]*?```", row["output"]):
            assert block in by_id[row["id"]]["output"]
    report = json.loads((tmp_path / "aya_zh.json.report.json").read_text())
    assert report["quality"]["counts"]["empty_output"] == 0 and report["quality"]["counts"]["format"] == 0


def test_quality_and_chrf_on_the_studys_real_google_translations():
    english = json.loads((AYA / "en.json").read_text(encoding="utf-8"))
    chinese = json.loads((AYA / "en_google_translated.zh.json").read_text(encoding="utf-8"))
    outcomes = [
        FieldOutcome(e["id"], f, e[f], z[f], [(e[f], z[f])])
        for e, z in zip(english, chinese, strict=True)
        for f in ("instruction", "output")
    ]
    quality = check_fields(outcomes, "en", "zh")
    assert quality.counts["empty_output"] == 0 and quality.counts["untranslated"] == 0
    assert quality.counts["wrong_language"] <= 2  # code-heavy answers may read as English
    assert 0.2 < quality.median_length_ratio < 0.6  # Chinese is ~3x denser in characters than English

    native = json.loads((AYA / "zh.json").read_text(encoding="utf-8"))
    round_trip = json.loads((AYA / "zh_google_round_trip.zh.json").read_text(encoding="utf-8"))
    chrf = chrf_report([r["output"] for r in native], [r["output"] for r in round_trip])
    assert chrf["n"] == 10 and 10 < chrf["corpus_chrf"] < 90
    assert chrf_report(["同一句话"], ["同一句话"])["corpus_chrf"] == 100.0
