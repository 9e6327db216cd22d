"""A test set is (task, language, origin) end to end: a round trip of XQuAD zh (`rtt_zh_xquad`, made by
`nativeval translate-task`) is a column of its own, keeps its own score, and never joins the translated
mean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nativeval.harness_ext.leaderboard.build import build_leaderboard
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.results_files import load_run
from nativeval.harness_ext.leaderboard.sections.origins import origin_columns, origin_scores

XQUAD = ColumnKey("xquad", "zh", "exact_match", "human_translated")
RTT = ColumnKey("xquad", "zh", "exact_match", "round_trip_translated", "rtt_zh_xquad")


@pytest.fixture(scope="module")
def with_round_trip(tmp_path_factory, unrelated_models, add_round_trip) -> Path:
    root = tmp_path_factory.mktemp("rtt") / "results"
    shutil.copytree(unrelated_models, root)
    add_round_trip(root, 1.0)
    return root


def test_a_round_trip_is_a_test_set_of_its_own(with_round_trip):
    path = next(iter(sorted(with_round_trip.rglob("results_*.json"))))
    run = load_run(path)
    assert RTT in run.scores and XQUAD in run.scores and RTT != XQUAD
    assert run.scores[RTT].value == pytest.approx(100.0)
    original = json.loads(path.read_text(encoding="utf-8"))["results"]["translated_zh_xquad"][
        "exact_match,none"
    ]
    assert run.scores[XQUAD].value == pytest.approx(100 * original)  # never overwritten by the round trip
    assert RTT.slug != XQUAD.slug and RTT.display == "XQuAD zh (round trip)" and XQUAD.display == "XQuAD zh"
    assert RTT.provenance == "round_trip" and run.sources[RTT] == "translated_zh_xquad"


def test_the_round_trip_stays_out_of_the_translated_mean(with_round_trip, unrelated_models):
    board = build_leaderboard([with_round_trip], resamples=200)
    plain = build_leaderboard([unrelated_models], resamples=200)
    assert board.columns.count(RTT) == 1 and board.columns.count(XQUAD) == 1
    translated = origin_scores(board, "zh", "translated")
    assert translated and RTT not in origin_columns(board, "zh", "translated")
    assert RTT not in origin_columns(board, "zh", "native") and XQUAD in origin_columns(
        board, "zh", "translated"
    )
    assert {i: s.value for i, s in translated.items()} == pytest.approx(
        {i: s.value for i, s in origin_scores(plain, "zh", "translated").items()}
    )
    for entry in board.entries:  # each row keeps both scores, under their own keys
        assert entry.values[RTT] == pytest.approx(100.0)


def test_a_round_trip_without_its_source_is_shown_with_a_note(tmp_path, unrelated_models, add_round_trip):
    root = tmp_path / "results"
    shutil.copytree(unrelated_models, root)
    add_round_trip(root, 0.5, source_present=False)
    board = build_leaderboard([root], resamples=200)
    assert RTT in board.columns and XQUAD not in board.columns
    assert any(
        "rtt_zh_xquad" in n and "translated_zh_xquad" in n and "not evaluated" in n for n in board.notes
    )
