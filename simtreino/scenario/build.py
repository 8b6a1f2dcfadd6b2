"""From a validated scenario to data and a ready trainer.

This is where the pieces meet: the data set is loaded, the loss's target
matrix is made from the labels (one-hot for the softmax losses, -1/+1 for
hinge), the weights are drawn from the seed, and the trainer is set up.
"""

from dataclasses import asdict, replace

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
    check_craft(s, ds)
    return ds


def check_craft(s: Scenario, ds: Dataset) -> None:
    """The rules of the training craft that need the data: a residual first
    layer's units equal the number of input features, and with batch
    normalisation no training batch (the last one of an epoch included)
    holds a single sample -- for the scenario's batch size and each run's.
    Raises ScenarioError naming the file and key."""
    from .load import _data_name, first_batchnorm, residual_mismatch
    layers = s.model.layers
    if layers[0].residual and layers[0].units != ds.n_features:
        raise ScenarioError(_label(s), "model.layers[0].residual", residual_mismatch(
            f"the {ds.n_features} input features of {_data_name(s)}", layers[0].units))
    bn = first_batchnorm(s.model)
    if bn is None:
        return
    n = len(ds.x_train)
    where = f"batch normalisation (model.layers[{bn}].batchnorm)"
    if n < 2:
        raise ScenarioError(_label(s), f"model.layers[{bn}].batchnorm",
                            f"{where} needs at least 2 samples in every batch, but the "
                            f"training split has {n} sample{'s' * (n != 1)}; use more data")
    batches = [("training.batch_size", s.training.batch_size)]
    batches += [(f"runs[{i}].batch_size", r.batch_size) for i, r in enumerate(s.runs)]
    for key, bs in batches:
        problem = lone_sample_batch(n, bs)
        if problem:
            raise ScenarioError(_label(s), key, f"{where} needs at least 2 samples in every "
                                f"batch, {problem}")


def lone_sample_batch(n: int, batch_size: int | None) -> str | None:
    """Why batches of ``batch_size`` (None: full batch) over ``n`` training
    samples would hold a single sample -- the last one of each epoch holds
    ``n % batch_size`` -- with a fix; None when none would."""
    if batch_size is None or batch_size >= n:
        return "got 1" if n == 1 else None
    if batch_size == 1:
        return 'got 1; use a batch size >= 2 or "full"'
    if n % batch_size != 1:
        return None
    ok = [b for b in range(2, n + 1) if n % b != 1]
    below = [b for b in ok if b < batch_size]
    above = [b for b in ok if b > batch_size]
    fixes = ([str(below[-1])] if below else []) + [str(above[0])]
    return (f"but {n} training samples in batches of {batch_size} leave a last batch of 1 "
            f"sample; use a batch size that does not leave a single sample over (such as "
            f"{' or '.join(fixes)}), or \"full\"")


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
    if dataset is not None:
        check_craft(s, ds)
    layers = [(l.units, l.activation, l.activation_param, l.batchnorm, l.residual)
              for l in s.model.layers]
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
        history_capacity=history_capacity, **craft_settings(s))


def craft_settings(s: Scenario) -> dict:
    """The Trainer's keyword arguments for the training craft of ``s``:
    penalties, clipping, dropout per layer and early stopping."""
    es = s.training.early_stopping
    return {"l1": s.regularization.l1, "l2": s.regularization.l2,
            "clip_grad_norm": s.training.clip_grad_norm,
            "clip_grad_value": s.training.clip_grad_value,
            "dropout": [l.dropout for l in s.model.layers[:-1]],
            "early_stopping": asdict(es) if es is not None else None}


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
