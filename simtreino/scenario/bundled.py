"""The scenarios that ship with simtreino, and finding one by name or path.

In a wheel, the repository's top-level ``scenarios/`` folder is installed as
``simtreino/_bundled_scenarios`` (see pyproject.toml); in a source checkout
or an editable install it is read where it is.
"""

from importlib import resources
from pathlib import Path

import simtreino

from .errors import ScenarioError, did_you_mean

__all__ = ["bundled_dir", "list_bundled", "find_scenario"]

SUFFIX = ".toml"


def bundled_dir() -> Path:
    """The folder of bundled scenario files."""
    installed = resources.files("simtreino") / "_bundled_scenarios"
    if installed.is_dir():
        return Path(str(installed))
    return Path(simtreino.__file__).resolve().parents[1] / "scenarios"


def list_bundled() -> list[tuple[str, Path]]:
    """(name, path) of every bundled scenario, sorted by name (the file stem)."""
    folder = bundled_dir()
    if not folder.is_dir():
        return []
    return sorted((p.stem, p) for p in folder.glob("*" + SUFFIX) if p.is_file())


def find_scenario(name_or_path: str) -> Path:
    """An existing scenario file, else the bundled scenario of that name
    (``xor`` or ``xor.toml``); else ScenarioError with the bundled names."""
    x = str(name_or_path)
    p = Path(x)
    if p.is_file():
        return p
    if p.is_dir():
        raise ScenarioError(x, None, "is a directory, not a scenario file")
    bundled = dict(list_bundled())
    stem = x[:-len(SUFFIX)] if x.endswith(SUFFIX) else x
    if stem in bundled:
        return bundled[stem]
    names = list(bundled)
    msg = "no such file or bundled scenario"
    guess = did_you_mean(stem, names)
    if guess:
        msg += f"; did you mean '{guess}'?"
    msg += f"; bundled: {', '.join(names)}" if names else "; no bundled scenarios found"
    raise ScenarioError(x, None, msg)
