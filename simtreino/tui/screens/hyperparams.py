"""The live hyperparameter form.

Every field is checked by the same ``Hyper`` declaration the scenario file
is checked by, and refused with the same "expected …" text (in the current
language). Apply returns only what changed, with the keys of the trainer's
``set_hyper``:

- ``"optimizer"`` first when the kind changed (the trainer then starts the
  new kind with its defaults and keeps the learning rate), then the other
  keys of that kind that differ from ITS DEFAULTS; otherwise the keys that
  differ from the current values;
- ``"lr"`` when the learning rate differs from the current one;
- ``"batch_size"``: an integer >= 1 or ``"full"``;
- ``"schedule"`` when the kind changed, then ``"schedule.<param>"`` for the
  parameters that differ from the new kind's defaults (same kind: from the
  current values);
- the training craft, when the screen is given it (``craft``, as
  ``LiveView.craft``): ``"l1"``, ``"l2"``, ``"clip_grad_norm"``,
  ``"clip_grad_value"``, ``"dropout.<layer>"`` (hidden layers, 0-based) and,
  when early stopping is on in the run, ``"early_stopping.patience"`` and
  ``"early_stopping.min_delta"``: each when it differs from the value in force.
"""

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from simtreino.core.hyper import Hyper
from simtreino.core.optimizers import OPTIMIZERS
from simtreino.core.regularization import CLIPPING, DROPOUT, EARLY_STOPPING, REGULARIZATION
from simtreino.core.schedules import SCHEDULES
from simtreino.i18n import doc_text, expected_text, get_lang, t

BATCH = Hyper(1, type="int", low=1)
FULL_WORDS = ("full", "completo")
SCHEDULE_LABELS = {
    "constant": "constant", "step": "step (StepLR)", "exponential": "exponential (ExponentialLR)",
    "cosine": "cosine (CosineAnnealingLR)", "plateau": "plateau (ReduceLROnPlateau)",
}


# -- text <-> values -----------------------------------------------------------

def format_value(value, h: Hyper) -> str:
    """How a value is written in its field (the shortest exact form)."""
    if h.type == "pair":
        return ", ".join(repr(float(v)) for v in value)
    if h.type == "int":
        return str(int(value))
    if h.type == "float":
        return repr(float(value))
    return str(value)


def _number(text: str, kind: str):
    """The number written in ``text`` (a decimal comma is accepted in pt), or
    the text itself so that ``Hyper.check`` refuses it with its message."""
    s = text.strip()
    if get_lang() == "pt" and re.fullmatch(r"[+-]?\d*,\d+", s):
        s = s.replace(",", ".")
    if kind == "int":
        return int(s) if re.fullmatch(r"[+-]?\d+", s) else text
    try:
        return float(s)
    except ValueError:
        return text


def parse_value(text: str, h: Hyper):
    """``text`` checked against ``h``: the value, or ValueError(expected…)."""
    if h.type == "pair":
        s = text.strip().strip("()[]")
        parts = s.split(";") if ";" in s else re.split(r"[,\s]+", s)
        parts = [p for p in (p.strip() for p in parts) if p]
        value = [_number(p, "float") for p in parts] if len(parts) == 2 else text
        return h.check(value)
    return h.check(_number(text, h.type))


def parse_batch(text: str):
    """An integer >= 1 or "full" (also "completo"); else ValueError."""
    s = text.strip().lower()
    if s in FULL_WORDS:
        return "full"
    try:
        return BATCH.check(_number(s, "int"))
    except ValueError:
        raise ValueError(t("expected.batch")) from None


def _normalise(decl: dict, given: dict) -> dict:
    """``decl``'s defaults overlaid with ``given``, each value as its type."""
    out = {k: h.default for k, h in decl.items()}
    for k, v in (given or {}).items():
        if k in decl:
            try:
                out[k] = decl[k].check(v)
            except ValueError:
                out[k] = v
    return out


def _defaults(decl: dict) -> dict:
    return {k: h.default for k, h in decl.items()}


# early-stopping settings that can change mid-run (restore_best is decided at the start)
LIVE_EARLY_STOPPING = ("patience", "min_delta")


def craft_fields(craft: dict | None) -> dict:
    """The live-editable training craft of ``craft`` (``LiveView.craft``:
    l1, l2, clip_grad_norm, clip_grad_value, dropout per layer, early_stopping
    or None) as {set_hyper key: (Hyper, value in force)}, in the form's order:
    penalties, clipping, dropout of each hidden layer (not the output layer),
    then early stopping's patience and min_delta when it is on."""
    if not craft:
        return {}
    out = {}
    for decl in (REGULARIZATION, CLIPPING):
        for name, h in decl.items():
            out[name] = (h, _checked(h, craft.get(name, h.default)))
    drops = list(craft.get("dropout") or ())
    for i, p in enumerate(drops[:-1]):
        out[f"dropout.{i}"] = (DROPOUT, _checked(DROPOUT, p))
    es = craft.get("early_stopping")
    if es:
        for name in LIVE_EARLY_STOPPING:
            h = EARLY_STOPPING[name]
            out[f"early_stopping.{name}"] = (h, _checked(h, es.get(name, h.default)))
    return out


