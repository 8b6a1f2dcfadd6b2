"""The dashboard's plotting widgets: heatmap, line plot, histogram, colours.

Each test drives the widget inside a tiny Textual app (``app.run_test``),
wrapped in ``asyncio.run`` so plain pytest runs it (no async plugin needed).
Run this file as a script to write ``/tmp/widgets.svg``, a screenshot of a
demo app showing all the widgets.
"""

from __future__ import annotations

import asyncio
import sys
import threading

import numpy as np
import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.containers import Grid

from simtreino.tui.widgets import (
    Band,
    Heatmap,
    Histogram,
    LinePlot,
    Series,
    class_color,
    colormap,
)
from simtreino.tui.widgets.colors import BACKGROUND, TABLEAU10, VIRIDIS_STOPS
from simtreino.tui.widgets.histogram import columns_from_bins
from simtreino.tui.widgets.lineplot import PLOTEXT_LOCK, log_ticks, thin

# ----------------------------------------------------------------- helpers


class OneWidget(App):
    """An app holding one widget with a fixed size (cells)."""

    def __init__(self, widget, width: int | str = "1fr", height: int | str = "1fr"):
        super().__init__()
        self.widget = widget
        self.w, self.h = width, height

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_mount(self) -> None:
        self.widget.styles.width = self.w
        self.widget.styles.height = self.h


def run(app: App, body, size=(80, 24)):
    """Run ``await body(pilot)`` inside ``app.run_test``."""

    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


def cell(text, col: int, row: int) -> tuple[str, Style]:
    """Character and combined style at (col, row) of a rendered multi-line Text."""
    line = text.split("\n", allow_blank=True)[row]
    ch = line.plain[col]
    style = Style.combine([line.style or Style()]
                          + [s.style for s in line.spans if s.start <= col < s.end])
    return ch, style


def rgb(color) -> tuple[int, int, int]:
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


def plain_lines(text) -> list[str]:
    return text.plain.split("\n")


# ------------------------------------------------------------------ colours


def test_colormap_hits_viridis_ends_and_middle():
    assert colormap([0.0, 0.5, 1.0]) == [VIRIDIS_STOPS[0], VIRIDIS_STOPS[5], VIRIDIS_STOPS[-1]]
    # clipped outside [0, 1], interpolated in between
    assert colormap([-3.0, 7.0]) == [VIRIDIS_STOPS[0], VIRIDIS_STOPS[-1]]
    mid = colormap([0.05])[0]
    assert all(min(a, b) <= m <= max(a, b) for a, b, m in zip(VIRIDIS_STOPS[0], VIRIDIS_STOPS[1], mid))


def test_class_palette_distinct_with_lighter_markers_and_darker_regions():
    base = [class_color(k) for k in range(10)]
    assert len(set(base)) == 10 and base == list(TABLEAU10)
    assert class_color(10) == class_color(0)

    def lum(c):
        return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]

    for k in range(10):
        assert lum(class_color(k, "marker")) > lum(class_color(k)) > lum(class_color(k, "region"))
        assert lum(class_color(k)) > lum(BACKGROUND) + 40  # readable on the dark background


# ------------------------------------------------------------------ heatmap


