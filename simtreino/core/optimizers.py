"""Optimizers with torch.optim's update rules, hyperparameter names and defaults.

Every optimizer is one kernel over the flat parameter vector. Its state is a
few flat vectors of the same length (rows of ``state``), so the inspector and
checkpoints read it without knowing the layers. Formulas follow torch's
single-tensor implementations (``foreach=False``), in the same order of
operations where that matters for the last bits.

A step is ``update_begin`` (once: the step count and the scalars every
parameter shares) and then ``update_slice`` on any ranges of the vector, in
any order: the rules are elementwise, so training updates each layer as soon
as its gradient is ready and gets the numbers of one pass over the whole
vector (``update``, which the race uses).
"""

from dataclasses import dataclass
import math

import numpy as np

from .arrays import zeros
from .hyper import Hyper
from .jit import kernel, kernel_inline

SGD, ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW = range(6)

_LR = lambda d: Hyper(d, low=0.0, doc="learning rate")  # noqa: E731
_WD = lambda d: Hyper(d, low=0.0, doc="L2 penalty (coupled)")  # noqa: E731


def _sgd(momentum, nesterov):
    return {
        "lr": _LR(1e-3),
        "momentum": Hyper(momentum, low=0.0, doc="momentum factor"),
        "dampening": Hyper(0.0, low=0.0, high=1.0, doc="dampening for momentum"),
        "weight_decay": _WD(0.0),
        "nesterov": Hyper(nesterov, type="bool", doc="Nesterov momentum"),
    }


def _adam(weight_decay, doc):
    return {
        "lr": _LR(1e-3),
        "betas": Hyper((0.9, 0.999), type="pair", low=0.0, high=1.0, high_open=True,
                       doc="decay rates of the first and second moments"),
        "eps": Hyper(1e-8, low=0.0, doc="added to the denominator"),
        "weight_decay": Hyper(weight_decay, low=0.0, doc=doc),
        "amsgrad": Hyper(False, type="bool", doc="use the maximum of past second moments"),
    }


# name -> (kernel kind, hyperparameters). "momentum" and "nesterov" are sgd
# with other defaults, as the course presents them as optimizers of their own.
OPTIMIZERS = {
    "sgd": (SGD, _sgd(0.0, False)),
    "momentum": (SGD, _sgd(0.9, False)),
    "nesterov": (SGD, _sgd(0.9, True)),
    "adagrad": (ADAGRAD, {
        "lr": _LR(1e-2),
        "lr_decay": Hyper(0.0, low=0.0, doc="learning-rate decay"),
        "weight_decay": _WD(0.0),
        "initial_accumulator_value": Hyper(0.0, low=0.0, doc="starting sum of squares"),
        "eps": Hyper(1e-10, low=0.0, doc="added to the denominator"),
    }),
    "rmsprop": (RMSPROP, {
        "lr": _LR(1e-2),
        "alpha": Hyper(0.99, low=0.0, high=1.0, doc="smoothing constant"),
        "eps": Hyper(1e-8, low=0.0, doc="added to the denominator"),
        "weight_decay": _WD(0.0),
        "momentum": Hyper(0.0, low=0.0, doc="momentum factor"),
        "centered": Hyper(False, type="bool", doc="normalise by the estimated variance"),
    }),
    "adadelta": (ADADELTA, {
        "lr": _LR(1.0),
        "rho": Hyper(0.9, low=0.0, high=1.0, doc="decay rate of the running averages"),
        "eps": Hyper(1e-6, low=0.0, doc="added inside the square roots"),
        "weight_decay": _WD(0.0),
    }),
    "adam": (ADAM, _adam(0.0, "L2 penalty (coupled)")),
    "adamw": (ADAMW, _adam(1e-2, "decoupled weight decay")),
}

# Names of the state vectors each kernel kind keeps (torch's state keys).
STATE_NAMES = {
    SGD: ("momentum_buffer",),
    ADAGRAD: ("sum",),
    RMSPROP: ("square_avg", "momentum_buffer", "grad_avg"),
    ADADELTA: ("square_avg", "acc_delta"),
    ADAM: ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    ADAMW: ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
}

