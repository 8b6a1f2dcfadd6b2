"""Training craft in the terminal UI, driven through Textual's Pilot: the
live form's regularisation part, the inspector's pages of a network with
batch norm, dropout and a residual layer, the header's penalty, clipping
and patience, and the state and message early stopping leaves."""

import asyncio

import numpy as np
import pytest
from textual.widgets import Input, Static

from simtreino import i18n
from simtreino.core.regularization import R_L2
from simtreino.headless.explain import fmt
from simtreino.tui.header import StatusBar
from simtreino.tui.network_view import NetworkView
from simtreino.tui.screens import HyperparamScreen

from test_app import drive as app_drive

SIZE = (120, 36)

SCENARIO = """
schema_version = 1
name = "Craft"
description = "Batch norm, dropout, a residual layer, L2, clipping, early stopping."
seed = 0
dtype = "float64"

[data]
source = "moons"
n_samples = 40
noise = 0.2
normalize = "standard"
shuffle = false
split = {{ train = 0.5, val = 0.5 }}

[model]
init = "xavier_uniform"
layers = [
  {{ units = 3, activation = "tanh", batchnorm = true, dropout = 0.2 }},
  {{ units = 3, activation = "relu", batchnorm = true, residual = true }},
  {{ units = 1, activation = "sigmoid" }},
]

[loss]
kind = "bce"

[optimizer]
kind = "sgd"
lr = 0.1

[regularization]
l2 = 0.01

[training]
batch_size = 10
epochs = 50
clip_grad_norm = 0.05

[training.early_stopping]
monitor = "{monitor}"
patience = {patience}
min_delta = {min_delta}
"""


def scenario_file(tmp_path, monitor="val_loss", patience=5, min_delta=0.0):
    path = tmp_path / "craft.toml"
    path.write_text(SCENARIO.format(monitor=monitor, patience=patience, min_delta=min_delta))
    return path


def drive(script, path, lang="en"):
    return app_drive(script, str(path), size=SIZE, lang=lang)


async def press(pilot, app, *keys):
    for k in keys:
        await pilot.press(k)
    await pilot.pause()
    app.session.wait_idle()
    await pilot.pause()
    app.redraw()
    await pilot.pause()


def test_form_changes_dropout_and_l2_mid_run_and_the_trainer_gets_only_those(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "n", "n")
        await press(pilot, app, "h")
        form = app.screen
        assert isinstance(form, HyperparamScreen)
        assert form.query_one("#f-c-l2", Input).value == "0.01"
        assert form.query_one("#f-c-dropout-0", Input).value == "0.2"
        assert form.query_one("#f-c-dropout-1", Input).value == "0.0"
        assert form.query_one("#f-c-clip_grad_norm", Input).value == "0.05"
        assert form.query_one("#f-c-early_stopping-patience", Input).value == "5"
        assert not form.query("#f-c-dropout-2")            # not on the output layer
        form.query_one("#f-c-dropout-0", Input).value = "1"    # refused: [0, 1)
        await pilot.pause()
        assert "c-dropout-0" in form.errors
        await press(pilot, app, "ctrl+s")
        assert isinstance(app.screen, HyperparamScreen)        # still open
        form.query_one("#f-c-dropout-0", Input).value = "0.5"
        form.query_one("#f-c-l2", Input).value = "0.001"
        form.query_one("#f-c-early_stopping-patience", Input).value = "7"
        await pilot.pause()
        assert form.changes() == {"l2": 0.001, "dropout.0": 0.5, "early_stopping.patience": 7}
        await press(pilot, app, "ctrl+s")
        assert not isinstance(app.screen, HyperparamScreen)
        tr = app.session.trainer
        assert tr.reg[R_L2] == 0.001 and tr.drop_p[0] == 0.5 and tr.drop_p[1] == 0.0
        assert tr.early_stopping["patience"] == 7
        assert sorted((e.step, e.key) for e in tr.events) == [
            (2, "dropout.0"), (2, "early_stopping.patience"), (2, "l2")]
        assert app.session.view.craft["dropout"][0] == 0.5
        await press(pilot, app, "n")          # and training goes on with them
        assert tr.step == 3
    drive(script, scenario_file(tmp_path))


