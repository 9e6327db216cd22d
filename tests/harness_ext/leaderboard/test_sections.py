"""The leaderboard sections over inputs beyond headline scores: judge diagnostics, tag splits, translationese.

Each appears in Markdown, JSON and HTML when its inputs are among the leaderboard's inputs, and not otherwise.
"""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.leaderboard.columns import benchmark_entry
from nativeval.harness_ext.leaderboard.translationese import TaskProvenance, default_metric
from nativeval.harness_ext.testing.judge_runs import judge_yaml
from nativeval.harness_ext.testing.judge_runs import write_run as write_open_qa_run
from nativeval.harness_ext.testing.judge_standins import by_model, hash_judge
from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.scripted_lm import ScriptedLM, run_scripted, write_script

STAND_IN = "STAND-IN judge <not a real model>"


def leaderboard_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["leaderboard", *args, "--bootstrap", "200"])
    return result.exit_code, result.output


def site(out: Path) -> tuple[str, dict, str]:
    """(all the Markdown: the summary and every details file, the JSON, the HTML)."""
    markdown = "\n".join(
        p.read_text(encoding="utf-8")
        for p in [out / "leaderboard.md", *sorted((out / "details").glob("*.md"))]
    )
    return (
        markdown,
        json.loads((out / "leaderboard.json").read_text(encoding="utf-8")),
        (out / "index.html").read_text(encoding="utf-8"),
    )


def section(page: dict, section_id: str) -> dict | None:
    return next((s for s in page["sections"] if s["id"] == section_id), None)


@pytest.fixture(scope="module")
def no_extras(tmp_path_factory, task_manager) -> tuple[str, dict, str]:
    """The plain leaderboard: lm-eval results of test sets without item tags, no judge outputs, no
    translations of a task beside it."""
    root = tmp_path_factory.mktemp("plain")
    for name, rate in (("good", 0.8), ("bad", 0.2)):
        model = write_script(root / "models" / name, {"translated": rate}, seed=5)
        run_scripted(
            model, ["translated_zh_xquad", "translated_zh_mgsm"], root / "results", task_manager=task_manager
        )
    out = root / "site"
    code, output = leaderboard_cli(str(root / "results"), "--out", str(out))
    assert code == 0, output
    return site(out)


# --- judge diagnostics -----------------------------------------------------------------------------
def test_judge_diagnostics_show_with_judge_outputs_and_their_label(tmp_path, monkeypatch, no_extras):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-sections")
    answers = [
        (f"Pregunta {i}: ¿qué sabes?", "La respuesta " + "muy " * (i % 5) + "larga.") for i in range(20)
    ]
    for model in ("concise", "padded"):
        write_open_qa_run(
            tmp_path / "runs", model, {"native_es_open_qa": answers[: 10 + 10 * (model == "padded")]}
        )
    configs = [
        judge_yaml(tmp_path / f"{name}.yaml", name=name, model=name, timeout_s=10.0) for name in ("ja", "jb")
    ]
    with OpenAIStub(by_model({"ja": hash_judge("a"), "jb": hash_judge("b")})) as stub:
        result = CliRunner().invoke(
            main,
            [
                "judge",
                str(tmp_path / "runs"),
                *[a for c in configs for a in ("--judge", str(c))],
                "--base-url",
                stub.base_url,
                "--cache",
                str(tmp_path / "cache"),
            ],
        )
    assert result.exit_code == 0, result.output
    code, output = leaderboard_cli(
        str(tmp_path / "runs"), "--out", str(tmp_path / "site"), "--judge-label", f"ja={STAND_IN}"
    )
    assert code == 0, output
    markdown, page, html = site(tmp_path / "site")
    judge = section(page, "judge")
    assert judge is not None and judge["tables"]
    agreement = next(t for t in judge["tables"] if t["id"].startswith("judge-agreement"))
    assert any(f"ja ({STAND_IN})" in json.dumps(row, ensure_ascii=False) for row in agreement["rows"])
    assert "## Judge diagnostics" in markdown and "kappa" in markdown and html_escape(STAND_IN) in markdown
    assert (
        "Judge diagnostics" in html
        and "STAND-IN judge &lt;not a real model&gt;" in html
        and STAND_IN not in html
    )
    assert (
        all((tmp_path / "site" / f).is_file() for p in judge["plots"] for f in p["files"]) and judge["plots"]
    )
    assert section(no_extras[1], "judge") is None and "Judge diagnostics" not in no_extras[0] + no_extras[2]


# --- split by item tag ------------------------------------------------------------------------------
class CulturallySensitiveLM(ScriptedLM):
    """On Global-MMLU: the gold answer exactly on CS items (``cs_only``), else never."""

    cs_only = True

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        out = []
        for inst in requests:
            gold = "ABCD".index(inst.doc["answer"])
            right = self.cs_only and inst.doc["cultural_sensitivity_label"] == "CS"
            favoured = gold if right else (gold + 1) % 4
            out.append((0.0 if inst.idx == favoured else -5.0, inst.idx == favoured))
        return out


