"""SVG snapshots of the terminal UI at a fixed size, deterministic seeds,
no blinking cursor. A change in what the app shows fails here; look at the
new picture (``simtreino screenshot …``), and if it is right, refresh the
stored files with ``SIMTREINO_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py``."""

import os
import re
from pathlib import Path

import pytest

from simtreino import i18n
from simtreino.tui.launch import screenshot

HERE = Path(__file__).parent / "snapshots"
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
}


def normalise(svg: str) -> str:
    # Textual names its CSS classes after a hash of the render; the picture
    # is what matters.
    return re.sub(r"terminal-\d+", "terminal-X", svg)


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name, tmp_path):
    case = CASES[name]
    i18n.set_lang(case["lang"])
    try:
        out = tmp_path / f"{name}.svg"
        screenshot(case["scenario"], str(out), epochs=case["epochs"], size=(120, 36),
                   screen=case["screen"], page=case.get("page", 0),
                   keys=case.get("keys", "").split())
    finally:
        i18n.set_lang("en")
    got = normalise(out.read_text())
    stored = HERE / f"{name}.svg"
    if os.environ.get("SIMTREINO_UPDATE_SNAPSHOTS"):
        stored.write_text(got)
    assert stored.exists(), f"no stored snapshot {stored}; run with SIMTREINO_UPDATE_SNAPSHOTS=1"
    assert got == stored.read_text(), (
        f"{name} looks different from {stored}; render it with `simtreino screenshot` and look")
