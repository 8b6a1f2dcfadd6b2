"""Gradient check: backpropagation against central finite differences.

What is checked is the gradient of the loss of the batch the trainer's NEXT
step would use (the same rows, in the same order, with the parameters as
they are now) -- exactly the gradient that step would apply. The trainer
itself is not touched: the check runs on a deep copy of it.

For every checked parameter ``θ_k``::

    g_fd = (L(θ + ε e_k) − L(θ − ε e_k)) / (2ε)
    rel  = |g_fd − g_bp| / max(|g_fd| + |g_bp|, tiny)

A parameter *disagrees* when ``rel > rtol`` AND ``|g_fd − g_bp| > atol``
(the absolute floor keeps gradients that are zero up to rounding -- a dead
ReLU, a saturated sigmoid -- from being flagged for their noise).

The loss is always evaluated in float64. A float32 network's parameters,
data, batch-norm statistics and dropout masks are widened exactly, so the
float64 loss is that network's own function without its rounding: finite
differences in float32 measure mostly rounding (a correct float32 MNIST
gradient "disagreed" in 24 of 1,000 parameters, by up to 96 %). What is
compared is the float32 backprop gradient, so its tolerances are looser:

======== ======= ======= =======
network  eps     rtol    atol
======== ======= ======= =======
float64  1e-6    1e-4    1e-8
float32  1e-6    1e-3    1e-6
======== ======= ======= =======

Losses and activations with kinks (mae, hinge, relu at 0) can disagree at a
kink: there the derivative does not exist and the two sides differ.
"""

from copy import deepcopy
from dataclasses import dataclass

import numpy as np

from simtreino.core import engine as E
from simtreino.core.trainer import SplitArrays

__all__ = ["GradCheck", "gradient_check", "param_name", "DEFAULTS", "DEFAULT_SAMPLE"]

# the network's dtype -> (eps, rtol, atol); the differences are float64's
DEFAULTS = {
    "float64": (1e-6, 1e-4, 1e-8),
    "float32": (1e-6, 1e-3, 1e-6),
}
#: ``simtreino gradcheck`` checks a seeded sample of this many parameters
#: of larger networks unless told otherwise (the inspector's g checks 300): two
#: loss evaluations a parameter make a full check of MNIST's 109k take
#: minutes, and a sample of 2,000 finds a wrong layer as surely.
DEFAULT_SAMPLE = 2000
TINY = 1e-300


def param_name(arch, k: int) -> str:
    """The name of flat parameter ``k``: ``layers.0.weight[1,0]`` (row =
    output unit, column = input, torch's ``(out, in)``), ``layers.1.bias[0]``,
    or for batch norm ``layers.0.norm.weight[2]`` (gamma) and
    ``layers.0.norm.bias[2]`` (beta)."""
    k = int(k)
    for i, s in enumerate(arch.layers):
        if s.w_offset <= k < s.b_offset:
            r, c = divmod(k - s.w_offset, s.n_in)
            return f"layers.{i}.weight[{r},{c}]"
        if s.b_offset <= k < s.b_offset + s.n_out:
            return f"layers.{i}.bias[{k - s.b_offset}]"
        if s.batchnorm and s.bn_offset <= k < s.end:
            j = k - s.bn_offset
            part = "weight" if j < s.n_out else "bias"
            return f"layers.{i}.norm.{part}[{j % s.n_out}]"
    raise IndexError(f"parameter {k} out of range (the network has {arch.n_params})")


@dataclass(frozen=True)
class GradCheck:
    """The result of ``gradient_check``; arrays are aligned with ``indices``."""
    names: tuple             # parameter names, see ``param_name``
    indices: np.ndarray      # flat indices of the checked parameters
    backprop: np.ndarray     # g_bp
    numeric: np.ndarray      # g_fd (central differences)
    abs_error: np.ndarray    # |g_fd - g_bp|
    rel_error: np.ndarray    # |g_fd - g_bp| / max(|g_fd| + |g_bp|, tiny)
    disagree: np.ndarray     # bool: rel > rtol and abs > atol
    eps: float
    rtol: float
    atol: float
    dtype: str
    step: int                # the (1-based) step whose gradient was checked
    loss: float              # the batch loss at the current parameters
    batch_size: int
    n_params: int            # parameters of the network (checked: len(indices))
    sampled: bool            # True when a random sample was checked

    @property
    def ok(self) -> bool:
        return not bool(self.disagree.any())

    @property
    def n_checked(self) -> int:
        return len(self.indices)

    @property
    def n_disagree(self) -> int:
        return int(self.disagree.sum())

    @property
    def max_rel_error(self) -> float:
        return float(self.rel_error.max()) if len(self.rel_error) else 0.0

    @property
    def max_abs_error(self) -> float:
        return float(self.abs_error.max()) if len(self.abs_error) else 0.0

    def worst(self, n: int = 10) -> list[int]:
        """Positions (into the arrays here) of the ``n`` largest relative
        errors, largest first; the ones that disagree come first."""
        order = np.lexsort((-self.rel_error, ~self.disagree))
        return [int(i) for i in order[:n]]

    def rows(self, positions=None) -> list[dict]:
        """Plain records (for printing or JSON)."""
        positions = range(self.n_checked) if positions is None else positions
        return [{"name": self.names[p], "index": int(self.indices[p]),
                 "backprop": float(self.backprop[p]), "numeric": float(self.numeric[p]),
                 "abs_error": float(self.abs_error[p]), "rel_error": float(self.rel_error[p]),
                 "disagree": bool(self.disagree[p])} for p in positions]


