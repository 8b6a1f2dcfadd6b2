"""Automatic training diagnostics: watch a run, name what goes wrong.

A ``Diagnostician`` looks at a run at fixed *checks* (every ``every``
steps, about ``CHECKS_PER_RUN`` per planned run; see ``check_stride``) and
raises **findings**: frozen records with a stable ``name``, the step and
epoch where the problem was first seen, the layer it concerns, the
``evidence`` (plain numbers), message keys for a plain explanation and a
suggested cure (``simtreino.i18n``, both languages, the evidence filled in)
and a machine-readable ``cure`` (scenario changes, see ``headless.cure``).

What one check looks at (an ``Observation``, plain numbers):

- the trainer's snapshot: per-layer gradient norms (of the last step) and
  weight norms, the learning rate, divergence;
- the step history: the mean batch loss since the previous check (over
  at least the last epoch: a few batches would measure their own noise);
- the epoch history: training and validation loss per epoch;
- cheap probes on a fixed sample of at most ``PROBE_ROWS`` training rows
  (evenly spaced, so class-sorted data is covered): every layer's
  pre-activations and outputs, from which the fraction of saturated
  sigmoid/tanh outputs, of silent ReLU units and the scale of each layer
  are measured; the distance the parameters moved.

Training craft (see ``probe``): a layer's pre-activation is what its
activation function receives (batch norm's output y for a batch-norm
layer), dead and saturated units are judged on the activation's own output
(before dropout and before a residual connection adds the layer's input),
and batch norm normalises with the statistics of the probe rows, as a
training batch is normalised (no dropout); the validation loss's noise is
measured in evaluation mode (running statistics), as the validation loss
itself. The signal-scale check of the initialisation restarts at every
batch-norm layer (its output scale is set by gamma and beta, not by the
weights before it) and follows the signal through a residual connection
(its output against its input). The underfitting detector judges the data
loss: with a weight penalty on, the training loss also holds the penalty,
which says nothing about how well the data are fitted.

Detection is split from observation: ``Diagnostician.update(obs, history)``
is pure logic over plain numbers (unit tests feed it synthetic runs), and
``Diagnostician.observe(trainer)`` measures a trainer and calls it.

Findings are stable: a condition must hold at ``PERSIST`` consecutive checks
(or, for the per-epoch detectors, ``PERSIST_EPOCHS`` consecutive epochs)
before it is raised; once raised a finding stays, and its evidence follows
the latest check where the condition held. Checks fall on fixed steps, so a
run and its replay raise the same findings at the same steps.

Every threshold is a module constant; docs/diagnostics.md says where each
comes from. numpy only: no UI, no Numba, no scenario parsing.
"""

from dataclasses import dataclass, field, replace
import math
import statistics

import numpy as np

# Batch norm's eps, as simtreino.core.layers.BN_EPS (not imported: that
# module compiles Numba kernels, and this one stays NumPy only).
BN_EPS = 1e-5

__all__ = ["FINDINGS", "Finding", "Observation", "RunInfo", "Diagnostician", "check_stride",
           "chance_loss", "render_explanation", "render_cure"]

# Stable ids, in the order the detectors run (root causes first).
FINDINGS = ("poor_initialisation", "exploding_gradients", "vanishing_gradients", "dead_relus",
            "saturated_units", "lr_too_high", "lr_too_low", "overfitting", "underfitting")

# --------------------------------------------------------------- thresholds
# (docs/diagnostics.md gives the reasons; tests/unit/test_diagnostics.py
# plants each problem just past them)

CHECKS_PER_RUN = 100       # checks over the planned run (then half as often each doubling)
PROBE_ROWS = 256           # training rows the probes forward
PERSIST = 5                # consecutive checks a per-check condition must hold
START_SAMPLES = 128        # where the loss started: the mean over the first batches of this many
PERSIST_EPOCHS = 5         # consecutive epochs a per-epoch condition must hold (at least;
PERSIST_SHARE = 0.05       # ... or this share of the planned epochs, when more)
SMOOTH_EPOCHS = 5          # running median over epochs (overfitting)

MIN_DEPTH = 3              # layers needed to speak of gradients vanishing through depth
VANISH_RATIO = 1e-2        # first/last layer gradient (RMS per weight) below this: vanishing
EXPLODE_RATIO = 1e2        # ... above this: exploding through depth
EXPLODE_GROWTH = 1e3       # global gradient norm this many times its first value: exploding

DEAD_FRACTION = 0.5        # share of a ReLU layer's units silent on every probe row
SAT_MARGIN = 0.01          # an output within 1% of its range from a bound is saturated
SAT_FRACTION = 0.5         # share of a layer's outputs saturated
SAT_PROGRESS = 0.5         # ... while less than this share of the chance-level loss is removed

# "the loss scale": the chance-level loss (chance_loss), else the first epoch's loss
RISE_FRACTION = 0.1        # loss back up above its best (or start) by this share of the scale...
RISE_FACTOR = 1.5          # ... and to this many times it: the learning rate is too high
OSC_AMPLITUDE = 0.1        # mean |change| between checks as a share of the scale...
OSC_PATH = 4.0             # ... on a path this many times longer than its net descent

LOW_AFTER = 0.1            # after this share of the planned run...
LOW_PROGRESS = 0.02        # ... the loss fell by less than this share of the scale...
LOW_UPDATE = 1e-3          # ... and the parameters move less than this (relative) per step

GL_ALPHA = 0.1             # Prechelt's generalisation loss: val loss 10% above its best...
SE_FACTOR = 2.0            # ... by at least 2 standard errors of the validation loss

UNDERFIT_R2 = 0.5          # pseudo-R² = 1 - loss/chance below this...
UNDERFIT_FLAT = 0.01       # ... changing by less than this share of chance over a window...
UNDERFIT_WINDOW = 0.1      # ... of this share of the planned checks (at least PERSIST)...
UNDERFIT_AFTER = 0.3       # ... and not before this share of the planned run

