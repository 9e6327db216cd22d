"""Drawing the leaderboard's plots (not a test; prints side-by-side figures).

The page of the study's published numbers (the embedded paper table, every row re-analysed: 8 base models,
native / translated / round-trip training data, 20 test sets) is written three times in one run:
(a) ours: figures drawn from their specs by worker processes (harness_ext.report.figures.draw_figures);
(b) naive: every figure drawn in turn by the one process; (c) ideal: (b)'s drawing time split evenly over
    the cores, plus the part of (b) that is not drawing. The PNGs of (a) and (b) are compared
    pixel by pixel: FreeType's anti-aliasing of rotated tick labels depends on what a process drew before,
    so a worker may differ from the single process in a few hundred edge pixels of a label, never in content.

    python bench/leaderboard_plots.py [--resamples 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nativeval.harness_ext.leaderboard.build import build_leaderboard, write_site  # noqa: E402
from nativeval.harness_ext.report import figures  # noqa: E402


def timed_site(out: Path, resamples: int, parallel: bool) -> tuple[float, float]:
    """Wall seconds for the whole page, and the seconds spent drawing inside the one process."""
    board = build_leaderboard([], reference="paper", resamples=resamples, seed=0)
    drawing = 0.0
    draw_all = figures.draw_figures

    def serial_draw(specs, folder, workers=None):
        nonlocal drawing
        start = time.perf_counter()
        written = draw_all(specs, folder, workers=1)
        drawing += time.perf_counter() - start
        return written

    if not parallel:
        import nativeval.harness_ext.leaderboard.build as build

        build.draw_figures = serial_draw
    try:
        start = time.perf_counter()
        write_site(board, out)
        return time.perf_counter() - start, drawing
    finally:
        import nativeval.harness_ext.leaderboard.build as build

        build.draw_figures = draw_all


def pixels_differing(a: Path, b: Path) -> tuple[int, int]:
    import numpy as np
    from PIL import Image

    x, y = (np.asarray(Image.open(p).convert("RGB")) for p in (a, b))
    if x.shape != y.shape:
        return x.shape[0] * x.shape[1], x.shape[0] * x.shape[1]
    return int(np.any(x != y, axis=2).sum()), x.shape[0] * x.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        serial, drawing = timed_site(Path(tmp) / "serial", args.resamples, parallel=False)
        ours, _ = timed_site(Path(tmp) / "ours", args.resamples, parallel=True)
        figures = sorted((Path(tmp) / "serial" / "plots").glob("*.png"))
        differing = [pixels_differing(p, Path(tmp) / "ours" / "plots" / p.name) for p in figures]
    workers = min(4, cores)
    ideal = serial - drawing + drawing / workers
    print(
        f"paper reference page: {len(figures)} figures (PNG + SVG each), {cores} cores, {workers} drawing "
        "workers"
    )
    print(f"(a) ours: figures drawn by worker processes   {ours:6.2f} s")
    print(f"(b) naive: every figure drawn in turn         {serial:6.2f} s   (drawing {drawing:.2f} s of it)")
    print(f"(c) ideal: drawing split over {workers} workers       {ideal:6.2f} s")
    worst = max(differing, key=lambda d: d[0] / d[1])
    print(
        f"naive / ours = {serial / ours:.2f}x; ours / ideal = {ours / ideal:.2f}; PNGs byte-identical "
        f"{sum(1 for d in differing if d[0] == 0)}/{len(figures)}, most differing {worst[0]} of {worst[1]} "
        "pixels"
    )


if __name__ == "__main__":
    main()
