"""The modal screens driven through Textual's Pilot in a tiny host app."""

import asyncio
import shutil
from contextlib import contextmanager

import pytest
from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.widgets import Button, Input, OptionList, Static, Switch

from simtreino import i18n
from simtreino.scenario import ScenarioError, find_scenario, load_scenario
from simtreino.tui.screens import (HelpScreen, HyperparamScreen, ScenarioPicker, help_entries,
                                   localize_bindings)
from simtreino.tui.screens.hyperparams import parse_batch, parse_value
from simtreino.core.optimizers import OPTIMIZERS

SIZE = (100, 32)
UNSET = object()


@contextmanager
def language(lang):
    before = i18n.get_lang()
    i18n.set_lang(lang)
    try:
        yield
    finally:
        i18n.set_lang(before)


class Host(App):
    """Pushes one screen on mount and keeps what it was dismissed with."""

    def __init__(self, make_screen):
        super().__init__()
        self.make_screen = make_screen
        self.result = UNSET

    def compose(self):
        yield Static("the dashboard would be here")

    def on_mount(self):
        self.push_screen(self.make_screen(), self._done)

    def _done(self, result):
        self.result = result


def drive(make_screen, script, lang="en"):
    """Run ``script(pilot, app)`` against the screen; return the host app."""
    async def main():
        app = Host(make_screen)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await script(pilot, app)
            await pilot.pause()
        return app
    with language(lang):
        return asyncio.run(main())


async def type_into(pilot, selector, text):
    await pilot.click(selector)
    await pilot.press("home", "ctrl+k", *[k if k != " " else "space" for k in text])
    await pilot.pause()


def text_of(app, selector):
    return str(app.screen.query_one(selector, Static).content)


def sgd_form():
    return HyperparamScreen("sgd", {"lr": 0.5, "momentum": 0.9}, "full", 4, "constant", {})


# -- hyperparameter form ---------------------------------------------------------

def test_form_refuses_a_negative_learning_rate_and_accepts_0_05():
    seen = {}

    async def script(pilot, app):
        await type_into(pilot, "#f-lr", "-1")
        seen["error"] = text_of(app, "#err-lr")
        seen["apply_disabled"] = app.screen.query_one("#apply", Button).disabled
        await pilot.press("enter")            # refused: the form stays
        await pilot.pause()
        seen["still_open"] = isinstance(app.screen, HyperparamScreen)
        seen["status"] = text_of(app, "#hp-status")
        await type_into(pilot, "#f-lr", "0.05")
        seen["error_after"] = text_of(app, "#err-lr")
        await pilot.press("enter")

    app = drive(sgd_form, script)
    assert seen["error"] == "expected a number >= 0"
    assert seen["apply_disabled"] is True
    assert seen["still_open"] is True
    assert "red" in seen["status"]
    assert seen["error_after"] == ""
    assert app.result == {"lr": 0.05}


def test_form_errors_in_portuguese_and_decimal_comma():
    seen = {}

    async def script(pilot, app):
        await type_into(pilot, "#f-lr", "-1")
        seen["error"] = text_of(app, "#err-lr")
        await type_into(pilot, "#f-opt-momentum", "abc")
        seen["momentum"] = text_of(app, "#err-opt-momentum")
        await type_into(pilot, "#f-opt-momentum", "0,8")
        await type_into(pilot, "#f-lr", "0,05")
        await pilot.press("ctrl+s")

    app = drive(sgd_form, script, lang="pt")
    assert seen["error"] == "valor esperado: um número >= 0"
    assert seen["momentum"] == "valor esperado: um número >= 0"
    assert app.result == {"lr": 0.05, "momentum": 0.8}


def test_switching_to_adam_shows_its_settings_and_returns_them():
    seen = {}

    async def script(pilot, app):
        await pilot.click("#optimizer")        # opens the list
        await pilot.press("a", "d", "a", "m")  # type to search
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        seen["fields"] = {w.id for w in screen.query("Input, Switch") if w.id}
        seen["amsgrad_is_switch"] = isinstance(screen.query_one("#f-opt-amsgrad"), Switch)
        seen["betas"] = screen.query_one("#f-opt-betas", Input).value
        await type_into(pilot, "#f-opt-betas", "0.9, 1.5")
        seen["betas_error"] = text_of(app, "#err-opt-betas")
        await type_into(pilot, "#f-opt-betas", "0.8, 0.99")
        await type_into(pilot, "#f-opt-eps", "1e-6")
        await pilot.click("#f-opt-amsgrad")
        await pilot.pause()
        await pilot.click("#apply")

    app = drive(sgd_form, script)
    assert {"f-opt-betas", "f-opt-eps", "f-opt-amsgrad", "f-opt-weight_decay"} <= seen["fields"]
    assert "f-opt-momentum" not in seen["fields"]
    assert seen["amsgrad_is_switch"]
    assert seen["betas"] == "0.9, 0.999"
    assert seen["betas_error"] == "expected numbers in [0, 1)"
    assert app.result == {"optimizer": "adam", "betas": (0.8, 0.99), "eps": 1e-06,
                          "amsgrad": True}
    assert list(app.result)[0] == "optimizer"   # applied first: the rest are adam's


