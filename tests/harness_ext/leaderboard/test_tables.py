"""One table object rendered to Markdown, CSV, JSON and HTML: the same columns and sections in each."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from harness_ext.leaderboard.render import render_csv, render_html, render_json, render_markdown
from harness_ext.leaderboard.tables import Column, Page, ScoreCell, Section, Table


class Headers(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.sections: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        self._in = tag
        if tag == "section":
            self.sections.append(dict(attrs)["id"])

    def handle_data(self, data):
        if self._in == "th":
            self.headers.append(data)

    def handle_endtag(self, tag):
        self._in = None


def sample_page() -> Page:
    table = Table("t1", "scores", [Column("model", "model", always=True), Column("method", "method"),
                                   Column("empty", "never filled"), Column("xq", "XQuAD zh", "score"),
                                   Column("ci", "95% CI", "ci"), Column("p", "p", "p")])
    table.add(model="a <b>", method="lora", xq=ScoreCell(40.0, (30.0, 50.0), 20), ci=(1.0, 2.0), p=0.01)
    table.add(("reference",), model="b", method="full", xq=ScoreCell(35.0, None, None, reference=True))
    other = Table("t2", "origin 2x2", [Column("cell", "cell", always=True), Column("value", "value", "number")])
    other.add(cell="native data · native tests", value=50.0)
    return Page("page", ["banner"], [Section("one", "Scores", tables=[table]),
                                     Section("two", "Origin 2x2", tables=[other], notes=["a note"])], "footer")


def test_every_renderer_shows_the_same_columns_and_sections(csv_columns):
    page = sample_page()
    scores = page.sections[0].tables[0]
    visible = [c.title for c in scores.visible_columns()]
    assert visible == ["model", "method", "XQuAD zh", "95% CI", "p"]  # the column empty in every row is hidden

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


def test_a_plots_link_names_the_format_it_opens(tmp_path):
    from harness_ext.leaderboard.render import html_plot
    from harness_ext.leaderboard.tables import Plot

    png, svg = tmp_path / "p.png", tmp_path / "p.svg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert '<a href="plots/p.svg">SVG</a>' in html_plot(Plot("p", "a plot", (png, svg)))
    assert '<a href="plots/p.png">PNG</a>' in html_plot(Plot("j", "a judge plot", (png,)))  # judge-report: PNG only
