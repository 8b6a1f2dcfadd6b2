"""The step-through inspector: one training step, phase by phase, with
every number and the formula it came from.

The screen computes nothing: it asks the session's worker to run one step
kernel by kernel (the same kernels as live training, so the numbers are
the fast path's bit for bit) and shows the pages of ``explain``'s
walk-through: each layer's forward pass, the loss, each layer's backward
pass, the update, and the chain rule for w₁₁ in small networks.
"""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from simtreino.headless.explain import (gradcheck_report, phase_titles, render_phase,
                                        render_weight_chain)
from simtreino.i18n import t

from . import localize_bindings


class InspectorScreen(Screen):
    BINDINGS = [
        Binding("right,n", "page(1)", "inspector.next"),
        Binding("left,p", "page(-1)", "inspector.prev"),
        Binding("enter", "next_step", "inspector.next_step"),
        Binding("g", "gradcheck", "inspector.gradcheck"),
        # (arrow up/down scroll the page, so units move with u / U)
        Binding("u", "unit(1)", "inspector.unit_next"),
        Binding("U", "unit(-1)", "inspector.unit_prev"),
        Binding("w", "input(1)", "inspector.input_next"),
        Binding("L", "next_layer", "inspector.layer_next"),
        Binding("full_stop", "sample(1)", "inspector.sample_next"),
        Binding("comma", "sample(-1)", "inspector.sample_prev"),
        Binding("escape,b", "close", "inspector.back"),
    ]
    DEFAULT_CSS = """
    InspectorScreen { layout: vertical; }
    #ins-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    #ins-tabs { height: auto; padding: 0 1; }
    #ins-body { height: 1fr; padding: 0 1; }
    #ins-check { height: auto; max-height: 16; padding: 0 1; border-top: solid $primary 40%; }
    """

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.page = 0
        self.sample = None    # None: every row of the batch (up to a few)
        self.weight = (0, 0, 0)   # (layer, unit j, input k) whose chain of factors is shown
        self._seen = session.view.inspection_id
        self._seen_check = session.view.gradcheck_id
        self._data = None
        self._pending = True      # a step was asked for and has not arrived
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        yield Static(t("inspector.waiting"), id="ins-title")
        yield Static("", id="ins-tabs")
        with VerticalScroll(id="ins-body"):
            yield Static("", id="ins-text")
        yield Static("", id="ins-check")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ins-check").display = False
        self.session.inspect_step()
        self.set_interval(0.05, self._poll)

    def _poll(self) -> None:
        v = self.session.view
        if v.inspection_id != self._seen and v.inspection is not None:
            self._seen = v.inspection_id
            self._data = v.inspection
            self._pending = False
            self.page = 0
            self._show()
        elif self._pending and v.state in ("stopped", "diverged") and \
                getattr(self.session.trainer, "halted", False):
            # early stopping (or divergence) ended the run: no step will come
            self._pending = False
            self.query_one("#ins-title", Static).update(t("inspector.halted_" + v.state))
        if v.gradcheck_id != self._seen_check and v.gradcheck is not None:
            self._seen_check = v.gradcheck_id
            text = Text()
            for line, bad in gradcheck_report(v.gradcheck):
                text.append(line + "\n", style="bold red" if bad else "")
            box = self.query_one("#ins-check", Static)
            box.update(text)
            box.display = True

    def _show(self) -> None:
        d = self._data
        if d is None:
            return
        titles = phase_titles(d) + [t("inspector.weight")]
        self.page = max(0, min(self.page, len(titles) - 1))
        self.query_one("#ins-title", Static).update(t(
            "inspector.title", scenario=d["scenario"], step=d["step"], epoch=d["epoch"],
            i=self.page + 1, n=len(titles), phase=titles[self.page]))
        tabs = Text()
        for i, name in enumerate(titles):
            tabs.append(f" {name} ", style="reverse bold" if i == self.page else "dim")
            tabs.append(" ")
        self.query_one("#ins-tabs", Static).update(tabs)
        shown = d if self.sample is None else dict(d, sample=self.sample)
        if self.page == len(titles) - 1:
            body = render_weight_chain(shown, *self.weight)
        else:
            body = render_phase(shown, self.page)
        self.query_one("#ins-text", Static).update(Text(body))
        self.query_one("#ins-body", VerticalScroll).scroll_home(animate=False)

    def action_page(self, delta: int) -> None:
        self.page += delta
        self._show()

    def _shape(self, layer: int) -> tuple[int, int]:
        w = next(p for p in self._data["phases"]
                 if p["phase"] == "forward" and p["layer"] == layer)["weight"]
        return len(w), len(w[0])

    def _select(self, layer: int, j: int, k: int) -> None:
        """Move the selected weight and show its chain of factors."""
        if self._data is None:
            return
        n_layers = sum(p["phase"] == "forward" for p in self._data["phases"])
        layer %= n_layers
        rows, cols = self._shape(layer)
        self.weight = (layer, j % rows, k % cols)
        self.page = len(phase_titles(self._data))     # the weight page
        self._show()

    def action_unit(self, delta: int) -> None:
        layer, j, k = self.weight
        self._select(layer, j + delta, k)

    def action_input(self, delta: int) -> None:
        layer, j, k = self.weight
        self._select(layer, j, k + delta)

    def action_next_layer(self) -> None:
        layer, j, k = self.weight
        self._select(layer + 1, 0, 0)

    def action_sample(self, delta: int) -> None:
        """Trace one sample of the batch (cycling: all rows, row 0, row 1, …)."""
        if self._data is None:
            return
        n = self._data["batch"]["size"]
        order = [None] + list(range(n))
        self.sample = order[(order.index(self.sample) + delta) % len(order)]
        self._show()

    def action_next_step(self) -> None:
        self._pending = True
        self.query_one("#ins-check").display = False
        self.session.inspect_step()

    def action_gradcheck(self) -> None:
        box = self.query_one("#ins-check", Static)
        box.update(t("inspector.checking"))
        box.display = True
        self.session.check_gradients()

    def action_close(self) -> None:
        self.app.pop_screen()
