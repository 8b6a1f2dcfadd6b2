"""The race screen: several optimizers descending one 2-D function, live.

The surface is drawn once (half-block heatmap with contour lines); each
optimizer's path goes over it in its own colour, with a table of where
each one stands and their loss curves. A ``RaceSession`` worker thread
advances the race; this app only reads its ``RaceView`` on a timer.
"""

from datetime import datetime
from pathlib import Path
import sys
import time

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Static

from simtreino.headless.race_session import RaceSession
from simtreino.i18n import scenario_description, scenario_name, t

from .app import MIN_SIZE, slug
from .live_keys import LiveKeys
from .screens.help import RACE_PANEL_KEYS
from .header import BADGE_STYLE, fmt, two_lines
from .texts import plot_texts
from .widgets import Heatmap, LinePlot, Series

REDRAW_SECONDS = 1 / 20
# The surface and the curves take tens of milliseconds to draw: while the
# race runs they refresh a few times a second, the table and status line
# every frame (the UI thread stays free for keys).
PANEL_SECONDS = 0.2
LOG_FLOOR = 1e-12
# Bright colours that stand out on viridis's dark valleys (where paths run).
RACER_COLORS = [(255, 85, 85), (255, 255, 255), (255, 170, 30), (0, 220, 255),
                (255, 110, 255), (150, 255, 90), (255, 210, 140), (150, 150, 255),
                (255, 140, 170), (120, 255, 220), (210, 180, 255), (255, 240, 90)]

KEYS = [
    ("space", "toggle", "binding.pause", True),
    ("n", "step", "binding.step", True),
    ("plus,equals_sign", "faster", "binding.faster", True),
    ("minus", "slower", "binding.slower", True),
    ("r", "reset", "binding.restart", True),
    ("l", "scale", "binding.surface_scale", False),
    ("t", "record", "binding.record", False),
    ("o", "open", "binding.open", True),
    ("question_mark", "help", "binding.help", True),
    ("q", "quit", "binding.quit", True),
]


def racer_color(i: int) -> tuple[int, int, int]:
    return RACER_COLORS[i % len(RACER_COLORS)]


def _settings(opt) -> str:
    """``sgd lr=0.9`` -- the optimizer and the settings that differ from torch's defaults."""
    from simtreino.core.optimizers import OPTIMIZERS
    decl = OPTIMIZERS[opt.kind][1]
    parts = [opt.kind, f"lr={opt.params['lr']:g}"]
    for k, v in opt.params.items():
        if k != "lr" and v != decl[k].default:
            parts.append(f"{k}={_short(v)}")
    return " ".join(parts)