def _checked(h: Hyper, v):
    try:
        return h.check(float(v) if h.type == "float" and isinstance(v, int) else v)
    except ValueError:
        return v


def _craft_fid(key: str) -> str:
    return "c-" + key.replace(".", "-")


def _same(a, b) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return tuple(a) == tuple(b)
    return a == b


# -- the screen -------------------------------------------------------------------

class HyperparamScreen(ModalScreen[dict | None]):
    """``HyperparamScreen(optimizer, hyper, batch_size, n_train, schedule,
    schedule_params, craft=None)``; dismisses with the dict of changed
    settings, or None. ``craft``: ``LiveView.craft`` (the penalties,
    clipping, dropout and early stopping in force); None: no such part."""

    BINDINGS = [
        Binding("escape", "cancel", "binding.cancel", key_display="Esc"),
        Binding("ctrl+s", "apply", "binding.apply"),
    ]

    DEFAULT_CSS = """
    HyperparamScreen {
        align: center middle;
    }
    HyperparamScreen #hp-dialog {
        width: 88;
        max-width: 98%;
        height: 92%;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    HyperparamScreen #hp-intro, HyperparamScreen #hp-hint {
        color: $text-muted;
    }
    HyperparamScreen #hp-form {
        height: 1fr;
        scrollbar-size-vertical: 1;
        margin: 1 0 0 0;
    }
    HyperparamScreen .hp-section {
        text-style: bold;
        color: $accent;
        margin: 1 0 0 0;
    }
    HyperparamScreen .hp-section.-first {
        margin: 0;
    }
    HyperparamScreen .hp-fields {
        height: auto;
    }
    HyperparamScreen .hp-row {
        height: auto;
    }
    HyperparamScreen .hp-line {
        height: auto;
    }
    HyperparamScreen .hp-label {
        width: 1fr;
        height: auto;
        padding: 0 1 0 0;
    }
    HyperparamScreen .hp-control {
        width: 30;
        margin: 0 0 0 1;
    }
    HyperparamScreen Select.hp-control {
        width: 30;
    }
    HyperparamScreen Input.hp-control, HyperparamScreen Select.hp-control {
        background: $boost;
    }
    HyperparamScreen Input.hp-control:focus {
        background-tint: $foreground 10%;
    }
    HyperparamScreen .hp-switchbox {
        height: 1;
    }
    HyperparamScreen .hp-switchbox Switch {
        border: none;
        height: 1;
        width: 6;
        padding: 0;
    }
    HyperparamScreen .hp-switchbox Switch:focus {
        border: none;
        background-tint: $foreground 15%;
    }
    HyperparamScreen .hp-onoff {
        padding: 0 1;
        color: $text-muted;
    }
    HyperparamScreen .hp-error {
        color: $error;
        text-style: bold;
        padding: 0 0 0 2;
        display: none;
    }
    HyperparamScreen .hp-row.-invalid .hp-error {
        display: block;
    }
    HyperparamScreen .hp-row.-invalid Input.hp-control {
        background: $error 30%;
    }
    HyperparamScreen .hp-note {
        color: $text-muted;
        padding: 0 0 0 2;
    }
    HyperparamScreen #hp-status {
        color: $error;
        height: auto;
    }
    HyperparamScreen #hp-buttons {
        height: auto;
        align-horizontal: right;
    }
    HyperparamScreen #hp-buttons Button {
        margin: 0 0 0 2;
    }
    """

    def __init__(self, optimizer: str, hyper: dict, batch_size, n_train: int,
                 schedule: str = "constant", schedule_params: dict | None = None, *,
                 craft: dict | None = None, name=None, id=None, classes=None):
        super().__init__(name=name, id=id, classes=classes)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}")
        self.optimizer = optimizer
        self.hyper = _normalise(OPTIMIZERS[optimizer][1], hyper)
        self.lr = self.hyper["lr"]
        self.batch_size = "full" if batch_size in (None, "full") else int(batch_size)
        self.n_train = int(n_train)
        self.schedule = schedule
        self.schedule_params = _normalise(SCHEDULES[schedule][1], schedule_params or {})
        self.craft = craft_fields(craft)
        self.monitor = ((craft or {}).get("early_stopping") or {}).get("monitor", "val_loss")
        self._shown = {"opt": optimizer, "sched": schedule}
        self.errors: dict[str, str] = {}
        from . import localize_bindings
        localize_bindings(self)

    # -- building ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="hp-dialog") as dialog:
            dialog.border_title = t("hyper.title")
            yield Static(t("hyper.intro"), id="hp-intro")
            with VerticalScroll(id="hp-form"):
                yield Static(t("hyper.optimizer"), classes="hp-section -first")
                yield self._row("optimizer", "kind", t("hyper.optimizer_kind"), Select(
                    [(k, k) for k in OPTIMIZERS], value=self.optimizer, allow_blank=False,
                    compact=True, id="optimizer", classes="hp-control"))
                yield self._row("lr", "lr", doc_text(OPTIMIZERS[self.optimizer][1]["lr"].doc),
                                Input(format_value(self.lr, OPTIMIZERS[self.optimizer][1]["lr"]),
                                      compact=True, id="f-lr", classes="hp-control"))
                with Vertical(id="opt-fields", classes="hp-fields"):
                    yield from self._optimizer_rows(self.optimizer)
                yield Static(t("hyper.training"), classes="hp-section")
                yield self._row("batch", "batch_size",
                                t("hyper.batch_hint", n=self.n_train),
                                Input(str(self.batch_size), compact=True, id="f-batch",
                                      classes="hp-control"))
                yield Static(t("hyper.schedule"), classes="hp-section")
                yield self._row("schedule", "kind", t("hyper.schedule_kind"), Select(
                    [(SCHEDULE_LABELS.get(k, k), k) for k in SCHEDULES], value=self.schedule,
                    allow_blank=False, compact=True, id="schedule", classes="hp-control"))
                with Vertical(id="sched-fields", classes="hp-fields"):
                    yield from self._schedule_rows(self.schedule)
                yield from self._craft_rows()
            yield Static("", id="hp-status")
            yield Static(t("hyper.keys_hint"), id="hp-hint")
            with Horizontal(id="hp-buttons"):
                yield Button(t("hyper.cancel"), id="cancel", compact=True)
                yield Button(t("hyper.apply"), id="apply", variant="primary", compact=True)
        yield Footer()

    @staticmethod
    def _row(fid: str, name: str, doc: str, control: Widget) -> Vertical:
        label = Label(Content.assemble((name, "bold"), "  ", (doc, "dim")), classes="hp-label")
        return Vertical(Horizontal(label, control, classes="hp-line"),
                        Static("", classes="hp-error", id=f"err-{fid}"),
                        classes="hp-row", id=f"row-{fid}")

    def _field(self, prefix: str, name: str, h: Hyper, value) -> Vertical:
        fid = f"{prefix}-{name}"
        if h.type == "bool":
            on_off = t("hyper.on") if value else t("hyper.off")
            control = Horizontal(Switch(bool(value), id=f"f-{fid}"),
                                 Label(on_off, classes="hp-onoff"),
                                 classes="hp-control hp-switchbox")
        else:
            control = Input(format_value(value, h), compact=True, id=f"f-{fid}",
                            classes="hp-control",
                            placeholder=t("hyper.pair_hint") if h.type == "pair" else "")
        return self._row(fid, name, doc_text(h.doc), control)

    def _optimizer_rows(self, kind: str):
        decl = OPTIMIZERS[kind][1]
        base = self.hyper if kind == self.optimizer else _defaults(decl)
        for name, h in decl.items():
            if name != "lr":
                yield self._field("opt", name, h, base[name])

    def _schedule_rows(self, kind: str):
        decl = SCHEDULES[kind][1]
        if not decl:
            yield Static(t("hyper.schedule_none"), classes="hp-note")
            return
        base = self.schedule_params if kind == self.schedule else _defaults(decl)
        for name, h in decl.items():
            yield self._field("sched", name, h, base[name])

    def _craft_rows(self):
        """The regularisation part: penalties, clipping, dropout, early stopping."""
        if not self.craft:
            return
        sections = [("hyper.regularization", lambda k: k in REGULARIZATION),
                    ("hyper.clipping", lambda k: k in CLIPPING),
                    ("hyper.dropout", lambda k: k.startswith("dropout.")),
                    ("hyper.early_stopping", lambda k: k.startswith("early_stopping."))]
        for title, belongs in sections:
            keys = [k for k in self.craft if belongs(k)]
            if not keys:
                continue
            yield Static(t(title, monitor=self.monitor), classes="hp-section")
            for i, key in enumerate(keys):
                h, value = self.craft[key]
                doc = doc_text(h.doc)
                if key.startswith("dropout."):
                    name = t("hyper.dropout_layer", layer=int(key.split(".")[1]) + 1)
                    doc = doc if i == 0 else ""     # the same text on every layer: once
                else:
                    name = key.split(".")[-1]
                control = Input(format_value(value, h), compact=True, id=f"f-{_craft_fid(key)}",
                                classes="hp-control")
                yield self._row(_craft_fid(key), name, doc, control)

    def on_mount(self) -> None:
        self.validate()
        self.query_one("#f-lr", Input).focus()   # the setting most often changed

    # -- reading and checking ------------------------------------------------------

    def _kind(self, select_id: str, fallback: str) -> str:
        v = self.query_one(f"#{select_id}", Select).value
        return v if isinstance(v, str) else fallback

    def _read(self, fid: str, h: Hyper):
        widget = self.query_one(f"#f-{fid}")
        if isinstance(widget, Switch):
            return widget.value
        return parse_value(widget.value, h)

    def _fields(self):
        """(fid, key of the result, Hyper) of every field shown now."""
        opt = self._kind("optimizer", self.optimizer)
        decl = OPTIMIZERS[opt][1]
        yield "lr", "lr", decl["lr"]
        for name, h in decl.items():
            if name != "lr":
                yield f"opt-{name}", name, h
        for name, h in SCHEDULES[self._kind("schedule", self.schedule)][1].items():
            yield f"sched-{name}", f"schedule.{name}", h
        for key, (h, _) in self.craft.items():
            yield _craft_fid(key), key, h

    def read(self) -> tuple[dict, dict]:
        """(values by result key, errors by field id) of the form as it is."""
        values, errors = {}, {}
        for fid, key, h in self._fields():
            try:
                values[key] = self._read(fid, h)
            except ValueError as e:
                errors[fid] = expected_text(str(e))
            except NoMatches:  # a field being rebuilt: read it on the next check
                continue
        try:
            values["batch_size"] = parse_batch(self.query_one("#f-batch", Input).value)
        except ValueError as e:
            errors["batch"] = t("expected.prefix", what=str(e))
        return values, errors

    def validate(self) -> bool:
        """Show each field's error under it; Apply only while all are valid."""
        _, errors = self.read()
        self.errors = errors
        for row in self.query(".hp-row"):
            fid = (row.id or "")[4:]
            msg = errors.get(fid, "")
            row.set_class(bool(msg), "-invalid")
            row.query_one(".hp-error", Static).update(Content(msg))
        self.query_one("#apply", Button).disabled = bool(errors)
        if not errors:
            self.query_one("#hp-status", Static).update("")
        return not errors

    def changes(self) -> dict | None:
        """The changed settings, or None while a field is invalid."""
        values, errors = self.read()
        if errors:
            return None
        out = {}
        opt = self._kind("optimizer", self.optimizer)
        if opt != self.optimizer:
            out["optimizer"] = opt
        if not _same(values["lr"], self.lr):
            out["lr"] = values["lr"]
        decl = OPTIMIZERS[opt][1]
        base = self.hyper if opt == self.optimizer else _defaults(decl)
        for name in decl:
            if name != "lr" and name in values and not _same(values[name], base[name]):
                out[name] = values[name]
        if values["batch_size"] != self.batch_size:
            out["batch_size"] = values["batch_size"]
        sched = self._kind("schedule", self.schedule)
        if sched != self.schedule:
            out["schedule"] = sched
        sdecl = SCHEDULES[sched][1]
        sbase = self.schedule_params if sched == self.schedule else _defaults(sdecl)
        for name in sdecl:
            key = f"schedule.{name}"
            if key in values and not _same(values[key], sbase[name]):
                out[f"schedule.{name}"] = values[f"schedule.{name}"]
        for key, (_, value) in self.craft.items():
            if key in values and not _same(values[key], value):
                out[key] = values[key]
        return out

    # -- events ------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self) -> None:
        self.validate()

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        label = event.switch.parent.query_one(".hp-onoff", Label)
        label.update(t("hyper.on") if event.value else t("hyper.off"))
        self.validate()

    @on(Select.Changed, "#optimizer")
    async def _optimizer_changed(self, event: Select.Changed) -> None:
        kind = event.value
        if not isinstance(kind, str) or kind == self._shown["opt"]:
            return
        self._shown["opt"] = kind
        box = self.query_one("#opt-fields", Vertical)
        await box.remove_children()
        await box.mount_all(list(self._optimizer_rows(kind)))
        self.validate()

    @on(Select.Changed, "#schedule")
    async def _schedule_changed(self, event: Select.Changed) -> None:
        kind = event.value
        if not isinstance(kind, str) or kind == self._shown["sched"]:
            return
        self._shown["sched"] = kind
        box = self.query_one("#sched-fields", Vertical)
        await box.remove_children()
        await box.mount_all(list(self._schedule_rows(kind)))
        self.validate()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_apply(self) -> None:
        if not self.validate():
            self.query_one("#hp-status", Static).update(Content(t("hyper.invalid")))
            first = next(iter(self.errors))
            try:
                self.query_one(f"#f-{first}").focus()
            except Exception:
                pass
            self.app.bell()
            return
        self.dismiss(self.changes())

    def action_cancel(self) -> None:
        self.dismiss(None)

