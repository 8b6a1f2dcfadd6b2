"""Losses with torch.nn's definitions and ``reduction='mean'``.

Each kernel returns the loss of a batch and writes ``delta = dL/dz`` for the
output layer's pre-activation ``z`` (the start of backpropagation) and
``dl_da = dL/da`` (what the step-through inspector shows as dE/do).

``bce`` takes the sigmoid's logits and ``cross_entropy``/``kl_div`` the
softmax's logits, exactly like BCEWithLogitsLoss and CrossEntropyLoss: the
loss is computed from ``z`` with the log-sum-exp trick, so it stays finite
where ``log(sigmoid(z))`` would underflow to ``-inf``.
"""

import math

from .activations import derivative, SOFTMAX
from .hyper import Hyper
from .jit import kernel

MSE, MAE, HUBER, BCE, CROSS_ENTROPY, HINGE, KL_DIV = range(7)

LOSSES = {
    "mse": MSE,
    "mae": MAE,
    "huber": HUBER,
    "bce": BCE,
    "cross_entropy": CROSS_ENTROPY,
    "hinge": HINGE,
    "kl_div": KL_DIV,
}

# Settings each loss takes (torch names and defaults).
LOSS_PARAMS = {
    "mse": {},
    "mae": {},
    "huber": {"delta": Hyper(1.0, low=0.0, low_open=True, doc="where the quadratic part ends")},
    "bce": {},
    "cross_entropy": {
        "label_smoothing": Hyper(0.0, low=0.0, high=1.0, doc="torch's label_smoothing"),
    },
    "hinge": {},
    "kl_div": {
        "label_smoothing": Hyper(0.0, low=0.0, high=1.0, doc="target distribution smoothing"),
    },
}

# Output activations each loss accepts. A loss that is computed on logits
# needs exactly its own activation; the regression losses take any
# elementwise activation.
ELEMENTWISE = ("identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh")
LOSS_OUTPUT_ACTIVATIONS = {
    "mse": ELEMENTWISE,
    "mae": ELEMENTWISE,
    "huber": ELEMENTWISE,
    "bce": ("sigmoid",),
    "cross_entropy": ("softmax",),
    "kl_div": ("softmax",),
    "hinge": ("identity", "tanh"),
}


@kernel
def loss_and_delta(kind, param, act, act_param, z, a, t, delta, dl_da):
    """Loss of one batch (mean reduction); fills delta = dL/dz, dl_da = dL/da.

    z, a: output layer pre-activation and activation, shape (n, m);
    t: targets, same shape (one-hot or smoothed rows for the softmax losses,
    0/1 for bce, -1/+1 for hinge).
    """
    n, m = z.shape
    total = 0.0
    if kind == CROSS_ENTROPY or kind == KL_DIV:
        # -sum_j t_j log softmax_j  (plus sum_j t_j log t_j for KL)
        for i in range(n):
            zmax = z[i, 0]
            for j in range(1, m):
                if z[i, j] > zmax:
                    zmax = z[i, j]
            s = 0.0
            for j in range(m):
                s += math.exp(z[i, j] - zmax)
            lse = zmax + math.log(s)
            tsum = 0.0
            for j in range(m):
                tj = t[i, j]
                tsum += tj
                if tj != 0.0:
                    logp = z[i, j] - lse
                    if kind == KL_DIV:
                        total += tj * (math.log(tj) - logp)
                    else:
                        total -= tj * logp
            for j in range(m):
                delta[i, j] = a[i, j] * tsum - t[i, j]
                dl_da[i, j] = -t[i, j] / a[i, j]
        # torch's reduction='mean': CrossEntropyLoss averages over samples,
        # KLDivLoss over every element (n*m; torch's 'batchmean' would be n).
        scale = n * m if kind == KL_DIV else n
        inv = 1.0 / scale
        for i in range(n):
            for j in range(m):
                delta[i, j] *= inv
                dl_da[i, j] *= inv
        return total / scale

    inv = 1.0 / (n * m)
    for i in range(n):
        for j in range(m):
            r = a[i, j] - t[i, j]
            if kind == MSE:
                total += r * r
                g = 2.0 * r
            elif kind == MAE:
                total += abs(r)
                g = 1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)
            elif kind == HUBER:
                ar = abs(r)
                if ar < param:
                    total += 0.5 * r * r
                else:
                    total += param * (ar - 0.5 * param)
                if r <= -param:
                    g = -param
                elif r >= param:
                    g = param
                else:
                    g = r
            elif kind == BCE:
                x = z[i, j]
                # max(x, 0) - x t + log(1 + exp(-|x|)): never overflows
                total += max(x, 0.0) - x * t[i, j] + math.log1p(math.exp(-abs(x)))
                y = a[i, j]
                g = r / (y * (1.0 - y))
                delta[i, j] = r * inv
            else:  # HINGE: max(0, 1 - t a)
                margin = 1.0 - t[i, j] * a[i, j]
                if margin > 0.0:
                    total += margin
                    g = -t[i, j]
                else:
                    g = 0.0
            dl_da[i, j] = g * inv
    if kind != BCE:
        derivative(act, act_param, z, a, delta)
        for i in range(n):
            for j in range(m):
                delta[i, j] = delta[i, j] * dl_da[i, j]
    return total * inv


@kernel
def count_correct(a, labels, threshold):
    """Samples whose prediction equals the label: argmax for several outputs,
    ``a > threshold`` for one."""
    n, m = a.shape
    correct = 0
    for i in range(n):
        if m == 1:
            pred = 1 if a[i, 0] > threshold else 0
        else:
            pred = 0
            best = a[i, 0]
            for j in range(1, m):
                if a[i, j] > best:
                    best = a[i, j]
                    pred = j
        if pred == labels[i]:
            correct += 1
    return correct


__all__ = ["LOSSES", "LOSS_PARAMS", "LOSS_OUTPUT_ACTIVATIONS", "loss_and_delta",
           "count_correct", "SOFTMAX"]
