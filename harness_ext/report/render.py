"""One :class:`~nativeval.harness_ext.report.tables.Page` rendered to Markdown, CSV, JSON and HTML.

Each renderer walks every section and every visible column of every table. Everything that came from input
files (model names, task names, paths) is inert in every format: escaped in HTML (which runs only its own
hashed script), link and HTML syntax neutralised in Markdown, formula prefixes neutralised in CSV (header
cells too). The HTML page reads top-down: the summary sections open, then a table of contents, then every
other section collapsible (``<details>``); tables scroll inside their box with the first column sticky, so the
page itself never scrolls sideways, down to 400 px.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import re
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from nativeval.harness_ext.report.figures import Figure
from nativeval.harness_ext.report.tables import (
    Column,
    Page,
    ScoreCell,
    Section,
    Table,
    cell_text,
    is_empty,
    sort_key,
)

PLOTS_DIR = "plots"


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


# --- Markdown --------------------------------------------------------------------------------------------
def md_escape(text: Any) -> str:
    """Input-derived text as literal Markdown on one line: HTML escaped, table pipes, code spans and link
    syntax broken (``[x](javascript:alert(1))`` renders as that text, never as a link; ``<img ...>`` never as
    HTML)."""
    value = html.escape("" if text is None else str(text), quote=False)
    for raw, safe in (
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("`", "\\`"),
        ("](", "]\\("),
        ("]:", "]\\:"),
        ("\n", " "),
        ("\r", " "),
    ):
        value = value.replace(raw, safe)
    return value


def markdown_table(table: Table) -> str:
    columns = table.visible_columns()
    lines = [f"**{md_escape(table.title)}**", ""] if table.title else []
    if table.caption:
        lines += [md_escape(table.caption), ""]
    lines.append("| " + " | ".join(md_escape(c.title) for c in columns) + " |")
    lines.append("|" + "|".join("---" if c.kind == "text" else "---:" for c in columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(md_escape(cell_text(c, row.cells.get(c.key))) for c in columns) + " |")
    lines += [f"- {md_escape(n)}" for n in table.notes]
    return "\n".join(lines)


def markdown_section(section: Section, level: int = 2, plots_dir: str = PLOTS_DIR) -> list[str]:
    parts = [f"{'#' * level} {md_escape(section.title)}", ""]
    if section.description:
        parts += [md_escape(section.description), ""]
    parts += [f"{md_escape(t)}" + "\n" for t in section.text]
    for table in section.tables:
        parts += [markdown_table(table), ""]
    for figure in section.figures:
        parts += [f"![{md_escape(figure.title)}]({plots_dir}/{figure.stem}.png)", ""]
    parts += [f"- {md_escape(n)}" for n in section.notes]
    if section.notes:
        parts.append("")
    return parts


def render_markdown(
    page: Page,
    sections: list[Section] | None = None,
    links: dict[str, str] | None = None,
    plots_dir: str = PLOTS_DIR,
) -> str:
    """The page (or the given sections of it) as Markdown; ``links`` lists further files (title -> name). The
    page's notes go into the whole page, or the one that links to the others."""
    parts = [f"# {md_escape(page.title)}", ""]
    parts += [f"> **{md_escape(b)}**\n" for b in page.banners]
    for section in page.sections if sections is None else sections:
        parts += markdown_section(section, plots_dir=plots_dir)
    if links:
        parts += (
            ["## Details", ""] + [f"- [{md_escape(title)}]({name})" for title, name in links.items()] + [""]
        )
    if page.notes and (sections is None or links is not None):
        parts += ["## Notes", ""] + [f"- {md_escape(n)}" for n in page.notes] + [""]
    parts.append(f"_{md_escape(page.footer)}_")
    return "\n".join(parts) + "\n"


