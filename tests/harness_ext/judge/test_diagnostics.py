"""Judge diagnostics against stand-in judges with planted behaviour, run through `nativeval judge` over HTTP.

Each stand-in (harness_ext/testing/judge_standins.py) plants one bias; every diagnostic must find its own and
stay near zero on the unbiased (hash) judges.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.judge.diagnostics import JudgeReport, Stratum
from nativeval.harness_ext.judge.report import build_report, report_section
from nativeval.harness_ext.testing.judge_runs import judge_yaml, write_run
from nativeval.harness_ext.testing.judge_standins import (
    by_model,
    english_judge,
    first_slot_judge,
    hash_judge,
    length_judge,
    noisy_judge,
    pairwise_hash_judge,
)
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

SPANISH = [
    "La fotosíntesis convierte la luz del sol en energía química para la planta.",
    "El agua hierve a cien grados cuando la presión es la del nivel del mar.",
    "Las ciudades grandes necesitan un buen sistema de transporte público.",
    "El cerebro humano tiene miles de millones de neuronas conectadas entre sí.",
    "La historia de España está llena de reinos, guerras y grandes cambios.",
    "Una dieta equilibrada incluye frutas, verduras, cereales y proteínas.",
    "Los volcanes se forman donde el magma sube desde el interior de la Tierra.",
]
FILLER = [
    "Además, conviene recordar que este tema tiene muchos matices y detalles importantes.",
    "En resumen, todo lo anterior depende del contexto y de muchos otros factores.",
]
ENGLISH = [
    "Photosynthesis turns sunlight into chemical energy that the plant can use.",
    "Water boils at one hundred degrees at the pressure found at sea level.",
    "A balanced diet includes fruit, vegetables, grains and enough protein every day.",
]
CHINESE = [
    "光合作用把阳光转化为植物可以使用的化学能量。",
    "在海平面的气压下，水在一百度时沸腾。",
    "大城市需要一个良好的公共交通系统。",
    "人类的大脑有数十亿个相互连接的神经元。",
]
ZH_FILLER = ["此外，这个问题还有很多细节和需要注意的地方。", "总之，以上内容取决于具体情况和许多其他因素。"]
N_ITEMS = 50
SINGLE_JUDGES = {
    "hash-a": hash_judge("a"),
    "hash-a-twin": hash_judge("a"),
    "hash-b": hash_judge("b"),
    "length": length_judge(10),
    "english": english_judge,
}


def judge_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["judge", *args])
    return result.exit_code, result.output


def report_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["judge-report", *args])
    return result.exit_code, result.output


def answers(seed: int) -> dict[str, list[tuple[str, str]]]:
    """Per model, per task: (question, answer). ``padded`` = ``concise`` + 0-2 filler sentences; ``mixed``
    answers every other question in English."""
    rng = random.Random(seed)
    base = [" ".join(rng.sample(SPANISH, rng.randint(1, 3))) for _ in range(N_ITEMS)]
    fill = [rng.randint(0, 2) for _ in range(N_ITEMS)]
    questions = [f"Pregunta {seed}.{i}: ¿qué sabes de este tema?" for i in range(N_ITEMS)]
    english = [" ".join(rng.sample(ENGLISH, rng.randint(1, 3))) for _ in range(N_ITEMS)]
    return {
        "concise": list(zip(questions, base, strict=True)),
        "padded": [(q, " ".join([b] + FILLER[:f])) for q, b, f in zip(questions, base, fill, strict=True)],
        "mixed": [(q, english[i] if i % 2 else base[i]) for i, q in enumerate(questions)],
        "terse": [(q, b.split(". ")[0]) for q, b in zip(questions, base, strict=True)],
    }


def chinese_answers(seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    base = ["".join(rng.sample(CHINESE, rng.randint(1, 3))) for _ in range(30)]
    fill = [rng.randint(0, 2) for _ in range(30)]
    questions = [f"问题{i}：请介绍一下这个主题。" for i in range(30)]
    return {
        "concise": list(zip(questions, base, strict=True)),
        "padded": [(q, b + "".join(ZH_FILLER[:f])) for q, b, f in zip(questions, base, fill, strict=True)],
    }


@pytest.fixture(scope="module")
def judged(tmp_path_factory, monkeypatch_module) -> dict[str, Path]:
    """Four models x {native, translated} Spanish open QA (+ Chinese for two), judged by every stand-in."""
    root = tmp_path_factory.mktemp("diag")
    runs = root / "runs"
    es_native, es_translated, zh = answers(1), answers(2), chinese_answers(3)
    for model in es_native:
        tasks = {"native_es_open_qa": es_native[model], "translated_es_open_qa": es_translated[model]}
        if model in zh:
            tasks["native_zh_open_qa"] = zh[model]
        write_run(runs, model, tasks)
    configs = [
        judge_yaml(root / f"{name}.yaml", name=name, model=name, timeout_s=10.0) for name in SINGLE_JUDGES
    ]
    pairwise = [
        judge_yaml(root / f"{name}.yaml", name=name, model=name, timeout_s=10.0)
        for name in ("first-slot", "pairwise-hash")
    ]
    repeat = [
        judge_yaml(root / f"{name}.yaml", name=name, model=name, timeout_s=10.0, temperature=1.0)
        for name in ("noisy", "hash-a-repeated")
    ]
    responders = {
        **SINGLE_JUDGES,
        "first-slot": first_slot_judge,
        "pairwise-hash": pairwise_hash_judge,
        "noisy": noisy_judge(0),
        "hash-a-repeated": hash_judge("a"),
    }
    with OpenAIStub(by_model(responders)) as stub:
        judge_args = [a for c in configs for a in ("--judge", str(c))]
        code, output = judge_cli(
            str(runs), *judge_args, "--base-url", stub.base_url, "--cache", str(root / "c1")
        )
        assert code == 0, output
        pair_args = [a for c in pairwise for a in ("--judge", str(c))]
        code, output = judge_cli(
            "--pairwise",
            str(runs / "concise"),
            str(runs / "padded"),
            *pair_args,
            "--base-url",
            stub.base_url,
            "--cache",
            str(root / "c2"),
            "--out",
            str(root / "pairwise"),
        )
        assert code == 0, output
        repeat_args = [
            str(runs / "concise"),
            *[a for c in repeat for a in ("--judge", str(c))],
            "--repeats",
            "3",
            "--base-url",
            stub.base_url,
            "--cache",
            str(root / "c3"),
            "--out",
            str(root / "repeats"),
        ]
        before = stub.request_count
        code, output = judge_cli(*repeat_args)
        assert code == 0, output
        repeat_requests = stub.request_count - before
        code, output = judge_cli(*repeat_args)
        assert (
            code == 0 and stub.request_count - before == repeat_requests
        )  # every repeat came from the cache
    return {
        "root": root,
        "runs": runs,
        "pairwise": root / "pairwise",
        "repeats": root / "repeats",
        "repeat_requests": repeat_requests,
    }


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "sk-test-diagnostics")
        yield patch


@pytest.fixture(scope="module")
def report(judged) -> JudgeReport:
    return build_report([judged["runs"], judged["pairwise"], judged["repeats"]], resamples=500, seed=0)


def stratum(report: JudgeReport, lang: str, test_set: str) -> Stratum:
    return next(s for s in report.strata if (s.language, s.test_set) == (lang, test_set))


def pair(s: Stratum, a: str, b: str):
    return next(p for p in s.agreement.pairs if {p.judge_a, p.judge_b} == {a, b})


def by_judge(items, judge: str):
    return next(x for x in items if x.judge == judge)


def test_strata_are_languages_by_test_set_and_lengths_use_the_registry_unit(report):
    assert [(s.language, s.test_set) for s in report.strata] == [
        ("es", "native"),
        ("es", "translated"),
        ("zh", "native"),
    ]
    assert by_judge(stratum(report, "zh", "native").length, "length").unit == "characters"
    assert by_judge(stratum(report, "es", "native").length, "length").unit == "words"


@pytest.mark.parametrize("test_set", ["native", "translated"])
def test_a_judge_agrees_with_itself_and_not_with_an_independent_hash(report, test_set):
    s = stratum(report, "es", test_set)
    twin = pair(s, "hash-a", "hash-a-twin")
    assert twin.kappa.value == pytest.approx(1.0) and twin.exact.value == 1.0 and twin.n_items == 4 * N_ITEMS
    assert twin.system_spearman.value == pytest.approx(1.0)
    independent = pair(s, "hash-a", "hash-b")
    assert abs(independent.kappa.value) < 0.15 and independent.kappa.ci_low < 0 < independent.kappa.ci_high
    assert 0.1 < independent.exact.value < 0.3  # chance level for two uniform 1-5 raters: 0.2
    assert s.agreement.alpha is not None and s.agreement.alpha.n_items == 4 * N_ITEMS


def test_largest_disagreements_show_both_judges_and_their_explanations(report):
    top = stratum(report, "es", "native").agreement.disagreements
    assert len(top) == 5 and all(d.gap == 4 for d in top)
    for d in top:
        assert d.high_rating == 5 and d.low_rating == 1 and d.high_judge != d.low_judge
        assert (
            f"[[{int(d.high_rating)}]]" in d.high_explanation
            and f"[[{int(d.low_rating)}]]" in d.low_explanation
        )
        assert d.question.startswith("Pregunta") and d.response


@pytest.mark.parametrize("lang, test_set", [("es", "native"), ("es", "translated"), ("zh", "native")])
def test_length_bias_is_found_and_length_control_removes_a_length_only_lead(report, lang, test_set):
    s = stratum(report, lang, test_set)
    biased = by_judge(s.length, "length")
    assert biased.correlation.value > 0.7 and biased.correlation.ci_low > 0.5 and biased.slope.ci_low > 0
    rating = {m.model: m for m in biased.models}
    raw_gap = rating["padded"].raw.value - rating["concise"].raw.value
    controlled_gap = rating["padded"].length_controlled.value - rating["concise"].length_controlled.value
    assert raw_gap > 0.5 and abs(controlled_gap) < 0.2 * raw_gap
    assert biased.ranking_changed and any("padded > concise" in change for change in biased.changes)
    assert abs(by_judge(s.length, "hash-a").correlation.value) < 0.25
    for name in ("hash-a", "hash-b", "english"):
        assert not by_judge(s.length, name).ranking_changed, name


def test_a_judge_that_rewards_english_is_visible(report):
    for test_set in ("native", "translated"):
        s = stratum(report, "es", test_set)
        biased = by_judge(s.language_checks, "english")
        assert biased.off_minus_on.value == pytest.approx(4.0) and biased.favours_off_language
        rates = {m.model: m.off_language_rate for m in biased.models}
        assert rates["mixed"] == pytest.approx(0.5) and rates["concise"] == 0.0
        unbiased = by_judge(s.language_checks, "hash-a")
        assert abs(unbiased.off_minus_on.value) < 1.0 and not unbiased.favours_off_language


def test_pairwise_position_bias_is_found(report):
    s = stratum(report, "es", "native")
    biased = by_judge(s.position, "first-slot")
    assert biased.swap_consistency.value == 0.0 and biased.first_slot_share.value == 1.0 and biased.biased
    unbiased = by_judge(s.position, "pairwise-hash")
    assert unbiased.swap_consistency.value == 1.0 and not unbiased.biased
    assert unbiased.first_slot_share.value == 0.5  # consistent in both orders: one first-slot win per pair
    assert unbiased.n_pairs == N_ITEMS


def test_repeats_are_real_cached_calls_and_their_spread_is_reported(judged, report):
    items = 2 * N_ITEMS + 30  # the concise model's two Spanish tasks and its Chinese one
    assert judged["repeat_requests"] == 2 * 3 * items  # two judges x three repeats, no invalid verdicts
    s = stratum(report, "es", "native")
    noisy = by_judge(s.consistency, "noisy")
    steady = by_judge(s.consistency, "hash-a-repeated")
    assert noisy.repeats == 3 and noisy.n_items == N_ITEMS
    assert noisy.mean_sd.value > 0.8 and noisy.identical_share.value < 0.2
    assert steady.mean_sd.value == 0.0 and steady.identical_share.value == 1.0
    (rows_path,) = (judged["repeats"] / "concise").glob("judgments_native_es_open_qa_noisy_*.jsonl")
    rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines()]
    assert all(len(r["ratings"]) == 3 and r["rating"] == pytest.approx(sum(r["ratings"]) / 3) for r in rows)


def test_judge_report_writes_json_markdown_and_one_plot_per_diagnostic(judged, tmp_path):
    out = tmp_path / "report"
    code, output = report_cli(
        str(judged["runs"]),
        str(judged["pairwise"]),
        str(judged["repeats"]),
        "--out",
        str(out),
        "--bootstrap",
        "200",
        "--judge-label",
        "hash-b=STAND-IN (hash)",
    )
    assert code == 0, output
    data = json.loads((out / "judge_report.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in data["strata"]] == ["es / native", "es / translated", "zh / native"]
    assert {j["name"]: j["label"] for j in data["judges"]}["hash-b"] == "STAND-IN (hash)"
    markdown = (out / "judge_report.md").read_text(encoding="utf-8")
    assert "hash-b (STAND-IN (hash))" in markdown and "es / translated" in markdown
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    for diagnostic in ("agreement", "position", "length", "language", "consistency"):  # PNG and SVG each
        assert any(name.startswith(f"judge_{diagnostic}-") for name in pngs), diagnostic
        assert f"(plots/{next(n for n in pngs if n.startswith(f'judge_{diagnostic}-'))})" in markdown
    assert len(list((out / "plots").glob("*.svg"))) == len(pngs)
    html = (out / "judge_report.html").read_text(encoding="utf-8")  # the leaderboard's page layout
    assert 'id="section-judge"' in html and "data:image/png;base64," in html
    assert "(hash-b, prompt single_v2)" in markdown and "(first-slot, prompt pairwise_v1)" in markdown
    assert {j["name"]: j["prompts"] for j in data["judges"]}["hash-b"] == ["single_v2"]
    assert "favours off-language answers (english)" in output and "position bias (first-slot)" in output


def test_the_report_is_one_section_of_tables_and_figure_specs(judged):
    section = report_section(build_report([judged["runs"]], resamples=100))
    ids = [t.id for t in section.tables]
    assert any(i.startswith("judge-agreement") for i in ids) and any(
        i.startswith("judge-disagreements") for i in ids
    )
    assert {f.name for f in section.figures} >= {"judge_agreement", "judge_length", "judge_language"}
    for figure in section.figures:  # no empty panel: every panel has something to draw
        assert all(getattr(p, "points", True) for p in figure.panels)
    assert section.id == "judge" and section.title == "Judge diagnostics"


def test_strings_from_results_files_are_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    hostile = "<script>alert(1)</script> | Rating"
    run = write_run(
        tmp_path / "runs",
        "model-x",
        {
            "native_es_open_qa": [
                (f"Pregunta {i}", f"{hostile} respuesta número {i} con algo de texto") for i in range(6)
            ]
        },
    )
    configs = [
        judge_yaml(tmp_path / f"{n}.yaml", name=n, model=n, timeout_s=10.0) for n in ("hash-a", "hash-b")
    ]
    with OpenAIStub(by_model({"hash-a": hash_judge("a"), "hash-b": hash_judge("b")})) as stub:
        code, output = judge_cli(
            str(run),
            "--judge",
            str(configs[0]),
            "--judge",
            str(configs[1]),
            "--base-url",
            stub.base_url,
            "--cache",
            str(tmp_path / "c"),
        )
    assert code == 0, output
    out = tmp_path / "report"
    code, output = report_cli(str(tmp_path / "runs"), "--out", str(out), "--bootstrap", "50")
    assert code == 0, output
    markdown = (out / "judge_report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown and "\\| Rating" in markdown
    assert "<script>alert" not in (out / "judge_report.html").read_text(encoding="utf-8")
    section = report_section(build_report([tmp_path / "runs"], resamples=50))
    disagreements = next(t for t in section.tables if t.id.startswith("judge-disagreements"))
    assert any(
        "<script>" in str(c) for row in disagreements.rows for c in row.cells.values()
    )  # raw: writers escape


# --- bad input ---------------------------------------------------------------------------------------
def test_bad_inputs_are_one_line_errors_and_keep_an_existing_report(judged, tmp_path):
    out = tmp_path / "report"
    code, _ = report_cli(str(judged["repeats"]), "--out", str(out), "--bootstrap", "50")
    assert code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("keep me", encoding="utf-8")
    cases = [
        ([str(tmp_path / "missing"), "--out", str(out)], "no such file or directory"),
        ([str(empty), "--out", str(out)], "no judge outputs"),
        ([str(judged["repeats"]), "--out", str(out), "--judge-label", "nobody=X"], "no judge 'nobody'"),
        ([str(judged["repeats"]), "--out", str(out), "--judge-label", "noisy"], "expected JUDGE=TEXT"),
        ([str(judged["repeats"]), "--out", str(not_a_dir)], "exists and is not a directory"),
        (["--out", str(out)], "give at least one directory"),
    ]
    for args, message in cases:
        code, output = report_cli(*args)
        assert code == 2 and message in output and output.count("\n") == 1, (args, output)
    assert not_a_dir.read_text(encoding="utf-8") == "keep me"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_malformed_judgments_file_names_file_and_line(judged, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(judged["repeats"], copy)
    path = next(copy.rglob("judgments_native_es_open_qa_noisy_*.jsonl"))
    path.write_text(path.read_text(encoding="utf-8") + '{"doc_id": 99}\n', encoding="utf-8")
    code, output = report_cli(str(copy), "--out", str(tmp_path / "r"))
    assert code == 2 and f"{path}:{N_ITEMS + 1}: not a judgments row" in output
    assert not (tmp_path / "r").exists()


def test_two_runs_under_one_model_name_are_an_error_not_merged(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    qa = [(f"Pregunta {i}", f"Respuesta número {i} con algo de texto") for i in range(3)]
    runs = [write_run(tmp_path / side, "model-a", {"native_es_open_qa": qa}) for side in ("one", "two")]
    config = judge_yaml(tmp_path / "hash-a.yaml", name="hash-a", model="hash-a", timeout_s=10.0)
    with OpenAIStub(by_model({"hash-a": hash_judge("a")})) as stub:
        code, output = judge_cli(
            *map(str, runs),
            "--judge",
            str(config),
            "--base-url",
            stub.base_url,
            "--cache",
            str(tmp_path / "c"),
        )
    assert code == 0, output
    code, output = report_cli(str(tmp_path / "one"), str(tmp_path / "two"), "--out", str(tmp_path / "r"))
    assert code == 2 and "rated model 'model-a' on native_es_open_qa doc 0 twice" in output
    assert not (tmp_path / "r").exists()


def test_answers_whose_language_cannot_be_told_leave_the_language_check_empty_not_broken(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    qa = [(f"Pregunta {i}", ".." * (i % 3) or "7") for i in range(6)]  # too short for language identification
    run = write_run(tmp_path / "runs", "model-a", {"native_es_open_qa": qa})
    config = judge_yaml(tmp_path / "hash-a.yaml", name="hash-a", model="hash-a", timeout_s=10.0)
    with OpenAIStub(by_model({"hash-a": hash_judge("a")})) as stub:
        code, output = judge_cli(
            str(run), "--judge", str(config), "--base-url", stub.base_url, "--cache", str(tmp_path / "c")
        )
    assert code == 0, output
    (s,) = build_report([tmp_path / "runs"], resamples=200, seed=0).strata
    (check,) = s.language_checks
    assert (check.n_off, check.n_on) == (0, 0) and check.off_minus_on.value is None
    assert not check.favours_off_language
