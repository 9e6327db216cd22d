"""Leaderboards from lm-eval results made by nativeval's own tasks (scripted models, fixture data)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.leaderboard.build import build_leaderboard, make_page, write_site
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import measured_scores
from nativeval.harness_ext.leaderboard.results_files import load_run
from nativeval.harness_ext.leaderboard.runs import load_runs
from nativeval.harness_ext.leaderboard.sections.origins import origin_scores, rank_flips
from nativeval.harness_ext.leaderboard.task_columns import task_column
from nativeval.harness_ext.report.naming import unique_labels
from nativeval.harness_ext.report.tables import Section, Table
from nativeval.harness_ext.testing.scripted_lm import run_scripted, write_script

REPO = Path(__file__).resolve().parents[3]
CMMLU = ColumnKey("cmmlu", "zh", "acc", "native")
XQUAD = ColumnKey("xquad", "zh", "exact_match", "human_translated")
MT_MMLU = ColumnKey("mt_mmlu", "zh", "acc", "machine_translated")
MGSM = ColumnKey("mgsm", "zh", "exact_match", "human_translated")


@pytest.fixture(scope="module")
def models_board(unrelated_models):
    return build_leaderboard([unrelated_models], resamples=1000, seed=0)


@pytest.fixture(scope="module")
def study_board(variant_study):
    return build_leaderboard([variant_study], reference="paper", resamples=1000, seed=0)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "leaderboard", *args], cwd=REPO, capture_output=True, text=True
    )


def section(page, section_id: str):
    return next(s for s in page.sections if s.id == section_id)


def details_md(site: Path, section_id: str) -> str:
    return (site / "details" / f"{section_id}.md").read_text(encoding="utf-8")


def results_file(root: Path, model: str) -> Path:
    return next(p for p in sorted(root.rglob("results_*.json")) if model in str(p))


# --- reading -----------------------------------------------------------------------------------------------
def test_columns_and_headlines_come_from_the_catalogue(unrelated_models):
    run = load_run(results_file(unrelated_models, "alpha"))
    assert {CMMLU, XQUAD, MT_MMLU} <= set(run.scores)
    assert run.scores[CMMLU].metric_key == "acc,none" and run.scores[CMMLU].n == 134
    assert len(set(run.scores[CMMLU].clusters.values())) == 67  # clusters: the subjects (group members)
    data = json.loads(results_file(unrelated_models, "alpha").read_text(encoding="utf-8"))
    assert run.scores[CMMLU].value == pytest.approx(100 * data["results"]["native_zh_cmmlu"]["acc,none"])
    assert len(set(run.scores[XQUAD].clusters.values())) >= 1  # XQuAD: one cluster per passage (context)
    if "exact_match,strict-match" in data["results"]["translated_zh_mgsm"]:
        assert run.scores[MGSM].metric_key == "exact_match,strict-match"
    else:  # MGSM written with other metric names: not shown, with the note, never an alphabetical pick
        assert MGSM not in run.scores
        assert "not shown: no headline metric for benchmark MGSM zh" in run.missing_headline[MGSM]


def test_mgsm_under_lm_evals_names_is_shown_in_percent_beside_the_paper(unrelated_models, tmp_path):
    copy = tmp_path / "mgsm"
    shutil.copytree(unrelated_models, copy)
    for path in copy.rglob("results_*.json"):  # the metric names lm-eval's mgsm_native_cot_* report
        data = json.loads(path.read_text(encoding="utf-8"))
        task = data["results"]["translated_zh_mgsm"]
        task["exact_match,strict-match"] = task.pop("exact_match_strict,none", 0.0)
        task["exact_match,flexible-extract"] = task.pop("exact_match_flexible,none", 0.0)
        path.write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([copy], reference="paper", resamples=200)
    gamma = next(e for e in board.entries if e.label == "gamma")
    raw = json.loads(results_file(copy, "gamma").read_text(encoding="utf-8"))
    assert gamma.values[MGSM] == pytest.approx(
        100 * raw["results"]["translated_zh_mgsm"]["exact_match,strict-match"]
    )
    # published MGSM zh lines up with the measured column (cross-language averages are no longer repeated: the
    # findings pool the per-language cells)
    assert sum(MGSM in e.values for e in board.entries if e.kind == "reference") >= 30
    assert board.missing_headline == []


def test_plain_lm_eval_tasks_fall_back_to_their_own_first_metric():
    config = {"metric_list": [{"metric": "acc_norm"}, {"metric": "acc"}], "metadata": {"version": 1}}
    column = task_column("arc_easy", config)
    assert (column.benchmark, column.metric, column.filter, column.origin, column.known) == (
        "arc_easy",
        "acc_norm",
        "none",
        "unknown",
        False,
    )
    assert task_column("xnli_zh", {}).language == "zh"
    record = {
        "metadata": {"provenance": {"origin": "machine_translated", "language": "es", "benchmark": "mt_mmlu"}}
    }
    assert task_column("my_task", record).benchmark == "mt_mmlu"
    native = task_column("native_zh_open_qa", None)
    translated = task_column("translated_zh_open_qa", None)
    assert (native.origin, translated.origin) == ("native", "human_translated")


def test_open_qa_native_and_translated_are_different_columns_end_to_end():
    native = ColumnKey("open_qa", "zh", "rating", "native")
    translated = ColumnKey("open_qa", "zh", "rating", "human_translated")
    assert native != translated and native.slug != translated.slug
    assert native.display.endswith("(native)") and translated.display.endswith("(translated)")
    assert "(translated) (translated)" not in translated.display


def test_default_labels_are_unique_path_suffixes_and_hub_ids_stay():
    labels = unique_labels(["/x/a/final", "/x/b/final", "Qwen/Qwen1.5-7B", "gpt2", "/m/solo"])
    assert labels["/x/a/final"] == "a/final" and labels["/x/b/final"] == "b/final"
    assert labels["Qwen/Qwen1.5-7B"] == "Qwen/Qwen1.5-7B" and labels["gpt2"] == "gpt2"
    assert labels["/m/solo"] == "solo"


def test_two_models_in_directories_called_final_stay_two_rows(tmp_path, task_manager):
    for parent in ("a", "b"):
        model = write_script(tmp_path / parent / "final", {"translated": 1.0 if parent == "a" else 0.0})
        run_scripted(model, ["translated_zh_xquad"], tmp_path / "out", task_manager=task_manager)
    board = build_leaderboard([tmp_path / "out"], resamples=200)
    assert sorted(e.label for e in board.entries) == ["a/final", "b/final"] and board.superseded == []


def test_the_label_in_the_results_json_wins(tmp_path, task_manager):
    model = write_script(tmp_path / "m" / "final", {"translated": 1.0})
    run_scripted(
        model, ["translated_zh_xquad"], tmp_path / "out", label="my <model>", task_manager=task_manager
    )
    data = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text(encoding="utf-8"))
    assert data["nativeval"] == {"label": "my <model>"}
    board = build_leaderboard([tmp_path / "out"], resamples=200)
    assert [e.label for e in board.entries] == ["my <model>"]


# --- rankings, origins, flips -------------------------------------------------------------------------------
def test_rankings_per_benchmark_with_cis(models_board):
    page = make_page(models_board)
    rankings = next(s for s in page.sections if s.id == "rankings")
    cmmlu = next(t for t in rankings.tables if t.id == f"ranking-{CMMLU.slug}")
    assert [r.cells["model"] for r in cmmlu.rows] == ["alpha", "beta", "gamma"]
    for row in cmmlu.rows:
        low, high = row.cells["ci"]
        assert low <= row.cells["score"] <= high
        assert (
            row.cells["clusters"] == 67 and row.cells["se"] is not None and row.cells["se_naive"] is not None
        )


def test_native_and_translated_scores_tau_and_named_flips(models_board):
    native = origin_scores(models_board, "zh", "native")
    translated = origin_scores(models_board, "zh", "translated")
    label = {i: models_board.entries[i].label for i in native}
    assert sorted(native, key=lambda i: -native[i].value) == [
        i for n in ("alpha", "beta", "gamma") for i in native if label[i] == n
    ]
    assert all(s.ci is not None and s.ci[0] <= s.value <= s.ci[1] for s in native.values())
    tau, flips = rank_flips(models_board, native, translated)
    assert tau == pytest.approx(-1.0)  # planted: translated order is the reverse of the native one
    named = {(label[f.above_translated], label[f.above_native]) for f in flips}
    assert named == {("gamma", "alpha"), ("gamma", "beta"), ("beta", "alpha")}
    biggest = flips[0]
    assert (label[biggest.above_translated], label[biggest.above_native]) == ("gamma", "alpha")
    assert biggest.ci[0] > 0  # the native advantage of alpha over gamma is real


def test_flips_are_named_on_the_page(models_board, tmp_path):
    write_site(models_board, tmp_path, make_plots=False)
    md = details_md(tmp_path, "origins")  # the details of the page: one Markdown file per section
    assert "translated_zh ranks gamma above alpha; native_zh ranks alpha above gamma" in md
    assert "Kendall τ = -1.00" in md


def test_pairwise_matrix_and_holm(models_board):
    page = make_page(models_board)
    pairwise = next(s for s in page.sections if s.id == "pairwise")
    matrix = next(t for t in pairwise.tables if t.id == f"matrix-{CMMLU.slug}")
    cells = {r.cells["model"]: r for r in matrix.rows}
    assert cells["alpha"].cells["m2"] == ">" and cells["gamma"].cells["m0"] == "<"  # planted 90% vs 30%
    pairs = next(t for t in pairwise.tables if t.id == f"pairs-{CMMLU.slug}")
    assert all(r.cells["test"] == "paired cluster bootstrap" for r in pairs.rows)  # CMMLU clusters by subject
    assert all(r.cells["p_holm"] >= r.cells["p"] for r in pairs.rows if r.cells["p"] is not None)


def test_uncertainty_reports_clustered_beside_naive_and_the_mde(models_board):
    page = make_page(models_board)
    table = next(s for s in page.sections if s.id == "uncertainty").tables[0]
    cmmlu = next(r for r in table.rows if r.cells["benchmark"].startswith("CMMLU"))
    assert cmmlu.cells["unit"] == "subject" and cmmlu.cells["clusters"] == 67 and cmmlu.cells["n"] == 134
    assert cmmlu.cells["se"] > 0 and cmmlu.cells["se_naive"] > 0
    pair_se = [e.se for e in models_board.stats[CMMLU].pair_estimates]
    assert cmmlu.cells["mde"] == pytest.approx((1.959964 + 0.841621) * float(np.median(pair_se)), rel=1e-5)
    assert 5 < cmmlu.cells["mde"] < 40


def test_baseline_model_compares_everyone_against_it(unrelated_models):
    board = build_leaderboard([unrelated_models], resamples=500, baseline_model="beta")
    table = next(s for s in make_page(board).sections if s.id == "baseline").tables[0]
    cmmlu = {
        r.cells["model"]: r.cells["delta"] for r in table.rows if r.cells["benchmark"].startswith("CMMLU")
    }
    assert cmmlu["alpha"] > 0 > cmmlu["gamma"]
    by_part = build_leaderboard([unrelated_models], resamples=200, baseline_model="BET")  # a part of a label
    assert by_part.baseline_model == "beta"
    with pytest.raises(InputError, match="--baseline nobody: no measured row's variant or label matches"):
        build_leaderboard([unrelated_models], resamples=200, baseline_model="nobody")
    with pytest.raises(InputError, match="--baseline a: matches 3 rows"):
        build_leaderboard([unrelated_models], resamples=200, baseline_model="a")


def test_baseline_by_variant_name(study_board, variant_study):
    board = build_leaderboard([variant_study], resamples=200, baseline_model="BaseA-1B · google")
    assert board.baseline_model == "BaseA-1B · google · 1e-4 · mono · lora"
    with pytest.raises(InputError, match="matches 2 rows"):  # the variant alone: one per base model
        build_leaderboard([variant_study], resamples=200, baseline_model="google")


# --- variant studies ---------------------------------------------------------------------------------------
def test_manifests_label_rows_and_study_columns_appear(study_board):
    measured = study_board.measured
    assert {(e.key.base_model, e.key.variant, e.key.lr, e.key.tuning, e.key.method) for e in measured} == {
        (base, variant, "1e-4", "mono", "lora")
        for base in ("BaseA-1B", "BaseB-7B")
        for variant in ("native", "google", "cohere")
    }
    scores = section(make_page(study_board), "scores").tables[0]
    assert {"variant", "lr", "tuning", "method"} <= {c.key for c in scores.visible_columns()}


def test_study_columns_are_hidden_without_manifests(models_board):
    scores = section(make_page(models_board), "scores").tables[0]
    assert not {"variant", "lr", "tuning", "method"} & {c.key for c in scores.visible_columns()}


def test_findings_find_the_planted_gap_on_native_test_sets_only(study_board):
    """Planted: native-trained +40 points on CMMLU (native), equal on the translated test sets."""
    page = make_page(study_board)
    pooled = {
        (f["benchmark"], f["kind"]): f
        for f in page.data["findings"]
        if f["translator"] == "pooled"
        and f["lr"] == "1e-4"
        and f["tuning"] == "mono"
        and f["headline"]
        and f["language"] in ("zh", "all")
    }
    cmmlu = pooled[("cmmlu", "measured")]
    assert 25 < cmmlu["gap"] < 55 and cmmlu["ci_low"] > 0 and cmmlu["verdict"] == "separates"
    for benchmark in ("xquad", "mt_mmlu"):
        assert pooled[(benchmark, "measured")]["verdict"] != "separates"  # (the fixture's XQuAD: one passage)
    interaction = next(
        i
        for i in page.data["interactions"]
        if i["kind"] == "measured" and i["name"] == "native_minus_translated"
    )
    assert interaction["ci_low"] > 0 and interaction["verdict"] == "separates"
    summary = section(page, "findings")
    assert summary.summary and page.sections[0] is summary  # the finding first
    assert any(
        r.cells["test_set"].startswith("CMMLU") and r.cells["verdict"] == "separates"
        for r in summary.tables[0].rows
    )


def test_the_published_numbers_reproduce_the_study(tmp_path):
    """Done when: --reference paper alone gives findings that separate on TyDi QA, CMMLU, XQuAD and
    GPT-4-judged translated open QA at 1e-4 mono, and not on MGSM and MT-MMLU; the Claims section shows each
    claim."""
    proc = run_cli("--reference", "paper", "--out", str(tmp_path / "site"), "--bootstrap", "200")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text(encoding="utf-8"))
    required = {
        "benchmark",
        "language",
        "metric",
        "lr",
        "tuning",
        "judge",
        "gap",
        "ci_low",
        "ci_high",
        "verdict",
    }
    assert data["findings"] and all(required <= set(f) for f in data["findings"])
    main = {
        (f["benchmark"], f["origin"], f["judge"]): f
        for f in data["findings"]
        if f["lr"] == "1e-4"
        and f["tuning"] == "mono"
        and f["translator"] == "pooled"
        and f["headline"]
        and (f["language"] == "all" or f["benchmark"] in ("tydiqa", "cmmlu"))
    }
    for key in (
        ("tydiqa", "native", None),
        ("cmmlu", "native", None),
        ("xquad", "human_translated", None),
        ("open_qa", "human_translated", "gpt-4-turbo"),
    ):
        assert main[key]["verdict"] == "separates", key
    for key in (
        ("mgsm", "human_translated", None),
        ("mt_mmlu", "machine_translated", None),
        ("open_qa", "human_translated", "command-r-plus"),
    ):
        assert main[key]["verdict"] != "separates", key
    assert main[("mgsm", "human_translated", None)]["gap"] == pytest.approx(0.4, abs=0.05)
    assert {c["key"] for c in data["claims"]} == set("abcdef")
    claims = details_md(tmp_path / "site", "claims")
    assert "Constrained translated test sets hide the gap" in claims and "supported" in claims
    # every finding, one table per training configuration (not one table of hundreds of rows)
    every = details_md(tmp_path / "site", "findings-all")
    configs = sorted({(f["lr"], f["tuning"]) for f in data["findings"]})
    assert len(configs) > 1 and all(f"Published numbers, {lr} · {tuning}:" in every for lr, tuning in configs)
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert (
        html.index('id="section-findings"')
        < html.index('id="contents"')
        < html.index('id="section-reference"')
    )


def test_reference_rows_stand_apart_from_measured_rows(unrelated_models, tmp_path):
    board = build_leaderboard([unrelated_models], reference="paper", resamples=200)
    assert XQUAD in {c for e in board.published for c in e.values}  # published XQuAD zh: the measured column
    open_qa = ColumnKey("open_qa", "zh", "rating", "human_translated", judge="gpt-4-turbo")
    ratings = [e.values[open_qa] for e in board.published if open_qa in e.values]
    assert ratings and all(1.0 <= r <= 5.0 for r in ratings)  # published sums over 50 shown as mean ratings
    page = make_page(board)
    scores = section(page, "scores").tables[0]
    assert len(scores.rows) == 3 and all("reference" not in r.tags for r in scores.rows)  # never interleaved
    reference = section(page, "reference").tables[0]
    assert len(reference.rows) == len(board.published) and all("reference" in r.tags for r in reference.rows)
    write_site(board, tmp_path, make_plots=False)
    md = details_md(tmp_path, "reference")
    assert md.count("arXiv 2406.12822") == 1  # the citation once, not in every row


# --- outputs ---------------------------------------------------------------------------------------------
def test_cli_writes_every_output_and_every_plot(variant_study, unrelated_models, tmp_path, csv_columns):
    site = tmp_path / "site"
    proc = run_cli(
        str(variant_study),
        str(unrelated_models),
        "--out",
        str(site),
        "--reference",
        "paper",
        "--bootstrap",
        "300",
        "--title",
        "Study <b>",
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard_tidy.csv",
        "index.html",
        "leaderboard.json",
    ):
        assert (site / name).is_file()
    data = json.loads((site / "leaderboard.json").read_text(encoding="utf-8"))
    plots = [f for s in data["sections"] for p in s["plots"] for f in p["files"]]
    assert plots and all((site / f).is_file() for f in plots)
    names = " ".join(plots)
    for kind in (
        "findings_gap",
        "dots_",
        "origin_scatter_zh",
        "measured_variant_bars",
        "measured_gap_vs_native",
        "reference_variant_bars",
        "reference_gap_vs_native",
    ):
        assert kind in names
    assert any(f.endswith(".png") for f in plots) and any(f.endswith(".svg") for f in plots)
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "Study &lt;b&gt;" in html and "Study <b>" not in html
    md = (site / "leaderboard.md").read_text(encoding="utf-8")
    assert "Study &lt;b&gt;" in md and "Toy/demo data" in md
    assert "## Findings" in md and "## Ranking" in md and "(details/scores.md)" in md  # summary + links
    assert len(md.splitlines()) < 150
    with open(site / "leaderboard.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    scores_md = details_md(site, "scores")
    md_header = next(line for line in scores_md.splitlines() if line.startswith("| model"))
    md_columns = [c.strip() for c in md_header.strip("|").split("|")]
    assert csv_columns(header) == md_columns
    for section in data["sections"]:
        for table in section["tables"]:
            csv_path = site / (
                "leaderboard.csv" if table["id"] == "leaderboard" else f"tables/{table['id']}.csv"
            )
            assert csv_path.is_file(), table["id"]
    with open(site / "leaderboard_tidy.csv", encoding="utf-8") as fh:
        tidy = list(csv.DictReader(fh))
    assert all(re.fullmatch(r"[a-z_]+", name) for name in tidy[0])  # ASCII snake_case headers
    alpha = [r for r in tidy if r["model"] == "alpha" and r["benchmark"] == "cmmlu"]
    assert len(alpha) == 1 and float(alpha[0]["ci_low"]) <= float(alpha[0]["value"]) <= float(
        alpha[0]["ci_high"]
    )
    assert {r["kind"] for r in tidy} == {"measured", "published"}


def test_format_json_writes_only_json(unrelated_models, tmp_path):
    proc = run_cli(
        str(unrelated_models), "--out", str(tmp_path / "j"), "--format", "json", "--bootstrap", "200"
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["leaderboard.json"]


def test_push_to_hub_offline_is_a_clear_error(unrelated_models, tmp_path):
    proc = run_cli(
        str(unrelated_models),
        "--out",
        str(tmp_path / "s"),
        "--format",
        "json",
        "--bootstrap",
        "200",
        "--push-to-hub",
        "me/board",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --push-to-hub")


def test_adding_a_section_is_one_function(models_board, tmp_path):
    def judge_diagnostics(board) -> Section:
        table = Table("judge-diagnostics", "", [])
        return Section(
            "judge", "Judge diagnostics", notes=[f"{len(board.entries)} rows judged"], tables=[table]
        )

    write_site(models_board, tmp_path, make_plots=False, extra_sections=[judge_diagnostics])
    assert "## Judge diagnostics" in details_md(tmp_path, "judge")
    assert 'id="section-judge"' in (tmp_path / "index.html").read_text(encoding="utf-8")


# --- bad input ---------------------------------------------------------------------------------------------
def test_corrupt_and_foreign_files_are_skipped_with_one_line_each(unrelated_models, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(unrelated_models, mixed)
    (mixed / "results_bogus.json").write_text('{"hello": "world"}', encoding="utf-8")
    (mixed / "results_broken.json").write_text("{not json", encoding="utf-8")
    foreign = json.loads(results_file(mixed, "alpha").read_text(encoding="utf-8"))
    foreign["lm_eval_version"] = "0.3.0"
    (mixed / "results_old.json").write_text(json.dumps(foreign), encoding="utf-8")
    proc = run_cli(str(mixed), "--out", str(tmp_path / "site"), "--format", "json", "--bootstrap", "200")
    assert proc.returncode == 0
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: skipped")]
    assert len(warnings) == 3
    assert any("results_bogus.json: not an lm-eval results file" in w for w in warnings)
    assert any("results_broken.json" in w and "malformed JSON" in w for w in warnings)
    assert any("results_old.json: written by lm-eval 0.3.0" in w for w in warnings)
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text(encoding="utf-8"))
    scores = next(s for s in data["sections"] if s["id"] == "scores")
    assert len(scores["tables"][0]["rows"]) == 3


def test_missing_samples_give_na_with_a_note(unrelated_models, tmp_path):
    copy = tmp_path / "nosamples"
    shutil.copytree(unrelated_models, copy)
    for path in copy.rglob("samples_*.jsonl"):
        path.unlink()
    board = build_leaderboard([copy], resamples=200)
    assert board.stats == {}
    write_site(board, tmp_path / "site", make_plots=False)
    md = (tmp_path / "site" / "leaderboard.md").read_text(encoding="utf-8")
    assert "[CI n/a]" in details_md(tmp_path / "site", "scores")
    assert (
        md.count("no per-item samples: run lm_eval with --log_samples") == 1
    )  # said once, in the page's notes


def test_one_model_in_separate_runs_is_one_row(tmp_path, task_manager):
    model = write_script(tmp_path / "models" / "solo", {"native": 0.5, "translated": 0.5})
    run_scripted(model, ["translated_zh_xquad"], tmp_path / "out", task_manager=task_manager)
    run_scripted(model, ["translated_zh_mt_mmlu"], tmp_path / "out", task_manager=task_manager)
    board = build_leaderboard([tmp_path / "out"], resamples=200)
    assert len(board.entries) == 1 and {XQUAD, MT_MMLU} <= set(board.entries[0].values)
    assert board.superseded == []


def test_duplicate_runs_newest_wins_and_the_superseded_file_is_named(tmp_path, task_manager):
    model = write_script(tmp_path / "models" / "twice", {"translated": 0.0})
    run_scripted(model, ["translated_zh_xquad"], tmp_path / "out", task_manager=task_manager)
    older = next((tmp_path / "out").rglob("results_*.json"))
    write_script(model, {"translated": 1.0})
    run_scripted(model, ["translated_zh_xquad"], tmp_path / "out", task_manager=task_manager)
    board = build_leaderboard([tmp_path / "out"], resamples=200)
    assert board.entries[0].values[XQUAD] == pytest.approx(100.0)
    assert len(board.superseded) == 1 and str(older) in board.superseded[0]


def test_limit_runs_are_marked_everywhere(tmp_path, task_manager):
    model = write_script(tmp_path / "models" / "quick", {"native": 1.0})
    run_scripted(model, ["native_zh_cmmlu"], tmp_path / "out", limit=1, task_manager=task_manager)
    board = build_leaderboard([tmp_path / "out"], resamples=200)
    write_site(board, tmp_path / "site", make_plots=False)
    md = (tmp_path / "site" / "leaderboard.md").read_text(encoding="utf-8")
    assert "Runs made with lm-eval --limit (quick)" in md and "n=67 limit" in details_md(
        tmp_path / "site", "scores"
    )
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'class="col-native num limited"' in html and "--limit" in html
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text(encoding="utf-8"))
    row = next(s for s in data["sections"] if s["id"] == "scores")["tables"][0]["rows"][0]
    assert row[CMMLU.slug]["limited"] is True and row[CMMLU.slug]["n"] == 67
    assert row["limit"] == "1"
    with open(tmp_path / "site" / "leaderboard.csv", encoding="utf-8") as fh:
        record = next(csv.DictReader(fh))
    assert record["lm-eval --limit"] == "1" and record["CMMLU zh · accuracy (%) n"] == "67"


def test_zero_models_is_one_line_exit_2_and_keeps_existing_output(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("previous site", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "results_x.json").write_text("[]", encoding="utf-8")
    proc = run_cli(str(empty), "--out", str(site))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: no lm-eval results found")
    assert "Traceback" not in proc.stderr
    assert (site / "index.html").read_text(encoding="utf-8") == "previous site"
    missing = run_cli(str(tmp_path / "nope"), "--out", str(site))
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr


def test_bad_reference_csv_is_an_input_error(tmp_path):
    bad = tmp_path / "ref.csv"
    bad.write_text("benchmark,score\nxquad,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks column"):
        build_leaderboard([], reference=str(bad))


def write_judgments(
    results: Path, judge: str, ratings: list[int], keep_label: bool = False, prompt_version: str = "single_v2"
) -> None:
    """A judge's output beside an lm-eval run, in the shape `nativeval judge` writes."""
    header = json.loads(results.read_text(encoding="utf-8"))
    stamp = results.stem[len("results_") :]
    judge_doc = {
        "results": {
            "native_zh_open_qa": {
                "alias": "native_zh_open_qa",
                f"rating,{judge}": sum(ratings) / len(ratings),
                f"rating_stderr,{judge}": "N/A",
                f"n,{judge}": len(ratings),
                f"invalid,{judge}": 0,
            }
        },
        "group_subtasks": {"native_zh_open_qa": []},
        "configs": {"native_zh_open_qa": {"task": "native_zh_open_qa"}},
        "versions": {"native_zh_open_qa": 1.0},
        "n-shot": {"native_zh_open_qa": 0},
        "model_name": header["model_name"],
        "config": header["config"],
        "judge": {"name": judge, "prompt_version": prompt_version},
    }
    if keep_label:
        judge_doc["nativeval"] = header["nativeval"]
    (results.parent / f"results_judge_{judge}_{stamp}.json").write_text(
        json.dumps(judge_doc), encoding="utf-8"
    )
    rows = [
        {
            "task": "native_zh_open_qa",
            "doc_id": i,
            "rating": r,
            "valid": True,
            "judge": judge,
            "question": f"q{i}",
            "response": "答案" * (i + 1),
        }
        for i, r in enumerate(ratings)
    ]
    (results.parent / f"judgments_native_zh_open_qa_{judge}_{stamp}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )


def test_judge_outputs_join_their_model_row(unrelated_models, tmp_path):
    copy = tmp_path / "judged"
    shutil.copytree(unrelated_models, copy)
    for results in sorted(copy.rglob("results_*.json")):
        write_judgments(results, "gpt4", [5, 4, 5, 4] if "alpha" in str(results) else [2, 3, 2, 2])
    board = build_leaderboard([copy], resamples=500)
    open_qa = ColumnKey("open_qa", "zh", "rating", "native")
    assert board.superseded == [] and board.warnings == []
    alpha = next(e for e in board.entries if e.label == "alpha")
    assert alpha.values[open_qa] == pytest.approx(4.5) and len(alpha.items[open_qa]) == 4
    assert CMMLU in alpha.values  # the lm-eval run's scores stay on the same row
    assert len(board.stats[open_qa].pairs) == 3
    # the judge's prompt version, read once with its results, goes with the rating to the findings
    assert alpha.judge_prompts[open_qa] == {"gpt4": "single_v2"}
    (rating,) = [
        s for s in measured_scores(board) if s.test_set.metric == "rating" and s.value == pytest.approx(4.5)
    ]
    assert (rating.judge, rating.judge_prompt) == ("gpt4", "single_v2")


def test_several_judges_of_the_same_answers_are_one_column_clustered_by_prompt(unrelated_models, tmp_path):
    copy = tmp_path / "judged"
    shutil.copytree(unrelated_models, copy)
    for results in sorted(copy.rglob("results_*.json")):
        good = "alpha" in str(results)
        write_judgments(results, "gpt4", [5, 4, 5, 4] if good else [2, 3, 2, 2])
        write_judgments(results, "claude", [4, 4, 5, 5] if good else [1, 2, 2, 3], prompt_version="single_v3")
    board = build_leaderboard([copy], resamples=500)
    open_qa = ColumnKey("open_qa", "zh", "rating", "native")
    assert board.superseded == []  # a second judge is not a duplicate run
    alpha = next(e for e in board.entries if e.label == "alpha")
    assert alpha.values[open_qa] == pytest.approx((18 + 18) / 8) and len(alpha.items[open_qa]) == 8
    assert alpha.n[open_qa] == 4 and len(set(alpha.clusters[open_qa].values())) == 4
    assert alpha.judge_prompts[open_qa] == {"gpt4": "single_v2", "claude": "single_v3"}
    estimate = board.estimate(alpha, open_qa)
    assert (
        estimate.method == "cluster-robust t(G-1)" and estimate.n_clusters == 4
    )  # few clusters: t, not bootstrap


def test_judged_items_of_a_task_whose_name_extends_another_are_not_mixed_in(tmp_path):
    from nativeval.harness_ext.core.io import atomic_write_jsonl
    from nativeval.harness_ext.leaderboard.samples import judged_item_scores

    results = tmp_path / "results_2026.json"
    row = {"judge": "gpt-4-turbo", "doc_id": 0}
    atomic_write_jsonl(
        tmp_path / "judgments_native_zh_open_qa_gpt-4-turbo_2026.jsonl",
        [{**row, "task": "native_zh_open_qa", "rating": 2}],
    )
    atomic_write_jsonl(
        tmp_path / "judgments_native_zh_open_qa_v2_gpt-4-turbo_2027.jsonl",
        [{**row, "task": "native_zh_open_qa_v2", "rating": 5}],
    )
    assert judged_item_scores(results, "native_zh_open_qa", "gpt-4-turbo") == {"0": 2.0}
    assert judged_item_scores(results, "native_zh_open_qa_v2", "gpt-4-turbo") == {"0": 5.0}


def test_every_catalogue_benchmark_declares_the_leaderboard_fields():
    from nativeval.harness_ext.catalogue import catalogue

    for task in catalogue().tasks:
        bench = task.benchmark
        assert bench.title and bench.headline is not None, bench.source_file
        assert isinstance(bench.percent, bool)
        assert bench.cluster_unit in (None, "subject") or isinstance(bench.cluster_unit, str)
    assert not (REPO / "harness_ext" / "leaderboard" / "benchmarks.json").exists()
    assert load_runs([]).runs == []


def test_item_tag_values_are_read_for_split_sections(unrelated_models):
    from nativeval.harness_ext.leaderboard.samples import read_item_scores

    samples = next(
        p for p in sorted(unrelated_models.rglob("samples_translated_zh_xquad_*.jsonl")) if "alpha" in str(p)
    )
    tags: dict[str, dict[str, str]] = {}
    scores, clusters = read_item_scores(
        samples, "exact_match", "none", unit="context", tag_fields=("id",), tags=tags
    )
    assert set(tags) == set(scores) == set(clusters) and all("id" in t for t in tags.values())
    assert len({t["id"] for t in tags.values()}) == len(scores)  # XQuAD ids: one per question


def test_rows_keep_a_fixed_order_whatever_order_the_runs_finished_in(study_board):
    # the fixture ran native, google, cohere in turn; rows are model, then the baseline variant, then the
    # others
    measured = [(e.key.base_model, e.key.variant) for e in study_board.measured]
    assert measured == [
        (base, variant) for base in ("BaseA-1B", "BaseB-7B") for variant in ("native", "cohere", "google")
    ]


# --- safety (issue 23's leaderboard items) ------------------------------------------------------------------
def test_a_hostile_language_in_a_results_file_never_becomes_a_path(unrelated_models, tmp_path):
    copy = tmp_path / "deep" / "er" / "results"
    shutil.copytree(unrelated_models, copy)
    for path in copy.rglob("results_*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        config = json.loads(json.dumps(data["configs"]["translated_zh_mt_mmlu"]))
        config["metadata"] = {
            "provenance": {
                "benchmark": "mt_mmlu",
                "origin": "machine_translated",
                "language": "../../../../pwned",
            }
        }
        data["configs"]["my_mmlu"], data["results"]["my_mmlu"] = (
            config,
            data["results"]["translated_zh_mt_mmlu"],
        )
        path.write_text(json.dumps(data), encoding="utf-8")
    site = tmp_path / "deep" / "er" / "site"
    before = {p for p in tmp_path.rglob("*")}
    proc = run_cli(str(copy), "--out", str(site), "--bootstrap", "200")
    assert proc.returncode == 0, proc.stderr
    written = {p for p in tmp_path.rglob("*")} - before
    assert written and all(p == site or site in p.parents for p in written)  # nothing outside --out
    assert not list(tmp_path.rglob("pwned*"))


def test_a_rebuild_leaves_nothing_stale_and_a_foreign_folder_is_refused(unrelated_models, tmp_path):
    site = tmp_path / "site"
    board = build_leaderboard([unrelated_models], resamples=200)
    write_site(board, site, make_plots=False)
    (site / "tables" / "stale.csv").write_text("old", encoding="utf-8")
    write_site(board, site, make_plots=False)
    assert not (site / "tables" / "stale.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left beside it
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me", encoding="utf-8")
    proc = run_cli(str(unrelated_models), "--out", str(foreign), "--bootstrap", "200")
    assert proc.returncode == 2 and "not a leaderboard site" in proc.stderr
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "keep me"
    step = tmp_path / "step"  # a study runner's step folder: its own record (a dot file) is all it holds
    step.mkdir()
    (step / ".nativeval_step.started.json").write_text("{}", encoding="utf-8")
    write_site(board, step, make_plots=False)
    assert (step / "index.html").is_file() and (step / ".nativeval_step.started.json").read_text() == "{}"


def test_two_labelled_runs_of_one_base_model_are_two_rows_with_their_ratings(unrelated_models, tmp_path):
    copy = tmp_path / "labelled"
    alpha = results_file(unrelated_models, "alpha").parent
    for label, ratings in (("alpha-A", [5, 5, 4, 4]), ("alpha-B", [1, 2, 1, 2])):
        run = copy / label
        shutil.copytree(alpha, run)
        results = next(run.glob("results_*.json"))
        data = json.loads(results.read_text(encoding="utf-8"))
        data["nativeval"] = {"label": label}  # `nativeval eval --label`; the judge keeps it
        results.write_text(json.dumps(data), encoding="utf-8")
        write_judgments(results, "gpt4", ratings, keep_label=True)
    board = build_leaderboard([copy], resamples=200)
    open_qa = ColumnKey("open_qa", "zh", "rating", "native")
    rows = {e.label: e for e in board.entries}
    assert set(rows) == {"alpha-A", "alpha-B"}
    assert rows["alpha-A"].values[open_qa] == pytest.approx(4.5) and rows["alpha-B"].values[open_qa] == 1.5
    assert CMMLU in rows["alpha-A"].values and board.superseded == []


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_kill_9_while_drawing_leaves_no_worker_and_the_rerun_completes(tmp_path):
    site = tmp_path / "site"
    args = [
        sys.executable,
        str(REPO / "cli.py"),
        "leaderboard",
        "--reference",
        "paper",
        "--out",
        str(site),
        "--bootstrap",
        "200",
    ]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    plots = tmp_path / f".site.building-{proc.pid}" / "plots"
    deadline = time.monotonic() + 300
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None and not workers:
        workers = _children(proc.pid) if plots.is_dir() else []
        time.sleep(0.05)
    assert workers, "the leaderboard finished before its plot workers could be seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)  # the workers died with their parent: no lock held, no writes
    assert not site.exists()  # the site is the old one (none) or the new one, never a mix
    rerun = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert (site / "index.html").is_file() and (site / "leaderboard.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # the killed run's folder was cleared


def test_published_numbers_of_a_benchmark_the_catalogue_does_not_know_are_listed_not_shown(tmp_path):
    csv_path = tmp_path / "ref.csv"
    csv_path.write_text(
        "benchmark,metric,lang,base_model,train_data,lr,tuning,score\n"
        "xquad,exact_match,zh,M,native,1e-4,mono,50\nxquad,exact_match,zh,M,google,1e-4,mono,40\n"
        "bogus_bench,acc,zh,M,native,1e-4,mono,1\nbogus_bench,acc,zh,M,google,1e-4,mono,2\n",
        encoding="utf-8",
    )
    board = build_leaderboard([], reference=str(csv_path), resamples=200)
    assert [e.values for e in board.published] and all(
        c.benchmark == "xquad" for c in board.published_columns
    )
    (line,) = [n for n in board.reference_not_shown if "bogus_bench" in n]
    assert line.startswith("not shown: reference benchmark 'bogus_bench' (2 published numbers)")
    page = make_page(board)
    assert line in next(s for s in page.sections if s.id == "reference").notes


def test_a_collections_members_are_test_sets_and_a_benchmarks_subjects_are_not(tmp_path):
    """`nativeval eval --tasks translated_zh` writes the collection as a group without a score of its own:
    its single-task members (MGSM) are columns, while a benchmark group's subjects are read through it."""
    data = {
        "results": {
            "translated_zh": {"alias": "translated_zh"},
            "translated_zh_mgsm": {"alias": "translated_zh_mgsm", "exact_match,strict-match": 0.5},
            "translated_zh_ht_mmlu": {"alias": "translated_zh_ht_mmlu", "acc,none": 0.25},
            "translated_zh_ht_mmlu_anatomy": {"alias": "anatomy", "acc,none": 0.25},
        },
        "group_subtasks": {
            "translated_zh": ["translated_zh_ht_mmlu", "translated_zh_mgsm"],
            "translated_zh_ht_mmlu": ["translated_zh_ht_mmlu_anatomy"],
        },
        "configs": {},
        "n-samples": {"translated_zh_mgsm": {"original": 2, "effective": 2}},
        "model_name": "m",
        "config": {"model": "hf", "model_args": "pretrained=m"},
    }
    path = tmp_path / "m" / "results_2026-01-01T00-00-00.000000.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")
    run = load_run(path)
    assert sorted(key.display for key in run.scores) == ["HT-MMLU (openai/MMMLU) zh", "MGSM zh"]
