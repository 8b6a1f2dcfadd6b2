"""Run until something happens: pick a condition (and its number); training
runs step by step until it holds, then the inspector opens on that step."""

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from simtreino.headless.session import BREAKPOINTS, BREAKPOINT_NEEDS_VALUE
from simtreino.i18n import t

from . import localize_bindings


class BreakpointScreen(ModalScreen):
    """Dismisses with ``(kind, value)`` or None."""

    BINDINGS = [Binding("escape", "cancel", "binding.cancel")]
    DEFAULT_CSS = """
    BreakpointScreen { align: center middle; }
    #bp-dialog { width: 70; height: auto; border: round $primary; padding: 1 2;
                 background: $surface; }
    #bp-list { height: auto; max-height: 8; }
    #bp-error { color: $error; height: auto; }
    """

    def __init__(self):
        super().__init__()
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="bp-dialog") as box:
            box.border_title = t("breakpoint.title")
            yield OptionList(*[Option(t(f"breakpoint.{k}"), id=k) for k in BREAKPOINTS],
                             id="bp-list")
            yield Static(t("breakpoint.value"))
            yield Input(placeholder="0.05", id="bp-value", compact=True)
            yield Static("", id="bp-error")
            yield Static(t("breakpoint.hint"))
        yield Footer()

    def on_option_list_option_selected(self, event) -> None:
        self._choose(event.option.id)

    def on_input_submitted(self, event) -> None:
        opts = self.query_one(OptionList)
        if opts.highlighted is not None:
            self._choose(BREAKPOINTS[opts.highlighted])

    def _choose(self, kind: str) -> None:
        value = None
        if kind in BREAKPOINT_NEEDS_VALUE:
            text = self.query_one("#bp-value", Input).value.strip().replace(",", ".")
            try:
                value = float(text)
            except ValueError:
                self.query_one("#bp-error", Static).update(t("breakpoint.need_value"))
                self.query_one("#bp-value", Input).focus()
                return
        self.dismiss((kind, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