# --- CSV -------------------------------------------------------------------------------------------------
def csv_safe(text: str) -> str:
    """Keep spreadsheet programs from evaluating input-derived strings as formulas (header cells included)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_fields(column: Column, table: Table) -> list[str]:
    if any(isinstance(r.cells.get(column.key), ScoreCell) for r in table.rows):
        return [column.title, f"{column.title} ci_low", f"{column.title} ci_high", f"{column.title} n"]
    if column.kind == "ci":
        return [f"{column.title} low", f"{column.title} high"]
    return [column.title]


def csv_values(column: Column, value: Any, width: int) -> list[str]:
    if is_empty(value):
        return [""] * width
    if isinstance(value, ScoreCell):
        ci = value.ci or (None, None)
        return [
            repr(round(value.value, 6)),
            "" if ci[0] is None else repr(round(ci[0], 6)),
            "" if ci[1] is None else repr(round(ci[1], 6)),
            "" if value.n is None else str(value.n),
        ]
    if column.kind == "ci":
        return ["" if v is None else repr(round(v, 6)) for v in value]
    if isinstance(value, float):
        return [repr(round(value, 6))]
    return [csv_safe(cell_text(column, value))]


def render_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = table.visible_columns()
    fields = [csv_fields(c, table) for c in columns]
    writer.writerow([csv_safe(f) for group in fields for f in group])
    for row in table.rows:
        writer.writerow(
            [
                v
                for c, group in zip(columns, fields, strict=True)
                for v in csv_values(c, row.cells.get(c.key), len(group))
            ]
        )
    return buffer.getvalue()


def render_records_csv(fields: list[str], records: list[dict[str, Any]]) -> str:
    """A tidy CSV: one record per line, the given ASCII snake_case fields, text neutralised like any cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for record in records:
        writer.writerow(
            [
                ""
                if record.get(f) is None
                else repr(round(record[f], 6))
                if isinstance(record.get(f), float)
                else csv_safe(str(record[f]))
                for f in fields
            ]
        )
    return buffer.getvalue()


# --- JSON ------------------------------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    if isinstance(value, ScoreCell):
        return {k: json_value(v) for k, v in asdict(value).items()}
    if isinstance(value, tuple):
        return [json_value(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def json_table(table: Table) -> dict[str, Any]:
    columns = table.visible_columns()
    return {
        "id": table.id,
        "title": table.title,
        "caption": table.caption,
        "notes": table.notes,
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind, "group": c.group} for c in columns],
        "rows": [
            {"tags": list(r.tags), **{c.key: json_value(r.cells.get(c.key)) for c in columns}}
            for r in table.rows
        ],
    }


def render_json(page: Page, plots_dir: str = PLOTS_DIR) -> dict[str, Any]:
    sections = [
        {
            "id": s.id,
            "title": s.title,
            "description": s.description,
            "summary": s.summary,
            "text": s.text,
            "notes": s.notes,
            "tables": [json_table(t) for t in s.tables],
            "plots": [
                {
                    "name": f.name,
                    "title": f.title,
                    "files": [f"{plots_dir}/{f.stem}.png", f"{plots_dir}/{f.stem}.svg"],
                }
                for f in s.figures
            ],
        }
        for s in page.sections
    ]
    return {
        **page.meta,
        "title": page.title,
        "banners": page.banners,
        **page.data,
        "sections": sections,
        "notes": page.notes,
        "footer": page.footer,
    }


# --- HTML ------------------------------------------------------------------------------------------------
def html_cell(column: Column, value: Any, first: bool = False) -> str:
    classes = [f"col-{column.group}"] if column.group else []
    if first:
        classes.append("first")
    if column.kind != "text":
        classes.append("num")
    if is_empty(value):
        classes.append("blank")
        return f'<td class="{" ".join(classes)}" data-sort=""></td>'
    if isinstance(value, ScoreCell):
        main = esc(f"{value.value:.{column.digits}f}")
        detail = cell_text(column, value)[len(main) :].strip()
        inner = f'{main}<span class="ci">{esc(detail)}</span>' if detail else main
        if value.limited:
            classes.append("limited")
    else:
        inner = esc(cell_text(column, value))
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{cls} data-sort="{esc(sort_key(value))}">{inner}</td>'


def html_header(column: Column, first: bool = False) -> str:
    kind = "text" if column.kind == "text" else "number"
    classes = (
        ([f"col-{column.group}"] if column.group else [])
        + (["first"] if first else [])
        + (["num"] if column.kind != "text" else [])
    )
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<th data-type="{kind}"{cls} scope="col">{esc(column.title)}</th>'


