"""Each model's score on every value of a catalogue item tag (Global-MMLU CS / CA, INCLUDE regional /
agnostic) with CIs, the contrast of the two values, and for variant studies the training gap per value."""

from __future__ import annotations

from nativeval.harness_ext.leaderboard import tags
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import Board, Entry, variant_groups
from nativeval.harness_ext.leaderboard.sections.common import (
    column_title,
    estimate_cell,
    model_cells,
    model_columns,
    row_tags,
)
from nativeval.harness_ext.leaderboard.task_columns import item_tag_fields
from nativeval.harness_ext.report.tables import Column, Section, Table


def table_id(*parts: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-").lower()


def tag_splits(column: ColumnKey) -> list[tuple[str, tuple[str, ...], tuple[str, str] | None, bool]]:
    """(tag, vocabulary, contrasted pair, grouped by catalogue subsets) for each closed-vocabulary item
    tag."""
    bench = column.info
    fields = item_tag_fields(bench) if bench else ()
    subsets = tags.catalogue_subsets(column.benchmark)
    out = []
    for tag in fields:
        vocabulary = tags.tag_vocabulary(column.benchmark, tag)
        if vocabulary is None:
            continue  # open values (a subject, a region): too many parts to contrast
        single = [values[0] for _, f, values in subsets if f == tag and len(values) == 1]
        out.append((tag, vocabulary, (single[0], single[1]) if len(single) == 2 else None, False))
    if len(subsets) >= 2 and any(len(values) > 1 for _, _, values in subsets):
        out.append((tags.SUBSET_TAG, tags.subset_vocabulary(subsets), (subsets[0][0], subsets[1][0]), True))
    return out


def tagged_items(entry: Entry, column: ColumnKey, grouped: bool) -> list[tags.TaggedItem]:
    clusters = entry.clusters.get(column, {})
    items = [
        tags.TaggedItem(k, v, entry.tags[column].get(k, {}), clusters.get(k))
        for k, v in entry.items.get(column, {}).items()
    ]
    return tags.with_subset_tag(items, tags.catalogue_subsets(column.benchmark)) if grouped else items


def build(board: Board) -> Section | None:
    """Each model's score on every value of a catalogue item tag (Global-MMLU CS / CA, INCLUDE regional /
    agnostic) with CIs, the contrast of the two values, and for variant studies the training gap per value."""
    tables, notes = [], []
    for column in board.measured_columns:
        entries = [e for e in board.measured if e.tags.get(column)]
        if not entries:
            continue
        for tag, vocabulary, pair, grouped in tag_splits(column):
            names = tags.subset_names(vocabulary)
            splits = {
                board.index(e): tags.split_by_tag(
                    tagged_items(e, column, grouped),
                    tag,
                    vocabulary,
                    pair=pair,
                    resamples=board.resamples,
                    seed=board.seed,
                )
                for e in entries
            }
            extra = sorted({n for s in splits.values() for n in s.subsets} - set(names))
            names += extra
            value_columns = [Column(f"v{k}", f"{tag} = {name}", "score") for k, name in enumerate(names)]
            contrast = [Column("contrast", f"{pair[0]} − {pair[1]}", "score")] if pair else []
            table = Table(
                table_id("tags", column.slug, tag),
                f"{column_title(column)} by {tag}",
                [*model_columns(), *value_columns, *contrast],
                caption=(
                    f"Score on the items of each value of the catalogue's item tag '{tag}' (95% bootstrap "
                    "CI, clusters resampled; 'empty': no items of that value were scored)."
                ),
            )
            for i, split in splits.items():
                cells = {
                    f"v{k}": estimate_cell(split.subsets[n])
                    for k, n in enumerate(names)
                    if n in split.subsets
                }
                if pair and split.contrast is not None:
                    cells["contrast"] = estimate_cell(split.contrast)
                table.add(row_tags(board.entries[i]), **model_cells(board.entries[i]), **cells)
                notes += [w for w in split.warnings if w not in notes]
            tables.append(table)
            if pair:
                gap = gap_table(board, column, tag, vocabulary, pair, grouped, names, notes)
                if gap is not None:
                    tables.append(gap)
    if not tables:
        return None
    return Section(
        "tags",
        "Split by item tag",
        "Scores on the parts of a test set that the catalogue's item tags "
        "name, with the difference between two parts.",
        tables=tables,
        notes=notes,
    )


def gap_table(
    board: Board,
    column: ColumnKey,
    tag: str,
    vocabulary: tuple[str, ...],
    pair: tuple[str, str],
    grouped: bool,
    names: list[str],
    notes: list[str],
) -> Table | None:
    """Baseline-variant minus each other variant of one base-model configuration, per tag value (paired)."""
    table = Table(
        table_id("tag-gap", column.slug, tag),
        f"{column_title(column)}: training gap by {tag}",
        [
            *model_columns(),
            Column("against", "minus variant", always=True),
            *[Column(f"v{k}", f"gap on {tag} = {name}", "score") for k, name in enumerate(names)],
            Column("difference", f"gap on {pair[0]} − gap on {pair[1]}", "score"),
        ],
        caption=f"Model tuned on '{board.baseline}' data minus the same model tuned on another variant, "
        "on the same items of each tag value (paired; 95% bootstrap CI).",
    )
    for _, members in variant_groups([e for e in board.measured if e.tags.get(column)]):
        base = next((e for e in members if e.key.variant == board.baseline), None)
        for other in (e for e in members if base is not None and e is not base):
            gap = tags.gap_by_tag(
                tagged_items(base, column, grouped),
                tagged_items(other, column, grouped),
                tag,
                vocabulary,
                pair=pair,
                resamples=board.resamples,
                seed=board.seed,
            )
            cells = {f"v{k}": estimate_cell(gap.gaps[n]) for k, n in enumerate(names) if n in gap.gaps}
            if gap.gap_difference is not None:
                cells["difference"] = estimate_cell(gap.gap_difference)
            table.add(row_tags(base), **model_cells(base), against=other.key.variant, **cells)
            notes.append(f"{base.label} vs {other.key.variant}, {column.display}: {gap.sentence(scale=1.0)}")
    return table if table.rows else None