def test_heatmap_half_blocks_top_pixel_is_foreground_row_zero_is_top():
    # 2 x 2 field in a 2 x 1 cell widget without axes: one pixel per value
    h = Heatmap(show_axes=False, show_legend=False)

    async def body(pilot):
        h.set_field(np.array([[0.0, 0.5], [1.0, 0.25]]), extent=(0, 2, 0, 2))
        await pilot.pause()
        text = h.render()
        assert plain_lines(text) == ["▀▀"]
        ch, st = cell(text, 0, 0)
        assert rgb(st.color) == colormap([0.0])[0] and rgb(st.bgcolor) == colormap([1.0])[0]
        ch, st = cell(text, 1, 0)
        assert rgb(st.color) == colormap([0.5])[0] and rgb(st.bgcolor) == colormap([0.25])[0]
        # vmin / vmax fix the scale
        h.set_field(np.array([[0.0, 0.5], [1.0, 0.25]]), vmin=0.0, vmax=2.0)
        await pilot.pause()
        ch, st = cell(h.render(), 0, 0)
        assert rgb(st.bgcolor) == colormap([0.5])[0]
        # log scale: 1, 10, 100 -> 0, 0.5, 1; non-positive values are left blank
        h.set_field(np.array([[1.0, 10.0], [100.0, -1.0]]), log=True)
        await pilot.pause()
        text = h.render()
        _, st0 = cell(text, 0, 0)
        _, st1 = cell(text, 1, 0)
        assert rgb(st0.color) == colormap([0.0])[0] and rgb(st0.bgcolor) == colormap([1.0])[0]
        assert rgb(st1.color) == colormap([0.5])[0] and rgb(st1.bgcolor) == BACKGROUND

    run(OneWidget(h, 2, 1), body)


def test_heatmap_resamples_to_widget_pixels():
    # a 2 x 2 field on 4 x 2 cells (4 x 4 pixels): each value covers 2 x 2 pixels
    h = Heatmap(show_axes=False, show_legend=False)

    async def body(pilot):
        h.set_field(np.array([[0.0, 1.0], [1.0, 0.0]]))
        await pilot.pause()
        text = h.render()
        lo, hi = colormap([0.0, 1.0])
        for col in range(4):
            for row in range(2):
                _, st = cell(text, col, row)
                want = lo if (col < 2) == (row == 0) else hi
                assert rgb(st.color) == want and rgb(st.bgcolor) == want

    run(OneWidget(h, 4, 2), body)


def test_heatmap_class_regions_fade_with_confidence():
    h = Heatmap(show_axes=False, show_legend=False)

    async def body(pilot):
        probs = np.zeros((2, 2, 3))
        probs[0, 0] = [0, 0, 1]          # top left: class 2, sure
        probs[1, 0] = [1, 0, 0]          # bottom left: class 0, sure
        probs[0, 1] = [1 / 3, 1 / 3, 1 / 3]  # top right: chance -> background
        probs[1, 1] = [0, 1, 0]          # bottom right: class 1, sure
        h.set_field(probs, mode="classes")
        await pilot.pause()
        text = h.render()
        _, left = cell(text, 0, 0)
        _, right = cell(text, 1, 0)
        assert rgb(left.color) == class_color(2, "region")
        assert rgb(left.bgcolor) == class_color(0, "region")
        assert rgb(right.color) == BACKGROUND
        assert rgb(right.bgcolor) == class_color(1, "region")
        # binary: values = P(class 1); 0.75 is halfway between chance and sure
        h.set_field(np.array([[1.0, 0.0], [0.75, 0.5]]), mode="classes", n_classes=2)
        await pilot.pause()
        text = h.render()
        _, left = cell(text, 0, 0)
        _, right = cell(text, 1, 0)
        assert rgb(left.color) == class_color(1, "region")
        assert rgb(right.color) == class_color(0, "region")
        half = tuple(round(b + (c - b) * 0.5) for b, c in zip(BACKGROUND, class_color(1, "region")))
        assert all(abs(a - b) <= 1 for a, b in zip(rgb(left.bgcolor), half))
        assert rgb(right.bgcolor) == BACKGROUND

    run(OneWidget(h, 2, 1), body)


