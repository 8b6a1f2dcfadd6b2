"""The validated form of a scenario file: frozen dataclasses, nothing else.

``load.py`` turns TOML into these (and is the only place that parses TOML);
``build.py`` turns them into data and a trainer. Every field has the
default documented in docs/scenarios.md.
"""

from dataclasses import dataclass, field, asdict
from pathlib import Path

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Split:
    train: float = 1.0
    val: float = 0.0
    test: float = 0.0


@dataclass(frozen=True)
class DataSpec:
    source: str                          # a generator name, "csv" or "mnist"
    params: dict = field(default_factory=dict)   # generator / mnist settings, resolved with
                                                 # defaults (mnist: subset, test_subset and
                                                 # data_dir are None when not given)
    path: str | None = None              # csv: as written in the file
    resolved_path: Path | None = None    # csv: absolute; mnist: data_dir, absolute (or None)
    target: str | None = None            # csv: target column
    task: str | None = None              # csv: classification | regression
    normalize: str = "none"              # none | standard | minmax
    shuffle: bool = True                 # reshuffle the training set every epoch
    split: Split = Split()
    seed: int | None = None              # None: the scenario's seed


@dataclass(frozen=True)
class InitSpec:
    kind: str = "xavier_uniform"
    params: dict = field(default_factory=dict)   # resolved with defaults


@dataclass(frozen=True)
class LayerSpec:
    units: int
    activation: str
    activation_param: float | None = None   # negative_slope / alpha
    init: InitSpec | None = None            # None: the model's
    bias_init: float | None = None          # None: the model's
    dropout: float = 0.0                    # hidden layers: probability of zeroing an output
    batchnorm: bool = False                 # hidden layers: batch norm before the activation
    residual: bool = False                  # hidden layers: output + input (same widths)


@dataclass(frozen=True)
class ModelSpec:
    layers: tuple[LayerSpec, ...]
    init: InitSpec = InitSpec()
    bias_init: float = 0.0


@dataclass(frozen=True)
class LossSpec:
    kind: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OptimizerSpec:
    kind: str
    params: dict = field(default_factory=dict)   # resolved with torch's defaults


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str = "constant"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RegularizationSpec:
    """``[regularization]``: penalties on the weights (0: off)."""
    l1: float = 0.0
    l2: float = 0.0


@dataclass(frozen=True)
class EarlyStoppingSpec:
    """``[training.early_stopping]`` (Keras' EarlyStopping)."""
    monitor: str = "val_loss"            # val_loss | val_accuracy | loss | accuracy
    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass(frozen=True)
class TrainingSpec:
    epochs: int
    batch_size: int | None = None        # None: full batch
    record_every: int | None = None      # trace records every k steps (None: each epoch)
    clip_grad_norm: float = 0.0          # 0: off
    clip_grad_value: float = 0.0         # 0: off
    early_stopping: EarlyStoppingSpec | None = None   # None: off


@dataclass(frozen=True)
class ExpectSpec:
    """Checks on the end of a run; None means not checked."""
    loss_below: float | None = None              # final training loss (last epoch's mean)
    accuracy_at_least: float | None = None       # final training accuracy
    val_loss_below: float | None = None
    val_accuracy_at_least: float | None = None
    test_loss_below: float | None = None
    test_accuracy_at_least: float | None = None
    diverges: bool | None = None                 # true: the run must diverge
    stopped_early: bool | None = None            # true: early stopping must end the run
    diagnoses: tuple[str, ...] | None = None     # findings the diagnostics must raise
    no_diagnoses: bool | None = None             # true: the diagnostics must raise none

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())


@dataclass(frozen=True)
class RunSpec:
    """One of several runs compared in one scenario (``[[runs]]``): the
    same data, network and initial weights, its own optimizer, schedule,
    batch size and checks (each resolved: the scenario's where not given)."""
    label: str
    optimizer: OptimizerSpec
    schedule: ScheduleSpec
    batch_size: int | None               # None: full batch
    expect: ExpectSpec


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    dtype: str
    data: DataSpec
    model: ModelSpec
    loss: LossSpec
    optimizer: OptimizerSpec
    schedule: ScheduleSpec
    training: TrainingSpec
    expect: ExpectSpec = ExpectSpec()
    description_pt: str = ""
    name_pt: str = ""                     # the name in Portuguese ("" : the name)
    schema_version: int = SCHEMA_VERSION
    source: Path | None = None           # the file it came from
    kind: str = "network"                # "race" files give a RaceScenario
    runs: tuple[RunSpec, ...] = ()       # several runs compared (empty: one run)
    regularization: RegularizationSpec = RegularizationSpec()

    def variants(self) -> list[tuple[str, "Scenario"]]:
        """(label, the scenario of that run) for each of ``runs``; a
        scenario without runs is its own single variant (label "")."""
        from dataclasses import replace
        if not self.runs:
            return [("", self)]
        return [(r.label, replace(self, name=f"{self.name} [{r.label}]", optimizer=r.optimizer,
                                  schedule=r.schedule, expect=r.expect, runs=(),
                                  training=replace(self.training, batch_size=r.batch_size)))
                for r in self.runs]

    def to_dict(self) -> dict:
        """The fully resolved scenario, as plain TOML-compatible data (every
        default filled in). ``load.scenario_from_dict`` reads it back, so a
        trace header can carry the scenario and replay it."""
        from .serialize import scenario_to_dict
        return scenario_to_dict(self)


# ---------------------------------------------------------------------------
# Optimizer races (kind = "race"): optimizers descending a 2-D function

@dataclass(frozen=True)
class SurfaceSpec:
    function: str                                  # a name of core.functions2d.FUNCTIONS
    start: tuple[float, float]                     # resolved (the function's by default)
    domain: tuple[float, float, float, float]      # xmin, xmax, ymin, ymax (drawing)
    scale: str = "log"                             # colour scale: linear | log


@dataclass(frozen=True)
class RacerExpect:
    """Checks on where one racer ends; None means not checked."""
    distance_below: float | None = None       # to the nearest known minimum
    distance_at_least: float | None = None
    loss_below: float | None = None
    loss_at_least: float | None = None
    diverges: bool | None = None
    ends_near: tuple[float, float] | None = None   # the known minimum it must end nearest

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())


@dataclass(frozen=True)
class RacerSpec:
    label: str
    optimizer: OptimizerSpec
    expect: RacerExpect = RacerExpect()


@dataclass(frozen=True)
class RaceScenario:
    name: str
    description: str
    surface: SurfaceSpec
    steps: int
    racers: tuple[RacerSpec, ...]
    record_every: int | None = None       # trace records every k steps (None: 1)
    description_pt: str = ""
    name_pt: str = ""                     # the name in Portuguese ("" : the name)
    seed: int = 0                         # races are deterministic; kept for traces
    schema_version: int = SCHEMA_VERSION
    source: Path | None = None
    kind: str = "race"

    def to_dict(self) -> dict:
        from .serialize import race_to_dict
        return race_to_dict(self)