# Positions of the hyperparameters in the float vector the kernel reads.
H_MOMENTUM, H_DAMPENING, H_NESTEROV, H_WD, H_BETA1, H_BETA2, H_EPS, H_AMSGRAD, \
    H_ALPHA, H_CENTERED, H_RHO, H_LR_DECAY, H_TINY = range(13)
N_HYPER = 13


def pack_hyper(name: str, hp: dict, dtype=np.float64) -> np.ndarray:
    """The kernel's view of the hyperparameters (lr travels separately:
    schedules change it every epoch).

    ``H_TINY``: running averages that decay below the dtype's smallest
    normal number are set to zero. Subnormal arithmetic costs ~100 cycles
    per operation, and the moments of dead units decay into that range and
    slowed every later step; the change is far below anything visible."""
    v = np.zeros(N_HYPER)
    v[H_TINY] = np.finfo(dtype).tiny
    v[H_MOMENTUM] = hp.get("momentum", 0.0)
    v[H_DAMPENING] = hp.get("dampening", 0.0)
    v[H_NESTEROV] = float(hp.get("nesterov", False))
    v[H_WD] = hp.get("weight_decay", 0.0)
    b1, b2 = hp.get("betas", (0.9, 0.999))
    v[H_BETA1], v[H_BETA2] = b1, b2
    v[H_EPS] = hp.get("eps", 0.0)
    v[H_AMSGRAD] = float(hp.get("amsgrad", False))
    v[H_ALPHA] = hp.get("alpha", 0.0)
    v[H_CENTERED] = float(hp.get("centered", False))
    v[H_RHO] = hp.get("rho", 0.0)
    v[H_LR_DECAY] = hp.get("lr_decay", 0.0)
    return v


@dataclass
class OptimizerState:
    """Everything an optimizer carries between steps."""
    kind: int
    state: np.ndarray      # (len(STATE_NAMES[kind]), P), parameter dtype
    counters: np.ndarray   # int64 [steps taken, momentum buffers started]

    def named(self) -> dict:
        return {n: self.state[i] for i, n in enumerate(STATE_NAMES[self.kind])}

    def copy(self) -> "OptimizerState":
        return OptimizerState(self.kind, self.state.copy(), self.counters.copy())


def new_state(name: str, hp: dict, n_params: int, dtype) -> OptimizerState:
    kind = OPTIMIZERS[name][0]
    state = zeros((len(STATE_NAMES[kind]), n_params), dtype)
    if kind == ADAGRAD:
        state[0] = hp["initial_accumulator_value"]
    return OptimizerState(kind, state, np.zeros(2, dtype=np.int64))


@kernel
def _lerp(a, b, w):
    # torch's lerp: the formula depends on the weight, for accuracy at both ends
    if w < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (1.0 - w)


# The rule kernels update parameters lo:hi of the flat vectors in place;
# ``state`` is the optimizer's whole (rows, P) state. They index the full
# arrays instead of taking slices: every slice of an array is a new
# reference-counted view, and at ~2 us per XOR step those views (three per
# update) cost a measurable 3-4%. The index runs over unsigned integers: with
# a signed start that LLVM cannot prove non-negative, Numba's wraparound of
# negative indices stopped the loops from vectorising (float32 Adam over
# 109k parameters: 415 us instead of 52 us).

@kernel
def _sgd_step(theta, grad, state, lo, hi, wd, mom, damp, nesterov, first, lr, tiny):
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        if wd != 0.0:
            g = g + wd * theta[i]
        if mom != 0.0:
            if first:
                b = g
            else:
                b = mom * state[0, i] + (1.0 - damp) * g
            if abs(b) < tiny:
                b = 0.0
            state[0, i] = b
            if nesterov:
                g = g + mom * b
            else:
                g = b
        theta[i] = theta[i] - lr * g


@kernel
def _adagrad_step(theta, grad, state, lo, hi, wd, eps, clr):
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        if wd != 0.0:
            g = g + wd * theta[i]
        s = state[0, i] + g * g
        state[0, i] = s
        theta[i] = theta[i] - clr * (g / (math.sqrt(s) + eps))


