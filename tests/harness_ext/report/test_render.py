"""One table object rendered to Markdown, CSV, JSON and HTML (nativeval.harness_ext.report, shared with
judge-report): the same columns and sections in each; input-derived text inert in every format."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from nativeval.harness_ext.report.render import (
    md_escape,
    render_csv,
    render_html,
    render_json,
    render_markdown,
)
from nativeval.harness_ext.report.tables import Column, Page, ScoreCell, Section, Table


class Headers(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.sections: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        self._in = tag
        if tag in ("section", "details") and dict(attrs).get("id"):
            self.sections.append(dict(attrs)["id"])

    def handle_data(self, data):
        if self._in == "th":
            self.headers.append(data)

    def handle_endtag(self, tag):
        self._in = None


def sample_page() -> Page:
    table = Table(
        "t1",
        "scores",
        [
            Column("model", "model", always=True),
            Column("method", "method"),
            Column("empty", "never filled"),
            Column("xq", "XQuAD zh", "score"),
            Column("ci", "95% CI", "ci"),
            Column("p", "p", "p"),
        ],
    )
    table.add(model="a <b>", method="lora", xq=ScoreCell(40.0, (30.0, 50.0), 20), ci=(1.0, 2.0), p=0.01)
    table.add(("reference",), model="b", method="full", xq=ScoreCell(35.0, None, None, reference=True))
    other = Table(
        "t2", "origin 2x2", [Column("cell", "cell", always=True), Column("value", "value", "number")]
    )
    other.add(cell="native data · native tests", value=50.0)
    return Page(
        "page",
        ["banner"],
        [
            Section("one", "Scores", tables=[table], summary=True),
            Section("two", "Origin 2x2", tables=[other], notes=["a note"]),
        ],
        "footer",
    )


def test_every_renderer_shows_the_same_columns_and_sections(csv_columns):
    page = sample_page()
    scores = page.sections[0].tables[0]
    visible = [c.title for c in scores.visible_columns()]
    assert visible == [
        "model",
        "method",
        "XQuAD zh",
        "95% CI",
        "p",
    ]  # the column empty in every row is hidden

    md = render_markdown(page)
    header_line = next(line for line in md.splitlines() if line.startswith("| model"))
    assert [h.strip() for h in header_line.strip("|").split("|")] == visible
    assert "## Scores" in md and "## Origin 2x2" in md and "native data · native tests" in md

    header = next(csv.reader(io.StringIO(render_csv(scores))))
    assert csv_columns(header) == visible
    assert "XQuAD zh ci_low" in header and "lora" in render_csv(scores)

    data = render_json(page)
    assert [s["title"] for s in data["sections"]] == ["Scores", "Origin 2x2"]
    assert [c["title"] for c in data["sections"][0]["tables"][0]["columns"]] == visible
    assert data["sections"][0]["tables"][0]["rows"][0]["xq"]["ci"] == [30.0, 50.0]

    parser = Headers()
    parser.feed(render_html(page))
    assert parser.headers == visible + ["cell", "value"]
    assert parser.sections == ["section-one", "section-two"]


def test_cell_text_is_shared_and_escaped():
    page = sample_page()
    md = render_markdown(page)
    assert "40.0 [30.0, 50.0] n=20" in md and "a &lt;b&gt;" in md and "a <b>" not in md
    html = render_html(page)
    assert "a &lt;b&gt;" in html and "<b>" not in html.split("<body>")[1]
    assert 'class="reference"' in html


def test_the_summary_opens_the_page_and_details_collapse_under_a_table_of_contents():
    html = render_html(sample_page())
    summary, rest = html.split('<nav id="contents"', 1)
    assert 'id="section-one" class="summary"' in summary and "section-two" not in summary
    assert '<a href="#section-two">Origin 2x2</a>' in rest and '<details id="section-two">' in rest
    assert '<div class="scroll"><table id="t1"' in html and 'class="first"' in html  # scrolls in its box


def test_header_cells_are_neutralised_like_body_cells():
    table = Table(
        "t",
        "",
        [
            Column("a", '=HYPERLINK("http://x")', always=True),
            Column("b", "+m4", always=True),
            Column("c", "@m5", always=True),
        ],
    )
    table.add(a="=1+1", b="-2", c="ok")
    header, row = list(csv.reader(io.StringIO(render_csv(table))))
    assert header == ['\'=HYPERLINK("http://x")', "'+m4", "'@m5"] and row == ["'=1+1", "'-2", "ok"]


def test_markdown_link_syntax_from_inputs_is_not_a_link():
    page = Page(
        "[x](javascript:alert(1))",
        [],
        [
            Section(
                "s", "[y](javascript:alert(2))", summary=True, notes=["![img](http://evil/x.png) <script>"]
            )
        ],
        "f",
    )
    md = render_markdown(page)
    assert "](javascript:" not in md and "![img](" not in md and "<script>" not in md
    assert md_escape("[x](javascript:alert(1))") == "[x]\\(javascript:alert(1))"
