"""The dashboard driven as a person would: every key, through Textual's Pilot.

The session's worker thread is real; tests wait for it (``wait_idle``)
instead of sleeping."""

import asyncio

import numpy as np
import pytest
from textual.widgets import Input, Static

from simtreino import i18n
from simtreino.api import load_params, load_scenario, replay
from simtreino.headless.session import SPEEDS
from simtreino.tui.app import KEYS, SimtreinoApp
from simtreino.tui.screens import HelpScreen, HyperparamScreen, ScenarioPicker

SIZE = (120, 36)


def drive(script, scenario="xor", tmp_path=None, size=SIZE, lang="en"):
    async def main():
        i18n.set_lang(lang)
        app = SimtreinoApp(load_scenario(scenario), autoplay=False, out_dir=tmp_path)
        try:
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                app.session.wait_idle()
                await script(pilot, app)
        finally:
            i18n.set_lang("en")
        return app
    return asyncio.run(main())


async def press(pilot, app, *keys):
    for k in keys:
        await pilot.press(k)
    await pilot.pause()
    app.session.wait_idle()
    await pilot.pause()


def test_space_plays_and_pauses():
    async def script(pilot, app):
        await press(pilot, app, "space")
        assert app.session.playing
        await press(pilot, app, "space")
        assert not app.session.playing
        assert app.session.view.state == "paused"
    drive(script)


def test_n_steps_once_and_e_runs_one_epoch():
    async def script(pilot, app):
        await press(pilot, app, "n")
        assert app.session.trainer.step == 1
        await press(pilot, app, "e")      # finishes the epoch it is in
        assert app.session.trainer.epoch == 1
        await press(pilot, app, "e")
        tr = app.session.trainer
        assert tr.epoch == 2 and tr.step == 2 * tr.steps_per_epoch
    drive(script, "minibatch")  # several steps per epoch


def test_plus_and_minus_change_speed_one_notch():
    async def script(pilot, app):
        before = SPEEDS.index(app.session.speed)
        await press(pilot, app, "plus")
        assert SPEEDS.index(app.session.speed) == before + 1
        await press(pilot, app, "minus", "minus")
        assert SPEEDS.index(app.session.speed) == before - 1
    drive(script)


def test_r_resets_to_the_same_weights_and_R_reseeds():
    async def script(pilot, app):
        first = app.session.trainer.theta.copy()
        await press(pilot, app, "n", "n")
        await press(pilot, app, "r")
        assert app.session.trainer.step == 0
        assert np.array_equal(app.session.trainer.theta, first)
        await press(pilot, app, "R")
        assert not np.array_equal(app.session.trainer.theta, first)
    drive(script)


def test_s_saves_parameters_in_the_headless_format(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "n", "s")
        files = list(tmp_path.glob("*.npz"))
        assert len(files) == 1
        tr = app.session.trainer
        assert np.array_equal(load_params(files[0], tr.arch, tr.dtype), tr.theta)
        assert "saved" in str(app.query_one("#message", Static).render())
    drive(script, tmp_path=tmp_path)


def test_t_records_a_session_with_a_live_lr_change_that_replays(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "t")
        await press(pilot, app, *["n"] * 5)
        # change the learning rate in the form, then train on
        await press(pilot, app, "h")
        assert isinstance(app.screen, HyperparamScreen)
        lr = app.screen.query_one("#f-lr", Input)
        lr.value = "0.1"
        await press(pilot, app, "ctrl+s")
        assert not isinstance(app.screen, HyperparamScreen)
        assert app.session.trainer.lr == pytest.approx(0.1)
        await press(pilot, app, *["n"] * 5)
        await press(pilot, app, "t")
    drive(script, tmp_path=tmp_path)
    (trace,) = tmp_path.glob("*.jsonl")
    assert '"key": "lr"' in trace.read_text()
    (result,) = replay(trace)
    assert result.ok, result.message


