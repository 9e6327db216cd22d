"""One :class:`~harness_ext.leaderboard.tables.Page` rendered to Markdown, CSV, JSON and HTML.

Each renderer walks every section and every visible column of every table; the HTML escapes every string
that came from input files (model names, task names, paths) and runs only its own hashed script.
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

from harness_ext.leaderboard.tables import Column, Page, ScoreCell, Table, cell_text, is_empty, sort_key


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


# --- Markdown --------------------------------------------------------------------------------------------
def md_escape(text: str) -> str:
    """Pipes and HTML-significant characters neutralised (Markdown renderers pass raw HTML through)."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


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


def render_markdown(page: Page) -> str:
    parts = [f"# {md_escape(page.title)}", ""]
    parts += [f"> **{md_escape(b)}**\n" for b in page.banners]
    for section in page.sections:
        parts += [f"## {md_escape(section.title)}", ""]
        if section.description:
            parts += [md_escape(section.description), ""]
        for table in section.tables:
            parts += [markdown_table(table), ""]
        for plot in section.plots:
            parts += [f"![{md_escape(plot.title)}](plots/{plot.png.name})", ""]
        parts += [f"- {md_escape(n)}" for n in section.notes]
        if section.notes:
            parts.append("")
    parts.append(f"_{md_escape(page.footer)}_")
    return "\n".join(parts) + "\n"


# --- CSV -------------------------------------------------------------------------------------------------
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
        return [repr(round(value.value, 6)), "" if ci[0] is None else repr(round(ci[0], 6)),
                "" if ci[1] is None else repr(round(ci[1], 6)), "" if value.n is None else str(value.n)]
    if column.kind == "ci":
        return [repr(round(value[0], 6)), repr(round(value[1], 6))]
    if isinstance(value, float):
        return [repr(round(value, 6))]
    return [csv_safe(cell_text(column, value))]


def csv_safe(text: str) -> str:
    """Keep spreadsheet programs from evaluating input-derived strings as formulas."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = table.visible_columns()
    fields = [csv_fields(c, table) for c in columns]
    writer.writerow([f for group in fields for f in group])
    for row in table.rows:
        writer.writerow([v for c, group in zip(columns, fields, strict=True)
                         for v in csv_values(c, row.cells.get(c.key), len(group))])
    return buffer.getvalue()


# --- JSON ------------------------------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    if isinstance(value, ScoreCell):
        return {k: json_value(v) for k, v in asdict(value).items()}
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def render_json(page: Page) -> dict[str, Any]:
    sections = []
    for section in page.sections:
        tables = []
        for table in section.tables:
            columns = table.visible_columns()
            tables.append({
                "id": table.id, "title": table.title, "caption": table.caption, "notes": table.notes,
                "columns": [{"key": c.key, "title": c.title, "kind": c.kind, "group": c.group} for c in columns],
                "rows": [{"tags": list(r.tags), **{c.key: json_value(r.cells.get(c.key)) for c in columns}}
                         for r in table.rows],
            })
        sections.append({"id": section.id, "title": section.title, "description": section.description,
                         "notes": section.notes, "tables": tables,
                         "plots": [{"name": p.name, "title": p.title, "files": [f"plots/{f.name}" for f in p.files]}
                                   for p in section.plots]})
    return {**page.meta, "title": page.title, "banners": page.banners, "sections": sections,
            "footer": page.footer}


# --- HTML ------------------------------------------------------------------------------------------------
def html_cell(column: Column, value: Any) -> str:
    classes = [f"col-{column.group}"] if column.group else []
    if is_empty(value):
        classes.append("blank")
        return f'<td class="{" ".join(classes)}" data-sort=""></td>'
    if isinstance(value, ScoreCell):
        main = esc(f"{value.value:.{column.digits}f}")
        detail = cell_text(column, value)[len(main):].strip()
        inner = f'{main}<span class="ci">{esc(detail)}</span>' if detail else main
        if value.limited:
            classes.append("limited")
    else:
        inner = esc(cell_text(column, value))
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{cls} data-sort="{esc(sort_key(value))}">{inner}</td>'


def html_header(column: Column) -> str:
    kind = "text" if column.kind == "text" else "number"
    cls = f' class="col-{column.group}"' if column.group else ""
    return f'<th data-type="{kind}"{cls}>{esc(column.title)}</th>'


def html_table(table: Table) -> str:
    columns = table.visible_columns()
    head = "".join(html_header(c) for c in columns)
    body = []
    for row in table.rows:
        cls = f' class="{" ".join(esc(t) for t in row.tags)}"' if row.tags else ""
        body.append(f"<tr{cls}>" + "".join(html_cell(c, row.cells.get(c.key)) for c in columns) + "</tr>")
    title = f"<h3>{esc(table.title)}</h3>" if table.title else ""
    caption = f'<p class="caption">{esc(table.caption)}</p>' if table.caption else ""
    notes = "".join(f"<li>{esc(n)}</li>" for n in table.notes)
    sortable = " sortable" if table.sortable else ""
    return (f'{title}{caption}<table id="{esc(table.id)}" class="board{sortable}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>" + (f"<ul class='notes'>{notes}</ul>" if notes else ""))


def html_plot(plot: Any) -> str:
    data = base64.b64encode(Path(plot.png).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{esc(plot.title)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{esc(plot.title)} (<a href="plots/{esc(plot.files[-1].name)}">'
            f'{plot.files[-1].suffix[1:].upper()}</a>)</figcaption></figure>')


def render_html(page: Page) -> str:
    template = (resources.files("harness_ext.leaderboard") / "templates" / "leaderboard.html").read_text(
        encoding="utf-8")
    sections = []
    for section in page.sections:
        parts = [f'<section id="section-{esc(section.id)}"><h2>{esc(section.title)}</h2>']
        if section.description:
            parts.append(f"<p>{esc(section.description)}</p>")
        parts += [html_table(t) for t in section.tables]
        if section.plots:
            parts.append('<div class="plots">' + "".join(html_plot(p) for p in section.plots) + "</div>")
        if section.notes:
            parts.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in section.notes) + "</ul>")
        parts.append("</section>")
        sections.append("".join(parts))
    banners = "".join(f'<p class="banner" id="banner-{i}">{esc(b)}</p>' for i, b in enumerate(page.banners))
    replacements = {"{{TITLE}}": esc(page.title), "{{BANNERS}}": banners, "{{SECTIONS}}": "\n".join(sections),
                    "{{FOOTER}}": esc(page.footer)}
    script = template.split("<script>", 1)[1].split("</script>", 1)[0]
    replacements["{{SCRIPT_HASH}}"] = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return re.sub(r"\{\{[A-Z_]+\}\}", lambda m: replacements[m.group(0)], template)  # one pass: inputs stay inert
