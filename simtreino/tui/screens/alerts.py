"""The alerts: what the diagnostics found in the run so far, each with its
evidence, a plain explanation and a suggested cure; ``c`` opens a copy of
the run with the cure applied (the original is left as it was)."""

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from simtreino.i18n import t

from . import localize_bindings


def finding_line(f) -> str:
    where = t("alerts.where_layer", layer=f.layer + 1) if f.layer is not None else ""
    return t("alerts.line", title=f.title(), step=f.step, where=where)


class AlertsScreen(ModalScreen):
    """``AlertsScreen(findings)``; dismisses with the Finding whose cure to
    apply, or None."""

    BINDINGS = [
        Binding("escape", "close", "binding.close", key_display="Esc"),
        Binding("exclamation_mark", "close", "binding.close", show=False),
        Binding("c", "cure", "binding.apply_cure"),
    ]

    DEFAULT_CSS = """
    AlertsScreen { align: center middle; }
    AlertsScreen #alerts-dialog {
        width: 100; max-width: 96%; height: auto; max-height: 90%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    AlertsScreen #alerts-body { height: auto; max-height: 100%; }
    AlertsScreen #alerts-list { width: 36; height: auto; max-height: 20; }
    AlertsScreen #alerts-detail { width: 1fr; height: auto; padding: 0 1; }
    """

    def __init__(self, findings):
        super().__init__()
        self.findings = list(findings)
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="alerts-dialog") as box:
            box.border_title = t("alerts.title")
            if not self.findings:
                yield Static(t("alerts.none"), id="alerts-detail")
            else:
                with Horizontal(id="alerts-body"):
                    yield OptionList(*[Option(finding_line(f), id=str(i))
                                       for i, f in enumerate(self.findings)], id="alerts-list")
                    yield Static(self._detail(self.findings[0]), id="alerts-detail")
        yield Footer()

    def _detail(self, f) -> Text:
        out = Text()
        out.append(f.title() + "\n", style="bold")
        out.append(f.explanation() + "\n")
        numbers = ", ".join(f"{k} = {_num(v)}" for k, v in f.evidence.items()
                            if not isinstance(v, (list, tuple, dict)))
        if numbers:
            out.append(f"{t('alerts.evidence')}: {numbers}\n", style="dim")
        out.append(f"{t('alerts.cure')}: {f.suggestion()}", style="green")
        if f.cure:
            out.append("\n" + t("alerts.cure_key"), style="italic")
        return out

    def _selected(self):
        if not self.findings:
            return None
        ol = self.query_one("#alerts-list", OptionList)
        i = ol.highlighted if ol.highlighted is not None else 0
        return self.findings[i]

    @on(OptionList.OptionHighlighted)
    def _show(self, event) -> None:
        self.query_one("#alerts-detail", Static).update(
            self._detail(self.findings[int(event.option.id)]))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cure(self) -> None:
        f = self._selected()
        if f is not None and f.cure:
            self.dismiss(f)


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
