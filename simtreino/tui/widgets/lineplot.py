"""Line plots (loss curves, metrics, distributions over time) drawn by plotext.

plotext 6 keeps one global figure (``plotext.figure``): every build here
holds :data:`PLOTEXT_LOCK`, so two widgets never interleave their calls.
The widget keeps the built :class:`rich.text.Text` and returns it again until
its data, its log switch or its size changes (``render_count`` counts real
rebuilds).

The header row (title, y label, the legend with each series' colour) is drawn
by the widget itself, not by plotext, so it never covers the curves. Every
text comes in as a parameter (``title``, ``xlabel``, ``ylabel``, series labels,
``no_data_text``, ``log_fallback_text``) so the app can translate it.

Log scale: the widget plots ``log10(y)`` on a linear plotext axis and labels
the ticks with the real values (``1e-3``, ``0.01``, ``0.1``, ``1``...);
non-positive values are skipped (the line breaks there). When no value is
positive the plot falls back to linear and says so in the header.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from .cached import CachedRender, set_texts

from .colors import TABLEAU10, hex_color
from .heatmap import fmt_number, nice_ticks

#: Guards plotext's global figure: hold it around every clear .. build sequence.
PLOTEXT_LOCK = threading.Lock()

RGB = tuple[int, int, int]

#: Values beyond this size are skipped like non-finite ones (their spans would overflow).
HUGE = 1e150


@dataclass
class Series:
    """One curve: ``y`` against ``x`` (``x=None``: 0, 1, 2, ...). ``color``: (r, g, b) or None (palette)."""

    label: str
    x: object
    y: object
    color: RGB | None = None


@dataclass
class Band:
    """A shaded band between ``lo`` and ``hi`` (same x as the plot's bands), e.g. p25..p75."""

    lo: object
    hi: object
    color: RGB
    label: str = ""


def _as_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    y = np.ravel(np.asarray(y, dtype=np.float64))
    if x is None:
        x = np.arange(len(y), dtype=np.float64)
    x = np.ravel(np.asarray(x, dtype=np.float64))
    n = min(len(x), len(y))
    return x[:n], y[:n]


def thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` evenly spaced points (first and last kept)."""
    n = len(x)
    if max_points < 2 or n <= max_points:
        return x, y
    idx = np.unique(np.rint(np.linspace(0, n - 1, max_points)).astype(np.intp))
    return x[idx], y[idx]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges where ``mask`` is True."""
    if not mask.any():
        return []
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def log_ticks(lo: float, hi: float, max_n: int) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels (real values) for the log10 range [lo, hi].

    The densest of 1-2-5, 1-3 or 1 times the powers of ten that gives 2 to
    ``max_n`` ticks; many decades: every k-th decade; less than a 1-2-5 step:
    a few evenly spaced values.
    """
    max_n = max(max_n, 2)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    e0, e1 = math.floor(lo) - 1, math.ceil(hi) + 1
    for mults in ((1, 2, 5), (1, 3), (1,)):
        cands = [(e + math.log10(m), m, e) for e in range(e0, e1 + 1) for m in mults
                 if lo - 1e-9 <= e + math.log10(m) <= hi + 1e-9]
        if 2 <= len(cands) <= max_n:
            break
    else:
        if len(cands) > max_n:  # many decades: every k-th one
            cands = cands[:: math.ceil(len(cands) / max_n)]
        else:
            ps = [float(p) for p in np.linspace(lo, hi, 3)] if hi > lo else [lo]
            return ps, [fmt_number(float(f"{10.0 ** p:.3g}")) for p in ps]
    return ([p for p, _m, _e in cands],
            [_pow10_label(e) if m == 1 else fmt_number(m * 10.0 ** e) for _p, m, e in cands])


def _pow10_label(e: int) -> str:
    return {-2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100"}.get(e, f"1e{e}")


class LinePlot(CachedRender, Widget):
    """Curves and bands over a shared x axis, drawn by plotext.

    - :meth:`set_series` -- ``[Series(label, x, y, color), ...]``;
    - :meth:`set_bands` -- distributions over time: shaded ``Band`` s (e.g. min..max,
      p25..p75) and an optional median line;
    - :attr:`log_y` / :meth:`toggle_log` -- log10 y axis.
    """

    DEFAULT_CSS = """
    LinePlot {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, title: str = "", xlabel: str = "", ylabel: str = "",
                 no_data_text: str = "no data",
                 log_fallback_text: str = "log scale: no positive values, linear",
                 log_y: bool = False, theme: str = "simple",
                 name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.no_data_text = no_data_text
        self.log_fallback_text = log_fallback_text
        self.theme = theme
        self._log_y = bool(log_y)
        self._series: list[tuple[str, np.ndarray, np.ndarray, RGB]] = []
        self._band_x: np.ndarray | None = None
        self._bands: list[tuple[np.ndarray, np.ndarray, RGB, str]] = []
        self._median: tuple[np.ndarray, RGB, str] | None = None
        self._init_cache()
        #: True when the last build wanted log scale but fell back to linear.
        self.log_fell_back = False

    # ----------------------------------------------------------------- data

    def _texts(self, title, xlabel, ylabel) -> None:
        set_texts(self, title=title, xlabel=xlabel, ylabel=ylabel)

    def set_series(self, series: Sequence[Series], title: str | None = None,
                   xlabel: str | None = None, ylabel: str | None = None) -> None:
        """Replace the curves. ``None`` texts keep the current ones."""
        out = []
        for i, s in enumerate(series):
            x, y = _as_xy(s.x, s.y)
            color = tuple(s.color) if s.color is not None else TABLEAU10[i % len(TABLEAU10)]
            out.append((str(s.label), x, y, color))
        self._series = out
        self._texts(title, xlabel, ylabel)
        self._changed()

    def set_bands(self, x, bands: Sequence[Band | tuple], median: tuple | None = None,
                  median_label: str = "", title: str | None = None, xlabel: str | None = None,
                  ylabel: str | None = None) -> None:
        """Distribution over time: shaded bands drawn in order (widest first), then the median.

        ``bands``: ``Band(lo, hi, color, label)`` or ``(lo, hi, color[, label])``
        tuples, arrays the length of ``x``. ``median``: ``(y, color)``.
        Bands are resampled onto an even grid of the plot's width so they look solid.
        """
        bx = np.ravel(np.asarray(x, dtype=np.float64))
        out = []
        for b in bands:
            if isinstance(b, Band):
                lo, hi, color, label = b.lo, b.hi, b.color, b.label
            else:
                lo, hi, color = b[0], b[1], b[2]
                label = b[3] if len(b) > 3 else ""
            lo = np.ravel(np.asarray(lo, dtype=np.float64))[:len(bx)]
            hi = np.ravel(np.asarray(hi, dtype=np.float64))[:len(bx)]
            out.append((lo, hi, tuple(color), str(label)))
        self._band_x = bx
        self._bands = out
        if median is not None:
            my = np.ravel(np.asarray(median[0], dtype=np.float64))[:len(bx)]
            self._median = (my, tuple(median[1]), str(median_label))
        else:
            self._median = None
        self._texts(title, xlabel, ylabel)
        self._changed()

    def clear(self) -> None:
        """Drop all curves and bands (the widget shows ``no_data_text``)."""
        self._series = []
        self._band_x = None
        self._bands = []
        self._median = None
        self._changed()

    def set_labels(self, *, title: str | None = None, xlabel: str | None = None,
                   ylabel: str | None = None, no_data_text: str | None = None,
                   log_fallback_text: str | None = None) -> None:
        """Change the texts (e.g. after a language switch); ``None`` keeps a text."""
        self._texts(title, xlabel, ylabel)
        if no_data_text is not None:
            self.no_data_text = no_data_text
        if log_fallback_text is not None:
            self.log_fallback_text = log_fallback_text
        self._changed()

    @property
    def log_y(self) -> bool:
        return self._log_y

    @log_y.setter
    def log_y(self, value: bool) -> None:
        if bool(value) != self._log_y:
            self._log_y = bool(value)
            self._changed()

    def toggle_log(self) -> bool:
        """Switch the y axis between linear and log10; returns the new state."""
        self.log_y = not self._log_y
        return self._log_y

    # ------------------------------------------------------------ rendering

    def _lines(self, log: bool, max_points: int, grid_n: int):
        """What to draw, in drawing order: (kind, x, y, color[, lo]) with y log-transformed if asked.

        kind: "band" (x, hi, color, lo) or "line" (x, y, color); all finite.
        """
        items = []

        def tr(y):
            if not log:
                return y
            with np.errstate(all="ignore"):
                return np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)

        bx = self._band_x
        if bx is not None and len(bx):
            for lo, hi, color, _label in self._bands:
                n = min(len(bx), len(lo), len(hi))
                x, l, h = bx[:n], tr(lo[:n]), tr(hi[:n])
                ok = np.isfinite(x) & np.isfinite(l) & np.isfinite(h)
                if ok.sum() == 0:
                    continue
                x, l, h = x[ok], l[ok], h[ok]
                order = np.argsort(x, kind="stable")
                x, l, h = x[order], l[order], h[order]
                if len(x) >= 2 and x[-1] > x[0]:
                    gx = np.linspace(x[0], x[-1], grid_n)
                    l, h = np.interp(gx, x, l), np.interp(gx, x, h)
                    x = gx
                items.append(("band", x, np.maximum(l, h), color, np.minimum(l, h)))
            if self._median is not None:
                my, color, _label = self._median
                n = min(len(bx), len(my))
                items.append(("line", bx[:n], tr(my[:n]), color, None))
        for _label, x, y, color in self._series:
            items.append(("line", x, tr(y), color, None))
        out = []
        for kind, x, y, color, lo in items:
            if kind == "band":
                ok = (np.abs(y) <= HUGE) & (np.abs(lo) <= HUGE) & (np.abs(x) <= HUGE)
                if ok.any():
                    out.append((kind, x[ok], y[ok], color, lo[ok]))
                continue
            ok = (np.abs(x) <= HUGE) & (np.abs(y) <= HUGE)  # False for NaN too
            for a, b in _runs(ok):
                xs, ys = thin(x[a:b], y[a:b], max_points)
                out.append((kind, xs, ys, color, None))
        return out

    def _legend(self) -> list[tuple[str, RGB]]:
        entries = [(label, color) for _lo, _hi, color, label in self._bands if label]
        if self._median is not None and self._median[2]:
            entries.append((self._median[2], self._median[1]))
        entries += [(lab, col) for lab, _x, _y, col in self._series if lab]
        return entries

    def _header(self, w: int, note: str) -> Text:
        t = Text(no_wrap=True, overflow="crop", end="")
        if self.title:
            t.append(self.title, Style(bold=True))
            t.append("  ")
        if note:
            t.append(note, Style(italic=True, dim=True))
            t.append("  ")
        if self.ylabel:
            t.append(self.ylabel, Style(dim=True))
            t.append("  ")
        for label, color in self._legend():
            t.append("━━", Style(color=hex_color(color), bold=True))
            t.append(f" {label}  ")
        t.rstrip()
        t.truncate(w, overflow="ellipsis", pad=True)
        return t

    def text_for_size(self, width: int, height: int) -> Text:
        """The picture for any size, without touching the cache."""
        return self._build(width, height)

    def _build(self, w: int, h: int) -> Text:
        self.log_fell_back = False
        if w <= 0 or h <= 0:
            return Text("", no_wrap=True, overflow="crop", end="")
        use_log = self._log_y
        header_rows = 1 if h >= 4 else 0
        plot_h = h - header_rows
        items = self._lines(use_log, max_points=2 * w, grid_n=w)
        if use_log and not items and self._lines(False, 2, 2):
            use_log = False
            self.log_fell_back = True
            items = self._lines(False, max_points=2 * w, grid_n=w)
        note = self.log_fallback_text if self.log_fell_back else ""
        if not items:
            return self._message(w, h, self.no_data_text)
        header = self._header(w, note) if header_rows else None
        if w < 12 or plot_h < 4:
            return header if header is not None else self._message(w, h, "")
        body = self._plot(items, w, plot_h, use_log)
        if header is None:
            return body
        out = Text(no_wrap=True, overflow="crop", end="")
        out.append_text(header)
        out.append("\n")
        out.append_text(body)
        return out

    @staticmethod
    def _message(w: int, h: int, msg: str) -> Text:
        msg = msg[:w]
        lines = [""] * h
        lines[h // 2] = " " * max((w - len(msg)) // 2, 0) + msg
        return Text("\n".join(lines), style=Style(dim=True), no_wrap=True, overflow="crop", end="")

    def _plot(self, items, w: int, h: int, use_log: bool) -> Text:
        import plotext as plt

        ys = np.concatenate([it[2] for it in items] + [it[4] for it in items if it[4] is not None])
        xs = np.concatenate([it[1] for it in items])
        ylo, yhi = float(ys.min()), float(ys.max())
        xlo, xhi = float(xs.min()), float(xs.max())
        if yhi == ylo:
            pad = 0.5 if use_log else (abs(ylo) * 0.1 or 1.0)
            ylo, yhi = ylo - pad, yhi + pad
        else:
            pad = (yhi - ylo) * 0.04
            ylo, yhi = ylo - pad, yhi + pad
        if xhi == xlo:
            xlo, xhi = xlo - 1.0, xhi + 1.0
        show_xlabel = bool(self.xlabel) and h >= 8
        with PLOTEXT_LOCK:
            f = plt.figure
            f.clear()
            f.plot_size(w, h)
            f.theme(self.theme)
            for kind, x, y, color, lo in items:
                if kind == "band":
                    top = f.signal(x.tolist(), y.tolist(), marker=plt.marker("█", color))
                    bottom = f.signal(x.tolist(), lo.tolist(), marker=plt.marker("█", color))
                    top.fill(bottom)
                    top.density("full")
                    f.draw(top)
                    f.draw(bottom)
                else:
                    s = f.signal(x.tolist(), y.tolist(), marker=plt.marker("braille", color))
                    s.lines()
                    f.draw(s)
            f.ruler("x").lim(xlo, xhi)
            f.ruler("y").lim(ylo, yhi)
            n_yt = max(2, (h - 3) // 2)
            if use_log:
                pos, labels = log_ticks(ylo, yhi, n_yt)
            else:
                pos = nice_ticks(ylo, yhi, n_yt)
                labels = [fmt_number(p) for p in pos]
            if pos:
                f.ruler("y").ticks(pos, labels)
            xt = nice_ticks(xlo, xhi, max(2, w // 10))
            if xt:
                f.ruler("x").ticks(xt, [fmt_number(t) for t in xt])
            if show_xlabel:
                f.label(self.xlabel, axis="x")
            ansi = f.build().string().rstrip("\n")
        text = Text.from_ansi(ansi, no_wrap=True, overflow="crop", end="")
        return text