def test_form_without_early_stopping_has_no_patience_field(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(scenario_file(tmp_path).read_text().split("[training.early_stopping]")[0])

    async def script(pilot, app):
        await press(pilot, app, "h")
        assert not app.screen.query("#f-c-early_stopping-patience")
        assert app.screen.query_one("#f-c-l1", Input).value == "0.0"
        await press(pilot, app, "escape")
    drive(script, path)


def test_header_network_and_panels_show_penalty_clipping_and_patience(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "e")
        snap = app.session.view.snapshot
        assert snap.penalty > 0 and np.isfinite(snap.grad_norm)
        status = str(app.query_one(StatusBar).render())
        assert f"loss {format(snap.loss, '.4g')} (penalty {format(snap.penalty, '.3g')})" in status
        es = snap.early_stop
        assert f"patience {es.wait}/5" in status
        grads = app.query_one("#grads")
        assert "clipping by norm" in str(grads.border_subtitle)
        assert format(snap.clip_coef, ".3g") in str(grads.border_subtitle)
        net = str(app.query_one(NetworkView).render())
        assert "BN drop 0.2" in net and "BN +skip" in net
        loss_series = [label for label, *_ in app.query_one("#loss")._series]
        assert "penalty" in loss_series
    drive(script, scenario_file(tmp_path))


def test_header_in_portuguese(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "e")
        status = str(app.query_one(StatusBar).render())
        assert "(penalidade " in status and "paciência 0/5" in status
        assert "recorte pela norma" in str(app.query_one("#grads").border_subtitle)
    drive(script, scenario_file(tmp_path), lang="pt")


def test_inspector_pages_of_a_craft_network(tmp_path):
    from simtreino.tui.screens.inspector import InspectorScreen

    async def script(pilot, app):
        await press(pilot, app, "e")
        await press(pilot, app, "b")
        assert isinstance(app.screen, InspectorScreen)
        for _ in range(200):
            if app.screen._data is not None:
                break
            await pilot.pause(0.05)
        d = app.screen._data
        assert d["craft"]["batchnorm"] == [True, True, False] and d["craft"]["l2"] == 0.01
        loss = next(p for p in d["phases"] if p["phase"] == "loss")
        update = next(p for p in d["phases"] if p["phase"] == "update")
        pages = []
        for i in range(len(d["phases"]) + 1):       # the phases, then the weight's chain
            pages.append(str(app.screen.query_one("#ins-text", Static).render()))
            await press(pilot, app, "right")
        forward1, forward2, _, loss_page, _, backward2, backward1, update_page, chain = pages
        assert "ẑ¹₁" in forward1 and "μ¹₁" in forward1 and "out¹₁ = a¹₁·mask" in forward1
        assert "out²₁ = a²₁ + out¹₁" in forward2
        assert f"= {fmt(loss['penalty'])}" in loss_page and "l2·Σw²" in loss_page
        assert f"= {fmt(loss['total'])}" in loss_page
        assert "∂E/∂b¹₁ = 0" in backward1 and "∂E/∂γ¹₁" in backward1
        assert "∂(E + penalty)/∂w¹₁₁" in backward1
        assert "∂E/∂out²₁" in backward2                  # the skip connection's share
        assert f"‖g‖ = √(Σ g²) = {fmt(update['grad_norm'])}" in update_page
        assert "β²₃ ←" in update_page
        assert "w¹₁₁" in chain
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, InspectorScreen)
    drive(script, scenario_file(tmp_path))


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_early_stopping_ends_the_run_and_says_so(tmp_path, lang):
    # nothing beats the first epoch by 10: training stops after the second
    path = scenario_file(tmp_path, monitor="loss", patience=1, min_delta=10.0)

    async def script(pilot, app):
        await press(pilot, app, "space")
        for _ in range(200):
            if app.session.view.state == "stopped":
                break
            await pilot.pause(0.05)
        await press(pilot, app)
        view = app.session.view
        assert view.state == "stopped" and not app.session.playing
        assert view.snapshot.early_stop.stopped_epoch == 2
        message = app.query_one("#message", Static)
        text = str(message.render())
        status = str(app.query_one(StatusBar).render())
        if lang == "en":
            assert text.startswith("Early stopping:") and "stopped at epoch 2" in text
            assert "weights of epoch 1 restored" in text
            assert "stopped early" in status and "diverged" not in status
        else:
            assert text.startswith("Parada antecipada:") and "parou na época 2" in text
            assert "pesos da época 1 restaurados" in text
            assert "parada antecipada" in status and "divergiu" not in status
        assert message.has_class("stopped") and not message.has_class("alert")
        assert "patience" not in status and "paciência" not in status
        await press(pilot, app, "space")             # a stopped run does not go on
        assert not app.session.playing and app.session.view.state == "stopped"
        await press(pilot, app, "b")                 # no step left for the inspector
        await pilot.pause(0.3)
        title = str(app.screen.query_one("#ins-title", Static).render())
        assert title.startswith({"en": "Early stopping has ended this run",
                                 "pt": "A parada antecipada encerrou"}[lang])
        await press(pilot, app, "escape")
        assert app.session.trainer.step == view.snapshot.step
    drive(script, path, lang=lang)


def test_form_regularisation_part_in_portuguese():
    from textual.app import App

    craft = {"l1": 0.0, "l2": 0.0, "clip_grad_norm": 0.0, "clip_grad_value": 0.0,
             "dropout": (0.0, 0.1, 0.0),
             "early_stopping": {"monitor": "val_loss", "patience": 10, "min_delta": 0.0,
                                "restore_best": True}}
    seen = {}

    class Host(App):
        def on_mount(self):
            self.push_screen(HyperparamScreen("sgd", {"lr": 0.1}, "full", 4, craft=craft),
                             lambda r: seen.setdefault("result", r))

    async def main():
        app = Host()
        async with app.run_test(size=(100, 60)) as pilot:
            await pilot.pause()
            titles = " ".join(str(s.render()) for s in app.screen.query(".hp-section"))
            for words in ("regularização", "recorte do gradiente (gradient clipping)",
                          "dropout", "parada antecipada (early stopping), observando val_loss"):
                assert words in titles
            labels = " ".join(str(s.render()) for s in app.screen.query(".hp-label"))
            assert "camada 1" in labels and "camada 2" in labels and "camada 3" not in labels
            assert "penalidade L2" in labels
            app.screen.query_one("#f-c-dropout-1", Input).value = "0,3"    # decimal comma
            app.screen.query_one("#f-c-early_stopping-min_delta", Input).value = "-1"
            await pilot.pause()
            assert app.screen.errors == {
                "c-early_stopping-min_delta": "valor esperado: um número >= 0"}
            app.screen.query_one("#f-c-early_stopping-min_delta", Input).value = "0,001"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
    i18n.set_lang("pt")
    try:
        asyncio.run(main())
    finally:
        i18n.set_lang("en")
    assert seen["result"] == {"dropout.1": 0.3, "early_stopping.min_delta": 0.001}