def html_table(table: Table) -> str:
    columns = table.visible_columns()
    head = "".join(html_header(c, k == 0) for k, c in enumerate(columns))
    body = []
    for row in table.rows:
        cls = f' class="{" ".join(esc(t) for t in row.tags)}"' if row.tags else ""
        body.append(
            f"<tr{cls}>"
            + "".join(html_cell(c, row.cells.get(c.key), k == 0) for k, c in enumerate(columns))
            + "</tr>"
        )
    title = f"<h3>{esc(table.title)}</h3>" if table.title else ""
    caption = f'<p class="caption">{esc(table.caption)}</p>' if table.caption else ""
    notes = "".join(f"<li>{esc(n)}</li>" for n in table.notes)
    sortable = " sortable" if table.sortable else ""
    return (
        f'{title}{caption}<div class="scroll"><table id="{esc(table.id)}" class="board{sortable}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        + (f"<ul class='notes'>{notes}</ul>" if notes else "")
    )


def html_figure(figure: Figure, folder: Path, plots_dir: str = PLOTS_DIR) -> str:
    png, svg = figure.files(folder)
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    caption = esc(figure.caption or figure.title)
    return (
        f'<figure><img alt="{esc(figure.title)}" src="data:image/png;base64,{data}">'
        f'<figcaption>{caption} (<a href="{plots_dir}/{esc(svg.name)}">SVG</a>)</figcaption></figure>'
    )


def html_section(section: Section, figures_at: Path | None, plots_dir: str) -> str:
    parts = []
    if section.description:
        parts.append(f'<p class="lead">{esc(section.description)}</p>')
    parts += [f'<p class="finding">{esc(t)}</p>' for t in section.text]
    parts += [html_table(t) for t in section.tables]
    if section.figures and figures_at is not None:
        parts.append(
            '<div class="plots">'
            + "".join(html_figure(f, figures_at, plots_dir) for f in section.figures)
            + "</div>"
        )
    if section.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in section.notes) + "</ul>")
    body = "".join(parts)
    anchor = f"section-{esc(section.id)}"
    if section.summary:
        return f'<section id="{anchor}" class="summary"><h2>{esc(section.title)}</h2>{body}</section>'
    return (
        f'<details id="{anchor}"><summary><h2>{esc(section.title)}</h2></summary>'
        f"<section>{body}</section></details>"
    )


def render_html(page: Page, figures_at: Path | None = None, plots_dir: str = PLOTS_DIR) -> str:
    """The page as one self-contained HTML file (PNG figures embedded from ``figures_at``)."""
    template = (resources.files("nativeval.harness_ext.report") / "templates" / "page.html").read_text(
        encoding="utf-8"
    )
    summary = "\n".join(html_section(s, figures_at, plots_dir) for s in page.summary)
    details = page.details
    toc = ""
    if details:
        toc = (
            '<nav id="contents" aria-label="Contents"><h2>Contents</h2><ol>'
            + "".join(f'<li><a href="#section-{esc(s.id)}">{esc(s.title)}</a></li>' for s in details)
            + "</ol></nav>"
        )
    body = "\n".join(html_section(s, figures_at, plots_dir) for s in details)
    notes = (
        (
            "<details id='section-page-notes'><summary><h2>Notes</h2></summary><ul class='notes'>"
            + "".join(f"<li>{esc(n)}</li>" for n in page.notes)
            + "</ul></details>"
        )
        if page.notes
        else ""
    )
    banners = "".join(f'<p class="banner" id="banner-{i}">{esc(b)}</p>' for i, b in enumerate(page.banners))
    replacements = {
        "{{TITLE}}": esc(page.title),
        "{{BANNERS}}": banners,
        "{{SUMMARY}}": summary,
        "{{CONTENTS}}": toc,
        "{{SECTIONS}}": body + notes,
        "{{FOOTER}}": esc(page.footer),
    }
    script = template.split("<script>", 1)[1].split("</script>", 1)[0]
    replacements["{{SCRIPT_HASH}}"] = (
        "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    )
    return re.sub(
        r"\{\{[A-Z_]+\}\}", lambda m: replacements[m.group(0)], template
    )  # one pass: inputs stay inert
