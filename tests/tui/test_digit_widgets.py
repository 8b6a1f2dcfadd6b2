"""The MNIST panels' widgets: DigitStrip, ConfusionMatrix, WeightImages.

Pictures are checked cell by cell (half blocks: foreground = upper pixel,
background = lower pixel) against the colours the widgets promise; texts,
caching and small sizes as for the other plotting widgets. Each widget is
driven inside a tiny Textual app (``app.run_test``) so that Textual's own
drawing path (``render_line``) runs too.
"""

from __future__ import annotations

import asyncio

import numpy as np
from rich.style import Style
from textual.app import App, ComposeResult

from simtreino.tui.widgets import ConfusionMatrix, DigitStrip, WeightImages
from simtreino.tui.widgets.colors import BACKGROUND, DIVERGING_STOPS
from simtreino.tui.widgets.confusion import RIGHT_HUE, WRONG_HUE, shade
from simtreino.tui.widgets.digits import RIGHT_COLOR, WRONG_COLOR, downsample2, grey

# ----------------------------------------------------------------- helpers


class OneWidget(App):
    """An app holding one widget of a fixed size (cells)."""

    def __init__(self, widget, width: int, height: int):
        super().__init__()
        self.widget, self.w, self.h = widget, width, height

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_mount(self) -> None:
        self.widget.styles.width = self.w
        self.widget.styles.height = self.h


def run(app: App, body, size=(100, 40)):
    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


def cell(text, col: int, row: int) -> tuple[str, Style]:
    """Character and combined style at (col, row) of a rendered multi-line Text."""
    line = text.split("\n", allow_blank=True)[row]
    style = Style.combine([line.style or Style()]
                          + [s.style for s in line.spans if s.start <= col < s.end])
    return line.plain[col], style


def rgb(color) -> tuple[int, int, int] | None:
    if color is None:
        return None
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


def lines(text) -> list[str]:
    return text.plain.split("\n")


def digit(seed: int) -> np.ndarray:
    """A 28x28 image with 0..1 values quantised to 1/255 (exact greys)."""
    return np.random.default_rng(seed).integers(0, 256, (28, 28)) / 255.0


# ------------------------------------------------------------- digit strip


def test_digit_strip_full_size_pixels_and_captions():
    img = digit(0)
    strip = DigitStrip(caption="{label} → {predicted} ({confidence:.0%})")

    async def body(pilot):
        strip.set_digits([(img, 7, 7, 0.98), (digit(1), 3, 5, 0.61, 123)])
        await pilot.pause()
        text = strip.render()
        assert len(lines(text)) == 15 and all(len(s) == 60 for s in lines(text))
        # every cell of the first digit: two pixels, grey levels 0 black .. 1 white
        g = grey(img)
        for r in range(14):
            for c in range(28):
                ch, st = cell(text, c, r)
                assert ch == "▀"
                assert rgb(st.color) == tuple(g[2 * r, c]) and rgb(st.bgcolor) == tuple(g[2 * r + 1, c])
        assert tuple(grey(np.array([0.0, 1.0]))[1]) == (255, 255, 255)
        # captions under each digit: green when right, red (and bold) when wrong
        caption = lines(text)[14]
        assert "7 → 7 (98%)" in caption and "3 → 5 (61%)" in caption
        right = caption.index("7 → 7")
        wrong = caption.index("3 → 5")
        assert right < 28 <= wrong                      # each under its own digit
        _, st = cell(text, right, 14)
        assert rgb(st.color) == RIGHT_COLOR and not st.bold
        _, st = cell(text, wrong, 14)
        assert rgb(st.color) == WRONG_COLOR and st.bold

    run(OneWidget(strip, 60, 15), body)