def test_form_refuses_a_negative_learning_rate():
    async def script(pilot, app):
        await press(pilot, app, "h")
        app.screen.query_one("#f-lr", Input).value = "-1"
        await press(pilot, app, "ctrl+s")
        assert isinstance(app.screen, HyperparamScreen)   # still open
        await press(pilot, app, "escape")
        assert app.session.trainer.lr == 0.5
    drive(script)


def test_l_toggles_log_scale_a_accuracy_and_brackets_pick_the_layer_and_sample():
    async def script(pilot, app):
        assert app._log_y
        await press(pilot, app, "l")
        assert not app._log_y
        await press(pilot, app, "n", "a")
        assert app._show_accuracy
        assert "accuracy" in str(app.query_one("#loss").render())
        await press(pilot, app, "right_square_bracket")
        assert app.layer == 1
        await press(pilot, app, "left_square_bracket", "left_square_bracket")
        assert app.layer % 2 == 1
        await press(pilot, app, "full_stop")
        assert app.session.view.sample_index == 1
        await press(pilot, app, "comma", "comma")
        assert app.session.view.sample_index == 3   # wraps around 4 samples
    drive(script)


def test_question_mark_opens_help_with_every_binding():
    async def script(pilot, app):
        await press(pilot, app, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(d for _, d in app.screen.entries)
        for _, _, desc, _ in KEYS:
            assert i18n.t(desc) in text, desc
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, HelpScreen)
    drive(script)


def test_o_opens_the_picker_and_loads_another_scenario():
    async def script(pilot, app):
        await press(pilot, app, "o")
        assert isinstance(app.screen, ScenarioPicker)
        app.screen.dismiss("moons")
        await pilot.pause()
        app.session.wait_idle()
        assert app.session.scenario.name == load_scenario("moons").name
    drive(script)


def test_q_quits():
    async def script(pilot, app):
        await pilot.press("q")
        await pilot.pause()
    app = drive(script)
    assert app.return_code == 0 or app.return_code is None
    assert not app.is_running


def test_every_action_has_a_command_palette_entry():
    async def script(pilot, app):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for _, _, desc, _ in KEYS:
            assert i18n.t(desc) in titles
    drive(script)


def test_small_terminal_says_what_size_it_needs():
    async def script(pilot, app):
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        msg = app.query_one("#toosmall", Static)
        assert msg.display and "80×24" in str(msg.render())
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert not msg.display
    drive(script)


def test_divergence_pauses_and_says_why_in_portuguese():
    async def script(pilot, app):
        app.session.set_hyper({"lr": 1e6})
        await press(pilot, app, "space")
        for _ in range(100):
            if app.session.view.state == "diverged":
                break
            await pilot.pause(0.05)
        app.redraw()
        await pilot.pause()
        text = str(app.query_one("#message", Static).render())
        assert "divergiu" in text and "taxa de aprendizado" in text
    drive(script, lang="pt")


def test_b_opens_the_inspector_pages_a_step_checks_gradients_and_returns():
    from simtreino.tui.screens.inspector import InspectorScreen

    async def script(pilot, app):
        await press(pilot, app, "n", "n")
        expected = app.session.trainer.theta.copy()
        await press(pilot, app, "b")
        assert isinstance(app.screen, InspectorScreen)
        for _ in range(100):
            if app.screen._data is not None:
                break
            await pilot.pause(0.05)
        d = app.screen._data
        assert d["step"] == 3
        # the inspected step is the fast path's step, bit for bit
        from simtreino.api import build_trainer
        ref = build_trainer(load_scenario("xor"))
        ref.run_steps(3)
        assert np.array_equal(app.session.trainer.theta, ref.theta)
        assert not np.array_equal(app.session.trainer.theta, expected)   # the step was taken
        assert "z¹₁" in str(app.screen.query_one("#ins-text").render())
        await press(pilot, app, "full_stop", "full_stop")     # trace sample 1 only
        text = str(app.screen.query_one("#ins-text").render())
        assert "sample 1" in text and "sample 2" not in text
        await press(pilot, app, "comma", "comma")            # back to every sample
        assert app.screen.sample is None
        await press(pilot, app, "right", "right", "right")
        assert app.screen.page == 3
        assert "δ" in str(app.screen.query_one("#ins-text").render())
        await press(pilot, app, "g")
        for _ in range(100):
            if "rel" in str(app.screen.query_one("#ins-check").render()):
                break
            await pilot.pause(0.05)
        assert "DISAGREES" not in str(app.screen.query_one("#ins-check").render())
        # select w¹₂₂ (layer 0, unit 1, input 1) and read its chain of factors
        await press(pilot, app, "u", "w")
        assert app.screen.weight == (0, 1, 1)
        text = str(app.screen.query_one("#ins-text").render())
        assert "w¹₂₂" in text and "∂E/∂a" in text
        await press(pilot, app, "L")
        assert app.screen.weight == (1, 0, 0)
        await press(pilot, app, "enter")
        for _ in range(100):
            if app.screen._data["step"] == 4:
                break
            await pilot.pause(0.05)
        assert app.screen._data["step"] == 4
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, InspectorScreen)
        assert app.session.trainer.step == 4
    drive(script)