def _short(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "(" + ", ".join(f"{x:g}" for x in v) + ")"
    return f"{v:g}"


def _rgb(c) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


class RaceApp(LiveKeys, App):
    CSS_PATH = "app.tcss"
    TITLE = "simtreino"
    KEYS = KEYS
    HELP_PANELS = RACE_PANEL_KEYS

    def __init__(self, scenario, *, out_dir: Path | None = None, autoplay: bool = True,
                 session: RaceSession | None = None):
        super().__init__()
        self.scenario = scenario
        self.out_dir = Path(out_dir) if out_dir else Path.cwd()
        self.session = session or RaceSession(scenario)
        self.autoplay = autoplay
        self._log = scenario.surface.scale == "log"
        self._drawn_version = None
        self._surface_drawn = None
        self._panels_at = -1e9
        self.bind_keys()

    def compose(self) -> ComposeResult:
        yield Static("", id="race-status")
        with Vertical(id="main"):
            with Horizontal(id="race-top"):
                yield Heatmap(id="surface", xlabel="x", ylabel="y",
                              no_data_text=t("panel.no_data"))
                yield LinePlot(id="race-loss", **plot_texts())
            yield Static("", id="racers")
        yield Static("", id="message")
        yield Static("", id="toosmall")
        yield Footer()

    def on_mount(self) -> None:
        sys.setswitchinterval(0.001)
        self.session.start()
        if self.autoplay:
            self.session.play()
        self.set_interval(REDRAW_SECONDS, self.redraw)
        self.redraw()

    def on_unmount(self) -> None:
        self.session.close()

    def on_resize(self, event) -> None:
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        msg = self.query_one("#toosmall", Static)
        msg.display = small
        msg.update(t("msg.terminal_too_small", w=event.size.width, h=event.size.height,
                     min_w=MIN_SIZE[0], min_h=MIN_SIZE[1]))
        for wid in ("#race-status", "#main", "#message"):
            self.query_one(wid).display = not small

    # ------------------------------------------------------------ drawing
    def redraw(self) -> None:
        try:
            self._redraw()
        except NoMatches:
            pass   # the timer fired while the app was closing

    def _redraw(self) -> None:
        view = self.session.view
        if self._drawn_version == view.version:
            return
        self._drawn_version = view.version
        self._draw_status(view)
        self._draw_table(view)
        self._draw_message(view)
        now = time.monotonic()
        if view.state != "training" or now - self._panels_at >= PANEL_SECONDS:
            self._panels_at = now
            self._draw_surface(view)
            self._draw_losses(view)

    def _draw_status(self, view) -> None:
        line = Text()
        line.append(f" {t('state.' + view.state)} ", style=BADGE_STYLE.get(view.state, "reverse"))
        line.append(f"  {scenario_name(view.scenario)}", style="bold")
        for part in (t("race.step_of", step=view.step, total=view.steps),
                     t("speed.max") if view.speed is None else t("speed.value", n=view.speed)):
            line.append("  ·  ", style="dim")
            line.append(part)
        if view.recording:
            line.append("  ● REC", style="bold red")
        spec = self.session.spec
        second = Text(f" f(x, y) = {spec.formula}", style="bold")
        second.append(f"   {t('fn.' + view.scenario.surface.function)}", style="dim")
        status = self.query_one("#race-status", Static)
        status.update(two_lines(line, second, status.size.width))

    def _draw_surface(self, view) -> None:
        hm = self.query_one("#surface", Heatmap)
        surf = self.session.surface
        if self._surface_drawn != self._log:
            self._surface_drawn = self._log
            values = surf.values
            if self._log:
                # log needs positive values: the functions drawn in log have 0
                # as their minimum, so only the exact minimum is left blank
                values = np.where(values > 0, values, np.nan)
            hm.set_field(values, surf.extent, log=self._log, contours=8)
            minima = np.array(self.session.spec.minima)
            start = view.scenario.surface.start
            # ★ the known minima, ◆ the common start
            hm.set_points(train=(minima[:, 0], minima[:, 1], None),
                          val=([start[0]], [start[1]], None), markers=("★", "◆"))
            hm.border_title = (f"{t('race.surface')} · "
                               f"{t('race.scale_log' if self._log else 'race.scale_linear')}")
        paths = []
        for i, r in enumerate(view.racers):
            paths.append((view.paths[i, :, 0], view.paths[i, :, 1], racer_color(i), r.label))
        # a braille line per racer, ● where it is now
        # the first racer on top where paths cross: scenarios list the
        # baseline (plain SGD) first, and its zig-zag is the thing to see
        hm.set_paths(paths, point_char=None, end_char="●", first_on_top=True)

    def _draw_table(self, view) -> None:
        table = Table(box=None, pad_edge=False, expand=True, show_edge=False)
        for key, justify in (("race.racer", "left"), ("race.optimizer", "left"),
                             ("race.point", "right"), ("race.loss", "right"),
                             ("race.distance", "right")):
            table.add_column(t(key), justify=justify, no_wrap=True)
        for i, (spec, r) in enumerate(zip(view.scenario.racers, view.racers)):
            name = Text("■ ", style=_rgb(racer_color(i)))
            name.append(r.label, style="bold")
            opt = _settings(spec.optimizer)
            if r.diverged_at is not None:
                table.add_row(name, opt, Text(t("race.diverged_at", step=r.diverged_at),
                                              style="bold red"), "", "")
                continue
            table.add_row(name, opt, f"({r.point[0]:.4g}, {r.point[1]:.4g})",
                          fmt(r.loss, ".4g"), fmt(r.distance, ".3g"))
        self.query_one("#racers", Static).update(table)

    def _draw_losses(self, view) -> None:
        plot = self.query_one("#race-loss", LinePlot)
        n = view.paths.shape[1]
        steps = np.linspace(0, view.step, n) if n > 1 else np.zeros(n)
        finite = view.losses[np.isfinite(view.losses)]
        log = bool(finite.size) and bool((finite > 0).all())
        # on a log axis, losses of 1e-30 (exact minima) would squash the
        # interesting part of the curves into the top rows
        losses = np.maximum(view.losses, LOG_FLOOR) if log else view.losses
        series = [Series(r.label, steps, losses[i], racer_color(i))
                  for i, r in enumerate(view.racers)]
        plot.log_y = log
        plot.set_series(series, title=t("race.loss_per_step"), xlabel=t("header.step"))

    def _draw_message(self, view) -> None:
        if view.message:
            msg = t("msg." + view.message, **view.message_args)
        elif view.state == "finished":
            msg = t("msg.race_finished", steps=view.step)
        else:
            msg = scenario_description(view.scenario)
        self.query_one("#message", Static).update(msg)

    # ------------------------------------------------------------ actions
    def action_reset(self) -> None:
        self.session.reset()

    def action_scale(self) -> None:
        self._log = not self._log
        self._drawn_version = None
        self._panels_at = -1e9
        self.redraw()

    def action_record(self) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.session.toggle_recording(self.out_dir / f"{slug(self.scenario.name)}-{stamp}.jsonl")

    def _open_scenario(self, name) -> None:
        if name:
            # the launcher opens the right screen for the new scenario's kind
            self.exit(("open", name))
