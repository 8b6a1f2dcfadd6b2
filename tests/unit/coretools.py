"""Small builders shared by the core tests (not a test module)."""

import numpy as np

from simtreino.core.network import Architecture, init_params
from simtreino.core.trainer import SplitArrays, Trainer


def make_trainer(layers, x, t, labels=None, *, loss="mse", optimizer="sgd", hyper=None,
                 batch_size=None, shuffle=False, seed=0, dtype=np.float64, init="xavier_uniform",
                 val=None, schedule="constant", schedule_params=None, loss_param=0.0,
                 threshold=0.5, bias=0.1, **craft):
    """``craft``: the trainer's l1, l2, clip_grad_norm, clip_grad_value,
    dropout and early_stopping; a layer may be (units, act, param,
    batchnorm, residual)."""
    arch = Architecture(x.shape[1], layers)
    rng = np.random.default_rng(seed)
    params = {"gain": 1.0} if init.startswith("xavier") else {}
    theta = init_params(arch, [(init, params)] * len(layers), [bias] * len(layers), rng, dtype)
    labels = np.zeros(0, np.int64) if labels is None else labels
    return Trainer(arch, theta, SplitArrays(x, t, labels), val, loss=loss, loss_param=loss_param,
                   threshold=threshold, optimizer=optimizer, hyper=hyper or {"lr": 0.1},
                   schedule=schedule, schedule_params=schedule_params,
                   batch_size=batch_size, shuffle=shuffle, seed=seed, **craft)


def xor_arrays():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0])
    return x, y[:, None].astype(float), y