@kernel
def _rmsprop_step(theta, grad, state, lo, hi, wd, alpha, eps, mom, centered, lr, tiny):
    # state rows: square_avg, momentum_buffer, grad_avg
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        if wd != 0.0:
            g = g + wd * theta[i]
        s = alpha * state[0, i] + (1.0 - alpha) * g * g
        if s < tiny:
            s = 0.0
        state[0, i] = s
        if centered:
            ga = _lerp(state[2, i], g, 1.0 - alpha)
            if abs(ga) < tiny:
                ga = 0.0
            state[2, i] = ga
            avg = math.sqrt(s - ga * ga) + eps
        else:
            avg = math.sqrt(s) + eps
        if mom > 0.0:
            b = mom * state[1, i] + g / avg
            if abs(b) < tiny:
                b = 0.0
            state[1, i] = b
            theta[i] = theta[i] - lr * b
        else:
            theta[i] = theta[i] - lr * (g / avg)


@kernel
def _adadelta_step(theta, grad, state, lo, hi, wd, rho, eps, lr, tiny):
    # state rows: square_avg, acc_delta
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        if wd != 0.0:
            g = g + wd * theta[i]
        s = rho * state[0, i] + (1.0 - rho) * g * g
        if s < tiny:
            s = 0.0
        state[0, i] = s
        std = math.sqrt(s + eps)
        acc = state[1, i]
        d = math.sqrt(acc + eps) / std * g
        u = rho * acc + (1.0 - rho) * d * d
        if u < tiny:
            u = 0.0
        state[1, i] = u
        theta[i] = theta[i] - lr * d


@kernel_inline
def _adam_loop(theta, grad, state, lo, hi, decoupled, coupled, amsgrad, lerp_low, sc):
    """Adam(W) on parameters lo:hi; state rows: exp_avg, exp_avg_sq,
    max_exp_avg_sq. ``sc``: the scalars in the parameters' dtype, so float32
    runs do float32 arithmetic (as torch does) and vectorise twice as wide.
    Inlined into ``_adam_step`` with constant flags, so each common case
    compiles to its own branch-free loop."""
    w1, w1c, b2, w2, eps, step_size, bc2_sqrt = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]
    decay, wd, tiny, zero = sc[7], sc[8], sc[9], sc[10]
    for i in range(np.uint64(lo), np.uint64(hi)):
        g = grad[i]
        p = theta[i]
        if decoupled:
            p = p * decay
        elif coupled:
            g = g + wd * p
        mo = state[0, i]
        # torch's lerp(m, g, w1), whose formula depends on the weight
        if lerp_low:
            mi = mo + w1 * (g - mo)
        else:
            mi = g - (g - mo) * w1c
        vi = b2 * state[1, i] + w2 * g * g
        if abs(mi) < tiny:
            mi = zero
        if vi < tiny:
            vi = zero
        state[0, i] = mi
        state[1, i] = vi
        if amsgrad:
            vm = state[2, i]
            if vi > vm:
                vm = vi
            state[2, i] = vm   # stored unconditionally: the loop vectorises
            denom = math.sqrt(vm) / bc2_sqrt + eps
        else:
            denom = math.sqrt(vi) / bc2_sqrt + eps
        theta[i] = p - step_size * (mi / denom)


@kernel
def _adam_step(theta, grad, state, lo, hi, decoupled, amsgrad, lerp_low, sc):
    """The usual cases get a loop with their flags as constants: with the
    flags tested inside the loop, LLVM kept the branches and float32 Adam
    over 109k parameters took 110 us instead of 56 us (the same numbers:
    each element goes through the same operations either way). Adam without
    weight decay takes AdamW's loop: its decay factor 1 - lr * 0 is exactly
    1.0, and p * 1.0 == p. Three copies of the loop, not one per case: each
    costs about a second of compilation per dtype."""
    coupled = (not decoupled) and sc[8] != sc[10]
    if amsgrad or not lerp_low:   # rarer: the flags are tested in the loop
        _adam_loop(theta, grad, state, lo, hi, decoupled, coupled, amsgrad, lerp_low, sc)
    elif coupled:
        _adam_loop(theta, grad, state, lo, hi, False, True, False, True, sc)
    else:
        _adam_loop(theta, grad, state, lo, hi, True, False, False, True, sc)


