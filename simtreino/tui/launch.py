"""Starting the terminal UI from the command line: ``open`` and ``screenshot``."""

import asyncio
from pathlib import Path

from simtreino.headless.session import LiveSession
from simtreino.scenario import find_scenario, load_scenario

SCREENS = ("dashboard", "help", "hyper", "picker", "inspect")


def open_app(scenario_name: str, seed=None) -> int:
    from .app import SimtreinoApp
    scenario = load_scenario(find_scenario(scenario_name))
    SimtreinoApp(scenario, seed=seed).run()
    return 0


def train_headless(session: LiveSession, epochs: int) -> None:
    """Advance a session that has not started its thread (so this thread
    may drive it), then publish its view."""
    tr = session.trainer
    target = tr.epoch + epochs
    # ~200 chunks, so the per-layer histories (logged once a chunk) have points
    chunk = max(1, epochs * tr.steps_per_epoch // 200)
    while tr.epoch < target and not tr.diverged:
        session._run(min(chunk, max(1, (target - tr.epoch) * tr.steps_per_epoch)))
    session.state = session._rest_state()
    session._publish(force=True)
    session._compute_field(force=True)
    session._publish(force=True)


def screenshot(scenario_name: str, out: str, *, epochs: int = 0, size=(120, 36),
               screen: str = "dashboard", seed=None, page: int = 0) -> int:
    """Train ``epochs`` headlessly, then render the app once and save an SVG."""
    from .app import SimtreinoApp
    scenario = load_scenario(find_scenario(scenario_name))
    session = LiveSession(scenario, seed=seed)
    train_headless(session, epochs)
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
            elif screen == "inspect":
                await pilot.press("b")
                for _ in range(200):          # the worker runs the step
                    if getattr(app.screen, "_data", None) is not None:
                        break
                    await pilot.pause(0.05)
                for _ in range(page):
                    await pilot.press("right")
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