def test_digit_strip_halves_the_digits_when_space_is_short():
    img = digit(2)
    strip = DigitStrip(title="mistakes")

    async def body(pilot):
        strip.set_digits([(img, 1, 1, 0.5)] * 4)
        await pilot.pause()
        text = strip.render()
        # 4 digits at full size need 4 x 30 columns: halved, all four fit
        small = grey(downsample2(img))
        np.testing.assert_allclose(downsample2(img)[0, 0], img[:2, :2].mean())
        assert lines(text)[0].startswith("mistakes")
        for r in range(7):
            for c in range(14):
                _, st = cell(text, c, 1 + r)
                assert rgb(st.color) == tuple(small[2 * r, c])
                assert rgb(st.bgcolor) == tuple(small[2 * r + 1, c])
        assert lines(text)[8].count("1 → 1 (50%)") == 4
        # room for them all at full size: full size
        await pilot.resize_terminal(130, 20)
        strip.styles.width, strip.styles.height = 125, 16
        await pilot.pause()
        text = strip.render()
        assert lines(text)[15].count("1 → 1 (50%)") == 4
        _, st = cell(text, 5, 1)
        assert rgb(st.color) == tuple(grey(img)[0, 5])

    run(OneWidget(strip, 70, 10), body)


def test_digit_strip_shows_as_many_as_fit_and_degrades_gracefully():
    strip = DigitStrip(title="t", no_data_text="nothing yet", too_small_text="too small")
    assert "nothing yet" in strip.text_for_size(30, 5).plain
    strip.set_digits([(digit(k), k, k, 0.9) for k in range(10)])
    assert lines(strip.text_for_size(40, 9))[8].count("→") == 2     # 2 halved digits fit
    for w, h in [(0, 0), (1, 1), (5, 2), (13, 7), (14, 7), (30, 5), (200, 3)]:
        text = strip.text_for_size(w, h)
        assert all(len(s) == w for s in lines(text)) if w and h else True
    assert "too small" in strip.text_for_size(30, 5).plain
    assert "too sm" in strip.text_for_size(6, 3).plain
    # a diverged network: no confidence, no crash
    strip.set_digits([(np.full((28, 28), np.nan), 3, 0, float("nan"))])
    assert "3 → ?" in strip.text_for_size(20, 9).plain


def test_digit_strip_is_cached_until_the_digits_or_size_change():
    strip = DigitStrip(title="samples")
    data = [(digit(k), k, (k + 1) % 10, 0.75) for k in range(3)]

    async def body(pilot):
        strip.set_digits(data)
        await pilot.pause()
        first = strip.render()
        count = strip.render_count
        assert strip.render() is first and not strip.is_stale
        # what Textual draws comes from the same cache
        for y, line in enumerate(lines(first)):
            assert strip.render_line(y).text == line
        # the same digits again (a new list, new arrays): nothing to redraw
        strip.set_digits([(img.copy(), a, b, c) for img, a, b, c in data])
        await pilot.pause()
        assert not strip.is_stale and strip.render() is first and strip.render_count == count
        # new data: one rebuild
        strip.set_digits(data[:2])
        assert strip.is_stale
        second = strip.render()
        assert second is not first and strip.render_count == count + 1
        strip.set_digits(data[:2], title="other")        # a new title is a change too
        assert strip.is_stale
        strip.render()
        count = strip.render_count
        # the app may pass its translated texts on every update: only a change redraws
        strip.set_labels(title="other", no_data_text=strip.no_data_text)
        assert not strip.is_stale
        strip.set_labels(caption="{label}->{predicted}")
        assert strip.is_stale and "0->1" in strip.render().plain
        assert strip.render_count == count + 1

    run(OneWidget(strip, 60, 10), body)


# ---------------------------------------------------------- confusion matrix


COUNTS = np.array([[50, 0, 2],
                   [3, 40, 7],
                   [0, 0, 0]])


