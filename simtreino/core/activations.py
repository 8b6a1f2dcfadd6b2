"""Activation functions: names, numeric ids for kernels, forward and derivative.

Derivatives follow PyTorch's autograd at the kinks (relu'(0) = 0,
leaky_relu'(0) = negative_slope), so a student can compare numbers with it.
Softmax is only allowed on the output layer, where it is fused with its loss.
"""

import math

import numpy as np

from .jit import kernel

IDENTITY, RELU, LEAKY_RELU, ELU, SIGMOID, TANH, SOFTMAX = range(7)

ACTIVATIONS = {
    "identity": IDENTITY,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "softmax": SOFTMAX,
}

# The one numeric parameter some activations take: scenario key and default
# (torch.nn.LeakyReLU(negative_slope=0.01), torch.nn.ELU(alpha=1.0)).
ACTIVATION_PARAM = {"leaky_relu": ("negative_slope", 0.01), "elu": ("alpha", 1.0)}

OUTPUT_ONLY = {"softmax"}


@kernel
def _sigmoid(z):
    # Two branches so exp never overflows: exact for large |z|.
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@kernel
def activate(act, param, z, a):
    """a = f(z) for a (batch, units) array; softmax works row by row."""
    n, m = z.shape
    if act == SOFTMAX:
        for i in range(n):
            zmax = z[i, 0]
            for j in range(1, m):
                if z[i, j] > zmax:
                    zmax = z[i, j]
            s = 0.0
            for j in range(m):
                e = math.exp(z[i, j] - zmax)
                a[i, j] = e
                s += e
            for j in range(m):
                a[i, j] = a[i, j] / s
        return
    for i in range(n):
        for j in range(m):
            x = z[i, j]
            if act == IDENTITY:
                y = x
            elif act == RELU:
                y = x if x > 0.0 else 0.0
            elif act == LEAKY_RELU:
                y = x if x > 0.0 else param * x
            elif act == ELU:
                y = x if x > 0.0 else param * math.expm1(x)
            elif act == SIGMOID:
                y = _sigmoid(x)
            else:  # TANH
                y = math.tanh(x)
            a[i, j] = y


@kernel
def derivative(act, param, z, a, out):
    """out = f'(z), elementwise (not defined for softmax: its loss fuses it)."""
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            x = z[i, j]
            if act == IDENTITY:
                d = 1.0
            elif act == RELU:
                d = 1.0 if x > 0.0 else 0.0
            elif act == LEAKY_RELU:
                d = 1.0 if x > 0.0 else param
            elif act == ELU:
                d = 1.0 if x > 0.0 else param * math.exp(x)
            elif act == SIGMOID:
                y = a[i, j]
                d = y * (1.0 - y)
            elif act == TANH:
                y = a[i, j]
                d = 1.0 - y * y
            else:
                d = math.nan
            out[i, j] = d


def activation_id(name: str) -> int:
    return ACTIVATIONS[name]


def apply(name: str, z: np.ndarray, param: float | None = None) -> np.ndarray:
    """Convenience for analysis and tests: f(z) as a new array."""
    z2 = np.ascontiguousarray(np.atleast_2d(z))
    a = np.empty_like(z2)
    activate(ACTIVATIONS[name], _param(name, param), z2, a)
    return a.reshape(np.shape(z)) if np.ndim(z) != 2 else a


def _param(name: str, param: float | None) -> float:
    if param is not None:
        return float(param)
    return ACTIVATION_PARAM.get(name, ("", 0.0))[1]
