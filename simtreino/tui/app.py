"""The terminal UI: watch a scenario train, live.

The app never trains: a ``LiveSession`` worker thread owns the trainer,
and a timer here (15 per second) reads the session's latest ``LiveView``
and redraws the panels whose data changed. Keys only queue commands.
"""

from datetime import datetime
from pathlib import Path
import re
import sys
import time

import numpy as np
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher, Footer, Static

from simtreino.headless.session import LiveSession
from simtreino.i18n import scenario_description, scenario_name, t, thousands_separator

from .header import StatusBar, fmt
from .live_keys import KEY_DISPLAY, LiveKeys  # noqa: F401  (KEY_DISPLAY: re-exported)
from .network_view import NetworkView
from .texts import plot_texts
from .widgets import (ConfusionMatrix, DigitStrip, Heatmap, Histogram, LinePlot, Series,
                      WeightImages)

REDRAW_SECONDS = 1 / 20
# Plots cost tens of milliseconds each to draw: they refresh less often than
# the status line, so the UI thread stays free to answer keys at once.
PANEL_SECONDS = {"loss": 0.3, "grads": 0.4, "bands": 0.5, "hists": 0.25, "network": 0.2,
                 "surface": 0.3, "digits": 0.5}
# one at a time (key d): they need more rows than the right column has left
DIGIT_VIEWS = ("digits", "mistakes", "confusion", "wimages")
ORANGE, CYAN, WHITE, GRAY, BLUE = (255, 160, 60), (90, 200, 235), (235, 235, 235), \
    (110, 110, 110), (70, 110, 200)
PURPLE = (190, 150, 255)
LAYER_COLORS = [(230, 80, 80), (230, 200, 70), (90, 200, 110), (90, 200, 235), (120, 120, 255),
                (220, 110, 220)]
MIN_SIZE = (80, 24)
# Below this many rows the left column shows two panels, not three: at 36
# rows a deep network's layer table leaves 21, and three panels of 7 rows
# would draw their curves in two text rows (the lesson's gradient norms
# would merge into one band). Key v then cycles the second panel.
MIN_LEFT_ROWS_FOR_THREE = 24
LEFT_VIEWS = ("grads", "lsurface", "bands")
# runs compared in one scenario ([[runs]]): one colour each, validation paler
RUN_COLORS = [ORANGE, CYAN, (230, 80, 80), (120, 220, 120), (200, 120, 255), (240, 220, 90)]


def _paler(c):
    return tuple(int(v + (255 - v) * 0.45) for v in c)

# (key, action, message key for the description, shown in the footer)
KEYS = [
    ("space", "toggle", "binding.pause", True),
    ("n", "step", "binding.step", True),
    ("e", "epoch", "binding.epoch", True),
    ("plus,equals_sign", "faster", "binding.faster", True),
    ("minus", "slower", "binding.slower", True),
    ("r", "reset", "binding.reset", True),
    ("R", "reseed", "binding.reseed", False),
    ("h", "hyper", "binding.hyperparams", True),
    ("b", "inspect", "binding.inspect", True),
    ("k", "breakpoint", "binding.breakpoint", False),
    ("s", "save", "binding.save", True),
    ("t", "record", "binding.record", True),
    ("l", "log", "binding.log", False),
    ("v", "panel", "binding.panel_view", False),
    ("f", "surface", "binding.surface_full", True),
    ("d", "digits_view", "binding.digits_view", False),
    ("m", "next_run", "binding.next_run", False),
    ("exclamation_mark", "alerts", "binding.alerts", True),
    ("a", "metric", "binding.metric", False),
    ("left_square_bracket", "layer(-1)", "binding.layer_prev", False),
    ("right_square_bracket", "layer(1)", "binding.layer_next", False),
    ("comma", "sample(-1)", "binding.sample_prev", False),
    ("full_stop", "sample(1)", "binding.sample_next", False),
    ("o", "open", "binding.open", False),
    ("question_mark", "help", "binding.help", True),
    ("q", "quit", "binding.quit", True),
]


