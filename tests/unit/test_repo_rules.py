"""House rules that a test can hold: the headless layers never import the
UI stack, and CI runs exactly the test command README.md gives."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADLESS = ["simtreino.core.trainer", "simtreino.data", "simtreino.scenario.build",
            "simtreino.headless.runner", "simtreino.headless.replay", "simtreino.api",
            "simtreino.headless.explain", "simtreino.analysis.gradcheck", "simtreino.headless.session",
            "simtreino.i18n", "simtreino.headless.digits_view", "simtreino.headless.race_session",
            "simtreino.headless.race_run", "simtreino.headless.surface_watch",
            "simtreino.headless.surface_export", "simtreino.analysis.landscape",
            "simtreino.core.race", "simtreino.data.fetch", "simtreino.data.mnist"]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_modules_do_not_import_the_ui(module):
    code = (f"import sys, {module}; "
            "bad = [m for m in ('textual', 'rich', 'plotext') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```\n(.+?)\n```", text, flags=re.S)


def test_readme_opens_with_install_and_start_then_install_and_test():
    first, second = readme_commands()[:2]
    assert "pip install" in first and first.rstrip().endswith("simtreino")
    assert "pip install" in second and second.rstrip().endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = readme_commands()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in [line.strip() for line in ci]