INIT_BAND = 10.0           # signal scale after the hidden layers this far from ideal (either way)

RELU_LIKE = ("relu", "leaky_relu", "elu")
BOUNDED = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
# Ideal pre-activation gain RMS(z_l) / RMS(a_{l-1}) of a well-initialised layer:
# 1 (LeCun 1998, Glorot & Bengio 2010) and sqrt(2) for ReLUs (He et al. 2015).
IDEAL_GAIN = {"relu": math.sqrt(2.0), "leaky_relu": math.sqrt(2.0), "elu": math.sqrt(2.0)}


def check_stride(step: int, every: int, planned: int) -> int:
    """Steps between checks around ``step``: ``every`` over the planned run
    (``planned`` steps), then twice that for the next ``planned`` steps, four
    times over the next ``2 * planned``..., so a run left going (the live
    UI) keeps about ``CHECKS_PER_RUN / 2`` checks per doubling."""
    if planned <= 0 or step < planned:
        return every
    return every << (step // planned).bit_length()


# ------------------------------------------------------------------ records

@dataclass(frozen=True)
class Finding:
    """One problem named. ``step``/``epoch``: where it was first seen (the
    first check of the run of checks that raised it); ``raised_step``: the
    check that raised it; ``last_step``: the check of the latest evidence.
    ``explain_key``/``cure_key``: i18n keys, filled with the evidence by
    ``explanation()``/``suggestion()``. ``cure``: scenario changes, dotted
    keys of ``Scenario.to_dict()`` -> new values (``headless.cure`` applies
    them to a copy of the scenario)."""
    name: str
    step: int
    epoch: int
    layer: int | None
    evidence: dict
    explain_key: str
    cure_key: str
    cure: dict = field(default_factory=dict)
    raised_step: int = 0
    last_step: int = 0

    @property
    def title_key(self) -> str:
        return f"diag.{self.name}.title"

    def title(self) -> str:
        from simtreino.i18n import t
        return t(self.title_key)

    def explanation(self) -> str:
        return render_explanation(self)

    def suggestion(self) -> str:
        return render_cure(self)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready apart from non-finite numbers)."""
        return {"name": self.name, "step": self.step, "epoch": self.epoch, "layer": self.layer,
                "raised_step": self.raised_step, "last_step": self.last_step,
                "evidence": dict(self.evidence), "explain_key": self.explain_key,
                "cure_key": self.cure_key, "cure": dict(self.cure)}

    @classmethod
    def from_dict(cls, d: dict) -> "Finding":
        return cls(name=d["name"], step=int(d["step"]), epoch=int(d["epoch"]),
                   layer=d.get("layer"), evidence=dict(d.get("evidence") or {}),
                   explain_key=d.get("explain_key", f"diag.{d['name']}.explain"),
                   cure_key=d.get("cure_key", f"diag.{d['name']}.cure"),
                   cure=dict(d.get("cure") or {}), raised_step=int(d.get("raised_step", d["step"])),
                   last_step=int(d.get("last_step", d["step"])))


def _fill(f: Finding) -> dict:
    """What the messages may use: the evidence, ``layer`` counted from 1
    (as the UI names layers), ``step`` and ``epoch``."""
    kw = {k: v for k, v in f.evidence.items() if not isinstance(v, (list, tuple, dict))}
    kw.update(step=f.step, epoch=f.epoch, layer=(f.layer + 1) if f.layer is not None else 0)
    # the cure's new values, by what they change
    for key, value in f.cure.items():
        name = _CURE_FIELDS.get(key.split("].")[-1].split(".")[-1])
        if name and not isinstance(value, (list, dict)):
            kw.setdefault(name, value)
    return kw


_CURE_FIELDS = {"lr": "new_lr", "init": "new_init", "activation": "new_activation",
                "n_samples": "new_n_samples", "epochs": "new_epochs", "units": "new_units",
                "normalize": "new_normalize"}


def render_explanation(f: Finding) -> str:
    from simtreino.i18n import t
    return t(f.explain_key, **_fill(f))


def render_cure(f: Finding) -> str:
    from simtreino.i18n import t
    return t(f.cure_key, **_fill(f))


@dataclass(frozen=True)
class RunInfo:
    """What the detectors need to know about the run (not its numbers)."""
    activations: tuple            # per layer
    n_params: tuple               # weights + biases per layer (what grad_norm covers)
    units: tuple
    loss: str = "mse"
    chance: float = math.nan      # loss of the best constant prediction (see chance_loss)
    has_val: bool = False
    planned_steps: int = 0        # steps of the planned run (0: unknown)
    steps_per_epoch: int = 1
    batch_size: int = 0           # samples per step (0: unknown)
    lr: float = math.nan          # the learning rate at the start
    optimizer: str = ""
    # what the cures read (from the scenario when there is one)
    init: str = ""                # the model's initialiser
    layer_inits: tuple = ()       # per layer: its own initialiser or ""
    normalize: str = ""
    data_source: str = ""
    n_samples: int | None = None  # generated data: the n_samples setting
    epochs: int = 0
    input_rms: float = math.nan
    batchnorm: tuple = ()         # per layer (empty: none)
    residual: tuple = ()          # per layer (empty: none)

    def has_bn(self, l: int) -> bool:
        return l < len(self.batchnorm) and bool(self.batchnorm[l])

    def has_residual(self, l: int) -> bool:
        return l < len(self.residual) and bool(self.residual[l])

    @property
    def depth(self) -> int:
        return len(self.activations)

    @property
    def hidden(self) -> range:
        return range(len(self.activations) - 1)


@dataclass(frozen=True)
class Observation:
    """One check of a run: plain numbers (tuples hold one value per layer)."""
    step: int
    epoch: int
    loss: float                       # mean batch loss since the previous check (>= an epoch)
    lr: float = math.nan
    grad_norm: tuple = ()
    grad_rms: tuple = ()              # norm / sqrt(parameters): size-free
    weight_rms: tuple = ()
    update: float = math.nan          # |θ - θ_prev| / |θ_prev| per step since the previous check
    moved: float = math.nan           # |θ - θ_0| / |θ_0|
    z_rms: tuple = ()                 # probe: pre-activations (the activation's input)
    a_rms: tuple = ()                 # probe: outputs (what the next layer receives)
    input_rms: float = math.nan
    saturated: tuple = ()             # share of saturated outputs (nan: not sigmoid/tanh)
    dead: tuple = ()                  # share of silent units (nan: not ReLU)
    dead_units: tuple = ()            # count of silent units
    identical: tuple = ()             # True: all units of the layer are the same function
    val_se: float = math.nan          # standard error of the validation loss
    start_loss: float = math.nan      # mean loss of the first batches, when known
    diverged: bool = False
    divergence: str = ""
    penalty: float = 0.0              # the weight penalty inside ``loss`` (same window)


# ------------------------------------------------------------ measurements

def chance_loss(loss: str, targets: np.ndarray, param: float = 0.0) -> float:
    """The loss of the best constant prediction on ``targets`` (the loss's
    target matrix): what a network that learned nothing about its inputs
    reaches. bce / cross_entropy / kl_div: the entropy of the class
    frequencies; mse: the targets' variance; mae: mean distance to the
    median; huber: at the best of mean and median; hinge: at the best of
    -1, 0, +1."""
    t = np.asarray(targets, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    if len(t) == 0:
        return math.nan
    if loss == "bce":
        p = float(np.clip(t.mean(), 1e-12, 1 - 1e-12))
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))
    if loss in ("cross_entropy", "kl_div"):
        p = np.clip(t.mean(axis=0), 1e-12, None)
        p = p / p.sum()
        ce = float(-(t * np.log(p)).sum(axis=1).mean())
        if loss == "kl_div":
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
            return float((ce + ent.sum(axis=1).mean()) / t.shape[1])   # torch 'mean' reduction
        return ce
    if loss == "mse":
        return float(t.var(axis=0).mean())
    if loss == "mae":
        return float(np.abs(t - np.median(t, axis=0)).mean())
    if loss == "huber":
        delta = param or 1.0
        best = math.inf
        for c in (t.mean(axis=0), np.median(t, axis=0)):
            r = np.abs(t - c)
            v = np.where(r < delta, 0.5 * r * r, delta * (r - 0.5 * delta)).mean()
            best = min(best, float(v))
        return best
    if loss == "hinge":
        return float(min(np.maximum(0.0, 1.0 - t * c).mean() for c in (-1.0, 0.0, 1.0)))
    return math.nan


def _activate(name: str, z: np.ndarray, param: float) -> np.ndarray:
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, param * z)
    if name == "elu":
        return np.where(z > 0, z, param * np.expm1(np.minimum(z, 0.0)))
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else math.nan


def sample_losses(loss: str, z: np.ndarray, a: np.ndarray, t: np.ndarray,
                  param: float = 0.0) -> np.ndarray:
    """Each row's loss (the mean of them is the batch loss, as the kernels
    compute it): ``z``/``a`` the output layer's pre-activations/outputs."""
    z, a, t = (np.asarray(v, dtype=np.float64) for v in (z, a, t))
    m = t.shape[1]
    with np.errstate(all="ignore"):
        if loss in ("cross_entropy", "kl_div"):
            zmax = z.max(axis=1, keepdims=True)
            logp = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
            safe = np.where(t > 0, t, 1.0)
            per = np.where(t != 0, t * (np.log(safe) - logp) if loss == "kl_div" else -t * logp,
                           0.0).sum(axis=1)
            return per / m if loss == "kl_div" else per
        r = a - t
        if loss == "mse":
            e = r * r
        elif loss == "mae":
            e = np.abs(r)
        elif loss == "huber":
            d = param or 1.0
            ar = np.abs(r)
            e = np.where(ar < d, 0.5 * r * r, d * (ar - 0.5 * d))
        elif loss == "bce":
            e = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
        elif loss == "hinge":
            e = np.maximum(0.0, 1.0 - t * a)
        else:
            raise ValueError(f"unknown loss {loss!r}")
        return e.mean(axis=1)