def test_heatmap_points_land_in_their_cell():
    h = Heatmap(show_axes=False, show_legend=False)

    async def body(pilot):
        h.set_field(np.zeros((5, 5)), extent=(0, 10, 0, 10))
        # 20 x 10 cells = 20 x 20 pixels over 10 x 10 units: 2 columns and 2 pixel rows per unit
        h.set_points(train=(np.array([2.6, 9.99]), np.array([7.4, 0.01]), np.array([1, 3])),
                     val=(np.array([0.1]), np.array([9.9]), np.array([0])))
        await pilot.pause()
        text = h.render()
        ch, st = cell(text, 5, 2)        # x 2.6 -> col 5; y 7.4 -> pixel row 5 -> cell row 2
        assert ch == "●" and rgb(st.color) == class_color(1, "marker")
        ch, st = cell(text, 19, 9)       # bottom right corner
        assert ch == "●" and rgb(st.color) == class_color(3, "marker")
        ch, st = cell(text, 0, 0)        # validation set, its own marker
        assert ch == "○" and rgb(st.color) == class_color(0, "marker")
        assert h.cell_of(2.6, 7.4) == (5, 2)
        assert h.cell_of(11.0, 5.0) is None
        x, y = h.data_at(5, 2)
        assert 2.5 <= x <= 3.0 and 7.0 <= y <= 8.0
        assert text.plain.count("●") == 2 and text.plain.count("○") == 1
        # regression: points coloured by value on the field's colour scale
        h.set_field(np.array([[0.0, 4.0]]), extent=(0, 10, 0, 10))
        h.set_points(train=(np.array([2.6, 7.0]), np.array([7.4, 1.0]), np.array([4.0, 1.0])),
                     color_by="value")
        text = h.render()
        assert rgb(cell(text, 5, 2)[1].color) == colormap([1.0])[0]
        assert rgb(cell(text, 14, 9)[1].color) == colormap([0.25])[0]

    run(OneWidget(h, 20, 10), body)


def test_heatmap_axes_legend_and_points_agree_with_cell_of():
    h = Heatmap(title="decision", xlabel="x1", ylabel="x2", class_names=["red", "blue"])

    async def body(pilot):
        xx, yy = np.meshgrid(np.linspace(-1, 1, 30), np.linspace(1, -1, 30))
        h.set_field((xx > 0).astype(float), extent=(-1, 1, -1, 1), mode="classes", n_classes=2)
        h.set_points(train=(np.array([-0.5, 0.5]), np.array([0.5, -0.5]), np.array([0, 1])))
        await pilot.pause()
        text = h.render()
        lines = plain_lines(text)
        assert "decision" in lines[0] and "x2" in lines[0]
        assert any(line.lstrip().startswith("1┤") for line in lines)
        assert any(line.lstrip().startswith("-1┤") for line in lines)
        assert "x1" in lines[-1] and "-1" in lines[-1]
        assert "red" in text.plain and "blue" in text.plain  # class legend
        for x, y, k in ((-0.5, 0.5, 0), (0.5, -0.5, 1)):
            col, row = h.cell_of(x, y)
            ch, st = cell(text, col, row)
            assert ch == "●" and rgb(st.color) == class_color(k, "marker")

    run(OneWidget(h), body, size=(50, 20))


def test_heatmap_paths_contours_and_colour_bar():
    h = Heatmap(show_axes=True)

    async def body(pilot):
        xx, yy = np.meshgrid(np.linspace(-2, 2, 40), np.linspace(2, -2, 40))
        h.set_field(xx ** 2 + yy ** 2, extent=(-2, 2, -2, 2), contours=4)
        h.set_paths([(np.array([-1.5, -1.0, 0.0]), np.array([1.5, 0.5, 0.0]), (255, 0, 0), "sgd"),
                     (np.array([1.5, np.nan, 1.0]), np.array([-1.5, 0.0, 0.0]), (0, 255, 0), "adam")])
        await pilot.pause()
        text = h.render()
        assert "sgd" in plain_lines(text)[0] and "adam" in plain_lines(text)[0]
        col, row = h.cell_of(0.0, 0.0)
        ch, st = cell(text, col, row)
        assert ch == "●" and rgb(st.color) == (255, 0, 0)  # end of the sgd path
        col, row = h.cell_of(-1.5, 1.5)
        ch, st = cell(text, col, row)
        assert ch == "•" and rgb(st.color) == (255, 0, 0)
        # the segments between points: braille dots in the path's colour
        col, row = h.cell_of(-0.5, 0.25)
        ch, st = cell(text, col, row)
        assert 0x2800 < ord(ch) <= 0x28FF and rgb(st.color) == (255, 0, 0)
        assert "8" in text.plain  # colour bar top label (max of x^2 + y^2)

    run(OneWidget(h), body, size=(60, 20))