def test_k_runs_until_the_loss_falls_below_a_value_then_opens_the_inspector():
    from simtreino.tui.screens.breakpoint import BreakpointScreen
    from simtreino.tui.screens.inspector import InspectorScreen
    from textual.widgets import OptionList

    async def script(pilot, app):
        await press(pilot, app, "k")
        assert isinstance(app.screen, BreakpointScreen)
        app.screen.query_one("#bp-value", Input).value = "0.3"
        app.screen.query_one(OptionList).highlighted = 0      # loss below a value
        await press(pilot, app, "enter")
        for _ in range(200):
            if isinstance(app.screen, InspectorScreen) and app.screen._data is not None:
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, InspectorScreen)
        kind, value, step, _ = app.session.view.break_hit
        assert kind == "loss_below" and value == 0.3
        d = app.screen._data
        assert d["step"] == step                       # the step where it happened
        loss = next(p for p in d["phases"] if p["phase"] == "loss")["loss"]
        assert loss < 0.3
    drive(script)


def _wait_surface(app, timeout=60.0):
    import time
    end = time.monotonic() + timeout
    while app.session.view.surface is None and time.monotonic() < end:
        time.sleep(0.02)
    return app.session.view.surface


def test_v_swaps_the_loss_surface_and_weights_over_time():
    async def script(pilot, app):
        surface, bands = app.query_one("#lsurface"), app.query_one("#bands")
        assert surface.display and not bands.display
        assert _wait_surface(app) is not None
        await press(pilot, app, "n", "n")
        await pilot.pause(0.4)
        assert "loss surface" in str(surface.border_title)
        await press(pilot, app, "v")
        assert bands.display and not surface.display
        await press(pilot, app, "v")
        assert surface.display
    drive(script)


def test_a_short_left_column_shows_two_readable_panels_and_v_cycles_the_second():
    """A deep network's layer table leaves the left column 21 rows at
    120x36: the gradient norms get the second panel (its curves need the
    rows), and v brings the surface and the weights over time in turn."""
    def shown(app):
        return [w for w in ("grads", "lsurface", "bands") if app.query_one("#" + w).display]

    async def script(pilot, app):
        await press(pilot, app, "e")
        app.redraw()
        await pilot.pause()
        assert app.query_one("#left").size.height < 24
        assert shown(app) == ["grads"]
        assert app.query_one("#grads").size.height >= 8      # inside its border
        for want in (["lsurface"], ["bands"], ["grads"]):
            await press(pilot, app, "v")
            assert shown(app) == want
    drive(script, scenario="lesson-vanishing-sigmoid")

    async def tall(pilot, app):
        await press(pilot, app, "e")
        app.redraw()
        await pilot.pause()
        assert shown(app) == ["grads", "lsurface"]
        await press(pilot, app, "v")
        assert shown(app) == ["grads", "bands"]
    drive(tall, scenario="lesson-vanishing-sigmoid", size=(120, 48))


