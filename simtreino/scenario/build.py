"""From a validated scenario to data and a ready trainer.

This is where the pieces meet: the data set is loaded, the loss's target
matrix is made from the labels (one-hot for the softmax losses, -1/+1 for
hinge), the weights are drawn from the seed, and the trainer is set up.
"""

from dataclasses import replace

import numpy as np

from simtreino.core.network import Architecture, init_params
from simtreino.core.race import Race, Racer
from simtreino.core.trainer import SplitArrays, Trainer
from simtreino.data import Dataset, DataError, load_dataset

from .errors import ScenarioError
from .schema import RaceScenario, Scenario

# Streams drawn from the scenario seed: data has its own, so reseeding the
# weights (or changing the seed of the model) never changes the data.
INIT_STREAM = 1


def build_dataset(s: Scenario) -> Dataset:
    d = s.data
    seed = s.seed if d.seed is None else d.seed
    try:
        ds = load_dataset(d.source, d.params, path=d.resolved_path, target=d.target,
                          task=d.task, normalize=d.normalize,
                          split=(d.split.train, d.split.val, d.split.test), seed=seed,
                          dtype=np.dtype(s.dtype))
    except DataError as e:
        # MNIST's errors say which setting is at fault (subset, data_dir, ...)
        key = getattr(e, "key", None)
        raise ScenarioError(_label(s), f"data.{key}" if key else "data", str(e)) from None
    from .load import check_outputs
    check_outputs(s, ds.task, ds.n_classes, ds.n_targets)
    return ds


def make_targets(loss: str, loss_params: dict, y: np.ndarray, task: str, n_classes: int,
                 n_outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets for the loss, integer labels for accuracy — empty for regression)."""
    if task == "regression":
        return np.asarray(y, dtype=float).reshape(len(y), -1), np.zeros(0, np.int64)
    labels = np.asarray(y, dtype=np.int64)
    if loss in ("cross_entropy", "kl_div") or n_outputs > 1:
        eps = loss_params.get("label_smoothing", 0.0)
        t = np.full((len(labels), n_classes), eps / n_classes)
        t[np.arange(len(labels)), labels] += 1.0 - eps
        return t, labels
    if loss == "hinge":
        return (2.0 * labels - 1.0)[:, None], labels
    return labels.astype(float)[:, None], labels


def threshold_for(loss: str) -> float:
    """Where a single output splits class 0 from class 1: halfway between
    the two target values."""
    return 0.0 if loss == "hinge" else 0.5


def build_trainer(s: Scenario, *, seed: int | None = None, dataset: Dataset | None = None,
                  history_capacity: int = 4096) -> Trainer:
    if seed is not None:
        s = replace(s, seed=seed)
    ds = dataset if dataset is not None else build_dataset(s)
    layers = [(l.units, l.activation, l.activation_param) for l in s.model.layers]
    arch = Architecture(ds.n_features, layers)
    inits, biases = [], []
    for l in s.model.layers:
        init = l.init or s.model.init
        inits.append((init.kind, init.params))
        biases.append(s.model.bias_init if l.bias_init is None else l.bias_init)
    rng = np.random.default_rng([s.seed, INIT_STREAM])
    theta = init_params(arch, inits, biases, rng, np.dtype(s.dtype))

    loss_param = float(s.loss.params.get("delta", 0.0))
    return Trainer(
        arch, theta, split_arrays(s, ds, arch.n_outputs, "train"),
        split_arrays(s, ds, arch.n_outputs, "val"),
        loss=s.loss.kind, loss_param=loss_param, threshold=threshold_for(s.loss.kind),
        optimizer=s.optimizer.kind, hyper=dict(s.optimizer.params),
        schedule=s.schedule.kind, schedule_params=dict(s.schedule.params),
        batch_size=s.training.batch_size, shuffle=s.data.shuffle, seed=s.seed,
        history_capacity=history_capacity)


def split_arrays(s: Scenario, ds: Dataset, n_outputs: int, which: str) -> SplitArrays | None:
    """Split ``which`` (train | val | test) in the trainer's form, or None
    when it has no samples."""
    x, y = getattr(ds, f"x_{which}"), getattr(ds, f"y_{which}")
    if not len(x):
        return None
    t, labels = make_targets(s.loss.kind, s.loss.params, y, ds.task, ds.n_classes, n_outputs)
    return SplitArrays(x, t, labels)


def _label(s: Scenario) -> str:
    return str(s.source) if s.source else "<scenario>"


def build_race(s: RaceScenario, steps: int | None = None) -> Race:
    """The race of a race scenario, at its start (``steps``: its length, by
    default the scenario's)."""
    racers = [Racer(r.label, r.optimizer.kind, dict(r.optimizer.params)) for r in s.racers]
    return Race(s.surface.function, s.surface.start, racers,
                s.steps if steps is None else int(steps))
