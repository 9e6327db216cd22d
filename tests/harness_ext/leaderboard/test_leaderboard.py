"""Leaderboards from lm-eval 0.4.13 results directories: reading, statistics, outputs, bad input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.core.errors import InputError
from harness_ext.leaderboard.build import benchmarks_with_positive_gap, build_leaderboard, write_site
from harness_ext.leaderboard.results import (
    ColumnKey,
    load_reference,
    load_run,
    load_runs,
    parse_task_name,
    task_provenance,
)

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "results"))
from generate import TINY_RUN, real_run, synthesize_study  # noqa: E402

CMMLU = ColumnKey("cmmlu", "zh", "acc", "native")
XQUAD = ColumnKey("xquad", "zh", "exact_match", "human_translated")
MGSM = ColumnKey("mgsm", "zh", "exact_match", "human_translated")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return synthesize_study(tmp_path_factory.mktemp("study"))


@pytest.fixture(scope="module")
def board(study):
    return build_leaderboard([study], reference="paper-excerpt", resamples=2000, seed=0, title="test board")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), "leaderboard", *args], cwd=cwd,
                          capture_output=True, text=True)


# --- reading -----------------------------------------------------------------------------------------------
def test_reads_the_committed_real_lm_eval_run():
    results = next(TINY_RUN.rglob("results_*.json"))
    run = load_run(results)
    assert set(run.scores) == {CMMLU, XQUAD, MGSM}
    assert run.scores[MGSM].metric_key == "exact_match,strict-match"  # strict filter preferred
    assert run.scores[CMMLU].metric_key == "acc,none"
    assert run.scores[CMMLU].n == 6 and len(run.scores[CMMLU].items) == 6
    data = json.loads(results.read_text(encoding="utf-8"))
    assert run.scores[CMMLU].value == pytest.approx(100 * data["results"]["native_zh_cmmlu"]["acc,none"])


def test_task_provenance_prefers_metadata_then_name():
    assert parse_task_name("translated_es_mt_mmlu") == ("translated", "es", "mt_mmlu")
    assert parse_task_name("native_zh_open_qa") == ("native", "zh", "open_qa")
    assert parse_task_name("mmlu") is None
    meta = {"metadata": {"provenance": {"origin": "machine_translated", "language": "es", "benchmark": "mt_mmlu"}}}
    assert task_provenance("my_task", meta) == ("machine_translated", "es", "mt_mmlu")
    assert task_provenance("translated_ru_xquad", None) == ("human_translated", "ru", "xquad")
    assert task_provenance("native_ru_tydiqa", {"metadata": {"version": 1}}) == ("native", "ru", "tydiqa")


def test_a_fresh_real_lm_eval_run_is_read_and_marked_toy(tiny_model, tmp_path):
    out = real_run(tiny_model, tmp_path, tasks=["native_zh_cmmlu", "translated_zh_mgsm"])
    report = load_runs([out])
    assert report.warnings == [] and len(report.runs) == 1
    run = report.runs[0]
    assert run.is_toy  # the tiny model's directory carries nativeval_toy.json
    assert set(run.scores) == {CMMLU, MGSM}
    assert all(score.items for score in run.scores.values())
    board = build_leaderboard([out], resamples=200)
    html = (write_site(board, tmp_path / "site") and (tmp_path / "site" / "index.html")).read_text()
    assert 'id="toy-banner"' in html


def test_manifests_label_rows(board):
    measured = [e for e in board.entries if e.kind == "measured"]
    assert {(e.key.base_model, e.key.variant, e.key.lr, e.key.tuning, e.key.method) for e in measured} == {
        (base, variant, "1e-4", "mono", "lora") for base in ("BaseA-1B", "BaseB-7B")
        for variant in ("native", "google", "cohere")}
    assert all(e.is_toy for e in measured)


# --- statistics -----------------------------------------------------------------------------------------------
def test_paired_comparisons_find_the_planted_gaps(board):
    measured = [c for c in board.comparisons if c["kind"] == "measured"]
    assert len(measured) == 2 * 2 * 3  # base models x translated variants x benchmarks
    for comp in measured:
        assert comp["n"] == 200 and comp["ci_low"] <= comp["diff"] <= comp["ci_high"]
        assert comp["family_size"] == 6
        benchmark = comp["column"]["benchmark"]
        if benchmark in ("cmmlu", "xquad"):  # planted: native 0.70/0.60 vs translated 0.45/0.35
            assert comp["diff"] > 10 and comp["p_holm"] < 0.01
        else:  # MGSM: same success rate for every variant
            assert comp["p_holm"] > 0.01 or abs(comp["diff"]) < 15
    verdicts = {(v["base_model"], v["column"]["benchmark"]): v["verdict"] for v in board.verdicts
                if v["kind"] == "measured"}
    for base in ("BaseA-1B", "BaseB-7B"):
        assert verdicts[(base, "cmmlu")] == "native better (significant)"
        assert verdicts[(base, "xquad")] == "native better (significant)"
        assert verdicts[(base, "mgsm")] == "not distinguished"


def test_origin_2x2_and_gaps(board):
    table = next(t for t in board.origin_2x2 if t["kind"] == "measured")
    cells = table["cells"]
    assert cells["native_train|native_test"]["mean"] > cells["translated_train|native_test"]["mean"]
    assert cells["gap|native_test"]["mean"] > 10
    gaps = [g for g in board.gaps if g["kind"] == "measured"]
    assert len(gaps) == 2 * 3
    assert all(g["translated_variants"] == ["cohere", "google"] for g in gaps)


def test_paper_excerpt_xquad_gap_positive_everywhere_mgsm_not(board):
    positive = benchmarks_with_positive_gap(board.gaps, lr="1e-4", tuning="mono", kind="reference")
    assert positive == {"xquad": True, "mgsm": False}
    xquad_bases = {g["base_model"] for g in board.gaps if g["kind"] == "reference"
                   and g["column"]["benchmark"] == "xquad"}
    assert len(xquad_bases) == 8


def test_full_embedded_paper_table_reproduces_the_study():
    board = build_leaderboard([], reference="paper", resamples=100)
    positive = benchmarks_with_positive_gap(board.gaps, lr="1e-4", tuning="mono")
    assert positive["xquad"] and positive["tydiqa"] and positive["cmmlu"]
    assert not positive["mgsm"] and not positive["mt_mmlu"]
    assert benchmarks_with_positive_gap(board.gaps, lr="1e-6", tuning="mono")["xquad"] is False
    rows = load_reference("paper")
    assert len({(r.key, r.source) for r in rows}) == len(rows)


# --- outputs ------------------------------------------------------------------------------------------------
def test_cli_writes_every_output(study, tmp_path):
    site = tmp_path / "site"
    proc = run_cli(str(study), "--out", str(site), "--reference", "paper-excerpt", "--bootstrap", "500",
                   "--title", "Study <b>")
    assert proc.returncode == 0, proc.stderr
    for name in ("leaderboard.md", "leaderboard.csv", "index.html", "leaderboard.json"):
        assert (site / name).is_file()
    plots = sorted(p.name for p in (site / "plots").iterdir())
    assert any(n.startswith("measured_gap_vs_native") and n.endswith(".png") for n in plots)
    assert any(n.startswith("measured_gap_vs_native") and n.endswith(".svg") for n in plots)
    assert any(n.startswith("reference_bars_xquad") for n in plots)
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "Study &lt;b&gt;" in html and "Study <b>" not in html
    assert 'class="col-native"' in html and 'class="col-translated"' in html
    assert "reference</span>" in html and "toy-banner" in html
    md = (site / "leaderboard.md").read_text(encoding="utf-8")
    assert "Study &lt;b&gt;" in md and "Toy/demo data" in md
    with open(site / "leaderboard.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["kind"] for r in rows} == {"measured", "reference"}
    assert rows[0]["cmmlu|zh|acc|native|ci_low"]
    data = json.loads((site / "leaderboard.json").read_text(encoding="utf-8"))
    assert data["toy_data"] is True and "Holm" in data["statistics"]["multiple_testing"]


def test_format_json_writes_only_json(study, tmp_path):
    proc = run_cli(str(study), "--out", str(tmp_path / "j"), "--format", "json", "--bootstrap", "200")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["leaderboard.json"]


def test_push_to_hub_offline_is_a_clear_error(study, tmp_path, monkeypatch):
    proc = run_cli(str(study), "--out", str(tmp_path / "s"), "--format", "json", "--bootstrap", "200",
                   "--push-to-hub", "me/board")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: --push-to-hub") and len(proc.stderr.strip().splitlines()) == 1


# --- bad input ------------------------------------------------------------------------------------------------
def test_non_results_file_is_named_and_others_still_processed(study, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(study, mixed)
    (mixed / "results_bogus.json").write_text('{"hello": "world"}', encoding="utf-8")
    (mixed / "results_broken.json").write_text("{not json", encoding="utf-8")
    proc = run_cli(str(mixed), "--out", str(tmp_path / "site"), "--format", "json", "--bootstrap", "200")
    assert proc.returncode == 0
    assert "results_bogus.json: not an lm-eval results file" in proc.stderr
    assert "results_broken.json" in proc.stderr and "malformed JSON" in proc.stderr
    data = json.loads((tmp_path / "site" / "leaderboard.json").read_text(encoding="utf-8"))
    assert len(data["rows"]) == 6 and len(data["warnings"]) == 2


def test_missing_samples_give_na_not_invented_intervals(study, tmp_path):
    copy = tmp_path / "nosamples"
    shutil.copytree(study, copy)
    for path in copy.rglob("samples_*.jsonl"):
        path.unlink()
    board = build_leaderboard([copy], resamples=200)
    assert all(not e.cis for e in board.entries)
    assert all(c["ci_low"] is None and c["p_value"] is None for c in board.comparisons)
    assert {v["verdict"] for v in board.verdicts} <= {"native higher (untested)", "translated higher (untested)",
                                                      "mixed (untested)"}
    write_site(board, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "n/a" in html


def test_different_task_sets_leave_blank_cells(study, tmp_path):
    copy = tmp_path / "partial"
    shutil.copytree(study, copy)
    victim = next(p for p in sorted(copy.rglob("results_*.json")) if "BaseA-1B-google" in str(p))
    data = json.loads(victim.read_text(encoding="utf-8"))
    del data["results"]["translated_zh_xquad"]
    victim.write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([copy], resamples=200)
    entry = next(e for e in board.entries if e.key.base_model == "BaseA-1B" and e.key.variant == "google")
    assert XQUAD not in entry.values
    write_site(board, tmp_path / "site", make_plots=False)
    with open(tmp_path / "site" / "leaderboard.csv", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["base_model"] == "BaseA-1B" and r["variant"] == "google")
    assert row["xquad|zh|exact_match|translated"] == "" and row["cmmlu|zh|acc|native"] != ""


def test_duplicate_runs_newest_wins_and_is_reported(study, tmp_path):
    copy = tmp_path / "dups"
    shutil.copytree(study, copy)
    original = next(p for p in sorted(copy.rglob("results_*.json")) if "BaseB-7B-native" in str(p))
    stamp = original.stem[len("results_"):]
    newer = "2099-01-01T00-00-00.000000"
    data = json.loads(original.read_text(encoding="utf-8"))
    data["results"]["native_zh_cmmlu"]["acc,none"] = 0.99
    (original.parent / f"results_{newer}.json").write_text(json.dumps(data), encoding="utf-8")
    board = build_leaderboard([copy], resamples=200)
    entry = next(e for e in board.entries if e.key.base_model == "BaseB-7B" and e.key.variant == "native")
    assert entry.values[CMMLU] == pytest.approx(99.0)
    assert CMMLU not in entry.items  # no samples were logged for the newer run: no borrowed items
    assert len(board.superseded) == 3 and all(newer in note and stamp in note for note in board.superseded)


def test_no_results_is_one_line_exit_2_and_keeps_existing_output(tmp_path):
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


def test_judge_outputs_join_their_model_row(study, tmp_path):
    copy = tmp_path / "judged"
    shutil.copytree(study, copy)
    for results in sorted(copy.rglob("results_*.json")):
        header = json.loads(results.read_text(encoding="utf-8"))
        stamp = results.stem[len("results_"):]
        native = "-native" in header["model_name"]
        ratings = [5, 4, 5, 4] if native else [2, 3, 2, 2]
        judge_doc = {
            "results": {"native_zh_open_qa": {"alias": "native_zh_open_qa", "rating,gpt4": sum(ratings) / 4,
                                              "rating_stderr,gpt4": "N/A", "rating_sum,gpt4": sum(ratings),
                                              "n,gpt4": 4, "invalid,gpt4": 0, "off_language_rate,none": 0.0}},
            "group_subtasks": {"native_zh_open_qa": []},
            "configs": {"native_zh_open_qa": {"task": "native_zh_open_qa", "metadata": {"language": "zh"}}},
            "versions": {"native_zh_open_qa": 1.0}, "n-shot": {"native_zh_open_qa": 0},
            "model_name": header["model_name"], "config": header["config"],
            "judge": {"name": "gpt4"},
        }
        (results.parent / f"results_judge_gpt4_{stamp}.json").write_text(json.dumps(judge_doc), encoding="utf-8")
        rows = [{"doc_id": i, "rating": r, "valid": True, "judge": "gpt4"} for i, r in enumerate(ratings)]
        rows.append({"doc_id": 9, "rating": None, "valid": False, "judge": "gpt4"})
        (results.parent / f"judgments_native_zh_open_qa_gpt4_{stamp}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    board = build_leaderboard([copy], resamples=500)
    open_qa = ColumnKey("open_qa", "zh", "rating", "native")
    assert board.superseded == [] and board.warnings == []
    entry = next(e for e in board.entries if e.key.base_model == "BaseA-1B" and e.key.variant == "native")
    assert entry.values[open_qa] == pytest.approx(4.5) and len(entry.items[open_qa]) == 4
    assert CMMLU in entry.values  # the lm-eval run's scores stay on the same row
    comp = next(c for c in board.comparisons if c["column"]["benchmark"] == "open_qa" and c["kind"] == "measured")
    assert comp["n"] == 4 and comp["diff"] == pytest.approx(2.25)


def test_local_model_paths_are_labelled_by_their_last_component_and_hub_ids_stay():
    from harness_ext.leaderboard.results import model_label

    assert model_label("/scratch/models/Qwen1.5-7B/") == "Qwen1.5-7B"
    assert model_label("./runs/toy") == "toy"
    assert model_label("Qwen/Qwen1.5-7B") == "Qwen/Qwen1.5-7B"
    assert model_label("google/gemma-2b") == "google/gemma-2b"


def test_open_qa_columns_say_which_test_set_they_are():
    from harness_ext.leaderboard.results import ColumnKey as Column

    native = Column("open_qa", "zh", "rating", "native").display
    translated = Column("open_qa", "zh", "rating", "human_translated").display
    assert native == "open QA zh (native)" and translated == "open QA zh (translated)"
    assert Column("xquad", "zh", "exact_match", "human_translated").display == "XQuAD zh"


def test_judged_items_of_a_task_whose_name_extends_another_are_not_mixed_in(tmp_path):
    from harness_ext.core.io import atomic_write_jsonl
    from harness_ext.leaderboard.results import judged_item_scores

    results = tmp_path / "results_2026.json"
    row = {"judge": "gpt-4-turbo", "doc_id": 0}
    atomic_write_jsonl(tmp_path / "judgments_native_zh_open_qa_gpt-4-turbo_2026.jsonl", [{**row, "task": "native_zh_open_qa", "rating": 2}])
    atomic_write_jsonl(tmp_path / "judgments_native_zh_open_qa_v2_gpt-4-turbo_2027.jsonl", [{**row, "task": "native_zh_open_qa_v2", "rating": 5}])
    assert judged_item_scores(results, "native_zh_open_qa", "gpt-4-turbo") == {"0": 2.0}
    assert judged_item_scores(results, "native_zh_open_qa_v2", "gpt-4-turbo") == {"0": 5.0}