@pytest.mark.parametrize("start, typed, expected", [
    ("full", "16", {"batch_size": 16}),
    (16, "full", {"batch_size": "full"}),
    (16, "completo", {"batch_size": "full"}),
    (16, "16", {}),
])
def test_batch_size_full_or_integer(start, typed, expected):
    async def script(pilot, app):
        await type_into(pilot, "#f-batch", typed)
        await pilot.press("enter")

    app = drive(lambda: HyperparamScreen("sgd", {"lr": 0.1}, start, 200, "constant", {}), script)
    assert app.result == expected


def test_batch_size_zero_is_refused():
    seen = {}

    async def script(pilot, app):
        await type_into(pilot, "#f-batch", "0")
        seen["error"] = text_of(app, "#err-batch")
        await pilot.press("enter")
        await pilot.pause()
        seen["open"] = isinstance(app.screen, HyperparamScreen)
        await pilot.press("escape")

    app = drive(sgd_form, script)
    assert seen["error"] == 'expected "full" or an integer >= 1'
    assert seen["open"]
    assert app.result is None


def test_schedule_kind_and_its_parameters():
    seen = {}

    async def script(pilot, app):
        await pilot.click("#schedule")
        await pilot.press("s", "t", "e", "p", "enter")
        await pilot.pause()
        seen["fields"] = {w.id for w in app.screen.query("Input") if w.id}
        await type_into(pilot, "#f-sched-step_size", "50")
        await type_into(pilot, "#f-sched-gamma", "0")
        seen["gamma_error"] = text_of(app, "#err-sched-gamma")
        await type_into(pilot, "#f-sched-gamma", "0.1")
        await pilot.press("enter")

    app = drive(sgd_form, script)
    assert {"f-sched-step_size", "f-sched-gamma"} <= seen["fields"]
    assert seen["gamma_error"] == "expected a number > 0"
    assert app.result == {"schedule": "step", "schedule.step_size": 50}


def test_same_kind_compares_with_current_values():
    async def script(pilot, app):
        await type_into(pilot, "#f-sched-patience", "10")   # unchanged
        await type_into(pilot, "#f-opt-eps", "1e-8")        # unchanged
        await type_into(pilot, "#f-opt-weight_decay", "0.001")
        await pilot.press("enter")

    app = drive(lambda: HyperparamScreen(
        "adamw", {"lr": 0.02, "weight_decay": 0.1}, 8, 100, "plateau",
        {"factor": 0.5, "patience": 10}), script)
    assert app.result == {"weight_decay": 0.001}


def test_escape_cancels_and_untouched_apply_is_empty():
    async def cancel(pilot, app):
        await type_into(pilot, "#f-lr", "0.3")
        await pilot.press("escape")

    async def apply(pilot, app):
        await pilot.press("ctrl+s")

    assert drive(sgd_form, cancel).result is None
    assert drive(sgd_form, apply).result == {}


def test_form_footer_bindings_in_portuguese():
    seen = {}

    async def script(pilot, app):
        seen["desc"] = {b.description for _, b in app.screen._bindings}
        await pilot.press("escape")

    drive(sgd_form, script, lang="pt")
    assert {"Cancelar", "Aplicar"} <= seen["desc"]


def test_parse_helpers_use_the_core_declarations():
    betas = OPTIMIZERS["adam"][1]["betas"]
    assert parse_value("0.9, 0.999", betas) == (0.9, 0.999)
    assert parse_value("(0.5 0.6)", betas) == (0.5, 0.6)
    with pytest.raises(ValueError):
        parse_value("0.9", betas)
    lr = OPTIMIZERS["sgd"][1]["lr"]
    with pytest.raises(ValueError, match="finite"):
        parse_value("inf", lr)
    assert parse_batch(" Full ") == "full"
    assert parse_batch("3") == 3
    with pytest.raises(ValueError):
        parse_batch("2.5")


