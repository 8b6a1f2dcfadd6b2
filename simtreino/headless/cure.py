"""Applying a finding's cure to a copy of a scenario.

A ``Finding.cure`` (``analysis.diagnostics``) is a small dict of scenario
changes: dotted keys of ``Scenario.to_dict()`` and their new values::

    {"optimizer.lr": 0.05}
    {"model.layers[0].activation": "relu", "model.init": "he_uniform"}
    {"model.layers": [{"units": 16, "activation": "tanh"}, {...}]}

``apply_cure(scenario, cure)`` writes them into the scenario's plain data
and validates the result like a scenario file (a ``ScenarioError`` names
the key when a cure does not fit). Two keys do a little more than set a
value, so the change means what it says:

- ``model.init`` replaces every layer's own initialiser too;
- ``model.layers[i].activation`` drops the old activation's setting
  (``negative_slope``, ``alpha``).

The scenario itself is never changed (frozen); the result keeps its source
file, so a relative csv path still resolves, and its ``[expect]`` without
``diagnoses`` (the copy is not asked to show the problem any more).
"""

import copy
import re

from simtreino.core.activations import ACTIVATION_PARAM
from simtreino.scenario import scenario_from_dict

__all__ = ["apply_cure", "CureError"]

_PART = re.compile(r"^([A-Za-z_]\w*)(?:\[(\d+)\])?$")


class CureError(ValueError):
    """A cure key that does not name a place in the scenario."""


def _split(key: str) -> list:
    """``model.layers[2].units`` -> ["model", "layers", 2, "units"]."""
    out = []
    for part in key.split("."):
        m = _PART.match(part)
        if not m:
            raise CureError(f"cure key {key!r}: cannot read {part!r}")
        out.append(m.group(1))
        if m.group(2) is not None:
            out.append(int(m.group(2)))
    return out


def _set(d: dict, key: str, value) -> None:
    path = _split(key)
    node = d
    for i, p in enumerate(path[:-1]):
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(x) for x in path[: i + 1])
            raise CureError(f"cure key {key!r}: the scenario has no {where}") from None
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise CureError(f"cure key {key!r}: no such list item")
    elif not isinstance(node, dict):
        raise CureError(f"cure key {key!r}: not a table")
    node[last] = copy.deepcopy(value)


def apply_cure(scenario, cure: dict, *, name: str | None = None,
               description: str | None = None):
    """A new, validated scenario: ``scenario`` with ``cure`` applied (and
    renamed to ``name``, described by ``description`` -- in both languages'
    fields: the old text describes the problem, not the copy -- when
    given). Raises CureError for a key that names nothing,
    ``ScenarioError`` when the changed scenario is not valid."""
    d = scenario.to_dict()
    d.pop("runs", None)                        # a cure applies to one run
    for key, value in cure.items():
        if key == "model.init":
            for layer in d["model"]["layers"]:
                layer.pop("init", None)
        m = re.fullmatch(r"model\.layers\[(\d+)\]\.activation", key)
        if m and int(m.group(1)) < len(d["model"]["layers"]):
            layer = d["model"]["layers"][int(m.group(1))]
            for setting, _ in ACTIVATION_PARAM.values():
                if value not in ACTIVATION_PARAM or ACTIVATION_PARAM[value][0] != setting:
                    layer.pop(setting, None)
        _set(d, key, value)
    if name is not None:
        d["name"] = d["name_pt"] = name
    if description is not None:
        d["description"] = d["description_pt"] = description
    # the copy is not asked to show the problem the cure removes
    d.get("expect", {}).pop("diagnoses", None)
    label = f"{scenario.source or scenario.name} (cure)"
    return scenario_from_dict(d, source=scenario.source, file_label=label)
