"""A dense 2-D field drawn with half-block characters, with points and paths on top.

Each terminal cell shows two vertical pixels: the character ``▀`` with the
foreground colour = the upper pixel and the background colour = the lower
pixel, so a plot area of W x H cells is a W x 2H pixel image.

Conventions
-----------
- ``values[0, :]`` is the TOP row of the picture (y = ymax) and
  ``values[:, 0]`` the LEFT column (x = xmin), like an image; the field is
  resampled (nearest neighbour) to the widget's pixel grid.
- ``extent = (xmin, xmax, ymin, ymax)`` gives data coordinates of the field's
  outer edges; points and paths are placed with it.
- Nothing here computes training: the widget gets arrays and draws them.
- Every text the widget shows by itself comes in as a parameter
  (``title``, ``xlabel``, ``ylabel``, ``class_names``, ``no_data_text``), so
  the app can translate it.

The rendered :class:`rich.text.Text` is kept and returned again until the data
(any ``set_*`` call) or the widget's size changes (``render_count`` counts the
real rebuilds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.segment import Segment
from rich.text import Span, Text
from textual.strip import Strip
from textual.widget import Widget

from .cached import set_texts
from .colors import (
    BACKGROUND,
    class_color,
    class_colors_array,
    colormap_array,
)

HALF_BLOCK = "▀"

# ---------------------------------------------------------------------------
# small numeric helpers (shared with the other widgets)
# ---------------------------------------------------------------------------


def fmt_number(v: float) -> str:
    """Compact tick label: ``0``, ``0.25``, ``-1.5``, ``1e+03``, ``1e-05``."""
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) < 1e5 and v == int(v):
        return str(int(v))
    s = f"{v:.3g}"
    if "e" in s:
        mant, exp = s.split("e")
        sign = "-" if exp.startswith("-") else ""
        s = f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return s


def nice_ticks(lo: float, hi: float, max_n: int) -> list[float]:
    """At most ``max_n`` round numbers (steps of 1, 2 or 5 times a power of ten) in [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or max_n < 1:
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(max_n - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if (hi - lo) / step <= max_n - 1 + 1e-9:
            break
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    return [0.0 if t == 0 else t for t in ticks][:max(max_n, 1)]


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    """Nearest-neighbour source index for each of ``n_out`` output samples."""
    idx = ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.intp)
    return np.minimum(idx, n_in - 1)


# ---------------------------------------------------------------------------
# a grid of styled cells -> rich Text
# ---------------------------------------------------------------------------


class CellGrid:
    """A ``height x width`` grid of characters with optional fg/bg colours and bold."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.chars = np.full((height, width), " ", dtype="<U1")
        self.fg = np.zeros((height, width, 3), dtype=np.int64)
        self.bg = np.zeros((height, width, 3), dtype=np.int64)
        self.fg_on = np.zeros((height, width), dtype=bool)
        self.bg_on = np.zeros((height, width), dtype=bool)
        self.bold = np.zeros((height, width), dtype=bool)
        self.dim = np.zeros((height, width), dtype=bool)

    def put_text(self, row: int, col: int, text: str, fg=None, bold: bool = False,
                 dim: bool = False, max_col: int | None = None) -> int:
        """Write ``text`` from (row, col), clipped to the grid (or ``max_col``); returns the end column."""
        if not (0 <= row < self.height):
            return col
        stop = self.width if max_col is None else min(max_col, self.width)
        for ch in text:
            if col >= stop:
                break
            if col >= 0:
                self.chars[row, col] = ch
                if fg is not None:
                    self.fg[row, col] = fg
                    self.fg_on[row, col] = True
                self.bold[row, col] = bold
                self.dim[row, col] = dim
            col += 1
        return col

    def runs(self, style_cache: dict) -> list[tuple[str, list[tuple[int, int, Style | None]]]]:
        """Per row: its characters and its runs ``(start, end, style)`` of one style."""
        h, w = self.height, self.width
        if h == 0 or w == 0:
            return []
        fg = self.fg[..., 0] << 16 | self.fg[..., 1] << 8 | self.fg[..., 2]
        bg = self.bg[..., 0] << 16 | self.bg[..., 1] << 8 | self.bg[..., 2]
        key = ((np.where(self.fg_on, fg | (1 << 24), 0) << 25)
               | np.where(self.bg_on, bg | (1 << 24), 0)) << 2
        key |= self.bold.astype(np.int64) << 1 | self.dim.astype(np.int64)
        out = []
        for r in range(h):
            row = key[r]
            starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
            ends = np.r_[starts[1:], w]
            runs = []
            for s, e in zip(starts.tolist(), ends.tolist()):
                k = int(row[s])
                style = None
                if k:
                    style = style_cache.get(k)
                    if style is None:
                        style = _style_from_key(k)
                        if len(style_cache) > 8192:
                            style_cache.clear()
                        style_cache[k] = style
                runs.append((s, e, style))
            out.append(("".join(self.chars[r].tolist()), runs))
        return out

    @staticmethod
    def text_from_runs(rows, width: int) -> Text:
        spans: list[Span] = []
        offset = 0
        for _line, runs in rows:
            spans.extend(Span(offset + s, offset + e, st) for s, e, st in runs if st is not None)
            offset += width + 1
        return Text("\n".join(line for line, _runs in rows), spans=spans, no_wrap=True,
                    overflow="crop", end="")

    @staticmethod
    def strips_from_runs(rows, width: int, base: Style | None = None) -> list[Strip]:
        """One Strip per row; ``base`` (the widget's style) goes under runs missing a colour."""

        def under(st):
            if base is None or (st is not None and st.color is not None
                                and st.bgcolor is not None):
                return st
            return base if st is None else base + st

        return [Strip([Segment(line[s:e], under(st)) for s, e, st in runs], width)
                for line, runs in rows]

    def to_text(self, style_cache: dict) -> Text:
        return self.text_from_runs(self.runs(style_cache), self.width)


def _style_from_key(k: int) -> Style:
    dim = bool(k & 1)
    bold = bool(k >> 1 & 1)
    bgk = k >> 2 & ((1 << 25) - 1)
    fgk = k >> 27
    color = Color.from_rgb(fgk >> 16 & 255, fgk >> 8 & 255, fgk & 255) if fgk else None
    bgcolor = Color.from_rgb(bgk >> 16 & 255, bgk >> 8 & 255, bgk & 255) if bgk else None
    if not (bold or dim):
        return Style.from_color(color, bgcolor)
    return Style(color=color, bgcolor=bgcolor, bold=bold or None, dim=dim or None)


# ---------------------------------------------------------------------------
# the widget
# ---------------------------------------------------------------------------


class _Layout:
    """Where things go inside the widget for one size (cell coordinates)."""

    __slots__ = ("left", "top", "pw", "ph", "header", "xaxis", "right", "extent",
                 "yticks", "gutter")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class Heatmap(Widget):
    """A 2-D field (values through a colour map, or class regions) with points and paths.

    Data methods (each one invalidates the cached render):

    - :meth:`set_field` -- the dense field, ``values[0]`` = top row (y = ymax);
    - :meth:`set_points` -- up to two scatter sets (train ``●``, validation ``○``);
    - :meth:`set_paths` -- trajectories ``(xs, ys, rgb, label)``, e.g. optimizers;
    - :meth:`set_extent`, :meth:`set_labels`, :meth:`clear`.
    """

    DEFAULT_CSS = """
    Heatmap {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", xlabel: str = "", ylabel: str = "",
                 class_names: Sequence[str] | None = None, no_data_text: str = "no data",
                 show_axes: bool = True, show_legend: bool = True,
                 background: tuple[int, int, int] = BACKGROUND,
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.class_names = list(class_names) if class_names is not None else None
        self.no_data_text = no_data_text
        self.show_axes = show_axes
        self.show_legend = show_legend
        self.background = tuple(background)
        # data
        self._values: np.ndarray | None = None
        self._mode = "values"
        self._n_classes = 0
        self._vmin: float | None = None
        self._vmax: float | None = None
        self._log = False
        self._cmap = "viridis"
        self._contours = 0
        self._field_extent: tuple[float, float, float, float] | None = None
        self._extent: tuple[float, float, float, float] | None = None
        self._points: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, str]] = []
        self._color_points_by = "class"
        self._paths: list[tuple[np.ndarray, np.ndarray, tuple[int, int, int], str]] = []
        self._path_chars = ("•", "●")           # points and the end, see set_paths
        self._first_on_top = False
        # cache
        self._version = 0
        self._cache: Text | None = None
        self._cache_key: tuple | None = None
        self._cache_rows: list | None = None
        self._strips: list[Strip] | None = None
        self._strips_base: Style | None = None
        self._style_cache: dict = {}
        self._norm_cache: tuple | None = None
        self.render_count = 0

    # ----------------------------------------------------------------- data

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def set_field(self, values, extent: Sequence[float] | None = None, *, mode: str = "values",
                  n_classes: int = 0, vmin: float | None = None, vmax: float | None = None,
                  log: bool = False, cmap: str = "viridis", contours: int = 0) -> None:
        """Set the dense field.

        ``values``: array ``(rows, cols)``; row 0 is the TOP of the picture
        (y = ymax), column 0 the left (x = xmin). ``extent``: ``(xmin, xmax,
        ymin, ymax)`` of the field's edges in data units (default: ``(0, cols,
        0, rows)``).

        ``mode="values"``: colour map ``cmap`` ("viridis" or "diverging")
        between ``vmin`` and ``vmax`` (default: the finite data range), on a
        log10 scale if ``log`` (non-positive values are then left blank);
        ``contours=k`` draws k iso-lines. Non-finite values are left blank.

        ``mode="classes"`` (decision regions): the pixel takes its class's
        region colour, faded toward the background as the confidence drops to
        chance (like TensorFlow Playground). ``values`` is either
        ``(rows, cols, k)`` class probabilities, or ``(rows, cols)`` holding
        P(class 1) when ``n_classes <= 2`` (0/1 labels work too), or class
        indices when ``n_classes > 2`` (drawn at full confidence).
        """
        if mode not in ("values", "classes"):
            raise ValueError(f"mode must be 'values' or 'classes', not {mode!r}")
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 3 and mode != "classes":
            raise ValueError("a 3-D field (rows, cols, k) of probabilities needs mode='classes'")
        if v.ndim not in (2, 3):
            raise ValueError(f"values must be 2-D (rows, cols) or 3-D (rows, cols, k), got shape {v.shape}")
        self._values = v if v.size else None
        self._mode = mode
        if mode == "classes":
            n_classes = v.shape[2] if v.ndim == 3 else max(int(n_classes), 2)
        self._n_classes = int(n_classes)
        self._vmin, self._vmax = vmin, vmax
        self._log = bool(log)
        colormap_array([0.0], cmap)  # validates the name
        self._cmap = cmap
        self._contours = max(int(contours), 0)
        if extent is None:
            extent = (0.0, float(v.shape[1]), 0.0, float(v.shape[0])) if v.ndim >= 2 else None
        self._field_extent = _clean_extent(extent)
        self._changed()

    def clear_field(self) -> None:
        self._values = None
        self._field_extent = None
        self._changed()

    def set_extent(self, extent: Sequence[float] | None) -> None:
        """Fix the data window ``(xmin, xmax, ymin, ymax)`` (overrides the field's extent).

        ``None``: the field's extent, else the bounds of the points and paths.
        """
        self._extent = _clean_extent(extent) if extent is not None else None
        self._changed()

    def set_points(self, train=None, val=None, *, color_by: str = "class",
                   markers: tuple[str, str] = ("●", "○")) -> None:
        """Scatter points drawn on top of the field, each in the cell it falls in.

        ``train`` and ``val``: ``(x, y, c)`` triples of 1-D arrays or ``None``;
        ``c`` is the class of each point (``color_by="class"``, colours of
        :func:`class_color` "marker" variant) or a value (``color_by="value"``,
        through the field's colour map and range), or ``None`` (plain white).
        ``markers``: the characters of the two sets. Validation points are
        drawn after (over) training points. Non-finite points are skipped.
        """
        if color_by not in ("class", "value"):
            raise ValueError(f"color_by must be 'class' or 'value', not {color_by!r}")
        self._points = []
        for data, marker in ((train, markers[0]), (val, markers[1])):
            if data is None:
                continue
            if len(data) == 2:
                data = (data[0], data[1], None)
            x, y, c = data
            x = np.ravel(np.asarray(x, dtype=np.float64))
            y = np.ravel(np.asarray(y, dtype=np.float64))
            n = min(len(x), len(y))
            cc = None if c is None else np.ravel(np.asarray(c, dtype=np.float64))[:n]
            if cc is not None and len(cc) < n:
                raise ValueError("set_points: c must have one entry per point")
            self._points.append((x[:n], y[:n], cc, marker[:1] or "●"))
        self._color_points_by = color_by
        self._changed()

    def set_paths(self, paths: Iterable[tuple], *, point_char: str | None = "•",
                  end_char: str = "●", first_on_top: bool = False) -> None:
        """Trajectories drawn over the field: ``[(xs, ys, (r, g, b), label), ...]``.

        Consecutive points are joined by a line drawn in braille dots (2 x 4
        per cell, so a zig-zag between two cells still reads as one); the
        points themselves get ``point_char`` (None: none) and the last one
        ``end_char``.
        Labelled paths are listed in the legend row at the top. Non-finite
        points break the line. ``first_on_top``: draw the paths in reverse,
        so where they cross the first one shows (the legend keeps the given
        order).
        """
        out = []
        for p in paths:
            xs, ys, rgb = p[0], p[1], p[2]
            label = p[3] if len(p) > 3 else ""
            xs = np.ravel(np.asarray(xs, dtype=np.float64))
            ys = np.ravel(np.asarray(ys, dtype=np.float64))
            n = min(len(xs), len(ys))
            out.append((xs[:n], ys[:n], tuple(int(c) for c in rgb), str(label or "")))
        self._paths = out
        self._first_on_top = bool(first_on_top)
        self._path_chars = (point_char[:1] if point_char else None, end_char[:1] or "●")
        self._changed()

    def set_labels(self, *, title: str | None = None, xlabel: str | None = None,
                   ylabel: str | None = None, class_names: Sequence[str] | None = None,
                   no_data_text: str | None = None) -> None:
        """Change the texts (e.g. after a language switch); ``None`` keeps a text."""
        set_texts(self, title=title, xlabel=xlabel, ylabel=ylabel)
        if class_names is not None:
            self.class_names = list(class_names)
        if no_data_text is not None:
            self.no_data_text = no_data_text
        self._changed()

    def clear(self) -> None:
        """Forget the field, points and paths (the widget shows ``no_data_text``)."""
        self._values = None
        self._field_extent = None
        self._points = []
        self._paths = []
        self._changed()

    # -------------------------------------------------------------- queries

    @property
    def is_stale(self) -> bool:
        """True when the next :meth:`render` will rebuild the picture."""
        return self._cache_rows is None or self._cache_key != self._key()

    def extent(self) -> tuple[float, float, float, float] | None:
        """The data window in use: set_extent, else the field's, else the data bounds."""
        if self._extent is not None:
            return self._extent
        if self._field_extent is not None and self._values is not None:
            return self._field_extent
        xs, ys = [], []
        for x, y, _c, _m in self._points:
            xs.append(x)
            ys.append(y)
        for x, y, _rgb, _l in self._paths:
            xs.append(x)
            ys.append(y)
        if not xs:
            return None
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return None
        x, y = x[ok], y[ok]
        dx = (x.max() - x.min()) * 0.05 or 0.5
        dy = (y.max() - y.min()) * 0.05 or 0.5
        return _clean_extent((x.min() - dx, x.max() + dx, y.min() - dy, y.max() + dy))

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """Widget cell ``(col, row)`` where the data point (x, y) is drawn, or None if outside."""
        lay = self._layout(self.size.width, self.size.height)
        if lay is None:
            return None
        cols, prows = _to_pixels(np.array([x], float), np.array([y], float), lay)
        if len(cols) == 0:
            return None
        return lay.left + int(cols[0]), lay.top + int(prows[0]) // 2

    def data_at(self, col: int, row: int) -> tuple[float, float] | None:
        """Data coordinates (x, y) of the centre of widget cell (col, row), or None outside the plot."""
        lay = self._layout(self.size.width, self.size.height)
        if lay is None:
            return None
        c, r = col - lay.left, row - lay.top
        if not (0 <= c < lay.pw and 0 <= r < lay.ph):
            return None
        xmin, xmax, ymin, ymax = lay.extent
        return (xmin + (c + 0.5) / lay.pw * (xmax - xmin),
                ymax - (r + 0.5) / lay.ph * (ymax - ymin))

    # ------------------------------------------------------------ rendering

    def _key(self) -> tuple:
        return (self._version, self.size.width, self.size.height)

    def _rows(self):
        """The picture as rows of styled runs, rebuilt only when the data or the size changed."""
        key = self._key()
        if self._cache_rows is None or self._cache_key != key:
            self._cache_rows = self._build(self.size.width, self.size.height).runs(self._style_cache)
            self._cache_key = key
            self._cache = None
            self._strips = None
            self.render_count += 1
        return self._cache_rows

    def render(self) -> Text:
        """The picture as a :class:`rich.text.Text` (the same object until something changed)."""
        rows = self._rows()
        if self._cache is None:
            self._cache = CellGrid.text_from_runs(rows, self.size.width)
        return self._cache

    def text_for_size(self, width: int, height: int) -> Text:
        """The picture for any size, as a Text, without touching the cache."""
        return self._build(width, height).to_text(self._style_cache)

    def render_line(self, y: int) -> Strip:
        # Textual draws from here: strips straight from the cached runs (much
        # faster than converting a Text with thousands of spans on every frame).
        rows = self._rows()
        base = self.rich_style
        if self._strips is None or self._strips_base != base:
            self._strips = CellGrid.strips_from_runs(rows, self.size.width, base)
            self._strips_base = base
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, base)

    def _has_data(self) -> bool:
        return self._values is not None or bool(self._points) or bool(self._paths)

    def _value_norm(self):
        """(transformed values, lo, hi) of the field's colour scale (lo, hi None: no finite value).

        None for no field or a class field. Computed once per data version.
        """
        if self._norm_cache is not None and self._norm_cache[0] == self._version:
            return self._norm_cache[1]
        norm = self._compute_norm()
        self._norm_cache = (self._version, norm)
        return norm

    def _compute_norm(self):
        if self._values is None or self._mode != "values":
            return None
        v = self._values
        with np.errstate(all="ignore"):
            tv = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan) if self._log else v
        finite = tv[np.isfinite(tv)]
        lo = self._vmin
        hi = self._vmax
        if self._log:
            lo = math.log10(lo) if lo is not None and lo > 0 else None
            hi = math.log10(hi) if hi is not None and hi > 0 else None
        if lo is None or not math.isfinite(lo):
            lo = float(finite.min()) if finite.size else None
        if hi is None or not math.isfinite(hi):
            hi = float(finite.max()) if finite.size else None
        if lo is None or hi is None:
            return tv, None, None
        if hi < lo:
            lo, hi = hi, lo
        return tv, lo, hi

    def _right_panel(self, norm) -> tuple[str, list]:
        """('bar', labels) | ('classes', [(k, name)]) | ('', [])."""
        if not self.show_legend:
            return "", []
        if self._values is not None and self._mode == "values":
            if norm is None or norm[1] is None:
                return "", []
            _tv, lo, hi = norm
            f = (lambda t: fmt_number(10.0 ** t)) if self._log else fmt_number
            return "bar", [f(hi), f((lo + hi) / 2), f(lo)]
        n = 0
        if self._values is not None and self._mode == "classes":
            n = self._n_classes
        elif self._color_points_by == "class":
            cs = [c for _x, _y, c, _m in self._points if c is not None]
            if cs:
                allc = np.concatenate(cs)
                allc = allc[np.isfinite(allc)]
                n = int(allc.max()) + 1 if allc.size else 0
        if n <= 0:
            return "", []
        names = self.class_names or []
        return "classes", [(k, names[k] if k < len(names) else str(k)) for k in range(min(n, 64))]

    def _layout(self, w: int, h: int) -> _Layout | None:
        ext = self.extent()
        if w <= 0 or h <= 0 or ext is None:
            return None
        legend_entries = [p for p in self._paths if p[3]]
        header = 1 if (self.title or self.ylabel or legend_entries) and h >= 6 else 0
        xaxis = 1 if self.show_axes and h >= 5 else 0
        ph = h - header - xaxis
        xmin, xmax, ymin, ymax = ext
        yticks: list[tuple[int, str]] = []
        gutter = 0
        if self.show_axes and w >= 20 and ph >= 2:
            rows_seen = set()
            for t in nice_ticks(ymin, ymax, max(2, ph // 3 + 1)):
                r = min(int((ymax - t) / (ymax - ymin) * ph), ph - 1)
                if r in rows_seen or r < 0:
                    continue
                rows_seen.add(r)
                yticks.append((r, fmt_number(t)))
            gutter = max((len(s) for _r, s in yticks), default=0) + 1
        right = 0
        norm = self._value_norm()
        kind, items = self._right_panel(norm)
        if kind == "bar":
            right = 4 + max(len(s) for s in items)
        elif kind == "classes":
            right = 4 + min(max(len(name) for _k, name in items), 12)
        if w - gutter - right < 12 or ph < 3:
            right = 0
        pw = w - gutter - right
        if pw < 1 or ph < 1:
            return None
        return _Layout(left=gutter, top=header, pw=pw, ph=ph, header=header, xaxis=xaxis,
                       right=right, extent=ext, yticks=yticks, gutter=gutter)

    def _build(self, w: int, h: int) -> CellGrid:
        """Draw everything into a grid of cells (``_build(w, h).to_text(...)`` for a Text)."""
        grid = CellGrid(max(w, 0), max(h, 0))
        if w <= 0 or h <= 0:
            return grid
        lay = self._layout(w, h) if self._has_data() else None
        if lay is None:
            msg = self.no_data_text[:w]
            grid.put_text(h // 2, max((w - len(msg)) // 2, 0), msg, dim=True)
            return grid

        norm = self._value_norm()
        pix = self._field_pixels(lay, norm)  # (2ph, pw, 3) or None
        top, left, pw, ph = lay.top, lay.left, lay.pw, lay.ph
        sl = (slice(top, top + ph), slice(left, left + pw))
        if pix is not None:
            grid.chars[sl] = HALF_BLOCK
            grid.fg[sl] = pix[0::2]
            grid.bg[sl] = pix[1::2]
            grid.fg_on[sl] = True
            grid.bg_on[sl] = True
        self._draw_paths(grid, lay, pix)
        self._draw_points(grid, lay, pix, norm)
        self._draw_axes(grid, lay)
        self._draw_right(grid, lay, norm)
        self._draw_header(grid, lay)
        return grid

    # the field --------------------------------------------------------------

    def _field_pixels(self, lay: _Layout, norm) -> np.ndarray | None:
        if self._values is None:
            return None
        prows, pcols = 2 * lay.ph, lay.pw
        bgc = np.asarray(self.background, dtype=np.float64)
        # the field covers its own extent inside the (possibly different) window
        fx0, fx1, fy0, fy1 = self._field_extent
        xmin, xmax, ymin, ymax = lay.extent
        xs = xmin + (np.arange(pcols) + 0.5) / pcols * (xmax - xmin)
        ys = ymax - (np.arange(prows) + 0.5) / prows * (ymax - ymin)
        rows, cols = self._values.shape[:2]
        ci = np.floor((xs - fx0) / (fx1 - fx0) * cols).astype(np.intp)
        ri = np.floor((fy1 - ys) / (fy1 - fy0) * rows).astype(np.intp)
        cin = (ci >= 0) & (ci < cols)
        rin = (ri >= 0) & (ri < rows)
        inside = rin[:, None] & cin[None, :]
        ci = np.clip(ci, 0, cols - 1)
        ri = np.clip(ri, 0, rows - 1)
        out = np.empty((prows, pcols, 3), dtype=np.float64)
        out[:] = bgc
        if self._mode == "values":
            tv, lo, hi = norm
            if lo is None:
                return out.astype(np.int64)
            sub = tv[np.ix_(ri, ci)]
            ok = np.isfinite(sub) & inside
            span = hi - lo
            with np.errstate(all="ignore"):
                t = (sub - lo) / span if span > 0 else np.full_like(sub, 0.5)
            rgb = colormap_array(np.where(ok, t, 0.0), self._cmap).astype(np.float64)
            if self._contours > 0:
                k = self._contours
                lev = np.where(ok, np.clip(np.floor(np.clip(t, 0, 1) * (k + 1)), 0, k), -1)
                edge = np.zeros(lev.shape, dtype=bool)
                edge[:, :-1] |= (lev[:, :-1] != lev[:, 1:]) & ok[:, :-1] & ok[:, 1:]
                edge[:-1, :] |= (lev[:-1, :] != lev[1:, :]) & ok[:-1, :] & ok[1:, :]
                lum = rgb @ np.array([0.299, 0.587, 0.114])
                target = np.where((lum > 140)[..., None], 0.0, 255.0)
                rgb = np.where(edge[..., None], rgb + (target - rgb) * 0.3, rgb)
            out = np.where(ok[..., None], rgb, out)
        else:
            v = self._values
            n = max(self._n_classes, 2)
            if v.ndim == 3:
                sub = v[np.ix_(ri, ci)]  # (prows, pcols, k)
                ok = np.isfinite(sub).all(axis=2) & inside
                subz = np.where(np.isfinite(sub), sub, -np.inf)
                cls = np.argmax(subz, axis=2)
                conf = np.max(np.where(np.isfinite(sub), sub, 0.0), axis=2)
                tot = np.sum(np.where(np.isfinite(sub), np.abs(sub), 0.0), axis=2)
                with np.errstate(all="ignore"):
                    conf = np.where(tot > 0, conf / tot, 0.0)
            else:
                sub = v[np.ix_(ri, ci)]
                ok = np.isfinite(sub) & inside
                s = np.where(ok, sub, 0.0)
                if self._n_classes <= 2:
                    p = np.clip(s, 0.0, 1.0)
                    cls = (p >= 0.5).astype(np.intp)
                    conf = np.where(cls == 1, p, 1.0 - p)
                else:
                    cls = np.clip(np.rint(s), 0, n - 1).astype(np.intp)
                    conf = np.ones_like(s)
            strength = np.clip((conf - 1.0 / n) / (1.0 - 1.0 / n), 0.0, 1.0)
            palette = class_colors_array("region", self.background)
            rgb = bgc + (palette[cls % len(palette)] - bgc) * strength[..., None]
            out = np.where(ok[..., None], rgb, out)
        return np.rint(out).astype(np.int64)

    # points and paths -------------------------------------------------------

    def _cell_bg(self, grid: CellGrid, pix, lay, rows, cols):
        """Give cells (rows, cols of the plot) a plain background: the mean of their two pixels."""
        if pix is None:
            return
        mean = (pix[2 * rows, cols] + pix[2 * rows + 1, cols]) // 2
        grid.bg[lay.top + rows, lay.left + cols] = mean
        grid.bg_on[lay.top + rows, lay.left + cols] = True

    def _draw_points(self, grid: CellGrid, lay: _Layout, pix, norm) -> None:
        for x, y, c, marker in self._points:
            ok = np.isfinite(x) & np.isfinite(y)
            if c is not None:
                ok &= np.isfinite(c)
            idx = np.flatnonzero(ok)
            cols, prows, keep = _to_pixels(x[idx], y[idx], lay, return_mask=True)
            idx = idx[keep]
            if len(idx) == 0:
                continue
            rows = prows // 2
            if c is None:
                rgb = np.full((len(idx), 3), 235, dtype=np.int64)
            elif self._color_points_by == "class":
                pal = class_colors_array("marker", self.background).astype(np.int64)
                rgb = pal[np.abs(c[idx]).astype(np.intp) % len(pal)]
            else:
                vals = c[idx]
                if norm is not None and norm[1] is not None:
                    _tv, lo, hi = norm
                    if self._log:
                        with np.errstate(all="ignore"):
                            vals = np.log10(np.where(vals > 0, vals, np.nan))
                else:
                    fin = vals[np.isfinite(vals)]
                    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
                with np.errstate(all="ignore"):
                    t = (vals - lo) / (hi - lo) if hi > lo else np.full_like(vals, 0.5)
                rgb = colormap_array(t, self._cmap).astype(np.int64)
            self._stamp(grid, pix, lay, rows, cols, marker, rgb, bold=True)

    def _draw_paths(self, grid: CellGrid, lay: _Layout, pix) -> None:
        point_ch, end_ch = self._path_chars
        xmin, xmax, ymin, ymax = lay.extent
        pw, ph = lay.pw, lay.ph
        order = self._paths[::-1] if self._first_on_top else self._paths
        for xs, ys, rgb, _label in order:
            if len(xs) == 0:
                continue
            with np.errstate(all="ignore"):
                cx = (xs - xmin) / (xmax - xmin) * pw
                cy = (ymax - ys) / (ymax - ymin) * ph
            fin = np.isfinite(cx) & np.isfinite(cy)
            # keep coordinates sane for points far outside (diverging runs)
            lim = 4.0 * (pw + ph) + 8.0
            cx = np.clip(np.where(fin, cx, 0.0), -lim, pw + lim)
            cy = np.clip(np.where(fin, cy, 0.0), -lim, ph + lim)
            if len(xs) > 1:
                seg = fin[:-1] & fin[1:]
                x0, y0, x1, y1 = cx[:-1][seg], cy[:-1][seg], cx[1:][seg], cy[1:][seg]
                if len(x0):
                    self._braille_line(grid, lay, pix, x0, y0, x1, y1, rgb)
            c = np.floor(cx[fin])
            r = np.floor(cy[fin])
            if point_ch is not None:
                self._put_cells(grid, lay, pix, [r], [c], point_ch, rgb, bold=True)
            if fin.any():
                last = np.flatnonzero(fin)[-1]
                self._put_cells(grid, lay, pix, [np.floor(cy[last:last + 1])],
                                [np.floor(cx[last:last + 1])], end_ch, rgb, bold=True)

    def _braille_line(self, grid, lay, pix, x0, y0, x1, y1, rgb) -> None:
        """Segments (in cell units) drawn as braille dots: each cell gets the
        character of the dots the path passes through."""
        px, py = _sample_segments(x0 * 2, y0 * 4, x1 * 2, y1 * 4)
        px, py = np.floor(px).astype(np.intp), np.floor(py).astype(np.intp)
        ok = (px >= 0) & (px < 2 * lay.pw) & (py >= 0) & (py < 4 * lay.ph)
        if not ok.any():
            return
        px, py = px[ok], py[ok]
        bits = np.zeros(lay.ph * lay.pw, dtype=np.int64)
        np.bitwise_or.at(bits, (py // 4) * lay.pw + px // 2, BRAILLE_DOTS[py % 4, px % 2])
        flat = np.flatnonzero(bits)
        self._stamp(grid, pix, lay, flat // lay.pw, flat % lay.pw, BRAILLE[bits[flat]], rgb,
                    bold=False)

    def _put_cells(self, grid, lay, pix, rows_list, cols_list, ch, rgb, bold) -> None:
        if not rows_list:
            return
        r = np.concatenate(rows_list)
        c = np.concatenate(cols_list)
        ok = (r >= 0) & (r < lay.ph) & (c >= 0) & (c < lay.pw)
        if not ok.any():
            return
        flat = np.unique(r[ok].astype(np.intp) * lay.pw + c[ok].astype(np.intp))
        rows, cols = flat // lay.pw, flat % lay.pw
        self._stamp(grid, pix, lay, rows, cols, ch, rgb, bold)

    def _stamp(self, grid, pix, lay, rows, cols, ch, rgb, bold) -> None:
        """Draw character ``ch`` in colour ``rgb`` over the cells (rows, cols)
        of the plot, on a plain background (a marker hides its two pixels)."""
        self._cell_bg(grid, pix, lay, rows, cols)
        gr, gc = lay.top + rows, lay.left + cols
        grid.chars[gr, gc] = ch
        grid.fg[gr, gc] = rgb
        grid.fg_on[gr, gc] = True
        grid.bold[gr, gc] = bold

    # axes, legend, header -----------------------------------------------------

    def _draw_axes(self, grid: CellGrid, lay: _Layout) -> None:
        if lay.gutter:
            for r in range(lay.ph):
                grid.put_text(lay.top + r, lay.gutter - 1, "│", dim=True)
            for r, s in lay.yticks:
                grid.put_text(lay.top + r, lay.gutter - 1 - len(s), s + "┤", dim=True)
        if not lay.xaxis:
            return
        row = lay.top + lay.ph
        xmin, xmax = lay.extent[0], lay.extent[1]
        pw = lay.pw
        end = -1
        ticks = nice_ticks(xmin, xmax, max(2, pw // 8 + 1))
        for t in ticks:
            c = min(int((t - xmin) / (xmax - xmin) * pw), pw - 1)
            s = fmt_number(t)
            start = lay.left + c - len(s) // 2
            start = max(start, 0 if not lay.gutter else lay.gutter - 1)
            start = min(start, lay.left + pw - len(s))
            if start <= end + 1 or start < 0:
                continue
            grid.put_text(row, start, s, dim=True)
            end = start + len(s) - 1
        if self.xlabel:
            s = self.xlabel
            start = max(lay.left + pw - len(s), end + 3)  # after the last tick label
            if start + len(s) <= grid.width:
                grid.put_text(row, start, s)

    def _draw_right(self, grid: CellGrid, lay: _Layout, norm) -> None:
        if not lay.right:
            return
        kind, items = self._right_panel(norm)
        x0 = lay.left + lay.pw + 1
        stop = lay.left + lay.pw + lay.right
        if kind == "bar":
            prows = 2 * lay.ph
            t = 1.0 - (np.arange(prows) + 0.5) / prows
            rgb = colormap_array(t, self._cmap).astype(np.int64)
            for r in range(lay.ph):
                gr = lay.top + r
                grid.chars[gr, x0:x0 + 2] = HALF_BLOCK
                grid.fg[gr, x0:x0 + 2] = rgb[2 * r]
                grid.bg[gr, x0:x0 + 2] = rgb[2 * r + 1]
                grid.fg_on[gr, x0:x0 + 2] = True
                grid.bg_on[gr, x0:x0 + 2] = True
            hi_s, mid_s, lo_s = items
            grid.put_text(lay.top, x0 + 3, hi_s, dim=True, max_col=stop)
            if lay.ph >= 5:
                grid.put_text(lay.top + lay.ph // 2, x0 + 3, mid_s, dim=True, max_col=stop)
            grid.put_text(lay.top + lay.ph - 1, x0 + 3, lo_s, dim=True, max_col=stop)
        elif kind == "classes":
            shown = items if len(items) <= lay.ph else items[:max(lay.ph - 1, 0)]
            for r, (k, name) in enumerate(shown):
                gr = lay.top + r
                grid.chars[gr, x0] = "●"
                grid.fg[gr, x0] = class_color(k, "marker", self.background)
                grid.fg_on[gr, x0] = True
                grid.bg[gr, x0:x0 + 2] = class_color(k, "region", self.background)
                grid.bg_on[gr, x0:x0 + 2] = True
                grid.bold[gr, x0] = True
                grid.put_text(gr, x0 + 3, name, max_col=stop)
            if len(shown) < len(items):
                grid.put_text(lay.top + len(shown), x0 + 3, "…", dim=True, max_col=stop)

    def _draw_header(self, grid: CellGrid, lay: _Layout) -> None:
        if not lay.header:
            return
        col = 0
        if self.ylabel:
            col = grid.put_text(0, col, self.ylabel, dim=True) + 2
        if self.title:
            col = grid.put_text(0, col, self.title, bold=True) + 2
        for _xs, _ys, rgb, label in self._paths:
            if not label or col >= grid.width:
                continue
            col = grid.put_text(0, col, self._path_chars[1], fg=rgb, bold=True)
            col = grid.put_text(0, col + 1, label) + 2


def _clean_extent(extent) -> tuple[float, float, float, float] | None:
    if extent is None:
        return None
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if not all(math.isfinite(v) for v in (xmin, xmax, ymin, ymax)):
        raise ValueError(f"extent must be finite, got {extent!r}")
    if xmax < xmin:
        xmin, xmax = xmax, xmin
    if ymax < ymin:
        ymin, ymax = ymax, ymin
    if xmax == xmin:
        xmin, xmax = xmin - 0.5, xmax + 0.5
    if ymax == ymin:
        ymin, ymax = ymin - 0.5, ymax + 0.5
    return xmin, xmax, ymin, ymax


#: The bit of each braille dot, by (row of 4, column of 2) within a cell
#: (Unicode's dot numbering: 1 2 3 7 down the left, 4 5 6 8 down the right).
BRAILLE_DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])
#: The braille character of each set of dots.
BRAILLE = np.array([chr(0x2800 + b) for b in range(256)])

#: Samples drawn for all the segments of one path at the most (a diverging
#: racer's last segment can be absurdly long).
MAX_SEGMENT_SAMPLES = 400_000


def _sample_segments(x0, y0, x1, y1):
    """Points along each segment (x0, y0) -> (x1, y1), one per unit of its
    longer side, both ends included."""
    n = np.maximum(np.ceil(np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))), 1).astype(np.intp)
    total = int(n.sum())
    if total > MAX_SEGMENT_SAMPLES:
        n = np.maximum((n * (MAX_SEGMENT_SAMPLES / total)).astype(np.intp), 1)
    n = n + 1
    which = np.repeat(np.arange(len(n)), n)
    starts = np.cumsum(n) - n
    t = (np.arange(int(n.sum())) - starts[which]) / (n[which] - 1)
    return x0[which] + (x1 - x0)[which] * t, y0[which] + (y1 - y0)[which] * t


def _to_pixels(x: np.ndarray, y: np.ndarray, lay: _Layout, return_mask: bool = False):
    """Data (x, y) -> plot column and pixel row (0 = top); points outside are dropped.

    A point exactly on the right or top edge belongs to the last column/row.
    """
    xmin, xmax, ymin, ymax = lay.extent
    with np.errstate(all="ignore"):
        fc = (x - xmin) / (xmax - xmin) * lay.pw
        fr = (ymax - y) / (ymax - ymin) * (2 * lay.ph)
    keep = (np.isfinite(fc) & np.isfinite(fr) & (fc >= 0) & (fc <= lay.pw)
            & (fr >= 0) & (fr <= 2 * lay.ph))
    cols = np.minimum(np.floor(fc[keep]).astype(np.intp), lay.pw - 1)
    prows = np.minimum(np.floor(fr[keep]).astype(np.intp), 2 * lay.ph - 1)
    if return_mask:
        return cols, prows, keep
    return cols, prows