def probe_rows(n: int, k: int = PROBE_ROWS) -> np.ndarray:
    """Evenly spaced row indices: the same rows for a run and its replay."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def probe(arch, theta: np.ndarray, x: np.ndarray, keep_output: bool = False, *,
          bn_run: np.ndarray | None = None, bn_eps: float = BN_EPS) -> dict:
    """Forward ``x`` through the network (NumPy, in the dtype of ``x``) and measure each
    layer: RMS of pre-activations (what the activation function receives:
    batch norm's output for a batch-norm layer) and of outputs (what the
    next layer receives: after a residual connection), share of saturated
    outputs (sigmoid/tanh hidden layers), silent units (ReLU hidden layers)
    -- both judged on the activation's own output -- and whether every unit
    of a hidden layer computes the same function.

    Batch norm: with ``bn_run`` None, each unit is normalised with the mean
    and (biased) variance of the rows of ``x``, as a training batch is (the
    probe rows standing for a batch); with ``bn_run`` (``Trainer.bn_run``:
    running means, then running variances) in evaluation mode, as the
    trainer evaluates and predicts. No dropout either way: it is a random
    mask of training steps, not a property of the units."""
    a = np.asarray(x)
    dt = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
    a = a.astype(dt, copy=False)
    L = len(arch.layers)
    U = getattr(arch, "n_bn_units", 0)
    out = {"input_rms": _rms(a), "z_rms": [], "a_rms": [], "saturated": [], "dead": [],
           "dead_units": [], "identical": []}
    for l, s in enumerate(arch.layers):
        w = np.asarray(arch.weight(theta, l), dtype=dt)
        b = np.asarray(arch.bias(theta, l), dtype=dt)
        bn = getattr(s, "batchnorm", False)
        with np.errstate(all="ignore"):
            z = a @ w.T + b
            pre = z
            if bn:
                gamma = np.asarray(arch.gamma(theta, l), dtype=np.float64)
                beta = np.asarray(arch.beta(theta, l), dtype=np.float64)
                zf = z.astype(np.float64)
                if bn_run is None:
                    mean, var = zf.mean(axis=0), zf.var(axis=0)
                else:
                    u = s.bn_unit
                    mean = np.asarray(bn_run[u:u + s.n_out], dtype=np.float64)
                    var = np.asarray(bn_run[U + u:U + u + s.n_out], dtype=np.float64)
                pre = (gamma * ((zf - mean) / np.sqrt(var + bn_eps)) + beta).astype(dt)
            act = _activate(s.activation, pre, s.act_param)
            nxt = act + a if getattr(s, "residual", False) else act
        out["z_rms"].append(_rms(pre))
        out["a_rms"].append(_rms(nxt))
        hidden = l < L - 1
        sat = dead = math.nan
        n_dead = 0
        if hidden and s.activation in BOUNDED and act.size:
            lo, hi = BOUNDED[s.activation]
            m = SAT_MARGIN * (hi - lo)
            sat = float(np.mean((act <= lo + m) | (act >= hi - m)))
        if hidden and s.activation == "relu" and len(act):
            silent = ~(act > 0).any(axis=0)
            n_dead = int(silent.sum())
            dead = n_dead / s.n_out
        out["saturated"].append(sat)
        out["dead"].append(dead)
        out["dead_units"].append(n_dead)
        same = bool(hidden and s.n_out >= 2 and np.all(np.isfinite(w))
                    and np.all(w == w[:1]) and np.all(b == b[0]))
        if same and bn:
            g, bb = arch.gamma(theta, l), arch.beta(theta, l)
            same = bool(np.all(g == g[0]) and np.all(bb == bb[0]))
        out["identical"].append(same)
        a = nxt
    res = {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}
    if keep_output:
        # what the loss reads, as the trainer's kernels hand it over: the
        # output layer's product and its activation
        res["output"] = (z, act)
    return res


def _scenario_info(scenario) -> dict:
    if scenario is None:
        return {}
    m = scenario.model
    data = scenario.data
    info = {"init": m.init.kind,
            "layer_inits": tuple(l.init.kind if l.init is not None else "" for l in m.layers),
            "normalize": data.normalize, "data_source": data.source,
            "epochs": scenario.training.epochs}
    if "n_samples" in (data.params or {}):
        info["n_samples"] = int(data.params["n_samples"])
    return info


# --------------------------------------------------------------- detection

@dataclass
class _Track:
    streak: int = 0
    first_step: int = 0
    first_epoch: int = 0


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x)


def _num(x, digits: int = 6):
    """A number for evidence: a plain float rounded to ``digits`` significant
    digits (ints stay ints; NaN stays NaN)."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    return float(f"{x:.{digits}g}")