# -- help ---------------------------------------------------------------------------

BINDINGS = [("space", "Train / pause"), ("h", "Hyperparameters"), ("+ / -", "Faster / slower")]


def rendered(renderable) -> str:
    console = Console(width=90, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("key", ["escape", "question_mark", "q"])
def test_help_lists_the_bindings_given_and_closes(key):
    seen = {}

    async def script(pilot, app):
        seen["keys"] = rendered(app.screen.query_one("#help-keys", Static).content)
        seen["panels"] = rendered(app.screen.query_one("#help-panels", Static).content)
        await pilot.press(key)
        await pilot.pause()
        seen["closed"] = not isinstance(app.screen, HelpScreen)

    app = drive(lambda: HelpScreen(BINDINGS), script)
    for k, desc in BINDINGS:
        assert k in seen["keys"] and desc in seen["keys"]
    assert "Decision boundary" in seen["panels"]
    assert seen["closed"] and app.result is None


def test_help_in_portuguese():
    seen = {}

    async def script(pilot, app):
        seen["title"] = app.screen.query_one("#help-dialog").border_title
        seen["panels"] = rendered(app.screen.query_one("#help-panels", Static).content)

    drive(lambda: HelpScreen(BINDINGS), script, lang="pt")
    assert seen["title"] == "Ajuda"
    assert "Fronteira de decisão" in seen["panels"]


class KeyedApp(App):
    BINDINGS = [Binding("space", "noop", "binding.pause"), Binding("r", "noop", "binding.reset"),
                Binding("x", "noop", "", show=False)]

    def __init__(self):
        super().__init__()
        localize_bindings(self)


def test_localize_bindings_and_help_entries():
    async def main():
        app = KeyedApp()
        async with app.run_test(size=SIZE):
            return help_entries(app)

    with language("pt"):
        entries = asyncio.run(main())
    assert ("space", "Treinar / pausar") in entries
    assert any(d == "Reiniciar (mesmos pesos iniciais)" for _, d in entries)
    assert all(d for _, d in entries)


# -- scenario picker ------------------------------------------------------------------

def test_picker_lists_xor_with_its_portuguese_description():
    seen = {}

    async def script(pilot, app):
        ol = app.screen.query_one("#pk-list", OptionList)
        seen["ids"] = [ol.get_option_at_index(i).id for i in range(ol.option_count)]
        seen["detail"] = text_of(app, "#pk-detail")
        await pilot.press("enter")

    app = drive(lambda: ScenarioPicker(current="xor"), script, lang="pt")
    assert "xor" in seen["ids"]
    assert "Duas entradas, uma camada oculta" in seen["detail"]
    assert app.result == "xor"


def test_picker_moves_through_the_list():
    async def script(pilot, app):
        await pilot.press("up", "enter")

    app = drive(lambda: ScenarioPicker(current="xor"), script)
    assert app.result == "spirals"


def test_picker_takes_a_bundled_name_typed_in():
    seen = {}

    async def script(pilot, app):
        await pilot.press("slash", *"spiral", "enter")
        await pilot.pause()
        seen["error"] = text_of(app, "#pk-error")
        await pilot.press("s", "enter")

    app = drive(ScenarioPicker, script)
    assert "did you mean 'spirals'?" in seen["error"]
    assert app.result == "spirals"


def test_picker_bad_path_shows_the_error_and_stays(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\nname = "x"\n')
    good = tmp_path / "mine.toml"
    shutil.copy(find_scenario("xor"), good)
    seen = {}

    async def script(pilot, app):
        await pilot.press("slash")
        for path, key in ((tmp_path / "nope.toml", "missing"), (bad, "bad")):
            await pilot.press(*str(path))
            await pilot.press("enter")
            await pilot.pause()
            seen[key] = text_of(app, "#pk-error")
            seen[key + "_open"] = isinstance(app.screen, ScenarioPicker)
            await pilot.press("home", "ctrl+k")
        await pilot.press(*str(good), "enter")

    app = drive(ScenarioPicker, script)
    with pytest.raises(ScenarioError) as missing:
        load_scenario(tmp_path / "nope.toml")
    assert seen["missing"] == str(missing.value)
    assert seen["bad"].startswith(str(bad) + ": ") and "\n" not in seen["bad"]
    assert seen["missing_open"] and seen["bad_open"]
    assert app.result == str(good)