def _stopped_message(es) -> str:
    """What early stopping did (``Snapshot.early_stop``), as the session says it."""
    if es is None or not es.stopped_epoch:
        return ""
    key = ("stopped_early" if es.restored else "stopped_early_kept" if es.best_epoch
           else "stopped_early_none")
    return t("msg." + key, monitor=es.monitor, wait=es.wait, epoch=es.stopped_epoch,
             best_epoch=es.best_epoch, best=f"{es.best:.4g}")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "run"


class SimtreinoApp(LiveKeys, App):
    CSS_PATH = "app.tcss"
    TITLE = "simtreino"
    KEYS = KEYS

    def __init__(self, scenario, *, seed=None, out_dir: Path | None = None,
                 autoplay: bool = True, session: LiveSession | None = None):
        super().__init__()
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir else Path.cwd()
        self.session = session or LiveSession(scenario, seed=seed)
        self.autoplay = autoplay
        self.layer = 0
        self._drawn = {}
        self._log_y = True
        self._show_accuracy = False
        # The panel under the loss curves that key v changes, one of
        # LEFT_VIEWS: with two panels (a short column) it is the second
        # one; with three the gradient norms always show, and "grads" means
        # the third one's default, the loss surface.
        self._left_view = "grads"
        self._compact = False
        self._compiling_since = None      # when the "compiling" state began
        self.bind_keys()

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LinePlot(id="loss", **plot_texts())
                yield LinePlot(id="grads", **plot_texts())
                yield Heatmap(id="lsurface", xlabel="α", ylabel="β",
                              no_data_text=t("surface.computing"))
                yield LinePlot(id="bands", **plot_texts())
            with Vertical(id="right"):
                yield Heatmap(id="field", no_data_text=t("panel.no_data"))
                yield LinePlot(id="curve", **plot_texts())
                with ContentSwitcher(id="digits-panel", initial=DIGIT_VIEWS[0]):
                    yield DigitStrip(id="digits", no_data_text=t("panel.no_data"),
                                     too_small_text=t("digits.too_small"))
                    yield DigitStrip(id="mistakes", no_data_text=t("panel.no_data"),
                                     too_small_text=t("digits.too_small"))
                    yield ConfusionMatrix(id="confusion", true_text=t("digits.true"),
                                          predicted_text=t("digits.predicted"),
                                          accuracy_text=t("digits.accuracy_col"),
                                          no_data_text=t("panel.no_data"),
                                          too_small_text=t("digits.too_small"))
                    yield WeightImages(id="wimages", title=t("digits.weights"),
                                       no_data_text=t("panel.no_data"),
                                       too_small_text=t("digits.too_small"))
                with Horizontal(id="hists"):
                    yield Histogram(id="whist", no_data_text=t("panel.no_data"))
                    yield Histogram(id="ghist", no_data_text=t("panel.no_data"))
        yield NetworkView(id="network")
        yield Static("", id="message")
        yield Static("", id="toosmall")
        yield Footer()

    def on_mount(self) -> None:
        # Two threads share the GIL: the UI drawing and the trainer's Python
        # glue between kernel calls. A short switch interval hands it over
        # often, so neither waits long for the other (keys stay < 100 ms).
        sys.setswitchinterval(0.001)
        self.session.start()
        if self.autoplay:
            self.session.play()
        self._fit_panels_to_data()
        self._show_left_panel()
        self.set_interval(REDRAW_SECONDS, self.redraw)
        self.redraw()

    def _fit_panels_to_data(self) -> None:
        """The decision boundary for 2 inputs, the predicted curve for 1."""
        n = self.session.dataset.n_features
        images = getattr(self.session.dataset, "image_shape", None) is not None
        self.query_one("#field").display = n == 2
        self.query_one("#curve").display = n == 1
        self.query_one("#digits-panel").display = images

    def _left_panels(self) -> set:
        """The ids of the panels under the loss curves."""
        if self._compact:
            return {self._left_view}
        return {"grads", "bands" if self._left_view == "bands" else "lsurface"}

    def _show_left_panel(self) -> None:
        shown = self._left_panels()
        for wid in LEFT_VIEWS:
            self.query_one("#" + wid).display = wid in shown
        if "lsurface" in shown:
            self.session.watch_surface(True)

    def _fit_left_column(self) -> None:
        """Two panels on the left when three would be too short to read."""
        rows = self.query_one("#left").size.height
        compact = 0 < rows < MIN_LEFT_ROWS_FOR_THREE
        if compact != self._compact:
            self._compact = compact
            self._show_left_panel()
            self._drawn.pop("version", None)
            self._drawn.pop("lsurface", None)

    def on_unmount(self) -> None:
        self.session.close()

    def on_resize(self, event) -> None:
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        msg = self.query_one("#toosmall", Static)
        msg.display = small
        msg.update(t("msg.terminal_too_small", w=event.size.width, h=event.size.height,
                     min_w=MIN_SIZE[0], min_h=MIN_SIZE[1]))
        for wid in ("#status", "#main", "#network", "#message"):
            self.query_one(wid).display = not small

    # ------------------------------------------------------------ drawing
    def redraw(self) -> None:
        try:
            self._redraw()
        except NoMatches:
            pass   # the timer fired while the app was closing

    def _redraw(self) -> None:
        # the network view's height (and so the left column's) is known only
        # after a layout, and changes with the terminal: checked every frame
        self._fit_left_column()
        view = self.session.view
        if view.state == "compiling":
            # the worker is inside the compiler and publishes nothing: the
            # seconds counted here show the program is alive
            if self._compiling_since is None:
                self._compiling_since = time.monotonic()
            self._draw_message(view)
        else:
            self._compiling_since = None
        if self._drawn.get("version") == view.version:
            return
        self._drawn["version"] = view.version
        if view.break_id != getattr(self, "_break_seen", 0):
            self._break_seen = view.break_id
            if view.break_hit is not None:
                self.action_inspect()
        self.query_one(StatusBar).show(view)
        self._draw_message(view)
        # a panel is redrawn when its time has come, and always once the
        # training has stopped (so a paused screen shows the final numbers)
        now = time.monotonic()
        settled = view.state != "training"
        for name, draw in (("loss", self._draw_loss), ("grads", self._draw_grads),
                           ("bands", self._draw_bands), ("hists", self._draw_hists),
                           ("network", self._draw_network), ("surface", self._draw_surface),
                           ("digits", self._draw_digits)):
            if settled or now - self._drawn.get(name, -1e9) >= PANEL_SECONDS[name]:
                self._drawn[name] = now
                draw(view)
        if view.field is not None and self._drawn.get("field") is not view.field:
            self._drawn["field"] = view.field
            self._draw_field(view)

    def _draw_loss(self, view):
        """Loss curves, or accuracy curves after the key ``a`` (classification);
        every run's curves together when the scenario compares runs."""
        h = view.epochs
        acc = self._show_accuracy and np.any(np.isfinite(h["accuracy"]))
        key, val_key = ("accuracy", "val_accuracy") if acc else ("loss", "val_loss")
        series = []
        if view.runs:
            for i, (label, hist) in enumerate(view.runs):
                color = RUN_COLORS[i % len(RUN_COLORS)]
                if len(hist["epoch"]):
                    series.append(Series(label, hist["epoch"], hist[key], color))
                    if np.any(np.isfinite(hist[val_key])):
                        series.append(Series(f"{label} ({t('panel.validation')})",
                                             hist["epoch"], hist[val_key], _paler(color)))
        elif len(h["epoch"]):
            series.append(Series(t("panel.training"), h["epoch"], h[key], ORANGE))
            if np.any(np.isfinite(h[val_key])):
                series.append(Series(t("panel.validation"), h["epoch"], h[val_key], CYAN))
            pen = h.get("penalty")
            if not acc and pen is not None and np.any(np.nan_to_num(pen) > 0):
                # the training loss includes it: drawn apart, its share shows
                series.append(Series(t("panel.penalty"), h["epoch"], pen, PURPLE))
        plot = self.query_one("#loss", LinePlot)
        plot.log_y = self._log_y and not acc
        plot.set_series(series, title=t("panel.accuracy" if acc else "panel.loss"),
                        xlabel=t("header.epoch"))

    def _draw_grads(self, view):
        g = view.grad_norms
        series = []
        if len(g):
            deep = g.shape[1] > 4
            for i in range(1, g.shape[1]):
                # deep networks: "layer 1, 2, 3 ..." so every colour is named
                label = str(i) if deep and i > 1 else f"{t('panel.layer')} {i}"
                series.append(Series(label, g[:, 0], g[:, i],
                                     LAYER_COLORS[(i - 1) % len(LAYER_COLORS)]))
        plot = self.query_one("#grads", LinePlot)
        norm = getattr(view.snapshot, "grad_norm", float("nan"))
        # clipping by norm: the whole gradient's norm before it, and the factor applied
        plot.border_subtitle = (t("panel.clip", norm=fmt(norm, ".3g"),
                                  coef=fmt(view.snapshot.clip_coef, ".3g"))
                                if np.isfinite(norm) and view.snapshot.step > 0 else "")
        plot.log_y = True
        plot.set_series(series, title=t("panel.grad_norm"), xlabel=t("header.step"))

    def _draw_field(self, view):
        f = view.field
        if f is None:
            return
        if f.kind == "curve":
            x, y = view.data_points["train"]
            order = np.argsort(x[:, 0])
            series = [Series(t("panel.training"), x[order, 0], np.asarray(y).reshape(-1)[order],
                             CYAN),
                      Series(t("panel.prediction"), f.xs, f.values, ORANGE)]
            plot = self.query_one("#curve", LinePlot)
            plot.log_y = False
            plot.set_series(series, title=t("panel.regression"), xlabel="x")
            return
        hm = self.query_one("#field", Heatmap)
        if f.kind == "classes":
            hm.set_field(f.values, f.extent, mode="classes")
        else:
            hm.set_field(f.values, f.extent, mode="values")
        if self._drawn.get("points") is not view.data_points["train"][0]:
            # the data never change during a run: give them to the widget once
            self._drawn["points"] = view.data_points["train"][0]
            tx, ty = view.data_points["train"]
            vx, vy = view.data_points["val"]
            cls = lambda y: None if f.kind != "classes" else np.asarray(y)  # noqa: E731
            hm.set_points(train=(tx[:, 0], tx[:, 1], cls(ty)),
                          val=(vx[:, 0], vx[:, 1], cls(vy)) if len(vx) else None)
        hm.border_title = (t("panel.decision_boundary") if f.kind == "classes"
                           else t("panel.regression"))

    def _draw_hists(self, view):
        layers = view.snapshot.layers
        if not layers:
            return
        self.layer %= len(layers)
        L = layers[self.layer]
        title = f"{t('panel.layer')} {self.layer + 1}/{len(layers)}"
        if L.weight_hist:
            self.query_one("#whist", Histogram).set_hist(*L.weight_hist,
                                                          title=f"{t('panel.weights')} · {title}")
        if L.grad_hist:
            self.query_one("#ghist", Histogram).set_hist(*L.grad_hist,
                                                          title=f"{t('panel.gradients')} · {title}")

    def _draw_bands(self, view):
        layers = view.snapshot.layers
        if not layers:
            return
        title = f"{t('panel.layer')} {self.layer % len(layers) + 1}/{len(layers)}"
        bands = view.weight_bands[self.layer % len(layers)]
        plot = self.query_one("#bands", LinePlot)
        plot.log_y = False
        if len(bands):
            # five lines (min, quartiles, median, max): plainer than shaded
            # bands, and readable where the bands would overlap
            s = bands[:, 0]
            plot.set_series([Series("min / max", s, bands[:, 1], GRAY),
                             Series("p25 / p75", s, bands[:, 2], BLUE),
                             Series(t("panel.median"), s, bands[:, 3], WHITE),
                             Series("", s, bands[:, 4], BLUE),
                             Series("", s, bands[:, 5], GRAY)],
                            title=f"{t('panel.weights_over_time')} · {title}",
                            xlabel=t("header.step"))

    def _draw_surface(self, view):
        state = view.surface
        if (state is None or "lsurface" not in self._left_panels()
                or self._drawn.get("lsurface") is state):
            return
        self._drawn["lsurface"] = state
        from .screens.surface import draw_surface
        draw_surface(self.query_one("#lsurface", Heatmap), state)

    def _draw_digits(self, view):
        d = view.digits
        if d is None or self._drawn.get("digits_state") is d:
            return
        self._drawn["digits_state"] = d
        split = t({"test": "panel.test", "val": "panel.validation",
                   "train": "panel.training"}[d.split])
        self.query_one("#digits", DigitStrip).set_digits(
            d.samples, title=t("digits.samples", split=split))
        mistakes = self.query_one("#mistakes", DigitStrip)
        mistakes.set_labels(no_data_text=t("digits.no_mistakes", n=d.n_evaluated))
        mistakes.set_digits(d.mistakes, title=t("digits.mistakes"))
        self.query_one("#confusion", ConfusionMatrix).set_matrix(
            d.confusion, d.recall,
            title=t("digits.confusion", split=split, n=d.n_evaluated, acc=f"{d.accuracy:.1%}"))
        self.query_one("#wimages", WeightImages).set_weights(d.weights, d.units)

    def _draw_network(self, view):
        nv = self.query_one(NetworkView)
        nv.labels.update({"input": t("layer.input"), "output": t("layer.output"),
                          "layer": t("col.layer"), "shape": t("col.shape"),
                          "params": t("col.params"), "mean": t("col.mean"),
                          "std": t("col.std"), "norm": t("col.norm"),
                          "grad": t("col.grad_norm"), "batchnorm": t("net.batchnorm"),
                          "dropout": t("net.dropout", p="{p}"), "residual": t("net.residual"),
                          "thousands": thousands_separator()})
        label = ""
        if view.sample_values:
            label = t("net.sample_of", i=view.sample_index + 1, n=view.n_train)
        # the architecture is immutable; the numbers come from the view only
        nv.set_network(self.session.trainer.arch, view.snapshot.params,
                       list(view.sample_values) or None, view.snapshot, label,
                       dropout=(getattr(view, "craft", None) or {}).get("dropout"))

    def _draw_message(self, view):
        msg = ""
        if view.state == "diverged":
            snap = view.snapshot
            what = t("diverged.nan") if snap.divergence == "nan" else t("diverged.exploded")
            msg = t("msg.diverged", step=snap.step, what=what, lr=fmt(snap.lr))
        elif view.state == "compiling":
            since = self._compiling_since or time.monotonic()
            msg = (t("state.compiling") + "  "
                   + t("state.compiling_for", seconds=int(time.monotonic() - since)))
        elif view.state == "stopped" and not view.message:
            # (the session says it as a note; later notes, a save..., come first)
            msg = _stopped_message(view.snapshot.early_stop) or scenario_description(view.scenario)
        elif view.message:
            args = dict(view.message_args)
            if view.message == "breakpoint_hit":
                args["what"] = t("breakpoint." + args["what"])
            msg = t("msg." + view.message, **args)
        elif view.findings:
            f = view.findings[-1]
            msg = t("alerts.banner", n=len(view.findings), title=f.title(),
                    explanation=f.explanation())
        else:
            msg = scenario_description(view.scenario)
        self.query_one("#message", Static).update(msg)
        self.query_one("#message").set_class(view.state == "diverged", "alert")
        self.query_one("#message").set_class(view.state == "stopped", "stopped")
        self.query_one("#message").set_class(
            view.state not in ("diverged", "stopped") and not view.message and bool(view.findings),
            "finding")

    # ------------------------------------------------------------ actions
    def action_epoch(self) -> None:
        self.session.epoch()

    def action_reset(self) -> None:
        self.session.reset(reseed=False)

    def action_reseed(self) -> None:
        self.session.reset(reseed=True)

    def action_log(self) -> None:
        self._log_y = not self._log_y
        self._drawn.pop("version", None)
        self.redraw()

    def action_panel(self) -> None:
        if self._compact:
            views, current = LEFT_VIEWS, self._left_view
        else:
            views, current = ("lsurface", "bands"), self._left_view.replace("grads", "lsurface")
        self._left_view = views[(views.index(current) + 1) % len(views)]
        self._show_left_panel()
        self._drawn.pop("version", None)
        self._drawn.pop("lsurface", None)
        self.redraw()

    def action_alerts(self) -> None:
        from .screens.alerts import AlertsScreen
        self.push_screen(AlertsScreen(self.session.view.findings), self._apply_cure)

    def _apply_cure(self, finding) -> None:
        """Open a copy of the run with the finding's cure applied."""
        if finding is None:
            return
        from simtreino.headless.cure import CureError, apply_cure
        from simtreino.scenario import ScenarioError
        base = self.session.run_scenario
        try:
            cured = apply_cure(base, finding.cure,
                               name=t("alerts.cured_name", name=scenario_name(base),
                                      title=finding.title()),
                               description=t("alerts.cured_description", name=scenario_name(base),
                                             title=finding.title(),
                                             cure=finding.suggestion()))
        except (CureError, ScenarioError) as e:
            self.notify(str(e), severity="error")
            return
        self._load(cured)

    def action_next_run(self) -> None:
        """The next of the runs a scenario compares: its panels, its form."""
        self.session.select_run(1)

    def action_digits_view(self) -> None:
        """Digit strips, confusion matrix, first-layer weights (image data)."""
        sw = self.query_one("#digits-panel", ContentSwitcher)
        sw.current = DIGIT_VIEWS[(DIGIT_VIEWS.index(sw.current) + 1) % len(DIGIT_VIEWS)]

    def action_surface(self) -> None:
        from .screens.surface import SurfaceScreen
        self.push_screen(SurfaceScreen(self.session))

    def action_metric(self) -> None:
        self._show_accuracy = not self._show_accuracy
        self._drawn.pop("version", None)
        self.redraw()

    def action_layer(self, delta: int) -> None:
        self.layer += delta
        self._drawn.pop("version", None)
        self.redraw()

    def action_sample(self, delta: int) -> None:
        self.session.select_sample(delta)

    def action_save(self) -> None:
        view = self.session.view
        path = self.out_dir / f"{slug(self.scenario.name)}-step{view.snapshot.step}.npz"
        self.session.save_params(path)

    def action_record(self) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.session.toggle_recording(self.out_dir / f"{slug(self.scenario.name)}-{stamp}.jsonl")

    def action_hyper(self) -> None:
        from .screens.hyperparams import HyperparamScreen
        v = self.session.view
        self.session.pause()
        screen = HyperparamScreen(v.optimizer, v.hyper, "full" if v.full_batch else v.batch_size,
                                  v.n_train, v.schedule, v.schedule_params,
                                  craft=getattr(v, "craft", None))
        self.push_screen(screen, self._apply_hyper)

    def _apply_hyper(self, changes) -> None:
        if changes:
            self.session.set_hyper(changes)

    def action_breakpoint(self) -> None:
        from .screens.breakpoint import BreakpointScreen
        self.push_screen(BreakpointScreen(), self._run_until)

    def _run_until(self, choice) -> None:
        if choice:
            self._break_seen = self.session.view.break_id
            self.session.run_until(*choice)

    def action_inspect(self) -> None:
        from .screens.inspector import InspectorScreen
        self.push_screen(InspectorScreen(self.session))

    def _open_scenario(self, name) -> None:
        if not name:
            return
        from simtreino.scenario import find_scenario, load_scenario
        scenario = load_scenario(find_scenario(name))
        if scenario.kind == "race":
            # another screen altogether: the launcher opens it
            self.exit(("open", name))
            return
        self._load(scenario)

    def _load(self, scenario) -> None:
        """Replace the session with one on ``scenario`` (a Scenario object)."""
        self.session.close()
        self.scenario = scenario
        self.session = LiveSession(scenario)
        self._drawn.clear()
        self.session.start()
        self._fit_panels_to_data()
        self._show_left_panel()
        self.session.play()