class AlwaysWrongLM(CulturallySensitiveLM):
    cs_only = False


def test_tag_split_shows_cs_and_ca_and_the_training_gap_per_tag(tmp_path, task_manager, no_extras):
    for variant, lm in (("native", CulturallySensitiveLM), ("google", AlwaysWrongLM)):
        manifest = {
            "base_model": "Base",
            "variant": variant,
            "hyperparameters": {"lr": 1e-4},
            "languages": ["zh"],
            "method": "lora",
            "toy": True,
        }
        model = write_script(tmp_path / "models" / variant, {}, manifest=manifest)
        run_scripted(
            model,
            ["translated_zh_global_mmlu"],
            tmp_path / "results",
            task_manager=task_manager,
            lm=lm(pretrained=str(model)),
        )
    code, output = leaderboard_cli(str(tmp_path / "results"), "--out", str(tmp_path / "site"))
    assert code == 0, output
    markdown, page, html = site(tmp_path / "site")
    tags = section(page, "tags")
    assert tags is not None
    split = next(
        t for t in tags["tables"] if t["id"].startswith("tags-") and "cultural_sensitivity_label" in t["id"]
    )
    titles = {c["key"]: c["title"] for c in split["columns"]}
    cs = next(k for k, t in titles.items() if t == "cultural_sensitivity_label = CS")
    ca = next(k for k, t in titles.items() if t == "cultural_sensitivity_label = CA")
    native = next(r for r in split["rows"] if r["variant"] == "native")
    wrong = next(r for r in split["rows"] if r["variant"] == "google")
    assert (
        native[cs]["value"] == 100.0 and native[ca]["value"] == 0.0 and native["contrast"]["value"] == 100.0
    )
    assert wrong[cs]["value"] == 0.0 and wrong["contrast"]["value"] == 0.0
    gap = next(t for t in tags["tables"] if t["id"].startswith("tag-gap-"))
    (row,) = gap["rows"]
    assert row["against"] == "google" and row["difference"]["value"] == 100.0
    assert "the translated-data penalty is 100.0 points larger on CS items than on CA items" in markdown
    assert "## Split by item tag" in markdown and "Split by item tag" in html
    assert section(no_extras[1], "tags") is None and "Split by item tag" not in no_extras[0] + no_extras[2]


# --- translationese --------------------------------------------------------------------------------
def test_translationese_shows_a_source_and_its_round_trip(tmp_path, task_manager, no_extras):
    """A round trip written as `translate-task` writes it: the source's items, provenance naming the
    source."""
    model = write_script(tmp_path / "model", {"translated_zh_xquad": 1.0}, seed=3)
    run_scripted(
        model, ["translated_zh_xquad"], tmp_path / "results", task_manager=task_manager, label="scripted"
    )
    (results,) = (tmp_path / "results").rglob("results_*.json")
    data = json.loads(results.read_text(encoding="utf-8"))
    stamp = results.stem.removeprefix("results_")
    source, rtt = "translated_zh_xquad", "rtt_zh_xquad"
    config = json.loads(json.dumps(data["configs"][source]))
    prov = config["metadata"]["provenance"]
    config["task"] = rtt
    prov.update({"task": rtt, "origin": "round_trip_translated", "source_task": prov["task"]})
    data["configs"][rtt], data["results"][rtt] = config, dict(data["results"][source])
    results.write_text(json.dumps(data), encoding="utf-8")
    metric, _ = default_metric(prov["benchmark"], TaskProvenance.from_json(prov))
    rows = [
        json.loads(line)
        for line in (results.parent / f"samples_{source}_{stamp}.jsonl").read_text().splitlines()
    ]
    full = rows[0][metric]
    for row in rows[::2]:  # the round trip loses every other item
        row[metric] = 0.0
    (results.parent / f"samples_{rtt}_{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    scale = 100.0 if benchmark_entry(prov["benchmark"], "translated").percent else 1.0
    code, output = leaderboard_cli(str(tmp_path / "results"), "--out", str(tmp_path / "site"))
    assert code == 0, output
    markdown, page, html = site(tmp_path / "site")
    found = section(page, "translationese")
    assert found is not None
    (row,) = found["tables"][0]["rows"]
    assert row["model"] == "scripted" and row["origin"] == "round trip" and row["n"] == len(rows)
    assert full > 0 and row["source"] == pytest.approx(full * scale)
    assert row["sensitivity"] == pytest.approx(full * scale * len(rows[::2]) / len(rows))
    # the fixture's items share one passage: clustered by the catalogue's unit, one cluster gives no interval
    assert row.get("ci") is None and row.get("p") is None
    # one cluster: no minimum detectable effect, said as such; the ranking shows no clustered SE for it
    uncertainty = {r["benchmark"]: r for r in section(page, "uncertainty")["tables"][0]["rows"]}
    assert "n/a" in [r.get("mde") for r in uncertainty.values()]
    assert "## Translationese sensitivity" in markdown and "Translationese sensitivity" in html
    assert section(no_extras[1], "translationese") is None
    assert "Translationese sensitivity" not in no_extras[0] + no_extras[2]