def test_a_cold_start_counts_the_seconds_of_compiling():
    """The worker publishes nothing while Numba compiles: the message line
    counts the seconds by itself, so the program is seen to be alive."""
    import dataclasses
    import re

    def seconds_shown(app) -> int:
        # the worker may publish a view of its own (a cold cache compiles
        # more): the compiling one is put back before each frame
        app.session.view = dataclasses.replace(app.session.view, state="compiling",
                                               version=-1)
        app.redraw()
        text = str(app.query_one("#message", Static).render())
        assert text.startswith("compiling kernels (first run only)…"), text
        return int(re.search(r"(\d+) s \(it takes about a minute\)$", text).group(1))

    async def script(pilot, app):
        first = seconds_shown(app)
        app._compiling_since -= 12                       # as if 12 s had gone by
        assert seconds_shown(app) - first in (12, 13)
    drive(script)


def test_f_shows_the_surface_full_screen_and_its_keys_change_the_slice():
    from simtreino.tui.screens.surface import SurfaceScreen

    async def script(pilot, app):
        await press(pilot, app, "e", "e", "e")
        await press(pilot, app, "f")
        assert isinstance(app.screen, SurfaceScreen)
        first = _wait_surface(app)
        await press(pilot, app, "g")                 # the next grid size
        for _ in range(300):
            st = app.session.view.surface
            if st is not first and st.grid != first.grid:
                break
            await pilot.pause(0.05)
        st = app.session.view.surface
        assert st.grid != first.grid and st.slice.losses.shape == (st.grid, st.grid)
        await press(pilot, app, "d")                 # pca <-> random
        for _ in range(300):
            if app.session.view.surface.directions != st.directions:
                break
            await pilot.pause(0.05)
        assert app.session.view.surface.directions != st.directions
        hm = app.screen.query_one("#surface-map")
        assert hm._log
        await press(pilot, app, "l")
        assert not hm._log
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, SurfaceScreen)
    drive(script)


def test_m_switches_the_run_and_the_loss_panel_draws_every_run(tmp_path):
    from pathlib import Path
    xor = (Path(__file__).parents[2] / "scenarios" / "xor.toml").read_text()
    path = tmp_path / "runs.toml"
    path.write_text(xor + '\n[[runs]]\nlabel = "SGD"\n\n[[runs]]\nlabel = "Adam"\n'
                          'optimizer = { kind = "adam", lr = 0.05 }\n')

    async def script(pilot, app):
        await press(pilot, app, "e", "e", "e")
        await pilot.pause(0.5)
        legend = str(app.query_one("#loss").render())
        assert "SGD" in legend and "Adam" in legend
        assert "[SGD]" in str(app.query_one("#status").render())
        await press(pilot, app, "m")
        await pilot.pause(0.3)
        assert app.session.view.run_index == 1
        assert "[Adam]" in str(app.query_one("#status").render())
    drive(script, scenario=str(path))


def test_exclamation_lists_the_findings_and_c_trains_a_cured_copy():
    from simtreino.tui.screens.alerts import AlertsScreen

    async def script(pilot, app):
        for _ in range(40):                       # 40 epochs: the finding is raised by then
            await press(pilot, app, "e")
            if app.session.view.findings:
                break
        names = [f.name for f in app.session.view.findings]
        assert "vanishing_gradients" in names
        await pilot.pause(0.3)
        assert "vanishing gradients" in str(app.query_one("#message").render())
        await press(pilot, app, "exclamation_mark")
        assert isinstance(app.screen, AlertsScreen)
        assert "ReLU" in str(app.screen.query_one("#alerts-detail").render())
        old = app.session
        await press(pilot, app, "c")
        app.session.wait_idle()
        assert app.session is not old and not isinstance(app.screen, AlertsScreen)
        cured = app.session.run_scenario
        assert {layer.activation for layer in cured.model.layers[:-1]} == {"relu"}
        assert cured.model.init.kind == "he_uniform"
        assert "cure" in cured.name
    drive(script, scenario="lesson-vanishing-sigmoid")
