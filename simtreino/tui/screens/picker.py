"""The scenario picker: the bundled scenarios with their descriptions, and a
field for the path of any scenario file. Dismisses with the bundled name
("xor") or the path typed; a file that cannot be used shows its one-line
``ScenarioError`` and the picker stays open."""

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from simtreino.i18n import scenario_description, scenario_name, t
from simtreino.scenario import ScenarioError, find_scenario, list_bundled, load_scenario

# path -> (modification time, Scenario or ScenarioError): each file is read once
_CACHE: dict[str, tuple[int, object]] = {}


def _load_cached(path: Path):
    key = str(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == mtime:
        return hit[1]
    try:
        value = load_scenario(path)
    except ScenarioError as e:
        value = e
    _CACHE[key] = (mtime, value)
    return value


def bundled_scenarios() -> list[tuple[str, object]]:
    """``[(name, Scenario or ScenarioError), …]`` of the bundled scenarios,
    loaded once per file (the cache follows the file's modification time)."""
    return [(name, _load_cached(path)) for name, path in list_bundled()]


class ScenarioPicker(ModalScreen[str | None]):
    """``ScenarioPicker(current=None)``: Enter on a scenario or on a valid
    path dismisses with it; Esc cancels (None)."""

    BINDINGS = [
        Binding("escape", "cancel", "binding.cancel", key_display="Esc"),
        Binding("slash", "focus_path", "binding.type_path", key_display="/"),
    ]

    DEFAULT_CSS = """
    ScenarioPicker {
        align: center middle;
    }
    ScenarioPicker #pk-dialog {
        width: 90;
        max-width: 98%;
        height: 92%;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    ScenarioPicker .pk-heading {
        text-style: bold;
        color: $accent;
    }
    ScenarioPicker #pk-list {
        height: 1fr;
        border: none;
        padding: 0;
        scrollbar-size-vertical: 1;
    }
    ScenarioPicker #pk-detail {
        height: 5;
        border-top: solid $primary 50%;
        padding: 0 1;
        color: $text;
    }
    ScenarioPicker #pk-path {
        background: $boost;
    }
    ScenarioPicker #pk-path-label {
        margin: 1 0 0 0;
    }
    ScenarioPicker #pk-error {
        color: $error;
        text-style: bold;
        height: auto;
        display: none;
    }
    ScenarioPicker #pk-error.-shown {
        display: block;
    }
    """

    def __init__(self, current: str | None = None, *, name=None, id=None, classes=None):
        super().__init__(name=name, id=id, classes=classes)
        self.current = current
        self.scenarios = bundled_scenarios()
        from . import localize_bindings
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="pk-dialog") as dialog:
            dialog.border_title = t("picker.title")
            yield Static(t("picker.bundled"), classes="pk-heading")
            options = [Option(self._prompt(name, sc), id=name) for name, sc in self.scenarios]
            if not options:
                yield Static(t("picker.none"))
            yield OptionList(*options, id="pk-list")
            yield Static("", id="pk-detail")
            yield Static(t("picker.path"), id="pk-path-label")
            yield Input(placeholder=t("picker.path_placeholder"), compact=True, id="pk-path")
            yield Static("", id="pk-error")
        yield Footer()

    @staticmethod
    def _prompt(name: str, sc) -> Content:
        """One line: the name to type, then the scenario's own title."""
        title = "" if isinstance(sc, ScenarioError) else scenario_name(sc)
        head = [(name, "bold")]
        if title and title.lower() != name.lower():
            head += ["  ", (title, "dim italic")]
        return Content.assemble(*head)

    @staticmethod
    def detail(name: str, sc) -> Content:
        """The description of one scenario in the current language."""
        if isinstance(sc, ScenarioError):
            return Content.assemble((name, "bold"), ": ",
                                    (t("picker.broken", error=str(sc)), "italic"))
        return Content.assemble((name, "bold"), ": ", scenario_description(sc))

    def on_mount(self) -> None:
        ol = self.query_one("#pk-list", OptionList)
        names = [n for n, _ in self.scenarios]
        if self.current in names:
            ol.highlighted = ol.get_option_index(self.current)
        elif names:
            ol.highlighted = 0
        ol.focus()

    @on(OptionList.OptionHighlighted, "#pk-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        self.query_one("#pk-detail", Static).update(
            self.detail(name, dict(self.scenarios).get(name)))

    # -- choosing ------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#pk-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        sc = dict(self.scenarios).get(name)
        if isinstance(sc, ScenarioError):
            self.show_error(str(sc))
            return
        self.dismiss(name)

    @on(Input.Submitted, "#pk-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self.open_path(event.value)

    @on(Input.Changed, "#pk-path")
    def _path_changed(self) -> None:
        self.show_error("")

    def open_path(self, text: str) -> None:
        """Dismiss with ``text`` if it names a usable scenario (a file, or a
        bundled name), else show why not."""
        text = os.path.expanduser(text.strip())
        if not text:
            self.show_error(t("picker.empty_path"))
            return
        try:
            if os.sep in text or text.endswith(".toml") or Path(text).exists():
                load_scenario(text)        # a file typed in is read afresh
            else:                          # a bundled name (did-you-mean if not)
                got = _load_cached(find_scenario(text))
                if isinstance(got, ScenarioError):
                    raise got
        except ScenarioError as e:
            self.show_error(str(e))
            return
        self.dismiss(text)

    def show_error(self, message: str) -> None:
        err = self.query_one("#pk-error", Static)
        err.update(Content(message))
        err.set_class(bool(message), "-shown")
        ol = self.query_one("#pk-list", OptionList)
        self.call_after_refresh(ol.scroll_to_highlight)

    def action_focus_path(self) -> None:
        self.query_one("#pk-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
