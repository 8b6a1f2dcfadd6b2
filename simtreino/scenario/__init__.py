"""Scenario files: strict TOML validation into frozen dataclasses.

Nothing here imports textual, rich or plotext; ``load`` is the only module of
the program that parses TOML. The format is documented in docs/scenarios.md.
"""

from .bundled import bundled_dir, find_scenario, list_bundled
from .errors import ScenarioError
from .load import check_outputs, load_scenario, scenario_from_dict
from .schema import (SCHEMA_VERSION, DataSpec, EarlyStoppingSpec, ExpectSpec, InitSpec,
                     LayerSpec, LossSpec, ModelSpec, OptimizerSpec, RaceScenario, RacerExpect,
                     RacerSpec, RegularizationSpec, Scenario, ScheduleSpec, Split, SurfaceSpec,
                     TrainingSpec)
from .serialize import race_to_dict, scenario_to_dict

__all__ = [
    "SCHEMA_VERSION", "Scenario", "DataSpec", "Split", "InitSpec", "LayerSpec", "ModelSpec",
    "LossSpec", "OptimizerSpec", "ScheduleSpec", "TrainingSpec", "ExpectSpec",
    "RegularizationSpec", "EarlyStoppingSpec",
    "ScenarioError", "load_scenario", "scenario_from_dict", "check_outputs",
    "scenario_to_dict", "race_to_dict", "RaceScenario", "RacerSpec", "RacerExpect",
    "SurfaceSpec", "bundled_dir", "list_bundled", "find_scenario",
]
