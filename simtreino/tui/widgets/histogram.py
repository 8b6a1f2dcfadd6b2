"""A histogram of vertical bars drawn with eighth-block characters (``▁▂▃▄▅▆▇█``).

The counts and bin edges come ready-made (the analysis layer bins weights or
gradients); the widget only scales the bars to its height: the tallest bar is
always full height. Under the bars, the range's lower and upper edges. The
rendered :class:`rich.text.Text` is kept until the data or the size changes
(``render_count`` counts real rebuilds).
"""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from .cached import CachedRender

from .colors import TABLEAU10, hex_color
from .heatmap import fmt_number

EIGHTHS = " ▁▂▃▄▅▆▇█"


def columns_from_bins(counts: np.ndarray, width: int) -> np.ndarray:
    """Counts per screen column: bins spread over ``width`` columns.

    More columns than bins: each bin covers a run of columns (its bar is
    repeated). More bins than columns: the bins falling in a column are summed.
    """
    n = len(counts)
    if n == 0 or width <= 0:
        return np.zeros(max(width, 0))
    if n <= width:
        return counts[np.minimum((np.arange(width) * n) // width, n - 1)]
    col_of_bin = (np.arange(n) * width) // n
    return np.bincount(col_of_bin, weights=counts, minlength=width)[:width]


class Histogram(CachedRender, Widget):
    """One histogram: :meth:`set_hist` ``(counts, edges)`` drawn as eighth-block bars."""

    DEFAULT_CSS = """
    Histogram {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", no_data_text: str = "no data",
                 color: tuple[int, int, int] = TABLEAU10[0], log_counts: bool = False,
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.no_data_text = no_data_text
        self.color = tuple(color)
        self.log_counts = log_counts
        self._counts: np.ndarray | None = None
        self._edges: np.ndarray | None = None
        self._init_cache()

    def set_hist(self, counts, edges, title: str | None = None,
                 color: tuple[int, int, int] | None = None, log_counts: bool | None = None) -> None:
        """Set the bins: ``counts`` (n,), ``edges`` (n + 1,) increasing.

        Non-finite or negative counts count as 0. ``log_counts``: bar height
        proportional to log(1 + count), to see sparse tails. ``None`` keeps the
        current title / colour / scale.
        """
        c = np.ravel(np.asarray(counts, dtype=np.float64))
        e = np.ravel(np.asarray(edges, dtype=np.float64))
        if len(c) and len(e) != len(c) + 1:
            raise ValueError(f"set_hist: {len(c)} counts need {len(c) + 1} edges, got {len(e)}")
        c = np.where(np.isfinite(c) & (c > 0), c, 0.0)
        self._counts = c if len(c) else None
        self._edges = e if len(c) else None
        if title is not None:
            self.title = title
        if color is not None:
            self.color = tuple(color)
        if log_counts is not None:
            self.log_counts = bool(log_counts)
        self._changed()

    def clear(self) -> None:
        self._counts = None
        self._edges = None
        self._changed()

    def set_labels(self, *, title: str | None = None, no_data_text: str | None = None) -> None:
        if title is not None:
            self.title = title
        if no_data_text is not None:
            self.no_data_text = no_data_text
        self._changed()

    def text_for_size(self, width: int, height: int) -> Text:
        """The picture for any size, without touching the cache."""
        return self._build(width, height)

    def _build(self, w: int, h: int) -> Text:
        out = Text(no_wrap=True, overflow="crop", end="")
        if w <= 0 or h <= 0:
            return out
        title_rows = 1 if self.title and h >= 4 else 0
        range_rows = 1 if h >= 3 else 0
        bar_rows = h - title_rows - range_rows
        if title_rows:
            out.append(self.title[:w].ljust(w), Style(bold=True))
            out.append("\n")
        c = self._counts
        if c is None:
            msg = self.no_data_text[:w]
            lines = [""] * (bar_rows + range_rows)
            lines[len(lines) // 2] = " " * max((w - len(msg)) // 2, 0) + msg
            out.append("\n".join(lines), Style(dim=True))
            return out
        col = columns_from_bins(np.log1p(c) if self.log_counts else c, w)
        top = float(col.max())
        eighths = np.zeros(w, dtype=np.int64)
        if top > 0:
            eighths = np.rint(col / top * bar_rows * 8).astype(np.int64)
            eighths[(col > 0) & (eighths == 0)] = 1  # a non-empty bin is never invisible
        style = Style(color=hex_color(self.color))
        rows = []
        for r in range(bar_rows):
            level = (bar_rows - 1 - r) * 8  # eighths below this row
            fill = np.clip(eighths - level, 0, 8)
            rows.append("".join(EIGHTHS[v] for v in fill.tolist()))
        out.append("\n".join(rows), style)
        if range_rows:
            if bar_rows:
                out.append("\n")
            lo, hi = float(self._edges[0]), float(self._edges[-1])
            lo_s = fmt_number(lo) if math.isfinite(lo) else "?"
            hi_s = fmt_number(hi) if math.isfinite(hi) else "?"
            gap = w - len(lo_s) - len(hi_s)
            line = lo_s + " " * gap + hi_s if gap >= 1 else lo_s[:w]
            if gap >= 1 and lo < 0 < hi and math.isfinite(hi - lo):  # mark zero, if it fits
                z = min(int((0.0 - lo) / (hi - lo) * w), w - 1)
                if len(lo_s) + 1 <= z <= w - len(hi_s) - 2:
                    line = line[:z] + "0" + line[z + 1:]
            out.append(line[:w], Style(dim=True))
        return out
