"""A figure drawn from its spec (nativeval.harness_ext.report.figures): PNG and SVG, axes from the data."""

from __future__ import annotations

from nativeval.harness_ext.report.figures import DotPanel, Dots, Point, draw_figures, span


def test_a_figure_is_drawn_from_its_spec_with_axes_from_the_data(tmp_path):
    spec = Dots(
        "gap",
        "a very long title " * 8,
        panels=(
            DotPanel(
                "",
                (Point("a", 1.0, 0.5, 1.5, "native"), Point("b", 2.0, None, None, "translated")),
                "gap (points)",
                reference=0.0,
            ),
        ),
    )
    png, svg = draw_figures([spec], tmp_path, workers=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and svg.read_text(
        encoding="utf-8"
    ).lstrip().startswith("<?xml")
    assert span([0.0, 0.0, 0.0], percent=True)[0] >= -0.2  # a constant 0% axis does not start at -5 %
    low, high = span([70.0, 70.0])
    assert high - low >= 1.0  # no +-0.04 axis when nothing varies
    assert span([10.0, 90.0], percent=True)[1] <= 101.5
