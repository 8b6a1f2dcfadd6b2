"""A confusion matrix: counts of (true class, predicted class), with each
class's accuracy in a last column.

Rows are the true class and columns the predicted one (like sklearn). A
cell's background is shaded by its share of its row: green on the diagonal
(right answers), red off it (mistakes). Mistakes are usually a few percent
of a row, so the red shading follows the square root of the share: a 4%
confusion is a fifth of the full red, visible at a glance. The widget gets
the counts ready-made; every text it shows comes in as a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from textual.widget import Widget

from .colors import BACKGROUND
from .digits import GridRender, centre_message
from .heatmap import CellGrid

RIGHT_HUE = (40, 150, 70)
WRONG_HUE = (205, 55, 55)
TEXT = (235, 235, 235)
HEADER_COLS = 3  # the row headers: "0 " plus a space


def shade(share: np.ndarray, diagonal: np.ndarray, background=BACKGROUND) -> np.ndarray:
    """Background colours ``(..., 3)`` int64 of cells with row shares ``share``
    (0..1): toward green where ``diagonal``, toward red (square root of the
    share) elsewhere."""
    s = np.clip(np.nan_to_num(np.asarray(share, dtype=np.float64)), 0.0, 1.0)
    t = np.where(diagonal, s, np.sqrt(s))[..., None]
    hue = np.where(np.asarray(diagonal)[..., None], np.asarray(RIGHT_HUE, float),
                   np.asarray(WRONG_HUE, float))
    bg = np.asarray(background, float)
    return np.rint(bg + (hue - bg) * t).astype(np.int64)


def fmt_percent(v: float) -> str:
    return "–" if not math.isfinite(v) else f"{v:.0%}"


class ConfusionMatrix(GridRender, Widget):
    """:meth:`set_matrix` ``(counts, recall=None)``: a ``(k, k)`` grid of counts."""

    DEFAULT_CSS = """
    ConfusionMatrix {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", true_text: str = "true",
                 predicted_text: str = "predicted", accuracy_text: str = "acc",
                 class_names: Sequence[str] | None = None, no_data_text: str = "no data",
                 too_small_text: str = "too small",
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.true_text = true_text
        self.predicted_text = predicted_text
        self.accuracy_text = accuracy_text
        self.class_names = list(class_names) if class_names is not None else None
        self.no_data_text = no_data_text
        self.too_small_text = too_small_text
        self._counts: np.ndarray | None = None
        self._recall: np.ndarray | None = None
        self._init_cache()

    def set_matrix(self, counts, recall=None, title: str | None = None) -> None:
        """``counts`` ``(k, k)`` (rows = true class); ``recall`` ``(k,)`` the
        per-class accuracy (default: diagonal / row total). Nothing is redrawn
        when the numbers and the title are the ones already shown."""
        c = np.asarray(counts)
        if c.ndim != 2 or c.shape[0] != c.shape[1]:
            raise ValueError(f"counts must be a square (k, k) array, got shape {c.shape}")
        c = np.where(np.isfinite(c), c, 0).astype(np.int64)
        if recall is None:
            total = c.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                recall = np.where(total > 0, np.diag(c) / np.maximum(total, 1), np.nan)
        r = np.asarray(recall, dtype=np.float64).reshape(-1)
        if len(r) != len(c):
            raise ValueError(f"recall needs {len(c)} values, got {len(r)}")
        same = (self._counts is not None and self._counts.shape == c.shape
                and np.array_equal(self._counts, c) and np.array_equal(self._recall, r,
                                                                       equal_nan=True))
        if same and (title is None or title == self.title):
            return
        if title is not None:
            self.title = title
        self._counts, self._recall = c, r
        self._changed()

    def set_labels(self, *, title: str | None = None, true_text: str | None = None,
                   predicted_text: str | None = None, accuracy_text: str | None = None,
                   class_names: Sequence[str] | None = None, no_data_text: str | None = None,
                   too_small_text: str | None = None) -> None:
        self._set_texts(title=title, true_text=true_text, predicted_text=predicted_text,
                        accuracy_text=accuracy_text, no_data_text=no_data_text,
                        too_small_text=too_small_text,
                        class_names=None if class_names is None else list(class_names))

    def clear(self) -> None:
        self._counts = self._recall = None
        self._changed()

    def _names(self, k: int) -> list[str]:
        names = self.class_names or []
        return [names[i] if i < len(names) else str(i) for i in range(k)]

    def _build(self, w: int, h: int) -> CellGrid:
        grid = CellGrid(max(w, 0), max(h, 0))
        if w <= 0 or h <= 0:
            return grid
        c = self._counts
        if c is None or c.size == 0:
            return centre_message(grid, self.no_data_text)
        k = len(c)
        names = self._names(k)
        hw = max(HEADER_COLS, max(len(s) for s in names) + 1)
        acc_w = max(len(self.accuracy_text), 4) + 1
        digits = max(len(str(int(c.max()))), max(len(s) for s in names))
        # a space each side of the number when the width allows, else none:
        # the shading still tells the cells apart
        cw = next((x for x in (digits + 2, digits + 1, digits) if hw + k * x + acc_w <= w), None)
        if cw is None or h < k + 1:
            return centre_message(grid, self.too_small_text)
        # the title row (when there is room): the title, then which axis is which
        header = 1 if h >= k + 2 else 0
        top = header + 1
        if header:
            col = grid.put_text(0, 0, self.title, bold=True) + 3 if self.title else 0
            grid.put_text(0, col, f"{self.true_text} ↓   {self.predicted_text} →", dim=True)
        for j in range(k):
            s = names[j]
            grid.put_text(top - 1, hw + j * cw + cw - len(s) - (cw > digits), s, dim=True)
        grid.put_text(top - 1, hw + k * cw + 1, self.accuracy_text, dim=True)
        total = c.sum(axis=1, keepdims=True)
        share = np.where(total > 0, c / np.maximum(total, 1), 0.0)
        bg = shade(share, np.eye(k, dtype=bool))
        for i in range(k):
            row = top + i
            grid.put_text(row, 0, names[i], dim=True)
            for j in range(k):
                x0 = hw + j * cw
                if c[i, j]:
                    grid.bg[row, x0:x0 + cw] = bg[i, j]
                    grid.bg_on[row, x0:x0 + cw] = True
                s = str(int(c[i, j])) if c[i, j] else "·"
                grid.put_text(row, x0 + cw - len(s) - (cw > digits), s,
                              fg=TEXT if c[i, j] else None, dim=not c[i, j],
                              bold=bool(i == j and c[i, j]))
            grid.put_text(row, hw + k * cw + 1, fmt_percent(self._recall[i]))
        return grid
