"""The race screen driven as a person would: every key, through Textual's
Pilot, plus one SVG snapshot.

The race's worker thread is real; tests wait for it (``wait_idle``) instead
of sleeping."""

import asyncio

import numpy as np
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from simtreino import i18n
from simtreino.api import load_scenario, replay
from simtreino.core.functions2d import FUNCTIONS
from simtreino.core.race import ESCAPE_FACTOR
from simtreino.headless.race_session import SPEEDS
from simtreino.tui import launch
from simtreino.tui.app import SimtreinoApp
from simtreino.tui.race_app import KEYS, RaceApp
from simtreino.tui.screens import HelpScreen, ScenarioPicker

from snapshot_tools import check_snapshot

SIZE = (120, 36)
t = i18n.t


def drive(script, scenario="race-ravine", tmp_path=None, size=SIZE, lang="en", app_class=RaceApp):
    async def main():
        i18n.set_lang(lang)
        try:
            app = app_class(load_scenario(scenario), autoplay=False, out_dir=tmp_path)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                app.session.wait_idle()
                await settle(pilot, app)
                await script(pilot, app)
        finally:
            i18n.set_lang("en")
        return app
    return asyncio.run(main())


async def settle(pilot, app):
    """The worker has run every command sent so far and the screen shows it."""
    await pilot.pause()
    app.session.wait_idle()
    app.redraw()
    await pilot.pause()


async def press(pilot, app, *keys):
    for k in keys:
        await pilot.press(k)
    await settle(pilot, app)


def status(app) -> str:
    return str(app.query_one("#race-status", Static).render())


def message(app) -> str:
    return str(app.query_one("#message", Static).render())


