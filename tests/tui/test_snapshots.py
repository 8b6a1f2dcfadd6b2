"""SVG snapshots of the terminal UI at a fixed size, deterministic seeds,
no blinking cursor. A change in what the app shows fails here; look at the
new picture (``simtreino screenshot …``), and if it is right, refresh the
stored files with ``SIMTREINO_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py``."""

import asyncio
from pathlib import Path

import pytest

from simtreino import i18n
from simtreino.tui.launch import screenshot

from snapshot_tools import check_snapshot, colour_distance

CASES = {
    "xor-dashboard": dict(scenario="xor", epochs=150, screen="dashboard", lang="en"),
    "xor-dashboard-pt": dict(scenario="xor", epochs=150, screen="dashboard", lang="pt"),
    "spirals-boundary": dict(scenario="spirals", epochs=60, screen="dashboard", lang="en"),
    "sine-regression": dict(scenario="sine", epochs=100, screen="dashboard", lang="en"),
    "hyperparameter-form": dict(scenario="xor", epochs=20, screen="hyper", lang="en"),
    "help-screen": dict(scenario="xor", epochs=0, screen="help", lang="pt"),
    "inspector-forward": dict(scenario="course-221", epochs=0, screen="inspect", lang="en"),
    "inspector-chain-rule": dict(scenario="course-221", epochs=0, screen="inspect", page=6,
                                 lang="pt"),
    "inspector-adam-update": dict(scenario="opt-adam", epochs=1, screen="inspect", page=5,
                                  lang="en"),
    "xor-surface": dict(scenario="xor", epochs=300, screen="surface", lang="en"),
    "spirals-surface-pt": dict(scenario="spirals", epochs=40, screen="surface", lang="pt"),
    "mnist-confusion": dict(scenario="mnist", epochs=3, screen="dashboard", keys="d d",
                            lang="en"),
    "alerts-vanishing": dict(scenario="lesson-vanishing-sigmoid", epochs=100,
                             screen="dashboard", keys="exclamation_mark", lang="en"),
    # A student's path through the vanishing-gradient lesson, in Portuguese:
    # the dashboard once the finding is raised (the amber line; the layer
    # table's gradient norms fall from layer 8 to layer 1), then `!`; the
    # third picture, after `c`, is test_snapshot_after_the_cure's. 48 rows:
    # at 36 the gradient-norm plot is one text row and its 8 curves merge.
    "vanishing-pt-1-dashboard": dict(scenario="lesson-vanishing-sigmoid", epochs=30,
                                     screen="dashboard", lang="pt", size=(120, 48)),
    "vanishing-pt-2-alerts": dict(scenario="lesson-vanishing-sigmoid", epochs=30,
                                  screen="dashboard", keys="exclamation_mark", lang="pt",
                                  size=(120, 48)),
}


def test_snapshot_comparison_tolerates_only_small_colour_changes():
    a = '<rect fill="#424084"/><text>loss 0.25</text>'
    assert colour_distance(a, a.replace("#424084", "#423f84")) == 1
    assert colour_distance(a, a.replace("#424084", "#42ff84")) == 0xff - 0x40
    assert colour_distance(a, a.replace("0.25", "0.26")) is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name, tmp_path):
    case = CASES[name]
    i18n.set_lang(case["lang"])
    try:
        out = tmp_path / f"{name}.svg"
        screenshot(case["scenario"], str(out), epochs=case["epochs"],
                   size=case.get("size", (120, 36)),
                   screen=case["screen"], page=case.get("page", 0),
                   keys=case.get("keys", "").split())
    finally:
        i18n.set_lang("en")
    check_snapshot(name, out)


# The copy `c` opens on the alerts screen, trained this many epochs: the
# app trains it in its worker as fast as it goes, so the test trains it
# before the worker starts and keeps it paused (a picture of a fixed step).
CURE_CASES = {
    "vanishing-pt-3-cure": dict(scenario="lesson-vanishing-sigmoid", epochs=30,
                                cure_epochs=40, lang="pt", size=(120, 48)),
}


def cure_screenshot(scenario_name: str, out: Path, *, epochs: int, cure_epochs: int,
                    size=(120, 36)) -> None:
    """Like ``simtreino screenshot`` with ``--keys "! c"``, but the cured
    copy has trained ``cure_epochs`` epochs when the picture is taken."""
    from simtreino.headless.session import LiveSession
    from simtreino.scenario import find_scenario, load_scenario
    from simtreino.tui import app as app_module

    class TrainedCopy(LiveSession):
        def start(self):
            self.train_now(cure_epochs)
            return super().start()

        def play(self):
            pass

    scenario = load_scenario(find_scenario(scenario_name))
    session = LiveSession(scenario)
    session.train_now(epochs)
    app = app_module.SimtreinoApp(scenario, session=session, autoplay=False)

    async def shoot():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("exclamation_mark")
            await pilot.pause(0.1)
            original = app.session
            await pilot.press("c")
            await pilot.pause(0.3)
            assert app.session is not original and isinstance(app.session, TrainedCopy)
            app.redraw()
            await pilot.pause()
            app.save_screenshot(filename=out.name, path=str(out.parent))

    real = app_module.LiveSession
    app_module.LiveSession = TrainedCopy
    try:
        asyncio.run(shoot())
    finally:
        app_module.LiveSession = real


@pytest.mark.parametrize("name", sorted(CURE_CASES))
def test_snapshot_after_the_cure(name, tmp_path):
    case = CURE_CASES[name]
    i18n.set_lang(case["lang"])
    try:
        out = tmp_path / f"{name}.svg"
        cure_screenshot(case["scenario"], out, epochs=case["epochs"],
                        cure_epochs=case["cure_epochs"], size=case.get("size", (120, 36)))
    finally:
        i18n.set_lang("en")
    check_snapshot(name, out)
