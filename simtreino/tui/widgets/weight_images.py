"""The first layer's weights drawn as images: what each neuron looks for.

Unit ``u`` of the first layer weighs every pixel with row ``u`` of the
weight matrix, so that row, reshaped to 28x28, is a picture of the pattern
the unit responds to. Each picture uses the diverging colour map (blue
negative, light zero, orange-red positive) on a scale symmetric around zero
and its own: ``±max|w|`` of that unit, shown next to its index, so a unit
with small weights is still readable (and the scale says it is small).
Tiles are drawn at full size (28x14 cells) when all fit, else halved; as
many as fit the widget are shown. The widget only draws what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from textual.widget import Widget

from .colors import colormap_array
from .digits import GAP, GridRender, centre_message, downsample2, paint_image, pick_factor, \
    tile_size
from .heatmap import CellGrid

CAPTION_COLS = 8  # "#12 ±0.3": a tile column is at least this wide
LEVELS = 64       # colour steps from -max|w| to +max|w|


def weight_colors(img: np.ndarray, m: float | None = None) -> np.ndarray:
    """Colours ``(h, w, 3)`` int64 of one weight image on a scale symmetric
    around zero: ``-m`` full blue, 0 the map's middle, ``+m`` full red;
    ``m`` defaults to the image's own ``max|w|`` (0: all the middle colour)."""
    v = np.nan_to_num(np.asarray(img, dtype=np.float64))
    if m is None:
        m = float(np.max(np.abs(v))) if v.size else 0.0
    t = 0.5 + 0.5 * v / m if m > 0 else np.full(v.shape, 0.5)
    # 64 steps (invisible on a 9-stop map) keep the number of distinct cell
    # styles bounded, so the style cache serves every redraw during training
    t = np.rint(t * LEVELS) / LEVELS
    return colormap_array(t, "diverging").astype(np.int64)


def scale_label(m: float) -> str:
    return f"±{m:.2g}" if m < 1e4 else f"±{m:.0e}"


class WeightImages(GridRender, Widget):
    """:meth:`set_weights` ``(images (k, h, w), units=None)``: a grid of weight images."""

    DEFAULT_CSS = """
    WeightImages {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", no_data_text: str = "no data",
                 too_small_text: str = "too small", unit_label: str = "#{unit}",
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.no_data_text = no_data_text
        self.too_small_text = too_small_text
        self.unit_label = unit_label
        self._images: np.ndarray | None = None
        self._units: np.ndarray | None = None
        self._init_cache()

    def set_weights(self, images, units: Sequence[int] | None = None,
                    title: str | None = None) -> None:
        """``images`` ``(k, h, w)``: unit ``units[i]``'s weights as an image
        (default units 0..k-1). Nothing is redrawn when the weights and the
        title are the ones already shown."""
        imgs = np.array(images, dtype=np.float64)
        if imgs.ndim != 3:
            raise ValueError(f"images must be (k, h, w), got shape {imgs.shape}")
        u = np.arange(len(imgs)) if units is None else np.asarray(units, dtype=np.int64)
        if len(u) != len(imgs):
            raise ValueError(f"{len(imgs)} images need {len(imgs)} unit indices, got {len(u)}")
        same = (self._images is not None and self._images.shape == imgs.shape
                and np.array_equal(self._images, imgs, equal_nan=True)
                and np.array_equal(self._units, u))
        if same and (title is None or title == self.title):
            return
        if title is not None:
            self.title = title
        self._images, self._units = imgs, u
        self._changed()

    def set_labels(self, *, title: str | None = None, no_data_text: str | None = None,
                   too_small_text: str | None = None, unit_label: str | None = None) -> None:
        self._set_texts(title=title, no_data_text=no_data_text, too_small_text=too_small_text,
                        unit_label=unit_label)

    def clear(self) -> None:
        self._images = self._units = None
        self._changed()

    def _build(self, w: int, h: int) -> CellGrid:
        grid = CellGrid(max(w, 0), max(h, 0))
        if w <= 0 or h <= 0:
            return grid
        imgs = self._images
        if imgs is None or len(imgs) == 0:
            return centre_message(grid, self.no_data_text)
        header = 1 if self.title and h >= 3 else 0
        plan = pick_factor(imgs.shape[1:], len(imgs), w, h - header, CAPTION_COLS, extra_rows=1)
        if plan is None:
            return centre_message(grid, self.too_small_text)
        factor, per_row, _n_rows, fit = plan
        if header:
            grid.put_text(0, 0, self.title, bold=True)
        tw, th = tile_size(imgs.shape[1:], factor)
        col_w = max(tw, CAPTION_COLS)
        for i in range(fit):
            img = np.nan_to_num(imgs[i])
            r, c = divmod(i, per_row)
            top = header + r * (th + 1)
            left = c * (col_w + GAP)
            # the scale is the full-resolution image's (the label says it),
            # also when the tile shows 2x2 averages
            m = float(np.max(np.abs(img)))
            paint_image(grid, top, left,
                        weight_colors(downsample2(img) if factor == 2 else img, m))
            col = grid.put_text(top + th, left, self.unit_label.format(unit=int(self._units[i])),
                                max_col=left + col_w)
            grid.put_text(top + th, col + 1, scale_label(m), dim=True, max_col=left + col_w)
        return grid