def screen_text(app) -> str:
    """Every line of the terminal as a person reads it."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def speed_text(speed) -> str:
    return t("speed.max") if speed is None else t("speed.value", n=speed)


# ------------------------------------------------------------------ keys
def test_every_binding_is_in_the_footer_or_the_palette():
    async def script(pilot, app):
        footer = {k.description for k in app.query(FooterKey)}
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for _, _, desc, show in KEYS:
            assert t(desc) in titles, desc
            if show:
                assert t(desc) in footer, desc
    drive(script)


def test_space_plays_and_pauses():
    async def script(pilot, app):
        for _ in SPEEDS:            # the slowest pace: few redraws while it plays
            app.session.slower()
        await settle(pilot, app)
        assert t("state.paused") in status(app)
        await press(pilot, app, "space")
        assert app.session.playing
        assert t("state.training") in status(app)
        await press(pilot, app, "space")
        assert not app.session.playing
        assert app.session.view.state == "paused"
        assert t("state.paused") in status(app)
    drive(script)


def test_autoplay_starts_the_race():
    async def main():
        app = RaceApp(load_scenario("race-ravine"))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            assert app.session.playing
    asyncio.run(main())


def test_n_steps_once_and_the_table_shows_where_each_racer_is():
    async def script(pilot, app):
        total = app.session.view.steps
        await press(pilot, app, "n")
        race = app.session.race
        assert race.step == 1
        assert t("race.step_of", step=1, total=total) in status(app)
        text = screen_text(app)
        for i, r in enumerate(race.racers):
            x, y = race.path[i, 1]
            assert r.label in text
            assert f"({x:.4g}, {y:.4g})" in text, (r.label, x, y)
        await press(pilot, app, "n", "n")
        assert race.step == 3
        assert t("race.step_of", step=3, total=total) in status(app)
    drive(script)


def test_plus_and_minus_change_the_speed_shown_in_the_status_line():
    async def script(pilot, app):
        start = SPEEDS.index(app.session.speed)
        assert f"·  {speed_text(SPEEDS[start])}" in status(app)
        await press(pilot, app, "plus")
        assert app.session.speed == SPEEDS[start + 1]
        assert f"·  {speed_text(SPEEDS[start + 1])}" in status(app)
        await press(pilot, app, "equals_sign")            # = is + without shift
        assert app.session.speed == SPEEDS[start + 2]
        await press(pilot, app, "minus", "minus", "minus")
        assert app.session.speed == SPEEDS[start - 1]
        assert f"·  {speed_text(SPEEDS[start - 1])}" in status(app)
        await press(pilot, app, *["plus"] * len(SPEEDS))
        assert app.session.speed is None
        assert f"·  {t('speed.max')}" in status(app)
    drive(script)


def test_r_restarts_the_race():
    async def script(pilot, app):
        total = app.session.view.steps
        start = np.array(app.scenario.surface.start)
        await press(pilot, app, "n", "n", "n")
        assert app.session.view.step == 3
        await press(pilot, app, "r")
        v = app.session.view
        assert v.step == 0 and v.state == "paused"
        assert t("race.step_of", step=0, total=total) in status(app)
        for r in v.racers:
            assert np.array_equal(r.point, start)
        assert t("msg.race_reset") in message(app)
    drive(script)


def test_l_toggles_the_colour_scale_of_the_surface():
    async def script(pilot, app):
        hm = app.query_one("#surface")
        linear, log = t("race.scale_linear"), t("race.scale_log")
        assert app.scenario.surface.scale == "linear"       # the ravine's own scale
        assert linear in hm.border_title and log not in hm.border_title
        await press(pilot, app, "l")
        assert log in hm.border_title and linear not in hm.border_title
        assert log in screen_text(app)
        await press(pilot, app, "l")
        assert linear in hm.border_title
        assert linear in screen_text(app)
    drive(script)


def test_t_records_from_the_middle_of_the_race_and_the_trace_replays(tmp_path):
    async def script(pilot, app):
        await press(pilot, app, "n", "n")
        await press(pilot, app, "t")
        assert app.session.view.recording is not None
        assert "REC" in status(app)
        await press(pilot, app, *["n"] * 4)
        await press(pilot, app, "t")
        v = app.session.view
        assert v.recording is None and "REC" not in status(app)
        assert v.message == "recording_stopped"
        # the race goes on after the recording stopped
        await press(pilot, app, "n")
        assert app.session.view.step == 7
    drive(script, tmp_path=tmp_path)
    (trace,) = tmp_path.glob("*.jsonl")
    (result,) = replay(trace)
    assert result.ok, result.message
    assert "to step 6" in result.message


def test_question_mark_opens_help_with_every_key():
    async def script(pilot, app):
        await press(pilot, app, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        descs = [d for _, d in app.screen.entries]
        keys = [k for k, _ in app.screen.entries]
        for key, _, desc, _ in KEYS:
            assert t(desc) in descs, desc
        assert "+" in keys and "?" in keys and "space" in keys
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, HelpScreen)
    drive(script)


def test_o_opens_the_picker_and_a_network_scenario_exits_to_the_launcher():
    async def script(pilot, app):
        await press(pilot, app, "o")
        assert isinstance(app.screen, ScenarioPicker)
        app.screen.dismiss("xor")
        await pilot.pause()
    app = drive(script)
    assert app.return_value == ("open", "xor")
    assert not app.is_running


def test_cancelling_the_picker_keeps_the_race():
    async def script(pilot, app):
        await press(pilot, app, "n", "o")
        assert isinstance(app.screen, ScenarioPicker)
        await press(pilot, app, "escape")
        assert not isinstance(app.screen, ScenarioPicker)
        assert app.is_running and app.session.view.step == 1
    app = drive(script)
    assert app.return_value is None


def test_dashboard_picker_sends_a_race_to_the_launcher():
    async def script(pilot, app):
        await press(pilot, app, "o")
        assert isinstance(app.screen, ScenarioPicker)
        app.screen.dismiss("race-ravine")
        await pilot.pause()
    app = drive(script, scenario="xor", app_class=SimtreinoApp)
    assert app.return_value == ("open", "race-ravine")
    assert not app.is_running


def test_q_quits():
    async def script(pilot, app):
        await pilot.press("q")
        await pilot.pause()
    app = drive(script)
    assert not app.is_running
    assert app.return_value is None


def test_open_app_goes_back_and_forth_between_the_two_screens(monkeypatch):
    opened = []

    def fake_run(results):
        def run(self):
            opened.append((type(self).__name__, self.scenario.name))
            return results.pop(0)
        return run

    monkeypatch.setattr(SimtreinoApp, "run", fake_run([("open", "race-ravine"), None]))
    monkeypatch.setattr(RaceApp, "run", fake_run([("open", "race-saddle"), ("open", "xor")]))
    assert launch.open_app("xor") == 0
    assert opened == [("SimtreinoApp", load_scenario("xor").name),
                      ("RaceApp", load_scenario("race-ravine").name),
                      ("RaceApp", load_scenario("race-saddle").name),
                      ("SimtreinoApp", load_scenario("xor").name)]


# ------------------------------------------------------------------ divergence
TOO_FAST = """\
schema_version = 1
kind = "race"
name = "Race: ravine, SGD far too fast"
description = "SGD with lr = {lr} leaves the ravine in a few steps."