BRAILLE_ROWS = {"⠉", "⠒", "⠤", "⣀"}      # one row of dots across a cell
BRAILLE_COLUMNS = {"⡇", "⢸"}             # one column of dots down a cell


def test_heatmap_lines_are_braille_dots_along_the_segment():
    h = Heatmap(show_axes=False)

    async def body(pilot):
        h.set_field(np.zeros((8, 8)), extent=(0, 10, 0, 10))
        h.set_paths([(np.array([1.0, 9.0]), np.array([5.2, 5.2]), (255, 0, 0), ""),
                     (np.array([3.3, 3.3]), np.array([1.0, 4.0]), (0, 255, 0), "")],
                    point_char=None, end_char="●")
        await pilot.pause()
        text = h.render()
        (c0, r0), (c1, _) = h.cell_of(1.0, 5.2), h.cell_of(9.0, 5.2)
        across = {cell(text, c, r0)[0] for c in range(c0 + 1, c1)}  # not the ends
        assert len(across) == 1 and across <= BRAILLE_ROWS, across
        (c, top), (_, bottom) = h.cell_of(3.3, 4.0), h.cell_of(3.3, 1.0)
        down = {cell(text, c, r)[0] for r in range(top + 1, bottom)}
        assert len(down) == 1 and down <= BRAILLE_COLUMNS, down
        assert rgb(cell(text, c, top + 1)[1].color) == (0, 255, 0)

    run(OneWidget(h), body, size=(40, 20))


def test_heatmap_render_is_cached_until_data_or_size_changes():
    h = Heatmap()

    async def body(pilot):
        h.set_field(np.random.default_rng(0).random((10, 10)))
        await pilot.pause()
        first = h.render()
        count = h.render_count
        assert h.render() is first and h.render_count == count and not h.is_stale
        # what Textual draws (render_line strips) is the same picture, from the same cache
        for y, line in enumerate(plain_lines(first)):
            strip = h.render_line(y)
            assert strip.text == line and strip.cell_length == h.size.width
        _, st = cell(first, 20, 5)
        col, seg_style = 0, None
        for seg in h.render_line(5):
            if col <= 20 < col + len(seg.text):
                seg_style = seg.style
            col += len(seg.text)
        assert seg_style.color == st.color and seg_style.bgcolor == st.bgcolor
        assert h.render_count == count
        h.set_field(np.ones((10, 10)))
        assert h.is_stale
        second = h.render()
        assert second is not first and h.render_count == count + 1
        await pilot.resize_terminal(50, 15)
        await pilot.pause()
        assert h.size.width == 50
        third = h.render()
        assert third is not second and len(plain_lines(third)[0]) == 50
        assert h.render() is third

    run(OneWidget(h), body, size=(40, 12))


SIZES = [(0, 0), (0, 5), (1, 1), (2, 1), (1, 3), (5, 2), (13, 4), (21, 6), (40, 12)]


