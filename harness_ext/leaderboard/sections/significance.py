"""Which models differ (pairwise matrix and tests per test set), each model against ``--baseline``, and the
uncertainty of every test set (clustered vs naive SE, minimum detectable effect)."""

from __future__ import annotations

import numpy as np

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.model import ALPHA, Board
from nativeval.harness_ext.leaderboard.sections.common import column_title, row_tags
from nativeval.harness_ext.report.tables import Column, Section, Table


def pairwise(board: Board) -> Section | None:
    tables = []
    for column in board.measured_columns:
        col = board.stats.get(column)
        if col is None or not col.pairs:
            continue
        pairs = Table(
            f"pairs-{column.slug}",
            f"{column_title(column)}: pairwise differences",
            [
                Column("a", "A", always=True),
                Column("b", "B", always=True),
                Column("delta", "Δ (A − B)", "number", 2),
                Column("ci", "95% CI", "ci", 2),
                Column("p", "p", "p"),
                Column("p_holm", "p (Holm)", "p"),
                Column("test", "test"),
                Column("n", "items", "int"),
                Column("note", "note"),
            ],
        )
        symbol: dict[tuple[int, int], str] = {}
        for (a, b), estimate, adjusted in zip(col.pairs, col.pair_estimates, col.p_holm, strict=True):
            pairs.add(
                a=board.entries[a].label,
                b=board.entries[b].label,
                delta=estimate.value,
                ci=estimate.ci,
                p=estimate.p_value,
                p_holm=adjusted,
                test=estimate.method,
                n=estimate.n_items,
                note=estimate.note,
            )
            if adjusted is None or estimate.value is None:
                symbol[(a, b)] = symbol[(b, a)] = "n/a"
                continue
            differ = adjusted < ALPHA
            symbol[(a, b)] = (">" if estimate.value > 0 else "<") if differ else "="
            symbol[(b, a)] = ("<" if estimate.value > 0 else ">") if differ else "="
        order = sorted(col.members, key=lambda i: -board.entries[i].values[column])
        matrix = Table(
            f"matrix-{column.slug}",
            f"{column_title(column)}: which pairs differ",
            [
                Column("model", "row vs column", always=True),
                *[Column(f"m{k}", board.entries[i].label, always=True) for k, i in enumerate(order)],
            ],
            sortable=False,
            caption="'>' row better, '<' row worse (Holm-adjusted p < 0.05 within this test set), '=' not "
            "distinguished, 'n/a' no inference (one cluster).",
        )
        for i in order:
            matrix.add(
                model=board.entries[i].label,
                **{f"m{k}": ("" if i == j else symbol[(i, j)]) for k, j in enumerate(order)},
            )
        tables += [matrix, pairs]
    if not tables:
        return None
    return Section(
        "pairwise",
        "Which models differ",
        "Pairwise on the items both models were scored on: exact "
        "McNemar for binary scores without clustering; paired (cluster) bootstrap, or a t interval with "
        "few clusters, otherwise; Holm over all pairs of one test set.",
        tables=tables,
    )


def baseline(board: Board) -> Section | None:
    """Every model minus ``--baseline`` per test set, from the pairwise tests (Holm over those pairs)."""
    if board.baseline_entry is None:
        return None
    b = board.baseline_entry
    base = board.entries[b]
    table = Table(
        "baseline",
        f"Each model minus {base.label}",
        [
            Column("model", "model", always=True),
            Column("benchmark", "test set", always=True),
            Column("delta", "Δ vs baseline", "number", 2, always=True),
            Column("ci", "95% CI", "ci", 2),
            Column("p", "p", "p"),
            Column("p_holm", "p (Holm)", "p"),
            Column("test", "test"),
        ],
    )
    for column in board.measured_columns:
        col = board.stats.get(column)
        rows = []
        for (i, j), estimate in zip(col.pairs if col else [], col.pair_estimates if col else [], strict=True):
            if b not in (i, j) or estimate.value is None:
                continue
            sign = 1.0 if j == b else -1.0
            ci = estimate.ci and (sign * estimate.ci[0], sign * estimate.ci[1])
            rows.append(
                (
                    board.entries[i if j == b else j],
                    sign * estimate.value,
                    ci and (min(ci), max(ci)),
                    estimate.p_value,
                    estimate.method,
                )
            )
        if not rows and column in base.values:
            rows = [
                (e, e.values[column] - base.values[column], None, None, "")
                for e in board.measured
                if e is not base and column in e.values
            ]
        adjusted = stats.holm([r[3] for r in rows]) if rows else []
        for (entry, delta, ci, p, method), p_holm in zip(rows, adjusted, strict=True):
            table.add(
                row_tags(entry),
                model=entry.label,
                benchmark=column_title(column),
                delta=delta,
                ci=ci,
                p=p,
                p_holm=p_holm,
                test=method,
            )
    if not table.rows:
        return None
    return Section("baseline", f"Against the baseline {base.label}", tables=[table])


def uncertainty(board: Board) -> Section | None:
    table = Table(
        "uncertainty",
        "",
        [
            Column("benchmark", "test set", always=True),
            Column("unit", "cluster unit"),
            Column("n", "items", "int"),
            Column("clusters", "clusters", "int"),
            Column("se_naive", "SE naive (median)", "number", 2),
            Column("se", "SE clustered (median)", "number", 2),
            Column("mde", "MDE at 80% power", "number", 1),
            Column("mde_basis", "MDE from"),
        ],
    )
    for column in board.measured_columns:
        col = board.stats.get(column)
        if col is None:
            continue
        estimates = list(col.estimates.values())
        se_naive = [e.se_naive or e.se for e in estimates if (e.se_naive or e.se) is not None]
        se = [e.se for e in estimates if e.se is not None]
        pair_se = [e.se for e in col.pair_estimates if e.se is not None and e.se > 0]
        if pair_se:
            se_diff: float | None = float(np.median(pair_se))
            basis = f"median SE of {len(pair_se)} paired difference(s)"
        elif se and np.median(se) > 0:
            se_diff = float(np.sqrt(2) * np.median(se))
            basis = "√2 × SE of one model (independent samples)"
        else:
            se_diff, basis = None, "n/a: no variance or one cluster"
        mde = stats.minimum_detectable_effect(se_diff) if se_diff else None
        table.add(
            benchmark=column_title(column),
            unit=(column.cluster_unit or "prompt (several judges)") if col.clustered else "",
            n=col.n_items,
            clusters=col.n_clusters if col.clustered else None,
            se_naive=float(np.median(se_naive)) if se_naive else None,
            se=float(np.median(se)) if col.clustered and se else None,
            mde="n/a" if mde is None else mde,
            mde_basis=basis,
        )
    if not table.rows:
        return None
    return Section(
        "uncertainty",
        "Uncertainty and minimum detectable effect",
        "Standard errors of the mean score "
        "(naive: items independent; clustered: items sharing a passage or subject move together) and the "
        "smallest difference between two models a two-sided test at α = 0.05 finds with 80% power on "
        "this many items: a 'no difference' below it means too few items to tell.",
        tables=[table],
        notes=[c.note for c in board.stats.values() if c.note],
    )
