"""The loss surface, full screen: a 2-D slice of the loss around the current
parameters with the training path on it, and the 1-D slice along the line
from the initial to the current parameters.

The session's surface thread computes the slices; this screen only draws
the latest one and passes the person's settings back (directions, grid,
extent). Training keeps running underneath.
"""

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from simtreino.headless.surface_watch import DIRECTIONS, GRID_SIZES
from simtreino.i18n import t

from ..texts import plot_texts
from ..widgets import Heatmap, LinePlot, Series
from . import localize_bindings

PATH_RGB = (255, 90, 90)
LINE_RGB = (255, 160, 60)
CONTOURS = (0, 6, 12)
EXTENT_STEPS = (0.25, 0.5, 1.0, 2.0, 4.0)


def surface_title(state) -> str:
    """``loss surface · PCA (97% of the path)`` / ``· random directions``."""
    s = state.slice
    if s.kind == "pca":
        share = float(np.sum(s.explained)) if s.explained is not None else float("nan")
        how = t("surface.pca", share=f"{100 * share:.0f}")
    else:
        how = t("surface.random")
    return f"{t('surface.title')} · {how}"


def draw_surface(hm: Heatmap, state, *, log: bool = True, contours: int = 6) -> None:
    """Put a SurfaceState on a heatmap: the slice (row 0 at the top), the
    path so far and the current point at the centre."""
    s = state.slice
    ea, eb = s.extent
    values = np.asarray(s.losses)[::-1]
    if log:
        values = np.where(values > 0, values, np.nan)
    hm.set_field(values, (-ea, ea, -eb, eb), log=log, contours=contours)
    path = np.asarray(state.path)
    hm.set_paths([(path[:, 0], path[:, 1], PATH_RGB, t("surface.path"))] if len(path) else [])
    hm.set_labels(xlabel="α", ylabel="β")
    hm.border_title = surface_title(state)


class SurfaceScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "binding.close", key_display="Esc"),
        Binding("f", "close", "binding.close", show=False),
        Binding("d", "directions", "binding.directions"),
        Binding("g", "grid", "binding.grid"),
        Binding("plus,equals_sign", "extent(1)", "binding.zoom_out", key_display="+"),
        Binding("minus", "extent(-1)", "binding.zoom_in", key_display="-"),
        Binding("l", "log", "binding.surface_scale"),
        Binding("c", "contours", "binding.contours"),
        Binding("space", "toggle", "binding.pause"),
        Binding("q", "app.quit", "binding.quit"),
    ]

    DEFAULT_CSS = """
    SurfaceScreen #surface-body { height: 1fr; }
    SurfaceScreen #surface-map { width: 3fr; border: round $primary 40%; }
    SurfaceScreen #surface-side { width: 2fr; }
    SurfaceScreen #surface-line { height: 1fr; border: round $primary 40%; }
    SurfaceScreen #surface-info { height: auto; padding: 0 1; border: round $primary 40%; }
    """

    def __init__(self, session):
        super().__init__()
        self.session = session
        self._log = True
        self._contours = 1
        self._extent = EXTENT_STEPS.index(1.0)
        self._drawn = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="surface-body"):
            yield Heatmap(id="surface-map", xlabel="α", ylabel="β",
                          no_data_text=t("surface.computing"))
            with Vertical(id="surface-side"):
                yield LinePlot(id="surface-line", **plot_texts())
                yield Static("", id="surface-info")
        yield Footer()

    def on_mount(self) -> None:
        localize_bindings(self)
        self.session.watch_surface(True)
        self.set_interval(1 / 10, self.redraw)
        self.redraw()

    def redraw(self, force: bool = False) -> None:
        state = self.session.view.surface
        if state is None or (state is self._drawn and not force):
            return
        self._drawn = state
        draw_surface(self.query_one("#surface-map", Heatmap), state, log=self._log,
                     contours=CONTOURS[self._contours])
        line = self.query_one("#surface-line", LinePlot)
        line.log_y = self._log and bool(np.all(np.asarray(state.line_losses) > 0))
        line.set_series([Series(t("surface.line_loss"), state.line_ts, state.line_losses,
                                LINE_RGB)],
                        title=t("surface.line_title"), xlabel="t")
        s = state.slice
        info = t("surface.info", step=state.step, grid=f"{len(s.alphas)}×{len(s.betas)}",
                 samples=state.samples, n=self.session.view.snapshot.step)
        self.query_one("#surface-info", Static).update(info)

    # ------------------------------------------------------------ actions
    def action_close(self) -> None:
        self.app.pop_screen()

    def action_toggle(self) -> None:
        self.session.toggle()

    def action_directions(self) -> None:
        state = self.session.view.surface
        now = state.directions if state is not None else DIRECTIONS[0]
        nxt = DIRECTIONS[(DIRECTIONS.index(now) + 1) % len(DIRECTIONS)]
        self.session.configure_surface(directions=nxt)

    def action_grid(self) -> None:
        state = self.session.view.surface
        now = state.grid if state is not None else GRID_SIZES[1]
        i = GRID_SIZES.index(now) if now in GRID_SIZES else 0
        self.session.configure_surface(grid=GRID_SIZES[(i + 1) % len(GRID_SIZES)])

    def action_extent(self, direction: int) -> None:
        self._extent = max(0, min(len(EXTENT_STEPS) - 1, self._extent + direction))
        self.session.configure_surface(extent_scale=EXTENT_STEPS[self._extent])

    def action_log(self) -> None:
        self._log = not self._log
        self.redraw(force=True)

    def action_contours(self) -> None:
        self._contours = (self._contours + 1) % len(CONTOURS)
        self.redraw(force=True)
