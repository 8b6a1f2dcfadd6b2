"""The help screen: every key of the app with what it does, and what the
panels show. The keys come from the caller (``help_entries(app)``), so the
list is always the app's real bindings."""

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from simtreino.i18n import t

PANEL_KEYS = ("help.panel_curves", "help.panel_boundary", "help.panel_surface",
              "help.panel_layers")
RACE_PANEL_KEYS = ("help.panel_race_surface", "help.panel_race_curves", "help.panel_race_table")


class HelpScreen(ModalScreen[None]):
    """``HelpScreen([(key_display, description), …])``; Esc, ? or q closes it."""

    BINDINGS = [
        Binding("escape", "close", "binding.close", key_display="Esc"),
        Binding("question_mark", "close", "binding.close", show=False),
        Binding("q", "close", "binding.close", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen #help-dialog {
        width: 84;
        max-width: 96%;
        height: auto;
        max-height: 92%;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-body {
        height: auto;
        max-height: 100%;
        scrollbar-size-vertical: 1;
    }
    HelpScreen .help-heading {
        text-style: bold;
        color: $accent;
        margin: 1 0 0 0;
    }
    HelpScreen .help-heading.-first {
        margin: 0;
    }
    HelpScreen #help-panels {
        color: $text-muted;
    }
    HelpScreen #help-hint {
        color: $text-muted;
        text-style: italic;
        margin: 1 0 0 0;
    }
    """

    def __init__(self, bindings, *, panels=PANEL_KEYS, name=None, id=None, classes=None):
        super().__init__(name=name, id=id, classes=classes)
        self.entries = [(str(k), str(d)) for k, d in bindings]
        self.panels = tuple(panels)
        from . import localize_bindings
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = t("help.title")
            with VerticalScroll(id="help-body"):
                yield Static(t("help.keys"), classes="help-heading -first")
                yield Static(self._keys_table(), id="help-keys")
                yield Static(t("help.panels"), classes="help-heading")
                yield Static(self._panels_text(), id="help-panels")
                yield Static(t("help.close_hint"), id="help-hint")
        yield Footer()

    def _keys_table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False,
                      expand=True, padding=(0, 2, 0, 0))
        table.add_column(t("help.key"), no_wrap=True, style="bold")
        table.add_column(t("help.action"), ratio=1)
        for key, desc in self.entries:
            table.add_row(Text(key), Text(desc))
        return table

    def _panels_text(self) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False, expand=True,
                      padding=(0, 1, 0, 0))
        table.add_column(no_wrap=True)
        table.add_column(ratio=1)
        for k in self.panels:
            table.add_row("•", Text(t(k)))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