def test_heatmap_survives_odd_sizes_and_bad_data():
    h = Heatmap(title="t", xlabel="x", ylabel="y", no_data_text="nada")
    nan = np.full((3, 4), np.nan)
    mixed = np.array([[np.nan, np.inf, -np.inf], [1.0, 2.0, np.nan]])
    states = [
        lambda: h.clear(),
        lambda: h.set_field(nan),
        lambda: h.set_field(mixed, contours=3),
        lambda: h.set_field(mixed, log=True),
        lambda: h.set_field(np.zeros((0, 0))),
        lambda: h.set_field(np.full((2, 2), 5.0), contours=2),
        lambda: h.set_field(nan, mode="classes", n_classes=2),
        lambda: h.set_field(np.full((2, 2, 3), np.nan), mode="classes"),
        lambda: h.set_field(np.array([[0.0, 7.0]]), mode="classes", n_classes=3),
        lambda: h.set_points(train=(np.array([np.nan, 1e300]), np.array([np.inf, 0.0]), np.array([0, 1]))),
        lambda: h.set_points(train=(np.array([]), np.array([]), None), color_by="value"),
        lambda: h.set_paths([(np.array([np.nan, 1e12, -1e12]), np.array([0.0, 1e12, 3.0]), (9, 9, 9), "p")]),
        lambda: h.set_paths([(np.array([]), np.array([]), (9, 9, 9), "")]),
    ]

    async def body(pilot):
        for make in states:
            make()
            for w, hh in SIZES:
                text = h.text_for_size(w, hh)
                lines = plain_lines(text) if w and hh else []
                assert all(len(line) == w for line in lines), (w, hh, lines)
        h.clear()
        await pilot.pause()
        assert h.render().plain == "n"  # "nada" cut to the 1 x 1 widget
        assert "nada" in h.text_for_size(10, 3).plain

    run(OneWidget(h, 1, 1), body)


# ---------------------------------------------------------------- line plot


def test_lineplot_shows_series_and_switches_to_log_scale():
    lp = LinePlot(title="loss", xlabel="step")

    async def body(pilot):
        x = np.arange(1, 301)
        lp.set_series([Series("train loss", x, np.exp(-x / 20.0) + 1e-4),
                       Series("val loss", x, np.exp(-x / 30.0) + 1e-3, (255, 0, 0))])
        await pilot.pause()
        linear = lp.render().plain
        assert "train loss" in linear and "val loss" in linear and "loss" in linear
        assert "1e-3" not in linear
        assert not lp.log_y and lp.toggle_log() and lp.log_y
        await pilot.pause()
        log = lp.render().plain
        assert "1e-3" in log and "0.01" in log and "0.1" in log  # decades on the y axis
        assert "train loss" in log and not lp.log_fell_back
        lp.log_y = False
        assert lp.render().plain == linear

    run(OneWidget(lp), body, size=(70, 20))


def test_lineplot_log_falls_back_when_nothing_is_positive():
    lp = LinePlot(title="w", log_y=True, log_fallback_text="LINEAR!")

    async def body(pilot):
        lp.set_series([Series("s", None, np.array([-1.0, -2.0, 0.0, np.nan]))])
        await pilot.pause()
        text = lp.render().plain
        assert lp.log_fell_back and "LINEAR!" in text.split("\n")[0]
        # some positive values: stays log, skips the others
        lp.set_series([Series("s", None, np.array([-1.0, 0.01, 1.0, 100.0, 0.0]))])
        text = lp.render().plain
        assert not lp.log_fell_back and "LINEAR!" not in text and "100" in text

    run(OneWidget(lp), body, size=(50, 14))