def _batch_and_backprop(trainer):
    """(batch SplitArrays, flat backprop gradient, loss, step, the copy that
    took the step) of the next step, computed on a deep copy (the caller's
    trainer is untouched). The gradient is the loss's own: penalty
    included, before any clipping."""
    clone = deepcopy(trainer)
    records = clone.step_phases()
    batch = next(r for r in records if r.phase == "batch")
    loss = next(r for r in records if r.phase == "loss").scalars["total"]
    g = next(r for r in records if r.phase == "update").tensors["loss_grad"]
    split = SplitArrays(batch.tensors["x"], batch.tensors["targets"], batch.tensors["labels"])
    return split, g, float(loss), int(batch.scalars["step"]), clone


def gradient_check(trainer, *, eps: float | None = None, max_params: int | None = None,
                   seed: int = 0, rtol: float | None = None, atol: float | None = None,
                   backprop: np.ndarray | None = None) -> GradCheck:
    """Compare the backprop gradient of the next step's batch loss with
    central finite differences, for every parameter or, when the network has
    more than ``max_params``, a random sample of ``max_params`` of them
    (drawn from ``seed``; sorted by index).

    ``backprop``: a flat gradient to check instead of the trainer's own (to
    test a hand-written gradient, or to see the check catch a wrong one).
    The trainer is left exactly as it was (parameters, optimizer state,
    counters, logs)."""
    name = np.dtype(trainer.dtype).name
    d_eps, d_rtol, d_atol = DEFAULTS.get(name, DEFAULTS["float64"])
    eps = d_eps if eps is None else float(eps)
    rtol = d_rtol if rtol is None else float(rtol)
    atol = d_atol if atol is None else float(atol)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    if max_params is not None and max_params < 1:
        raise ValueError(f"max_params must be a positive integer, got {max_params!r}")

    split, g_bp, loss, step, stepped = _batch_and_backprop(trainer)
    if backprop is not None:
        g_bp = np.asarray(backprop, dtype=np.float64).ravel()
        if g_bp.shape != (trainer.arch.n_params,):
            raise ValueError(f"backprop has {g_bp.size} values, the network has "
                             f"{trainer.arch.n_params}")
    P = trainer.arch.n_params
    sampled = max_params is not None and max_params < P
    if sampled:
        idx = np.sort(np.random.default_rng(seed).choice(P, size=max_params, replace=False))
    else:
        idx = np.arange(P)

    # A private trainer for the loss evaluations: its own buffers and theta,
    # holding the step's dropout masks, so the loss differentiated is the
    # one the step saw (training-mode batch norm, the same units dropped).
    # Always in float64 (a float32 network widened exactly: see above).
    probe = (deepcopy(trainer) if np.dtype(trainer.dtype) == np.float64
             else trainer.loss_probe(np.float64))
    probe.bufs[E.B_MASK][...] = stepped.bufs[E.B_MASK]
    theta = probe.theta
    numeric = np.empty(len(idx))
    for j, k in enumerate(idx):
        old = theta[k]
        theta[k] = old + eps
        up = probe.batch_loss(split)
        theta[k] = old - eps
        down = probe.batch_loss(split)
        theta[k] = old
        numeric[j] = (up - down) / (2.0 * eps)
    bp = np.asarray(g_bp[idx], dtype=np.float64)
    abs_err = np.abs(numeric - bp)
    rel_err = abs_err / np.maximum(np.abs(numeric) + np.abs(bp), TINY)
    # NaN anywhere (a diverged network) is a disagreement too.
    disagree = ~((rel_err <= rtol) | (abs_err <= atol))
    return GradCheck(
        names=tuple(param_name(trainer.arch, k) for k in idx), indices=idx,
        backprop=bp, numeric=numeric, abs_error=abs_err, rel_error=rel_err,
        disagree=disagree, eps=eps, rtol=rtol, atol=atol, dtype=name, step=step,
        loss=loss, batch_size=len(split), n_params=P, sampled=sampled)