[surface]
function = "ravine"

[training]
steps = 30

[[racers]]
label = "SGD too fast"
kind = "sgd"
lr = {lr}
expect = {{ diverges = true }}

[[racers]]
label = "Momentum"
kind = "momentum"
lr = 0.2
momentum = 0.9
"""


def sgd_divergence_step(lr: float) -> int:
    """The step where plain SGD on 0.01x² + y² leaves the race's bounds,
    worked out here with the gradient (0.02x, 2y)."""
    spec = FUNCTIONS["ravine"]
    limit = ESCAPE_FACTOR * max(max(abs(v) for v in spec.domain), 1.0)
    x, y = spec.start
    for k in range(1, 1000):
        x, y = x - lr * 0.02 * x, y - lr * 2.0 * y
        if not (abs(x) < limit and abs(y) < limit):
            return k
    raise AssertionError("does not diverge")


def test_the_table_says_when_a_racer_diverged(tmp_path):
    lr = 5
    path = tmp_path / "race-too-fast.toml"
    path.write_text(TOO_FAST.format(lr=lr))
    k = sgd_divergence_step(lr)
    assert 1 < k < 30

    async def script(pilot, app):
        await press(pilot, app, *["n"] * (k - 1))
        text = screen_text(app)
        assert "SGD too fast" in text and "Momentum" in text
        assert t("race.diverged_at", step=k) not in text
        await press(pilot, app, "n")
        assert app.session.view.racers[0].diverged_at == k
        text = screen_text(app)
        assert t("race.diverged_at", step=k) in text
        assert app.session.view.racers[1].diverged_at is None
        assert text.count(t("race.diverged_at", step=k)) == 1   # only the SGD row
    drive(script, scenario=str(path))


# ------------------------------------------------------------------ languages
def test_portuguese_footer_status_and_table(tmp_path):
    async def script(pilot, app):
        footer = {k.description for k in app.query(FooterKey)}
        for _, _, desc, show in KEYS:
            if show:
                assert t(desc) in footer
        assert "Treinar / pausar" in footer and "Train / pause" not in footer
        total = app.session.view.steps
        line = status(app)
        assert t("state.paused") == "pausado" and t("state.paused") in line
        assert t("race.step_of", step=0, total=total) in line
        assert speed_text(app.session.speed) in line and "steps/s" not in line
        assert t("fn.ravine") in line
        text = screen_text(app)
        assert t("race.racer") in text and t("race.distance") in text
        assert app.scenario.description_pt.split()[0] in message(app)
        await press(pilot, app, "n", "r")
        assert t("msg.race_reset") in message(app)
        await press(pilot, app, "question_mark")
        assert t("binding.restart") in [d for _, d in app.screen.entries]
    drive(script, lang="pt")
    assert i18n.get_lang() == "en"


def test_portuguese_divergence_text(tmp_path):
    path = tmp_path / "race-too-fast.toml"
    path.write_text(TOO_FAST.format(lr=5))
    k = sgd_divergence_step(5)

    async def script(pilot, app):
        await press(pilot, app, *["n"] * k)
        assert f"divergiu no passo {k}" in screen_text(app)
    drive(script, scenario=str(path), lang="pt")


# ------------------------------------------------------------------ snapshot
def test_race_snapshot(tmp_path):
    """Refresh with ``SIMTREINO_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_race_app.py``."""
    name = "race-ravine"
    out = tmp_path / f"{name}.svg"
    i18n.set_lang("en")
    launch.screenshot("race-ravine", str(out), epochs=40, size=(120, 36))
    check_snapshot(name, out)
