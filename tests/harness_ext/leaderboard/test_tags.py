"""Tag splits: planted effects are found, null cases are not flagged, odd labels and empty subsets are
kept."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nativeval.harness_ext.leaderboard.tags import (
    OTHER,
    UNLABELLED,
    TaggedItem,
    gap_by_tag,
    items_from_samples,
    split_by_tag,
    tag_report_lines,
)

VOCAB = ("CS", "CA", "UNK", "")


def items(rates: dict[str, float], n: int, seed: int, prefix: str = "") -> list[TaggedItem]:
    rng = np.random.default_rng(seed)
    out = []
    for label, rate in rates.items():
        for i in range(n):
            out.append(
                TaggedItem(
                    f"{prefix}{label}-{i}", float(rng.random() < rate), {"cultural_sensitivity_label": label}
                )
            )
    return out


def test_planted_cs_ca_difference_is_found_with_a_ci_around_it():
    split = split_by_tag(
        items({"CS": 0.85, "CA": 0.45}, 300, seed=1), "cultural_sensitivity_label", VOCAB, pair=("CS", "CA")
    )
    assert split.contrast.ci_low > 0.2 and split.contrast.ci_high < 0.6
    assert split.contrast.ci_low <= split.contrast.value <= split.contrast.ci_high
    assert split.subsets["CS"].n_items == 300 and split.subsets["CS"].ci_low < split.subsets["CS"].value


def test_no_difference_is_not_flagged():
    split = split_by_tag(
        items({"CS": 0.6, "CA": 0.6}, 300, seed=2), "cultural_sensitivity_label", VOCAB, pair=("CS", "CA")
    )
    assert split.contrast.ci_low < 0 < split.contrast.ci_high


def test_perfect_on_cs_and_zero_on_ca():
    split = split_by_tag(items({"CS": 1.0, "CA": 0.0}, 5, seed=0), "cultural_sensitivity_label", VOCAB)
    assert split.subsets["CS"].value == 1.0 and split.subsets["CA"].value == 0.0


def paired_runs(cs_gap: float, ca_gap: float, n: int, seed: int) -> tuple[list[TaggedItem], list[TaggedItem]]:
    rng = np.random.default_rng(seed)
    native, translated = [], []
    for label, gap in (("CS", cs_gap), ("CA", ca_gap)):
        for i in range(n):
            ability = rng.random()
            tags = {"cultural_sensitivity_label": label}
            native.append(TaggedItem(f"{label}-{i}", float(ability < 0.7), tags))
            translated.append(TaggedItem(f"{label}-{i}", float(ability < 0.7 - gap), tags))
    return native, translated


def test_planted_larger_translated_data_penalty_on_cs_items():
    native, translated = paired_runs(cs_gap=0.25, ca_gap=0.05, n=400, seed=3)
    gap = gap_by_tag(native, translated, "cultural_sensitivity_label", VOCAB, pair=("CS", "CA"))
    assert gap.gaps["CS"].ci_low > 0.15 and gap.gaps["CA"].ci_high < 0.15
    diff = gap.gap_difference
    assert diff.ci_low > 0.1 and diff.ci_low <= 0.20 <= diff.ci_high  # the planted 20 points are covered
    assert gap.sentence() == (
        f"the translated-data penalty is {diff.value * 100:.1f} points larger on CS items "
        f"than on CA items [{diff.ci_low * 100:.1f}, {diff.ci_high * 100:.1f}]"
    )
    assert gap.unpaired == 0


def test_equal_penalties_are_not_flagged():
    native, translated = paired_runs(cs_gap=0.1, ca_gap=0.1, n=400, seed=4)
    gap = gap_by_tag(native, translated, "cultural_sensitivity_label", VOCAB, pair=("CS", "CA"))
    assert gap.gap_difference.ci_low < 0 < gap.gap_difference.ci_high


def test_gap_pairs_only_items_both_runs_scored():
    native, translated = paired_runs(cs_gap=0.2, ca_gap=0.0, n=50, seed=5)
    gap = gap_by_tag(native, translated[:-10], "cultural_sensitivity_label", VOCAB, pair=("CS", "CA"))
    assert gap.unpaired == 10 and gap.gaps["CA"].n_items == 40


def test_unknown_label_counts_as_other_with_one_warning(caplog):
    data = items({"CS": 1.0, "CA": 0.0}, 3, seed=0) + [
        TaggedItem(f"x{i}", 1.0, {"cultural_sensitivity_label": "XS"}) for i in range(4)
    ]
    with caplog.at_level(logging.WARNING):
        split = split_by_tag(data, "cultural_sensitivity_label", VOCAB)
    assert split.subsets[OTHER].n_items == 4 and split.subsets[OTHER].value == 1.0
    assert sum(s.n_items for s in split.subsets.values()) == len(data)
    assert len(split.warnings) == 1 and "'XS'" in split.warnings[0] and "other" in split.warnings[0]
    assert len([r for r in caplog.records if "XS" in r.getMessage()]) == 1


def test_empty_subset_is_reported_empty_not_zero():
    split = split_by_tag(
        items({"CS": 1.0}, 3, seed=0), "cultural_sensitivity_label", VOCAB, pair=("CS", "CA")
    )
    assert split.subsets["CA"].n_items == 0 and split.subsets["CA"].value is None
    assert (
        split.subsets[UNLABELLED].n_items == 0
    )  # the "" label of unannotated rows, listed under its own name
    assert split.contrast.value is None
    lines = tag_report_lines(split)
    assert "cultural_sensitivity_label = CA: empty (no items)" in lines
    assert not any("0.0%" in line for line in lines if "= CA" in line)


def test_clusters_widen_the_interval_when_items_of_a_subject_move_together():
    rng = np.random.default_rng(6)
    data = []
    for s in range(20):
        subject_rate = rng.random()
        for i in range(20):
            data.append(
                TaggedItem(f"{s}-{i}", float(rng.random() < subject_rate), {"t": "a"}, cluster=str(s))
            )
    clustered = split_by_tag(data, "t").subsets["a"]
    flat = split_by_tag([TaggedItem(i.item_id, i.score, i.tags) for i in data], "t").subsets["a"]
    assert clustered.value == flat.value
    assert clustered.ci_high - clustered.ci_low > 1.5 * (flat.ci_high - flat.ci_low)


def test_items_from_samples_reads_the_doc_tags():
    rows = [
        {"doc_id": 0, "doc": {"cultural_sensitivity_label": "CS", "subject": "law"}, "acc": 1.0},
        {"doc_id": 1, "doc": {"cultural_sensitivity_label": None, "subject": "law"}, "acc": 0.0},
        {"doc_id": 2, "doc": {}, "acc": "n/a"},
    ]
    got = items_from_samples(
        rows, "acc", ["cultural_sensitivity_label"], cluster_field="subject", prefix="t:"
    )
    assert [(i.item_id, i.score, i.tags["cultural_sensitivity_label"], i.cluster) for i in got] == [
        ("t:0", 1.0, "CS", "law"),
        ("t:1", 0.0, "", "law"),
    ]


@pytest.mark.parametrize("pair", [("CS", "CA"), ("CA", "CS")])
def test_contrast_sign_follows_the_pair(pair):
    split = split_by_tag(
        items({"CS": 0.9, "CA": 0.3}, 200, seed=7), "cultural_sensitivity_label", VOCAB, pair=pair
    )
    assert (split.contrast.value > 0) == (pair[0] == "CS")


def test_member_tags_tag_every_row_of_a_subject_file():
    rows = [{"doc_id": i, "doc": {"Question": "q"}, "acc": float(i % 2)} for i in range(4)]
    got = items_from_samples(
        rows,
        "acc",
        ["china_specific", "subject_category"],
        member_tags={"china_specific": "yes", "subject_category": "Humanities"},
    )
    assert {(i.tags["china_specific"], i.tags["subject_category"]) for i in got} == {("yes", "Humanities")}


def test_task_items_take_tags_and_clusters_from_the_provenance_record():
    from nativeval.harness_ext.catalogue import catalogue
    from nativeval.harness_ext.catalogue.model import provenance
    from nativeval.harness_ext.leaderboard.tags import tag_vocabulary, task_items

    task = catalogue().task("native_zh_cmmlu")
    leaf = next(leaf for leaf in task.leaves if leaf.member == "chinese_history")
    rows = [{"doc_id": i, "doc": {"Question": "q"}, "acc": 1.0} for i in range(3)]
    got = task_items(rows, provenance(task, leaf), "acc", prefix="chinese_history:")
    assert {i.cluster for i in got} == {"chinese_history"}
    assert all(i.tags == {"subject_category": "Humanities", "china_specific": "yes"} for i in got)
    assert tag_vocabulary("cmmlu", "china_specific") == ("yes", "no")
    gm = catalogue().task("translated_zh_global_mmlu_cs")
    rows = [{"doc_id": 0, "doc": {"subject": "virology", "cultural_sensitivity_label": "CS"}, "acc": 1.0}]
    (item,) = task_items(rows, provenance(gm, gm.leaves[0]), "acc")
    assert item.cluster == "virology" and item.tags["cultural_sensitivity_label"] == "CS"


def test_catalogue_subsets_group_include_regional_values_against_agnostic():
    from nativeval.harness_ext.leaderboard.tags import (
        SUBSET_TAG,
        catalogue_subsets,
        subset_vocabulary,
        with_subset_tag,
    )

    subsets = catalogue_subsets("include")
    assert [name for name, _, _ in subsets] == ["regional", "agnostic"]
    rng = np.random.default_rng(8)
    data = []
    for feature, rate in (
        ("region explicit", 0.9),
        ("region implicit", 0.9),
        ("culture", 0.9),
        ("region agnostic", 0.4),
    ):
        data += [
            TaggedItem(f"{feature}-{i}", float(rng.random() < rate), {"regional_feature": feature})
            for i in range(150)
        ]
    split = split_by_tag(
        with_subset_tag(data, subsets), SUBSET_TAG, subset_vocabulary(subsets), pair=("regional", "agnostic")
    )
    assert split.subsets["regional"].n_items == 450 and split.subsets["agnostic"].n_items == 150
    assert split.subsets[UNLABELLED].n_items == 0
    assert split.contrast.ci_low > 0.3
