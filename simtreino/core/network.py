"""A stack of dense layers whose parameters live in ONE flat vector.

Layer i's weight ``(out, in)`` and bias ``(out,)`` are views into the vector
(weight first, then bias, then -- for a layer with batch normalisation --
its gamma and beta, layer after layer): optimizers run over the whole
vector in one kernel, and histograms, checkpoints and loss-surface
directions are plain vectors too. Gradients use the same layout.
"""

from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS, ACTIVATION_PARAM
from .hyper import Hyper

# Initialisers (torch.nn.init names where torch has one) and their settings.
INITIALIZERS = {
    "zeros": {},
    "constant": {"val": Hyper(0.0, doc="the value of every weight")},
    "uniform": {"a": Hyper(-0.05, doc="lower bound"), "b": Hyper(0.05, doc="upper bound")},
    "normal": {"mean": Hyper(0.0, doc="mean"), "std": Hyper(0.05, low=0.0, doc="standard deviation")},
    "xavier_uniform": {"gain": Hyper(1.0, low=0.0, doc="scale factor")},
    "xavier_normal": {"gain": Hyper(1.0, low=0.0, doc="scale factor")},
    "he_uniform": {},
    "he_normal": {},
    "lecun_normal": {},
}


# Columns of ``Architecture.layout``, the table the kernels read.
L_IN, L_OUT, L_W, L_B, L_END, L_BN, L_RES, L_BN_UNIT = range(8)


@dataclass(frozen=True)
class LayerShape:
    n_in: int
    n_out: int
    activation: str
    act_param: float
    w_offset: int
    batchnorm: bool = False
    residual: bool = False
    bn_unit: int = -1      # where its units start in the batch-norm statistics

    @property
    def b_offset(self) -> int:
        return self.w_offset + self.n_out * self.n_in

    @property
    def bn_offset(self) -> int:
        """Where gamma starts (beta follows), or -1."""
        return self.b_offset + self.n_out if self.batchnorm else -1

    @property
    def n_params(self) -> int:
        return self.n_out * (self.n_in + 1) + (2 * self.n_out if self.batchnorm else 0)

    @property
    def end(self) -> int:
        return self.w_offset + self.n_params


class Architecture:
    """Shapes and offsets of a dense network; holds no numbers."""

    def __init__(self, n_inputs: int, layers):
        """``layers``: (units, activation, act_param or None[, batchnorm,
        residual]) for each layer. A residual layer adds its input to its
        output, so its input must be as wide as it."""
        shapes, offset, n_in, bn_units = [], 0, n_inputs, 0
        for spec in layers:
            units, act, param = spec[:3]
            bn, res = (bool(spec[3]), bool(spec[4])) if len(spec) > 3 else (False, False)
            if param is None:
                param = ACTIVATION_PARAM.get(act, ("", 0.0))[1]
            if res and n_in != units:
                raise ValueError(f"a residual layer needs as many inputs as units "
                                 f"({n_in} inputs, {units} units)")
            shape = LayerShape(n_in, units, act, float(param), offset, bn, res,
                               bn_units if bn else -1)
            shapes.append(shape)
            offset += shape.n_params
            bn_units += units if bn else 0
            n_in = units
        self.n_inputs = n_inputs
        self.layers = tuple(shapes)
        self.n_params = offset
        self.n_outputs = n_in
        self.n_bn_units = bn_units
        # What the kernels read: one row per layer (columns L_*).
        self.layout = np.array([[s.n_in, s.n_out, s.w_offset, s.b_offset, s.end, s.bn_offset,
                                 int(s.residual), s.bn_unit] for s in shapes],
                               dtype=np.int64).reshape(-1, 8)
        self.act_ids = np.array([ACTIVATIONS[s.activation] for s in shapes], dtype=np.int64)
        self.act_params = np.array([s.act_param for s in shapes], dtype=np.float64)

    def weight(self, flat: np.ndarray, i: int) -> np.ndarray:
        s = self.layers[i]
        return flat[s.w_offset:s.b_offset].reshape(s.n_out, s.n_in)

    def bias(self, flat: np.ndarray, i: int) -> np.ndarray:
        s = self.layers[i]
        return flat[s.b_offset:s.b_offset + s.n_out]

    def gamma(self, flat: np.ndarray, i: int) -> np.ndarray:
        """Batch-norm scale of layer i (torch's ``weight`` of BatchNorm1d)."""
        s = self.layers[i]
        if not s.batchnorm:
            raise ValueError(f"layer {i} has no batch normalisation")
        return flat[s.bn_offset:s.bn_offset + s.n_out]

    def beta(self, flat: np.ndarray, i: int) -> np.ndarray:
        """Batch-norm shift of layer i (torch's ``bias`` of BatchNorm1d)."""
        s = self.layers[i]
        if not s.batchnorm:
            raise ValueError(f"layer {i} has no batch normalisation")
        return flat[s.bn_offset + s.n_out:s.end]

    @property
    def plain(self) -> bool:
        """No batch normalisation and no residual connection."""
        return not any(s.batchnorm or s.residual for s in self.layers)

    def describe(self) -> str:
        return "-".join([str(self.n_inputs)] + [str(s.n_out) for s in self.layers])


def init_weight(kind: str, params: dict, n_out: int, n_in: int, rng: np.random.Generator):
    """One weight matrix ``(out, in)`` by torch.nn.init's formulas
    (fan_in = in, fan_out = out; he_* is kaiming with nonlinearity='relu')."""
    shape = (n_out, n_in)
    fan_in, fan_out = n_in, n_out
    if kind == "zeros":
        return np.zeros(shape)
    if kind == "constant":
        return np.full(shape, params["val"])
    if kind == "uniform":
        return rng.uniform(params["a"], params["b"], shape)
    if kind == "normal":
        return rng.normal(params["mean"], params["std"], shape)
    if kind == "xavier_uniform":
        bound = params["gain"] * np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape)
    if kind == "xavier_normal":
        return rng.normal(0.0, params["gain"] * np.sqrt(2.0 / (fan_in + fan_out)), shape)
    if kind == "he_uniform":
        bound = np.sqrt(6.0 / fan_in)
        return rng.uniform(-bound, bound, shape)
    if kind == "he_normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    if kind == "lecun_normal":
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
    raise ValueError(f"unknown initializer {kind!r}")


def init_params(arch: Architecture, inits, bias_inits, rng, dtype) -> np.ndarray:
    """The flat parameter vector; ``inits[i]`` = (kind, params) of layer i's
    weight, ``bias_inits[i]`` its bias value. Draws layer by layer, weight
    before bias, so the same seed gives the same numbers."""
    theta = np.empty(arch.n_params, dtype=dtype)
    for i, s in enumerate(arch.layers):
        kind, params = inits[i]
        arch.weight(theta, i)[...] = init_weight(kind, params, s.n_out, s.n_in, rng)
        arch.bias(theta, i)[...] = bias_inits[i]
        if s.batchnorm:     # torch's BatchNorm1d starts as the identity
            arch.gamma(theta, i)[...] = 1.0
            arch.beta(theta, i)[...] = 0.0
    return theta