def test_lineplot_bands_caching_and_bad_data():
    lp = LinePlot(no_data_text="nothing yet")

    async def body(pilot):
        assert "nothing yet" in lp.render().plain
        x = np.arange(200.0)
        med = np.sin(x / 30)
        lp.set_bands(x, [Band(med - 1, med + 1, (40, 60, 90), "min-max"),
                         (med - 0.3, med + 0.3, (70, 110, 160), "p25-p75")],
                     median=(med, (240, 240, 240)), median_label="median")
        await pilot.pause()
        first = lp.render()
        assert all(s in first.plain for s in ("min-max", "p25-p75", "median"))
        assert "█" in first.plain
        count = lp.render_count
        assert lp.render() is first and lp.render_count == count
        lp.set_series([Series("all nan", None, np.full(5, np.nan)),
                       Series("overflow", None, np.array([1e308, -1e308, 1.0, 2.0]))])
        assert lp.render() is not first and "overflow" in lp.render().plain
        for w, h in SIZES:
            lines = plain_lines(lp.text_for_size(w, h)) if w and h else []
            assert len(lines) <= h and all(len(line) <= w for line in lines)
        lines = plain_lines(lp.text_for_size(40, 12))
        assert len(lines) == 12 and all(len(line) == 40 for line in lines)
        lp.clear()
        assert "nothing yet" in lp.render().plain

    run(OneWidget(lp), body, size=(60, 16))


def test_lineplot_thins_long_series_and_serialises_plotext():
    x = np.arange(100_000.0)
    xs, ys = thin(x, x, 120)
    assert len(xs) <= 120 and xs[0] == 0 and xs[-1] == x[-1]
    assert isinstance(PLOTEXT_LOCK, type(threading.Lock()))
    pos, labels = log_ticks(-3.2, 0.1, 6)
    assert labels == ["1e-3", "0.01", "0.1", "1"] and pos == [-3.0, -2.0, -1.0, 0.0]

    # builds from several threads give what one thread gives
    plots = [LinePlot(title=f"p{i}") for i in range(3)]
    for i, p in enumerate(plots):
        p.set_series([Series("s", x, np.cos(x / (5000 * (i + 1))))])
    serial = [p.text_for_size(60, 15).plain for p in plots]
    out = [None] * 3

    def work(i):
        out[i] = plots[i]._build(60, 15).plain

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert out == serial


# ---------------------------------------------------------------- histogram


def test_histogram_tallest_bar_is_full_height_with_range_below():
    hist = Histogram(title="weights")

    async def body(pilot):
        counts = np.array([1, 4, 8, 2])
        edges = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
        hist.set_hist(counts, edges)
        await pilot.pause()
        lines = plain_lines(hist.render())
        assert len(lines) == 10 and lines[0].startswith("weights")
        bars, axis = lines[1:-1], lines[-1]
        # 4 bins on 20 columns: bin 2 (the tallest) is columns 10..14
        assert all(line[10:15] == "█" * 5 for line in bars)
        assert all(line[0] == " " for line in bars[:-1])  # count 1 of 8 over 8 rows: 1 row
        assert bars[-1][0] == "█"
        assert axis.startswith("-2") and axis.endswith("2") and "0" in axis[3:-3]
        # more bins than columns: summed per column; the peak is still full height
        c = np.zeros(100)
        c[37] = 5.0
        c[80] = np.nan
        hist.set_hist(c, np.linspace(0, 1, 101))
        lines = plain_lines(hist.render())
        assert all(line.count("█") == 1 for line in lines[1:-1])

    run(OneWidget(hist, 20, 10), body)


def test_histogram_columns_and_bad_input():
    assert list(columns_from_bins(np.array([1.0, 2.0]), 4)) == [1, 1, 2, 2]
    assert list(columns_from_bins(np.array([1.0, 2.0, 3.0, 4.0]), 2)) == [3, 7]
    hist = Histogram(no_data_text="vazio")

    async def body(pilot):
        assert hist.render().plain == "v" and "vazio" in hist.text_for_size(12, 4).plain
        with pytest.raises(ValueError):
            hist.set_hist([1, 2], [0, 1])
        first = hist.render()
        assert hist.render() is first
        for counts, edges in (([np.nan, np.inf, -3], [0, 1, 2, 3]), ([0, 0], [0, 1, 2]),
                              ([], []), ([5], [np.nan, np.inf])):
            hist.set_hist(counts, edges, log_counts=True)
            for w, h in SIZES:
                lines = plain_lines(hist.text_for_size(w, h)) if w and h else []
                assert len(lines) <= h and all(len(line) <= w for line in lines)

    run(OneWidget(hist, 1, 1), body)


