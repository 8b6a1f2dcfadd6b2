"""A row of digit images drawn with half-block characters, each captioned
"true label → prediction (confidence)".

One terminal cell shows two vertical pixels (``▀``: foreground = upper
pixel, background = lower pixel), so a 28x28 digit takes 28 columns x 14
rows; when the widget is too small for that, every 2x2 block of pixels is
averaged and a digit takes 14 x 7. The caption is green when the network is
right and red when it is wrong. The same widget shows the sample strip and
the strip of current mistakes; it only draws the arrays it is given.

Also here, shared by the other image widgets (``WeightImages``): the
cached half-block grid rendering (:class:`GridRender`), the 2x2 reduction
and the choice of tile size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from .cached import CachedRender, set_texts
from .heatmap import HALF_BLOCK, CellGrid

RIGHT_COLOR = (90, 200, 110)
WRONG_COLOR = (235, 85, 85)
GAP = 2  # columns between two tiles


# ---------------------------------------------------------------- shared helpers


class GridRender(CachedRender):
    """:class:`CachedRender` for a widget whose ``_build(w, h)`` returns a
    :class:`CellGrid`: keeps the grid's styled runs and hands Textual one
    Strip per row (converting a Text with thousands of spans on every frame
    would be much slower, as in ``Heatmap``)."""

    def _init_cache(self) -> None:
        super()._init_cache()
        self._rows_cache: list | None = None
        self._strips: list[Strip] | None = None
        self._strips_base: Style | None = None
        self._style_cache: dict = {}

    @property
    def is_stale(self) -> bool:
        return self._rows_cache is None or self._cache_key != self._key()

    def _rows(self):
        key = self._key()
        if self._rows_cache is None or self._cache_key != key:
            self._rows_cache = self._build(self.size.width, self.size.height).runs(self._style_cache)
            self._cache_key = key
            self._cache = None
            self._strips = None
            self.render_count += 1
        return self._rows_cache

    def render(self) -> Text:
        rows = self._rows()
        if self._cache is None:
            self._cache = CellGrid.text_from_runs(rows, self.size.width)
        return self._cache

    def render_line(self, y: int) -> Strip:
        rows = self._rows()
        base = self.rich_style
        if self._strips is None or self._strips_base != base:
            self._strips = CellGrid.strips_from_runs(rows, self.size.width, base)
            self._strips_base = base
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, base)

    def text_for_size(self, width: int, height: int) -> Text:
        """The picture for any size, as a Text, without touching the cache."""
        return self._build(width, height).to_text(self._style_cache)

    def _set_texts(self, **texts) -> None:
        """Set the given texts (``None`` keeps one); redraw only if one changed,
        so the app may pass its (translated) texts on every update."""
        before = {k: getattr(self, k) for k in texts}
        set_texts(self, **texts)
        if any(getattr(self, k) != v for k, v in before.items()):
            self._changed()


def downsample2(img: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block (an odd last row or column is kept as it is)."""
    h, w = img.shape
    pad = np.pad(img, ((0, h % 2), (0, w % 2)), mode="edge")
    return pad.reshape((h + 1) // 2, 2, (w + 1) // 2, 2).mean(axis=(1, 3))


def tile_size(shape: tuple[int, int], factor: int) -> tuple[int, int]:
    """(columns, rows) of cells a ``shape`` image takes after reduction by ``factor``."""
    h, w = -(-shape[0] // factor), -(-shape[1] // factor)
    return w, -(-h // 2)


def pick_factor(shape, n: int, width: int, height: int, min_cols: int, extra_rows: int):
    """The reduction (1 or 2) and tiles per row / rows of tiles to show ``n`` images.

    Full size when every image fits at full size, else whichever size shows
    more of them (full size on a tie); None when not even one small tile fits.
    ``min_cols``: the narrowest a tile column may be (its caption);
    ``extra_rows``: rows under each tile (caption).
    """
    best = None
    for factor in (1, 2):
        tw, th = tile_size(shape, factor)
        col_w = max(tw, min_cols)
        per_row = (width + GAP) // (col_w + GAP)
        n_rows = height // (th + extra_rows)
        fit = min(n, per_row * n_rows)
        if fit >= 1 and (best is None or fit > best[3]):
            best = (factor, per_row, n_rows, fit)
        if fit >= n:
            break
    return best


def paint_image(grid: CellGrid, top: int, left: int, rgb: np.ndarray) -> None:
    """Draw an image of colours ``(prows, cols, 3)`` with half blocks at (top, left).

    An odd number of pixel rows: the last cell's lower half is the grid's
    background (no colour set)."""
    prows, cols = rgb.shape[:2]
    rows = -(-prows // 2)
    cols = min(cols, grid.width - left)
    rows = min(rows, grid.height - top)
    if rows <= 0 or cols <= 0:
        return
    sl = (slice(top, top + rows), slice(left, left + cols))
    grid.chars[sl] = HALF_BLOCK
    grid.fg[sl] = rgb[0:2 * rows:2, :cols]
    grid.fg_on[sl] = True
    lower = rgb[1:2 * rows:2, :cols]
    grid.bg[top:top + len(lower), left:left + cols] = lower
    grid.bg_on[top:top + len(lower), left:left + cols] = True


def grey(img: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1] to greys ``(..., 3)`` int64: 0 black, 1 white
    (MNIST is white ink on black, like a dark terminal). NaN is black."""
    v = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0)
    g = np.rint(np.clip(v, 0.0, 1.0) * 255).astype(np.int64)
    return np.repeat(g[..., None], 3, axis=-1)


def centre_message(grid: CellGrid, text: str) -> CellGrid:
    w, h = grid.width, grid.height
    if w > 0 and h > 0:
        msg = text[:w]
        grid.put_text(h // 2, max((w - len(msg)) // 2, 0), msg, dim=True)
    return grid


# ---------------------------------------------------------------- the widget


class DigitStrip(GridRender, Widget):
    """Digits in a row with their captions: :meth:`set_digits` ``[(image, label,
    predicted, confidence), ...]`` (longer tuples, like ``DigitPrediction``,
    work too: the fields after the fourth are ignored)."""

    DEFAULT_CSS = """
    DigitStrip {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", no_data_text: str = "no data",
                 too_small_text: str = "too small",
                 caption: str = "{label} → {predicted} ({confidence:.0%})",
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.no_data_text = no_data_text
        self.too_small_text = too_small_text
        self.caption = caption
        self._digits: list[tuple[np.ndarray, int, int, float]] = []
        self._init_cache()

    def set_digits(self, digits: Sequence, title: str | None = None) -> None:
        """The digits to show (images ``(h, w)`` in [0, 1], row 0 at the top).

        Nothing is redrawn when the digits and the title are the ones
        already shown (the app may call this on every frame)."""
        new = [(np.array(d[0], dtype=np.float64), int(d[1]), int(d[2]), float(d[3]))
               for d in digits]
        for img, *_ in new:
            if img.ndim != 2:
                raise ValueError(f"a digit image must be 2-D (h, w), got shape {img.shape}")
        if (title is None or title == self.title) and self._same(new):
            return
        if title is not None:
            self.title = title
        self._digits = new
        self._changed()

    def _same(self, new) -> bool:
        old = self._digits
        return len(old) == len(new) and all(
            a[1:3] == b[1:3] and np.array_equal(a[3], b[3], equal_nan=True)
            and a[0].shape == b[0].shape and np.array_equal(a[0], b[0], equal_nan=True)
            for a, b in zip(old, new))

    def set_labels(self, *, title: str | None = None, no_data_text: str | None = None,
                   too_small_text: str | None = None, caption: str | None = None) -> None:
        self._set_texts(title=title, no_data_text=no_data_text,
                        too_small_text=too_small_text, caption=caption)

    def clear(self) -> None:
        self._digits = []
        self._changed()

    def caption_of(self, label: int, predicted: int, confidence: float) -> str:
        if not np.isfinite(confidence):   # a diverged network: no confidence to show
            return f"{label} → ?"
        return self.caption.format(label=label, predicted=predicted, confidence=confidence)

    def _build(self, w: int, h: int) -> CellGrid:
        grid = CellGrid(max(w, 0), max(h, 0))
        if w <= 0 or h <= 0:
            return grid
        if not self._digits:
            return centre_message(grid, self.no_data_text)
        header = 1 if self.title and h >= 3 else 0
        captions = [self.caption_of(*d[1:]) for d in self._digits]
        shape = self._digits[0][0].shape
        plan = pick_factor(shape, len(self._digits), w, h - header,
                           max(len(c) for c in captions), extra_rows=1)
        if plan is None:
            return centre_message(grid, self.too_small_text)
        factor, per_row, _n_rows, fit = plan
        if header:
            grid.put_text(0, 0, self.title, bold=True)
        tw, th = tile_size(shape, factor)
        col_w = max(tw, max(len(c) for c in captions))
        for i in range(fit):
            img, label, pred, _conf = self._digits[i]
            if factor == 2:
                img = downsample2(img)
            r, c = divmod(i, per_row)
            top = header + r * (th + 1)
            left = c * (col_w + GAP)
            paint_image(grid, top, left + (col_w - tw) // 2, grey(img))
            cap = captions[i]
            grid.put_text(top + th, left + (col_w - len(cap)) // 2, cap,
                          fg=RIGHT_COLOR if label == pred else WRONG_COLOR, bold=label != pred)
        return grid