# Length of the per-step scalar vector ``update_begin`` fills (Adam's
# scalars, in the parameters' dtype).
N_STEP_SCALARS = 11


@kernel_inline
def update_begin(kind, counters, hyper, lr, sc):
    """Start one optimizer step: count it and work out what every slice of
    the step shares. Returns torch's "first step of the momentum buffer"
    flag (SGD); Adam's scalars go to ``sc`` (length ``N_STEP_SCALARS``, the
    parameters' dtype). Then ``update_slice`` updates the parameters in any
    order of slices: every rule is elementwise, so the numbers do not depend
    on how the vector is cut."""
    counters[0] += 1
    step = counters[0]
    first = False
    if kind == SGD:
        # torch starts the buffer as a copy of the first gradient it sees
        first = counters[1] == 0
        if hyper[H_MOMENTUM] != 0.0:
            counters[1] = 1
    elif kind == ADAM or kind == ADAMW:
        b1 = hyper[H_BETA1]
        b2 = hyper[H_BETA2]
        bc1 = 1.0 - b1 ** step
        bc2 = 1.0 - b2 ** step
        sc[0] = 1.0 - b1
        sc[1] = b1
        sc[2] = b2
        sc[3] = 1.0 - b2
        sc[4] = hyper[H_EPS]
        sc[5] = lr / bc1
        sc[6] = math.sqrt(bc2)
        sc[7] = 1.0 - lr * hyper[H_WD]
        sc[8] = hyper[H_WD]
        sc[9] = hyper[H_TINY]
        sc[10] = 0.0
    return first


@kernel
def update_slice(kind, theta, grad, state, counters, hyper, lr, sc, first, lo, hi):
    """The step ``update_begin`` started, on parameters ``lo:hi`` (and the
    same range of gradient and state), in place (torch.optim rules). Each
    rule is its own small loop: one big loop with every rule in it compiled
    to code 30x slower per element."""
    wd = hyper[H_WD]
    tiny = hyper[H_TINY]
    if kind == SGD:
        _sgd_step(theta, grad, state, lo, hi, wd, hyper[H_MOMENTUM], hyper[H_DAMPENING],
                  hyper[H_NESTEROV] != 0.0, first, lr, tiny)
    elif kind == ADAGRAD:
        clr = lr / (1.0 + (counters[0] - 1) * hyper[H_LR_DECAY])
        _adagrad_step(theta, grad, state, lo, hi, wd, hyper[H_EPS], clr)
    elif kind == RMSPROP:
        _rmsprop_step(theta, grad, state, lo, hi, wd, hyper[H_ALPHA], hyper[H_EPS],
                      hyper[H_MOMENTUM], hyper[H_CENTERED] != 0.0, lr, tiny)
    elif kind == ADADELTA:
        _adadelta_step(theta, grad, state, lo, hi, wd, hyper[H_RHO], hyper[H_EPS], lr, tiny)
    else:  # ADAM, ADAMW
        _adam_step(theta, grad, state, lo, hi, kind == ADAMW, hyper[H_AMSGRAD] != 0.0,
                   (1.0 - hyper[H_BETA1]) < 0.5, sc)


@kernel
def update(kind, theta, grad, state, counters, hyper, lr):
    """One optimizer step on the whole flat vectors, in place: ``update_begin``
    then ``update_slice`` over everything (the race and the tests use it;
    training updates layer by layer, see ``engine.train_step``)."""
    if kind == ADAM or kind == ADAMW:
        sc = np.empty(N_STEP_SCALARS, theta.dtype)
    else:
        sc = theta[:0]  # unused: no allocation for the other rules
    first = update_begin(kind, counters, hyper, lr, sc)
    update_slice(kind, theta, grad, state, counters, hyper, lr, sc, first, 0, theta.shape[0])