def test_confusion_matrix_numbers_headers_and_accuracy():
    cm = ConfusionMatrix(title="confusion", true_text="true", predicted_text="predicted",
                         accuracy_text="acc")

    async def body(pilot):
        cm.set_matrix(COUNTS)
        await pilot.pause()
        text = cm.render()
        rows = lines(text)
        assert rows[0].startswith("confusion") and "true ↓" in rows[0] and "predicted →" in rows[0]
        assert rows[1].split() == ["0", "1", "2", "acc"]
        assert rows[2].split() == ["0", "50", "·", "2", "96%"]
        assert rows[3].split() == ["1", "3", "40", "7", "80%"]
        assert rows[4].split() == ["2", "·", "·", "·", "–"]          # no sample of class 2
        # given per-class accuracy is shown as given
        cm.set_matrix(COUNTS, recall=[0.5, 0.25, np.nan])
        await pilot.pause()
        assert lines(cm.render())[3].split()[-1] == "25%"

    run(OneWidget(cm, 40, 6), body)


def test_confusion_matrix_shading_right_green_mistakes_red():
    cm = ConfusionMatrix(title="")
    cm.set_matrix(COUNTS)
    text = cm.text_for_size(40, 6)
    rows = lines(text)
    share = COUNTS / np.maximum(COUNTS.sum(axis=1, keepdims=True), 1)

    def bg_at(i, token_index):
        # the column of a number: find it in the row's text
        row = rows[2 + i]
        col = row.index(row.split()[token_index], 3)
        return rgb(cell(text, col, 2 + i)[1].bgcolor)

    assert bg_at(0, 1) == tuple(shade(share[0, 0], True))        # 50 on the diagonal
    assert bg_at(1, 1) == tuple(shade(share[1, 0], False))       # 3 mistakes
    assert bg_at(0, 2) is None                                   # 0: not shaded
    # the hues: the diagonal toward green, mistakes toward red; mistakes stand out
    # (square root: 6% of a row is a quarter of the way to full red)
    full = shade(np.array([1.0, 1.0]), np.array([True, False]))
    assert tuple(full[0]) == RIGHT_HUE and tuple(full[1]) == WRONG_HUE
    assert tuple(shade(0.0, False)) == BACKGROUND
    small = shade(0.0625, False)
    np.testing.assert_allclose(small, np.array(BACKGROUND) + (np.array(WRONG_HUE)
                                                               - BACKGROUND) * 0.25, atol=0.5)


def test_confusion_matrix_squeezes_then_says_too_small():
    cm = ConfusionMatrix(title="cm", too_small_text="too small", no_data_text="none")
    assert "none" in cm.text_for_size(30, 5).plain
    big = np.full((10, 10), 7)
    big[np.arange(10), np.arange(10)] = 980
    cm.set_matrix(big)
    wide = lines(cm.text_for_size(70, 12))
    assert wide[2].split()[:3] == ["0", "980", "7"]
    narrow = lines(cm.text_for_size(3 + 10 * 3 + 5, 11))     # digits touching, no title row
    assert narrow[0].split()[-1] == "acc" and narrow[1].startswith("0  980  7  7")
    assert "too small" in cm.text_for_size(30, 12).plain
    assert "too small" in cm.text_for_size(70, 8).plain
    for w, h in [(0, 0), (1, 1), (3, 2), (38, 11), (200, 40)]:
        text = cm.text_for_size(w, h)
        assert all(len(s) == w for s in lines(text)) if w and h else True


def test_confusion_matrix_is_cached_until_the_counts_change():
    cm = ConfusionMatrix(title="cm")

    async def body(pilot):
        cm.set_matrix(COUNTS)
        await pilot.pause()
        first = cm.render()
        count = cm.render_count
        cm.set_matrix(COUNTS.copy())                      # same numbers: nothing to do
        await pilot.pause()
        assert cm.render() is first and cm.render_count == count and not cm.is_stale
        cm.set_matrix(COUNTS + np.eye(3, dtype=int))
        assert cm.is_stale and cm.render() is not first and cm.render_count == count + 1

    run(OneWidget(cm, 40, 6), body)


# ------------------------------------------------------------ weight images


