"""Training craft that is not an optimizer: weight penalties, gradient
clipping and early stopping.

- **L1/L2 penalties** on the weights (not biases, not batch-norm
  parameters), as Keras' ``kernel_regularizer``: the loss the optimizer
  minimises is ``data loss + l1 * sum|w| + l2 * sum w^2``, so the gradient
  gains ``l1 * sign(w) + 2 * l2 * w`` (sign(0) = 0). The penalty is part of
  the reported training loss (the objective) and is also reported on its
  own; validation and test losses are the data loss alone, as torch code
  computes them, so they still show whether the network generalises. ``l2 = λ`` is ``weight_decay = 2λ`` of torch's SGD, which adds
  ``weight_decay * w`` to the gradient; AdamW's decay is the decoupled kind.
- **Gradient clipping** as ``torch.nn.utils``: ``clip_grad_norm_`` scales
  the whole gradient by ``max_norm / (norm + 1e-6)`` when that is below 1
  (norm: the 2-norm over every parameter), ``clip_grad_value_`` clamps each
  component to [-v, v]. Applied after the backward pass (penalty included),
  before the optimizer (whose coupled weight decay comes after, as in torch).
- **Early stopping** as Keras' ``EarlyStopping``: after each epoch the
  monitored value improves when it beats the best by more than ``min_delta``;
  after ``patience`` epochs without improvement training stops and, with
  ``restore_best``, the weights (and batch-norm running statistics) of the
  best epoch come back.
"""

import math

import numpy as np

from .hyper import Hyper
from .jit import kernel, kernel_inline

# The settings vector the kernels read.
R_L1, R_L2, R_CLIP_NORM, R_CLIP_VALUE, R_BN_EPS, R_BN_MOMENTUM = range(6)
N_REG = 6

# Settings a user can change, with their rules (scenario and live form).
REGULARIZATION = {
    "l1": Hyper(0.0, low=0.0, doc="L1 penalty: l1 * sum |w| added to the loss"),
    "l2": Hyper(0.0, low=0.0, doc="L2 penalty: l2 * sum w^2 added to the loss"),
}
CLIPPING = {
    "clip_grad_norm": Hyper(0.0, low=0.0,
                            doc="largest 2-norm of the whole gradient (0: no clipping)"),
    "clip_grad_value": Hyper(0.0, low=0.0,
                             doc="largest magnitude of each gradient component (0: off)"),
}
EARLY_STOPPING = {
    "patience": Hyper(10, type="int", low=1, doc="epochs without improvement before stopping"),
    "min_delta": Hyper(0.0, low=0.0, doc="smallest change that counts as an improvement"),
    "restore_best": Hyper(True, type="bool", doc="go back to the weights of the best epoch"),
}
# What early stopping can watch: the epoch-log column and whether lower is better.
MONITORS = {"val_loss": ("val_loss", True), "val_accuracy": ("val_accuracy", False),
            "loss": ("loss", True), "accuracy": ("accuracy", False)}
DROPOUT = Hyper(0.0, low=0.0, high=1.0, high_open=True,
                doc="probability of zeroing each output in training")

# Early-stopping vector.
(ES_ON, ES_COLUMN, ES_SIGN, ES_PATIENCE, ES_MIN_DELTA, ES_RESTORE, ES_BEST, ES_BEST_EPOCH,
 ES_WAIT, ES_STOPPED_EPOCH) = range(10)
N_ES = 10


def new_early_stopping(column: int, lower_is_better: bool, patience: int, min_delta: float,
                       restore_best: bool) -> np.ndarray:
    es = np.zeros(N_ES)
    es[ES_ON] = 1.0
    es[ES_COLUMN] = column
    es[ES_SIGN] = 1.0 if lower_is_better else -1.0
    es[ES_PATIENCE] = patience
    es[ES_MIN_DELTA] = min_delta
    es[ES_RESTORE] = 1.0 if restore_best else 0.0
    es[ES_BEST] = math.inf
    return es


def no_early_stopping() -> np.ndarray:
    es = np.zeros(N_ES)
    es[ES_BEST] = math.inf
    return es


@kernel
def penalize(w, gw, l1, l2):
    """Add the penalty's gradient to ``gw``; return the penalty of ``w``."""
    s1 = 0.0
    s2 = 0.0
    n, m = w.shape
    for i in range(n):
        for j in range(m):
            x = w[i, j]
            g = gw[i, j]
            if l1 > 0.0:
                s1 += abs(x)
                if x > 0.0:
                    g += l1
                elif x < 0.0:
                    g -= l1
            if l2 > 0.0:
                s2 += x * x
                g += 2.0 * l2 * x
            gw[i, j] = g
    return l1 * s1 + l2 * s2


@kernel
def weight_penalty(theta, layout, l1, l2):
    """The penalty of every layer's weights (what evaluation adds)."""
    if l1 <= 0.0 and l2 <= 0.0:
        return 0.0
    s1 = 0.0
    s2 = 0.0
    for l in range(layout.shape[0]):
        for k in range(layout[l, 2], layout[l, 3]):
            x = theta[k]
            s1 += abs(x)
            s2 += x * x
    return l1 * s1 + l2 * s2


@kernel
def clip_value(g, v):
    for k in range(g.shape[0]):
        if g[k] > v:
            g[k] = v
        elif g[k] < -v:
            g[k] = -v


@kernel
def clip_norm(g, max_norm):
    """Scale ``g`` to a 2-norm of at most ``max_norm`` (torch's formula,
    1e-6 included); returns (norm before, factor applied)."""
    s = 0.0
    for k in range(g.shape[0]):
        s += float(g[k]) * float(g[k])
    norm = math.sqrt(s)
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        for k in range(g.shape[0]):
            g[k] = g[k] * coef
    else:
        coef = 1.0
    return norm, coef


@kernel_inline
def early_stop_check(es, value, epoch, theta, best_theta, run, best_run):
    """After an epoch whose monitored value is ``value``: True when training
    should stop now (the best weights are back in place when asked)."""
    if es[ES_ON] == 0.0:
        return False
    v = value * es[ES_SIGN]
    if math.isfinite(v) and v < es[ES_BEST] - es[ES_MIN_DELTA]:
        es[ES_BEST] = v
        es[ES_BEST_EPOCH] = epoch
        es[ES_WAIT] = 0.0
        if es[ES_RESTORE] != 0.0:
            best_theta[:] = theta
            best_run[:] = run
        return False
    es[ES_WAIT] += 1.0
    if es[ES_WAIT] < es[ES_PATIENCE]:
        return False
    es[ES_STOPPED_EPOCH] = epoch
    if es[ES_RESTORE] != 0.0 and es[ES_BEST_EPOCH] > 0.0:
        theta[:] = best_theta
        run[:] = best_run
    return True