# ----------------------------------------------------------------- demo app


class Demo(App):
    """All widgets on one screen, with made-up data (for the screenshot)."""

    CSS = """
    Grid { grid-size: 2 2; grid-columns: 1fr 1fr; grid-rows: 3fr 2fr; }
    """

    def compose(self) -> ComposeResult:
        with Grid():
            yield Heatmap(id="classes", title="spirals", xlabel="x1", ylabel="x2",
                          class_names=["A", "B", "C"])
            yield Heatmap(id="surface", title="loss surface", xlabel="w1", ylabel="w2")
            yield LinePlot(id="loss", title="loss", xlabel="step", log_y=True)
            yield Histogram(id="hist", title="layer 1 weights")

    def on_mount(self) -> None:
        rng = np.random.default_rng(3)
        # decision regions of three spiral arms: made-up probabilities from angles
        g = np.linspace(-1, 1, 80)
        xx, yy = np.meshgrid(g, g[::-1])
        ang = np.arctan2(yy, xx) - 3.0 * np.hypot(xx, yy)
        logits = np.stack([np.cos(ang - 2 * np.pi * k / 3) * 4 * np.hypot(xx, yy)
                           for k in range(3)], axis=-1)
        probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        hm = self.query_one("#classes", Heatmap)
        hm.set_field(probs, extent=(-1, 1, -1, 1), mode="classes")
        t = rng.uniform(0.1, 1.0, 60)
        k = rng.integers(0, 3, 60)
        a = 3.0 * t + 2 * np.pi * k / 3
        px, py = t * np.cos(a), t * np.sin(a)
        hm.set_points(train=(px[:45], py[:45], k[:45]), val=(px[45:], py[45:], k[45:]))
        # a loss surface with two optimizer paths
        g = np.linspace(-2, 2, 60)
        xx, yy = np.meshgrid(g, g[::-1])
        z = (1 - xx) ** 2 + 5 * (yy - xx ** 2) ** 2
        sf = self.query_one("#surface", Heatmap)
        sf.set_field(z + 1e-3, extent=(-2, 2, -2, 2), log=True, contours=6)
        steps = np.arange(40)
        sf.set_paths([
            (-1.5 + 2.5 * (1 - np.exp(-steps / 10)), 1.8 - 0.8 * (1 - np.exp(-steps / 8)),
             (255, 90, 90), "sgd"),
            (-1.8 + 2.8 * (1 - np.exp(-steps / 6)), -1.0 + 2.0 * (1 - np.exp(-steps / 6)),
             (90, 200, 255), "adam"),
        ])
        x = np.arange(1, 2001)
        self.query_one("#loss", LinePlot).set_series([
            Series("train", x, 2.0 * np.exp(-x / 300) + 0.01 + 0.02 * rng.random(2000)),
            Series("validation", x, 2.0 * np.exp(-x / 400) + 0.05, (255, 157, 167)),
        ])
        w = rng.normal(0, 0.5, 5000)
        counts, edges = np.histogram(w, bins=40)
        self.query_one("#hist", Histogram).set_hist(counts, edges)


def save_demo_screenshot(path: str, size=(110, 34)) -> str:
    from pathlib import Path

    p = Path(path)
    result = {}

    async def main():
        app = Demo()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            result["svg"] = app.save_screenshot(p.name, path=str(p.parent))

    asyncio.run(main())
    return result["svg"]


def test_demo_app_screenshot(tmp_path):
    svg = save_demo_screenshot(str(tmp_path / "widgets.svg"), size=(90, 28))
    text = open(svg).read()
    assert "<svg" in text and "spirals" in text and "validation" in text


if __name__ == "__main__":
    print(save_demo_screenshot(sys.argv[1] if len(sys.argv) > 1 else "/tmp/widgets.svg"))
