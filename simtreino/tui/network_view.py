"""The network as a student draws it: layers of neurons with their values
for one sample, and between layers the weight matrix W (out × in), one
coloured cell per weight — blue positive, red negative, brighter = larger —
so row j of W is the set of connections into neuron j of the next layer.
Networks too wide to draw this way get a per-layer summary table instead.
"""

import math

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

MAX_UNITS_DRAWN = 12
CELL = "██"


def weight_style(w: float, scale: float) -> str:
    if not math.isfinite(w):
        return "bold magenta"
    m = 0.0 if scale <= 0 else min(1.0, abs(w) / scale)
    level = int(60 + 195 * m)
    base = 40
    if w >= 0:
        return f"rgb({base},{base + level // 3},{level})"
    return f"rgb({level},{base},{base})"


def value_style(a: float) -> str:
    if not math.isfinite(a):
        return "bold magenta"
    m = min(1.0, abs(a))
    level = int(110 + 145 * m)
    return f"rgb({level},{level},{int(level * 0.7)})" if a >= 0 else f"rgb({level},{int(level * 0.6)},{int(level * 0.6)})"


def _wrap(words: list, width: int) -> list:
    """``words`` joined by spaces into lines of at most ``width`` cells (a
    longer word gets a line of its own)."""
    out = []
    for w in words:
        if out and len(out[-1]) + 1 + len(w) <= width:
            out[-1] += " " + w
        else:
            out.append(w)
    return out


class NetworkView(Widget):
    DEFAULT_CSS = """
    NetworkView { height: auto; min-height: 3; }
    """

    def __init__(self, *, id=None, classes=None):
        super().__init__(id=id, classes=classes)
        self._key = None
        self._picture = Text("")
        self.labels = {"input": "input", "output": "output", "layer": "layer", "shape": "shape",
                       "params": "parameters", "mean": "mean", "std": "std", "norm": "norm",
                       "grad": "grad norm", "sample": "sample", "batchnorm": "BN",
                       "dropout": "drop {p}", "residual": "+skip", "thousands": ","}
        self._dropout = ()

    def set_network(self, arch, theta: np.ndarray, activations: list | None, snapshot=None,
                    sample_label: str = "", dropout=None) -> None:
        """``activations``: the values of one sample at the input and after
        each layer (None: weights only); ``dropout``: each layer's dropout
        probability (layers are marked with it, batch norm and a residual
        connection)."""
        drop = tuple(float(p) for p in dropout) if dropout is not None else ()
        key = (None if theta is None else theta.tobytes(),
               None if activations is None else tuple(np.asarray(a).tobytes() for a in activations),
               sample_label, self.size, drop)
        if key == self._key:
            return
        self._key = key
        self._dropout = drop
        small = max([arch.n_inputs] + [s.n_out for s in arch.layers]) <= MAX_UNITS_DRAWN
        if small and theta is not None:
            self._picture = self._draw(arch, theta, activations, sample_label)
        else:
            self._picture = self._table(arch, snapshot)
        self.refresh(layout=True)

    def render(self):
        return self._picture

    def marks(self, arch, i: int) -> str:
        """Layer i's extras, compactly: "BN drop 0.2 +skip" (empty: none)."""
        return " ".join(self._marks(arch, i))

    def _marks(self, arch, i: int) -> list:
        s = arch.layers[i]
        out = []
        if getattr(s, "batchnorm", False):
            out.append(self.labels["batchnorm"])
        p = self._dropout[i] if i < len(self._dropout) else 0.0
        if p > 0:
            out.append(self.labels["dropout"].format(p=f"{p:g}"))
        if getattr(s, "residual", False):
            out.append(self.labels["residual"])
        return out

    def _draw(self, arch, theta, acts, sample_label) -> Text:
        columns = []   # each: (title, [Text lines])
        names = [self.labels["input"]] + [f"{self.labels['layer']} {i + 1} ({s.activation})"
                                          for i, s in enumerate(arch.layers)]
        sizes = [arch.n_inputs] + [s.n_out for s in arch.layers]
        for li, (name, n) in enumerate(zip(names, sizes)):
            vals = None if acts is None else np.asarray(acts[li]).ravel()
            prefix = "x" if li == 0 else ("o" if li == len(sizes) - 1 else f"h{li}_" if len(sizes) > 3 else "h")
            lines = []
            for j in range(n):
                t = Text(f"{prefix}{j + 1:<2}", style="dim")
                if vals is not None:
                    t.append(f"{vals[j]:+7.3f}", style=value_style(float(vals[j])))
                lines.append(t)
            if li > 0:
                # under the units (row j stays level with row j of W), on as
                # many lines as it takes not to widen the column
                room = max([len(name)] + [t.cell_len for t in lines])
                for text in _wrap(self._marks(arch, li - 1), room):
                    lines.append(Text(text, style="italic rgb(190,150,255)"))
            columns.append((name, lines))
            if li < len(arch.layers):
                w = arch.weight(theta, li)
                b = arch.bias(theta, li)
                scale = float(np.nanmax(np.abs(w))) if w.size else 1.0
                wl = []
                for r in range(w.shape[0]):
                    t = Text()
                    for c in range(w.shape[1]):
                        t.append(CELL, style=weight_style(float(w[r, c]), scale))
                        t.append(" ")
                    t.append(f"b{b[r]:+.2f}", style="dim")
                    wl.append(t)
                columns.append((f"W{li + 1} {w.shape[0]}×{w.shape[1]}", wl))
        height = max(len(lines) for _, lines in columns)
        widths = [max([len(title)] + [l.cell_len for l in lines]) for title, lines in columns]
        out = Text()
        if sample_label:
            out.append(sample_label + "\n", style="dim")
        for ci, (title, _) in enumerate(columns):
            out.append(title.ljust(widths[ci] + 2), style="bold")
        out.append("\n")
        for r in range(height):
            for ci, (_, lines) in enumerate(columns):
                t = lines[r] if r < len(lines) else Text("")
                out.append_text(t)
                out.append(" " * (widths[ci] + 2 - t.cell_len))
            out.append("\n")
        out.rstrip()
        return out

    def _table(self, arch, snapshot) -> Table:
        """Per-layer statistics from the snapshot (no parameters needed)."""
        L = self.labels
        table = Table(expand=True, box=None, header_style="bold")
        for col in (L["layer"], L["shape"], L["params"], L["mean"], L["std"], L["norm"], L["grad"]):
            table.add_column(col, justify="right")
        for i, s in enumerate(arch.layers):
            st = snapshot.layers[i]
            marks = self.marks(arch, i)
            table.add_row(f"{i + 1} {s.activation}" + (f" {marks}" if marks else ""),
                          f"{s.n_out}×{s.n_in}",
                          f"{s.n_params:,}".replace(",", L["thousands"]),
                          f"{st.weight_mean:+.3g}", f"{st.weight_std:.3g}",
                          f"{st.weight_norm:.3g}", f"{st.grad_norm:.3g}")
        return table