def test_weight_images_symmetric_diverging_scale_per_image():
    w = np.zeros((2, 28, 28))
    w[0, 0, 0], w[0, 1, 0], w[0, 0, 1] = 2.0, -2.0, 1.0    # scale ±2
    w[1, 0, 0], w[1, 1, 0] = 0.001, -0.0005                # a tiny unit is still readable
    wi = WeightImages(title="weights")

    async def body(pilot):
        wi.set_weights(w, units=[5, 9])
        await pilot.pause()
        text = wi.render()
        blue, red = DIVERGING_STOPS[0], DIVERGING_STOPS[-1]
        mid = DIVERGING_STOPS[len(DIVERGING_STOPS) // 2]
        _, st = cell(text, 0, 1)                     # first tile, top-left cell
        assert rgb(st.color) == red and rgb(st.bgcolor) == blue
        _, st = cell(text, 2, 1)
        assert rgb(st.color) == mid == rgb(st.bgcolor)
        _, st = cell(text, 1, 1)                     # +1 of ±2: three quarters up the map
        from simtreino.tui.widgets import colormap
        assert rgb(st.color) == colormap([0.75], "diverging")[0]
        col = lines(text)[15].index("#9")            # the second tile: its own scale
        _, st = cell(text, col, 1)
        assert rgb(st.color) == red
        caption = lines(text)[15]
        assert caption.startswith("#5 ±2") and "#9 ±0.001" in caption

    run(OneWidget(wi, 60, 16), body)


def test_weight_images_as_many_as_fit_and_graceful_when_small():
    rng = np.random.default_rng(0)
    wi = WeightImages(title="w", too_small_text="too small", no_data_text="none")
    assert "none" in wi.text_for_size(20, 5).plain
    wi.set_weights(rng.normal(size=(32, 28, 28)))
    text = wi.text_for_size(80, 17)     # halved tiles: 5 per row, 2 rows
    shown = [s for s in text.plain.split() if s.startswith("#")]
    assert shown == [f"#{u}" for u in range(10)]
    # every weight image at full size when they all fit
    wi.set_weights(rng.normal(size=(2, 28, 28)))
    assert [s for s in wi.text_for_size(80, 16).plain.split() if s.startswith("#")] == ["#0", "#1"]
    assert lines(wi.text_for_size(80, 16))[15].startswith("#0")      # 14 rows of pixels above
    assert "too small" in wi.text_for_size(40, 6).plain
    for w, h in [(0, 0), (1, 1), (7, 3), (14, 8), (13, 9)]:
        text = wi.text_for_size(w, h)
        assert all(len(s) == w for s in lines(text)) if w and h else True
    wi.set_weights(np.full((1, 28, 28), np.nan))      # a diverged network
    assert "#0" in wi.text_for_size(20, 9).plain


def test_weight_images_are_cached_until_the_weights_change():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 28, 28))
    wi = WeightImages()

    async def body(pilot):
        wi.set_weights(w)
        await pilot.pause()
        first = wi.render()
        count = wi.render_count
        wi.set_weights(w.copy(), units=np.arange(4))
        await pilot.pause()
        assert wi.render() is first and wi.render_count == count
        wi.set_weights(w * 2)
        assert wi.is_stale
        wi.render()
        assert wi.render_count == count + 1

    run(OneWidget(wi, 70, 17), body)


# ---------------------------------------------------------------- together


class Panels(App):
    CSS = "DigitStrip, ConfusionMatrix, WeightImages { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield DigitStrip(id="digits", title="digits")
        yield ConfusionMatrix(id="cm", title="confusion")
        yield WeightImages(id="w", title="weights")


def test_the_three_panels_in_one_screen():
    app = Panels()

    async def body(pilot):
        app.query_one(DigitStrip).set_digits([(digit(k), k, k, 0.9) for k in range(4)])
        app.query_one(ConfusionMatrix).set_matrix(np.diag(np.arange(1, 11) * 10))
        app.query_one(WeightImages).set_weights(np.random.default_rng(0).normal(size=(8, 28, 28)))
        await pilot.pause()
        svg = app.export_screenshot()
        assert "0&#160;→&#160;0&#160;(90%)" in svg or "0 → 0 (90%)" in svg
        assert "confusion" in svg and "#7" in svg

    run(app, body, size=(120, 45))