def _round_lr(x: float) -> float:
    return float(f"{x:.3g}")


class Diagnostician:
    """Watches one run and raises findings.

    ``Diagnostician.for_trainer(trainer, scenario=...)`` sets one up for a
    trainer (and probes the initial parameters: a poor initialisation is
    named at step 0); ``observe(trainer)`` at every check (``next_check``)
    returns the findings raised by that check. ``findings``: every finding
    so far, in the order raised, each with its latest evidence."""

    def __init__(self, info: RunInfo, every: int | None = None):
        self.info = info
        planned = info.planned_steps
        self.every = int(every) if every else max(1, -(-planned // CHECKS_PER_RUN) if planned else
                                                  info.steps_per_epoch)
        self.observations: list[Observation] = []
        self._findings: dict[str, Finding] = {}
        self._tracks: dict[str, _Track] = {}
        self._loss0 = math.nan
        self._loss0_final = False
        self._best = math.inf          # the lowest smoothed loss so far
        self._last_step = -1
        # trainer-side state (observe)
        self._probe_x = None
        self._theta0 = None
        self._norm0 = math.nan
        self._val = None
        self._theta_prev = None
        self._prev_step = 0

    # ------------------------------------------------------------ set-up
    @classmethod
    def for_trainer(cls, trainer, *, scenario=None, planned_steps: int | None = None,
                    every: int | None = None, probe_at_start: bool = True) -> "Diagnostician":
        arch = trainer.arch
        extra = _scenario_info(scenario)
        if planned_steps is None:
            planned_steps = (extra.get("epochs") or 0) * trainer.steps_per_epoch
        extra.setdefault("epochs", int(planned_steps) // max(1, trainer.steps_per_epoch))
        info = RunInfo(
            activations=tuple(s.activation for s in arch.layers),
            # what the snapshot's grad_norm / weight_norm / bias_norm cover
            # (a batch-norm layer's gamma and beta are not in them)
            n_params=tuple(s.n_out * (s.n_in + 1) for s in arch.layers),
            units=tuple(s.n_out for s in arch.layers),
            batchnorm=tuple(bool(getattr(s, "batchnorm", False)) for s in arch.layers),
            residual=tuple(bool(getattr(s, "residual", False)) for s in arch.layers),
            loss=trainer.loss_name,
            chance=chance_loss(trainer.loss_name, trainer.train.t, trainer.loss_param),
            has_val=trainer.val is not None, planned_steps=int(planned_steps),
            steps_per_epoch=trainer.steps_per_epoch, batch_size=int(trainer.batch_size),
            lr=float(trainer.lr),
            optimizer=trainer.optimizer, **extra)
        d = cls(info, every)
        d._probe_x = np.ascontiguousarray(trainer.train.x[probe_rows(len(trainer.train))])
        if trainer.val is not None:
            rows = probe_rows(len(trainer.val))
            d._val = (np.ascontiguousarray(trainer.val.x[rows]),
                      np.asarray(trainer.val.t[rows], dtype=np.float64), len(trainer.val),
                      trainer.loss_name, trainer.loss_param)
        d._theta0 = np.asarray(trainer.initial_theta, dtype=np.float64).copy()
        d._norm0 = float(np.linalg.norm(d._theta0))
        d._theta_prev = np.asarray(trainer.theta, dtype=np.float64).copy()
        d._prev_step = trainer.step
        d.info = replace(info, input_rms=_rms(d._probe_x))
        if probe_at_start:
            d.observe(trainer)
        return d

    # ------------------------------------------------------------ queries
    @property
    def findings(self) -> list[Finding]:
        return sorted(self._findings.values(), key=lambda f: (f.raised_step, FINDINGS.index(f.name)))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.findings]

    def get(self, name: str) -> Finding | None:
        return self._findings.get(name)

    def next_check(self, step: int) -> int:
        """The first check step after ``step``."""
        k = check_stride(step, self.every, self.info.planned_steps)
        return (step // k + 1) * k

    @property
    def last_step(self) -> int:
        """The step of the latest observation (-1: none yet)."""
        return self._last_step

    # ------------------------------------------------------------ watching
    def observe(self, trainer) -> list[Finding]:
        """Measure the trainer now and update the findings; returns those
        raised by this check. A step already observed (or an earlier one,
        after an undo) is not observed again."""
        if trainer.step <= self._last_step:
            return []
        return self.update(self.measure(trainer), trainer.epoch_history())

    def measure(self, trainer) -> Observation:
        snap = trainer.snapshot()
        step = trainer.step
        steps, losses = trainer.step_history()
        # The loss of a check: the mean batch loss since the previous check,
        # over at least the last epoch (a few batches measure their sampling
        # noise, not the training).
        since = min(self._prev_step, step - self.info.steps_per_epoch)
        sel = losses[steps > since] if len(steps) else losses
        loss = float(np.mean(sel)) if len(sel) else math.nan
        first = losses[steps <= self._start_steps()] if len(steps) and steps[0] == 1 else ()
        start = float(np.mean(first)) if len(first) else math.nan
        theta = np.asarray(trainer.theta, dtype=np.float64)
        moved = update = math.nan
        with np.errstate(all="ignore"):
            if self._theta0 is not None and self._norm0 > 0:
                moved = float(np.linalg.norm(theta - self._theta0)) / self._norm0
            if self._theta_prev is not None and step > self._prev_step:
                np_ = float(np.linalg.norm(self._theta_prev))
                if np_ > 0:
                    update = float(np.linalg.norm(theta - self._theta_prev)) / np_ / (
                        step - self._prev_step)
        self._theta_prev = theta if theta is not trainer.theta else theta.copy()
        self._prev_step = step
        p = probe(trainer.arch, trainer.theta, self._probe_x) if self._probe_x is not None else {}
        history = trainer.epoch_history()
        penalty = _window_penalty(history, since, snap)
        val_se = math.nan
        if (self._val is not None and not snap.diverged
                and _overfit_candidate(history)):
            vx, vt, n_val, loss_name, loss_param = self._val
            # evaluation mode, as the validation loss is computed
            out = probe(trainer.arch, trainer.theta, vx, keep_output=True,
                        bn_run=getattr(trainer, "bn_run", None))["output"]
            per = sample_losses(loss_name, out[0], out[1], vt, loss_param)
            if len(per) > 1 and np.all(np.isfinite(per)):
                val_se = float(per.std(ddof=1) / math.sqrt(n_val))
        info = self.info
        gn = tuple(float(l.grad_norm) for l in snap.layers)
        return Observation(
            step=step, epoch=trainer.epoch, loss=loss, lr=float(snap.lr), grad_norm=gn,
            grad_rms=tuple(g / math.sqrt(n) for g, n in zip(gn, info.n_params)),
            weight_rms=tuple(
                math.sqrt((l.weight_norm ** 2 + l.bias_norm ** 2) / n)
                for l, n in zip(snap.layers, info.n_params)),
            update=update, moved=moved, val_se=val_se, start_loss=start,
            diverged=snap.diverged,
            divergence=snap.divergence, penalty=penalty,
            **{k: p[k] for k in ("z_rms", "a_rms", "input_rms", "saturated", "dead",
                                 "dead_units", "identical") if k in p})

    def update(self, obs: Observation, history: dict | None = None) -> list[Finding]:
        """Detection proper: one observation (and the epoch history so far:
        columns epoch, loss, val_loss, ...). Returns the findings raised now."""
        if obs.step <= self._last_step:
            return []
        self._last_step = obs.step
        self.observations.append(obs)
        # where the loss started: the first batches' mean (revised until they are all in)
        if not self._loss0_final:
            if _finite(obs.start_loss):
                self._loss0 = obs.start_loss
            elif not math.isfinite(self._loss0) and _finite(obs.loss):
                self._loss0 = obs.loss
            self._loss0_final = math.isfinite(self._loss0) and obs.step >= self._start_steps()
        sm = self._smoothed()
        full = sum(_finite(o.loss) for o in self.observations[-PERSIST:]) == PERSIST
        if _finite(sm) and full and obs.step >= self.info.steps_per_epoch:
            self._best = min(self._best, sm)
        history = history or {}
        new = []
        for name in FINDINGS:
            hit = getattr(self, f"_detect_{name}")(obs, history)
            f = self._track(name, obs, hit)
            if f is not None:
                new.append(f)
        return new

    def _start_steps(self) -> int:
        """The first steps whose batch losses tell where the loss started:
        ``START_SAMPLES`` samples' worth, at most an epoch."""
        b = self.info.batch_size
        k = -(-START_SAMPLES // b) if b > 0 else self.info.steps_per_epoch
        return max(1, min(self.info.steps_per_epoch, k))

    def _scale(self) -> float:
        """The loss scale of the problem: the chance-level loss (else the first loss)."""
        c = self.info.chance
        return c if _finite(c) and c > 0 else self._loss0

    def _smoothed(self) -> float:
        """The loss now: the median of the last ``PERSIST`` checks' losses
        (a lucky or unlucky batch moves it little)."""
        vals = [o.loss for o in self.observations[-PERSIST:] if _finite(o.loss)]
        return float(np.median(vals)) if vals else math.nan

    def _track(self, name: str, obs: Observation, hit) -> Finding | None:
        """Count the streak; raise at the required length; keep the latest
        evidence. ``hit``: None, or (layer, evidence, variant, needed,
        first) -- ``needed`` checks in a row (1: at once), ``first``: an
        explicit (step, epoch) where it began (per-epoch detectors)."""
        tr = self._tracks.setdefault(name, _Track())
        if hit is None:
            tr.streak = 0
            return None
        layer, evidence, variant, needed, first = hit
        if tr.streak == 0:
            tr.first_step, tr.first_epoch = obs.step, obs.epoch
        tr.streak += 1
        evidence = {k: _num(v) if not isinstance(v, (list, tuple)) else [_num(x) for x in v]
                    for k, v in evidence.items()}
        suffix = f".{variant}" if variant else ""
        old = self._findings.get(name)
        if old is not None:
            # the layer named when raised stays; the evidence follows it
            if layer is None or old.layer is None or layer == old.layer:
                self._findings[name] = replace(old, evidence=evidence, last_step=obs.step,
                                               explain_key=f"diag.{name}.explain{suffix}")
            return None
        if tr.streak < needed:
            return None
        step, epoch = first if first is not None else (tr.first_step, tr.first_epoch)
        cure_variant, cure = self._cure(name, layer, evidence)
        f = Finding(name=name, step=int(step), epoch=int(epoch), layer=layer, evidence=evidence,
                    explain_key=f"diag.{name}.explain{suffix}",
                    cure_key=f"diag.{name}.cure" + (f".{cure_variant}" if cure_variant else ""),
                    cure=cure, raised_step=obs.step, last_step=obs.step)
        self._findings[name] = f
        return f

    # --------------------------------------------------------- detectors
    # Each returns None or (layer, evidence, variant, needed, first).

    def _detect_poor_initialisation(self, obs, history):
        # Judged on the parameters as they start: the first observation.
        if len(self.observations) != 1 or obs.step != self.observations[0].step:
            return None
        info = self.info
        for l in info.hidden:
            if l < len(obs.identical) and obs.identical[l]:
                return (l, {"units": info.units[l], "weight_rms": obs.weight_rms[l]
                            if l < len(obs.weight_rms) else math.nan}, "symmetric", 1, None)
        if not obs.z_rms or not info.hidden:
            return None
        # The scale of the signal after each hidden layer relative to a
        # well-initialised network: the running product of the gains.
        gains, cum, prev, total = [], [], obs.input_rms, 1.0
        for l in info.hidden:
            if info.has_residual(l):
                # the input passes unchanged beside the layer: the signal's
                # gain is its output against its input (about 1 to 1.5 when
                # well initialised, whatever the branch; a branch starting
                # near 0 is a choice, not a fault)
                g = obs.a_rms[l] / prev if prev and prev > 0 else math.nan
            elif info.has_bn(l):
                # normalised: the activation's input has the scale gamma and
                # beta give it (RMS 1 at the start), whatever came before
                g = obs.z_rms[l] / total if total > 0 else math.nan
            else:
                ideal = IDEAL_GAIN.get(info.activations[l], 1.0)
                g = obs.z_rms[l] / prev if prev and prev > 0 else math.nan
                g = g / ideal if math.isfinite(g) else math.nan
            gains.append(g)
            total = total * g if math.isfinite(g) else total
            cum.append(total)
            prev = obs.a_rms[l]
        out = [i for i, c in enumerate(cum) if c >= INIT_BAND or c <= 1 / INIT_BAND]
        if not out:
            return None
        l = out[0]
        variant = "large" if cum[l] > 1 else "small"
        ev = {"gain": cum[l], "total_gain": cum[-1], "z_rms": obs.z_rms[l], "per_layer": gains}
        return l, ev, variant, 1, None

    def _depth_ratio(self, obs):
        info = self.info
        if info.depth < MIN_DEPTH or len(obs.grad_rms) != info.depth:
            return None
        first, last = obs.grad_rms[0], obs.grad_rms[-1]
        if not (_finite(first) and _finite(last)) or last <= 0:
            return None
        if any(obs.identical[:-1]) if obs.identical else False:
            return None    # a symmetric network: poor initialisation says it
        return first / last

    def _detect_exploding_gradients(self, obs, history):
        info = self.info
        r = self._depth_ratio(obs)
        if r is not None and r > EXPLODE_RATIO:
            rel = [g / obs.grad_rms[-1] for g in obs.grad_rms]
            return 0, {"ratio": r, "first": obs.grad_norm[0], "last": obs.grad_norm[-1],
                       "per_layer": rel, "factor": r ** (1 / (info.depth - 1))}, "depth", PERSIST, None
        total = _global(obs.grad_norm)
        first = next((_global(o.grad_norm) for o in self.observations
                      if o.step > 0 and _finite(_global(o.grad_norm))), math.nan)
        if _finite(total) and _finite(first) and first > 0 and total > EXPLODE_GROWTH * first:
            return None, {"growth": total / first, "norm": total, "first_norm": first}, \
                "growth", PERSIST, None
        return None

    def _detect_vanishing_gradients(self, obs, history):
        info = self.info
        r = self._depth_ratio(obs)
        if r is None or r >= VANISH_RATIO:
            return None
        progress = self._progress(self._smoothed())
        if _finite(progress) and progress >= SAT_PROGRESS:
            return None      # learned: small early gradients are a network settling
        rel = [g / obs.grad_rms[-1] for g in obs.grad_rms]
        return 0, {"ratio": r, "first": obs.grad_norm[0], "last": obs.grad_norm[-1],
                   "per_layer": rel, "factor": r ** (1 / (info.depth - 1)),
                   "layers": info.depth}, "", PERSIST, None

    def _detect_dead_relus(self, obs, history):
        worst = None
        for l in self.info.hidden:
            if l >= len(obs.dead) or not _finite(obs.dead[l]):
                continue
            if self.info.units[l] >= 2 and obs.dead[l] >= DEAD_FRACTION:
                if worst is None or obs.dead[l] > obs.dead[worst]:
                    worst = l
        if worst is None:
            return None
        return worst, {"fraction": obs.dead[worst], "dead": obs.dead_units[worst],
                       "units": self.info.units[worst]}, "", PERSIST, None

    def _progress(self, loss: float) -> float:
        """Share of the chance-level loss removed (pseudo-R²)."""
        c = self.info.chance
        if not (_finite(c) and c > 0 and _finite(loss)):
            return math.nan
        return 1.0 - loss / c

    def _detect_saturated_units(self, obs, history):
        worst = None
        for l in self.info.hidden:
            if l >= len(obs.saturated) or not _finite(obs.saturated[l]):
                continue
            if obs.saturated[l] >= SAT_FRACTION and (worst is None or
                                                      obs.saturated[l] > obs.saturated[worst]):
                worst = l
        if worst is None:
            return None
        progress = self._progress(obs.loss)
        if _finite(progress) and progress >= SAT_PROGRESS:
            return None      # saturated but learning: confident units, not a problem
        return worst, {"fraction": obs.saturated[worst], "z_rms": obs.z_rms[worst],
                       "progress": max(progress, 0.0) if _finite(progress) else 0.0}, "", \
            PERSIST, None

    def _detect_lr_too_high(self, obs, history):
        lr = obs.lr
        if obs.diverged:
            return None, {"lr": lr, "loss0": self._loss0}, \
                ("nan" if obs.divergence == "nan" else "exploded"), 1, None
        scale, cur = self._scale(), self._smoothed()
        best = min(self._best, self._loss0) if _finite(self._loss0) else self._best
        if not (_finite(scale) and scale > 0 and _finite(cur) and _finite(best)):
            return None
        if cur > best + RISE_FRACTION * scale and cur > RISE_FACTOR * best:
            return None, {"lr": lr, "loss": cur, "best": best, "loss0": self._loss0}, \
                "rising", PERSIST, None
        window = [o.loss for o in self.observations[-(PERSIST * 2 + 1):]]
        if len(window) >= PERSIST * 2 + 1 and all(_finite(v) for v in window):
            steps = np.abs(np.diff(window))
            amplitude = float(steps.mean())
            path, net = float(steps.sum()), window[0] - window[-1]
            if amplitude >= OSC_AMPLITUDE * scale and path >= OSC_PATH * max(net, 0.0):
                return None, {"lr": lr, "amplitude": amplitude, "loss": cur,
                              "loss0": self._loss0}, "oscillating", PERSIST, None
        return None

    def _detect_lr_too_low(self, obs, history):
        if any(n in self._findings for n in ("poor_initialisation", "vanishing_gradients",
                                              "dead_relus", "saturated_units", "lr_too_high")):
            return None
        info = self.info
        l0, scale = self._loss0, self._scale()
        if not (_finite(l0) and _finite(scale) and scale > 0) or info.planned_steps <= 0:
            return None
        if obs.step < LOW_AFTER * info.planned_steps:
            return None
        if not _finite(self._best):
            return None
        fell = max(0.0, l0 - self._best) / scale
        if fell >= LOW_PROGRESS:
            return None
        if not (_finite(obs.update) and obs.update < LOW_UPDATE):
            return None
        return None, {"lr": obs.lr, "fell": fell, "update": obs.update, "loss": self._smoothed(),
                      "loss0": l0, "share": obs.step / info.planned_steps}, "", PERSIST, None

    def _detect_overfitting(self, obs, history):
        if not self.info.has_val:
            return None
        val = np.asarray(history.get("val_loss", ()), dtype=float)
        train = np.asarray(history.get("loss", ()), dtype=float)
        n = len(val)
        if n < SMOOTH_EPOCHS or not (np.all(np.isfinite(val))
                                                      and np.all(np.isfinite(train))):
            return None
        sv, st = _running_median(val, SMOOTH_EPOCHS), _running_median(train, SMOOTH_EPOCHS)
        best = np.minimum.accumulate(sv)
        arg = _running_argmin(sv)
        # Prechelt's generalisation loss against the best epoch so far, a
        # rise beyond the noise of the validation estimate, and a training
        # loss still below where it was at that best epoch.
        gl = sv / best - 1.0
        se = obs.val_se if _finite(obs.val_se) else 0.0
        hit = (gl >= GL_ALPHA) & (sv - best >= SE_FACTOR * se) & (st < st[arg])
        need = max(PERSIST_EPOCHS, math.ceil(PERSIST_SHARE * self.info.epochs))
        if n < need or not hit[-need:].all():
            return None
        start = n - 1
        while start > 0 and hit[start - 1]:
            start -= 1
        epochs = history.get("epoch")
        steps = history.get("step")
        first_epoch = int(epochs[start]) if epochs is not None and len(epochs) == n else start + 1
        first_step = int(steps[start]) if steps is not None and len(steps) == n else obs.step
        b = int(arg[-1])
        best_epoch = int(epochs[b]) if epochs is not None and len(epochs) == n else b + 1
        return None, {"gl": float(gl[-1]), "val_loss": float(sv[-1]), "best_val": float(best[-1]),
                      "best_epoch": best_epoch, "loss": float(st[-1]),
                      "loss_at_best": float(st[b]), "se": se}, "", 1, (first_step, first_epoch)

    def _detect_underfitting(self, obs, history):
        info = self.info
        if any(n in self._findings for n in ("poor_initialisation", "vanishing_gradients",
                                              "dead_relus", "saturated_units", "lr_too_high",
                                              "lr_too_low")):
            return None
        c = info.chance
        if not (_finite(c) and c > 0) or info.planned_steps <= 0:
            return None
        if obs.step < UNDERFIT_AFTER * info.planned_steps:
            return None
        w = max(PERSIST, int(round(UNDERFIT_WINDOW * CHECKS_PER_RUN)))
        # the data loss: a weight penalty in the training loss is no misfit
        window = [_data_loss(o) for o in self.observations[-w:]]
        if len(window) < w or not all(_finite(v) for v in window):
            return None
        loss = window[-1]
        progress = self._progress(loss)
        if progress >= UNDERFIT_R2:
            return None
        change = (max(window) - min(window)) / c
        if change >= UNDERFIT_FLAT:
            return None
        ev = {"loss": loss, "chance": c, "progress": max(progress, 0.0), "change": change}
        if _finite(obs.penalty) and obs.penalty > 0:
            ev["penalty"] = obs.penalty
        if info.has_val:
            val = np.asarray(history.get("val_loss", ()), dtype=float)
            if len(val) == 0 or not math.isfinite(val[-1]):
                return None
            vp = 1.0 - val[-1] / c
            if vp >= UNDERFIT_R2:
                return None
            ev["val_loss"] = float(val[-1])
        return None, ev, "", PERSIST, None

    # --------------------------------------------------------------- cures
    def _cure(self, name: str, layer, ev: dict) -> tuple[str, dict]:
        """(variant of the cure message, scenario changes)."""
        info = self.info
        hidden = list(info.hidden)
        lr = info.lr
        acts = info.activations
        relu_net = bool(hidden) and all(acts[l] in RELU_LIKE for l in hidden)
        good_init = "he_uniform" if relu_net else "xavier_uniform"
        # the learning rate in force now (it may have been changed mid-run)
        now = self.observations[-1].lr if self.observations else lr
        cur = ev.get("lr", now)
        cur = cur if _finite(cur) and cur > 0 else lr
        if name == "lr_too_high":
            return "", {"optimizer.lr": _round_lr(cur / 10)}
        if name == "lr_too_low":
            return "", {"optimizer.lr": _round_lr(cur * 10)}
        if name == "vanishing_gradients":
            cure = {f"model.layers[{l}].activation": "relu" for l in hidden
                    if acts[l] not in RELU_LIKE}
            cure["model.init"] = "he_uniform"
            return ("" if len(cure) > 1 else "init"), cure
        if name == "exploding_gradients":
            if "growth" in ev:
                return "lr", {"optimizer.lr": _round_lr(cur / 10)}
            return "init", {"model.init": good_init}
        if name == "poor_initialisation":
            return "", {"model.init": good_init}
        if name == "dead_relus":
            cure = {f"model.layers[{l}].activation": "leaky_relu" for l in hidden
                    if acts[l] == "relu"}
            return "", cure
        if name == "saturated_units":
            if info.normalize == "none" and _finite(info.input_rms) and info.input_rms > 3:
                return "normalize", {"data.normalize": "standard"}
            inits = {info.init, *[i for i in info.layer_inits if i]} - {""}
            if inits and inits <= {"xavier_uniform", "xavier_normal", "lecun_normal"}:
                return "lr", {"optimizer.lr": _round_lr(cur / 10)}
            return "init", {"model.init": "xavier_uniform"}
        if name == "overfitting":
            if info.n_samples is not None:
                return "data", {"data.n_samples": info.n_samples * 4}
            best = ev.get("best_epoch")
            return "epochs", ({"training.epochs": int(best)} if best else {})
        if name == "underfitting":
            if not hidden:
                return "hidden", {"model.layers": [
                    {"units": 16, "activation": "tanh"},
                    {"units": info.units[-1], "activation": acts[-1]}]}
            return "wider", {f"model.layers[{l}].units": info.units[l] * 2 for l in hidden}
        return "", {}


def _data_loss(o: Observation) -> float:
    """An observation's loss without the weight penalty it holds."""
    return o.loss - o.penalty if _finite(o.penalty) else o.loss


def _window_penalty(history: dict, since: int, snap) -> float:
    """The weight penalty inside a check's loss (the mean batch loss over
    the steps after ``since``): the mean of the logged epochs' penalties
    that end in that window (the penalty moves slowly), else the last
    batch's. 0 when no penalty has been on."""
    pen = np.asarray(history.get("penalty", ()), dtype=float)
    steps = np.asarray(history.get("step", ()), dtype=float)
    if len(pen) and len(pen) == len(steps):
        sel = pen[steps > since]
        if len(sel) and np.all(np.isfinite(sel)):
            return float(sel.mean())
    last = getattr(snap, "last_penalty", math.nan)
    return float(last) if _finite(last) else 0.0


def _overfit_candidate(history: dict) -> bool:
    """The cheap part of the overfitting test (is the smoothed validation
    loss ``GL_ALPHA`` above its best?): only then is its noise measured."""
    val = np.asarray(history.get("val_loss", ()), dtype=float)
    if len(val) < SMOOTH_EPOCHS or not np.all(np.isfinite(val)):
        return False
    sv = _running_median(val, SMOOTH_EPOCHS)
    return bool(sv[-1] >= (1 + GL_ALPHA) * sv.min())


def _global(norms) -> float:
    if not norms:
        return math.nan
    return math.sqrt(sum(g * g for g in norms))


def _running_median(x: np.ndarray, k: int) -> np.ndarray:
    """Median of each value and the k-1 before it (the first values: of
    what there is)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0 or k <= 1:
        return x.copy()
    out = np.empty(n)
    head = min(k - 1, n)
    for i in range(head):
        out[i] = statistics.median(x[: i + 1].tolist())
    if n >= k:
        out[k - 1:] = np.median(np.lib.stride_tricks.sliding_window_view(x, k), axis=1)
    return out


def _running_argmin(x: np.ndarray) -> np.ndarray:
    """Index of the smallest value so far (the first one on ties)."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    before = np.concatenate([[np.inf], np.minimum.accumulate(x)[:-1]])
    idx = np.where(x < before, np.arange(len(x)), 0)
    return np.maximum.accumulate(idx)
