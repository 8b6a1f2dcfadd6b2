"""Starting the terminal UI from the command line: ``open`` and ``screenshot``."""

import asyncio
from pathlib import Path

from simtreino.headless.race_session import RaceSession
from simtreino.headless.session import LiveSession
from simtreino.scenario import find_scenario, load_scenario

SCREENS = ("dashboard", "help", "hyper", "picker", "inspect", "surface")


def open_app(scenario_name: str, seed=None) -> int:
    """Run the screen that fits the scenario (a network's dashboard or a
    race); opening a scenario of the other kind from the picker comes back
    here with its name."""
    from .app import SimtreinoApp
    from .race_app import RaceApp
    scenario = load_scenario(find_scenario(scenario_name))
    while True:
        if scenario.kind == "race":
            result = RaceApp(scenario).run()
        else:
            result = SimtreinoApp(scenario, seed=seed).run()
        if not (isinstance(result, tuple) and result and result[0] == "open"):
            return 0
        scenario = load_scenario(find_scenario(result[1]))
        seed = None


def screenshot(scenario_name: str, out: str, *, epochs: int = 0, size=(120, 36),
               screen: str = "dashboard", seed=None, page: int = 0, keys=()) -> int:
    """Train ``epochs`` headlessly, then render the app once and save an SVG."""
    from .app import SimtreinoApp
    from .race_app import RaceApp
    scenario = load_scenario(find_scenario(scenario_name))
    if scenario.kind == "race":
        session = RaceSession(scenario)
        session.advance_now(epochs or scenario.steps)   # a race's "epochs": its steps
        app = RaceApp(scenario, session=session, autoplay=False)
    else:
        session = LiveSession(scenario, seed=seed)
        session.train_now(epochs)
        app = SimtreinoApp(scenario, session=session, autoplay=False)

    async def shoot():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            if screen == "help":
                await pilot.press("question_mark")
            elif screen == "hyper":
                await pilot.press("h")
            elif screen == "picker":
                await pilot.press("o")
            elif screen == "surface":
                await pilot.press("f")
            elif screen == "inspect":
                await pilot.press("b")
                for _ in range(200):          # the worker runs the step
                    if getattr(app.screen, "_data", None) is not None:
                        break
                    await pilot.pause(0.05)
                for _ in range(page):
                    await pilot.press("right")
            for key in keys:                    # e.g. "d" to turn the MNIST panel
                await pilot.press(key)
                await pilot.pause(0.1)
            await pilot.pause(0.3)
            # a blinking cursor would make two screenshots of the same state differ
            from textual.widgets import Input
            for inp in app.screen.query(Input):
                inp.cursor_blink = False
            app.redraw()
            await pilot.pause()
            path = Path(out)
            app.save_screenshot(filename=path.name, path=str(path.parent or "."))
    asyncio.run(shoot())
    return 0
