"""The loss landscape of a real network: 2-D and 1-D slices of its loss.

A slice evaluates the loss ``L(center + α d1 + β d2)`` (see below) on a grid of
(α, β), where ``center`` is the current parameter vector and ``d1``, ``d2``
are two directions in parameter space (flat vectors with the layout of
``theta``):

- *random* directions with filter-wise normalisation (Li, Xu, Taylor, Studer,
  Goldstein 2018, "Visualizing the Loss Landscape of Neural Nets", §4):
  each row of a direction's weight matrix (one output unit's incoming
  weights, the dense layer's "filter") is rescaled to the norm of the same
  row of ``theta``, so α = 1 is a step as large as the weights themselves,
  whatever the scale of each layer. Bias entries are set to 0, as Li et
  al.'s ``ignore='biasbn'``: a bias has one number per unit, so it has no
  "filter" whose norm could set its scale, and moving it by the size of
  itself distorts small-bias networks.
  Batch normalisation's gamma and beta are set to 0 as well, again as
  ``ignore='biasbn'`` (whose rule is "every parameter with one number per
  unit"): they are per-unit vectors like biases, with no filter to take a
  scale from, so a random slice moves the weights (and through them the
  pre-normalisation products) and leaves each unit's learned scale and
  shift where training put them. (A BN layer's output does not depend on
  the scale of its weight rows in training mode, which is exactly what
  filter normalisation compensates; in evaluation mode, with the running
  statistics held fixed, it does, and the slice shows that.)
- *PCA* directions (Li et al., §7): the top two principal directions of the
  trajectory's displacements ``θ_i − center``; the plane through ``center``
  that holds as much of the path as any plane can. Every parameter counts,
  gamma and beta included (training moves them, and the path shows it).

What the value at a point is: the loss the optimizer minimises, evaluated
as the trainer's ``evaluate`` evaluates -- the data loss in evaluation mode
(batch normalisation with the running statistics, no dropout) -- plus the
weight penalty ``l1·Σ|w| + l2·Σw²`` over the point's weights when one is on
(``regularization.weight_penalty``): so the centre of a slice equals
``trainer.evaluate(split)[0] + weight_penalty(theta)``, the objective.
The running statistics and the penalty's coefficients are part of the
problem (``SurfaceProblem.bn_run``, ``l1``, ``l2``), copied from the
trainer when the problem is made: the statistics are held FIXED over the
whole slice (they are not a function of the parameters; batch norm in
evaluation mode is a per-unit affine map), and a live caller refreshes
them together with its copy of ``theta`` (``with_trainer_state``).

Orientation of a grid: ``losses[j, i] = L(center + alphas[i] d1 + betas[j] d2)``.
Columns follow α (left to right), rows follow β ascending, so row 0 is the
BOTTOM of a plot with β pointing up; a text heatmap whose row 0 is at the
top draws ``losses[::-1]``.

Speed: the first layer's product is linear in its parameters, so for every
grid point ``X (W + αD1 + βD2)ᵀ + (b + αe1 + βe2) = Z0 + α Z1 + β Z2``
(batch norm, when the layer has it, comes after this product): the three
products (the expensive ones: 784 inputs on MNIST) are computed once, and
each grid point only combines them and runs the later, smaller layers --
exact up to rounding, ~10x fewer operations on a 784-128-64-10 MLP. The
grid points are shared out between Numba's threads (``prange``), each
running hand-written products over chunks of samples; products skip the
zero inputs (ReLU outputs, blank pixels). No BLAS is called: BLAS inside
``prange`` oversubscribes the cores (see ``core/jit.py``), and measured on
the 2-core machines, a slice calling multi-threaded BLAS next to a training
thread that calls it too slowed both to a crawl (benchmarks/bench_surface.py,
part c). ``strategy='blas'`` keeps that variant for comparison, 'single'
runs everything in the calling thread (what 'auto' picks for tiny grids,
where waking threads costs more than it saves).

Threads: nothing here touches a trainer's buffers or parameters. A
``SurfaceProblem`` holds copies of the evaluation data, every call
allocates its own scratch memory and works on its own copies of the
vectors, so a slice can be computed in a background thread while the
trainer keeps training in another -- provided the caller hands over a COPY
of ``theta`` taken in the training thread (a copy taken while a step writes
it could mix two steps), and, for a network with batch normalisation or a
penalty changed during the run, a problem refreshed there too
(``problem.with_trainer_state(trainer)``). Parallel kernels are entered by one thread at a
time (a module lock): Numba's fallback 'workqueue' threading layer aborts
the process when two threads enter it at once, so two slices asked for
together run one after the other.

Memory: a slice keeps three ``(samples, first-layer units)`` arrays plus,
per thread, a chunk of 128 samples' activations and one copy of the later
layers' weights; ``max_samples`` bounds the first.
"""

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numba
import numpy as np

from simtreino.core.activations import activate
from simtreino.core.engine import matmul_nt
from simtreino.core.jit import kernel, kernel_parallel
from simtreino.core.layers import BN_EPS
from simtreino.core.losses import LOSSES, loss_and_delta
from simtreino.core.network import L_BN, L_BN_UNIT, L_RES, Architecture
from simtreino.core.regularization import R_BN_EPS, R_L1, R_L2, REGULARIZATION

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "TRAJECTORY_BUDGET_BYTES",
    "SurfaceProblem",
    "SurfaceSlice",
    "Trajectory",
    "TrajectoryTooShort",
    "loss_grid",
    "loss_line",
    "make_problem",
    "pca_directions",
    "problem_from_trainer",
    "project",
    "random_directions",
    "surface_slice",
    "trajectory_capacity",
]

DEFAULT_MAX_SAMPLES = 1000
TRAJECTORY_BUDGET_BYTES = 64 * 2**20
# More points than this draw no better path on a terminal.
TRAJECTORY_MAX_POINTS = 4096
# The smallest store: PCA needs 3 points, and capacities are even.
TRAJECTORY_MIN_POINTS = 4

# Columns of the trajectory's displacements the Gram kernel copies at once
# (transposed, float64): a buffer that stays in the core's cache. A
# multiple of 4 (see _gram).
COLUMN_BLOCK = 256

# PCA uses at most this many trajectory points (see pca_directions).
PCA_MAX_POINTS = 64

# A second principal direction carrying less than this fraction of the
# first one's singular value is rounding noise, not a direction.
PCA_RANK_RTOL = 1e-6

# Only one slice at a time enters Numba's thread pool (see module notes).
_SLICE_LOCK = threading.Lock()


# ------------------------------------------------------------- the problem
@dataclass(frozen=True, eq=False)
class SurfaceProblem:
    """What evaluating the loss at any parameter vector needs, and nothing
    of a trainer's live state: the architecture, the loss, private copies of
    the evaluation inputs ``x`` (n, features) and targets ``t`` (n, outputs)
    in the network's dtype, the weight penalty's coefficients ``l1``/``l2``
    (0: off) and, for a network with batch normalisation, a private copy of
    the running statistics ``bn_run`` (running means, then running
    variances, as ``Trainer.bn_run``; empty without batch norm) with the
    ``bn_eps`` they are used with. The statistics are constants of the
    surface: every point is evaluated with them."""
    arch: Architecture
    x: np.ndarray
    t: np.ndarray
    loss: str
    loss_param: float
    dtype: np.dtype
    l1: float = 0.0
    l2: float = 0.0
    bn_run: np.ndarray | None = None
    bn_eps: float = BN_EPS

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    @property
    def n_params(self) -> int:
        return self.arch.n_params

    @property
    def loss_kind(self) -> int:
        return LOSSES[self.loss]

    @property
    def penalty_on(self) -> bool:
        return self.l1 > 0 or self.l2 > 0

    def with_trainer_state(self, trainer) -> "SurfaceProblem":
        """The same problem (the same data arrays, not copied again) with
        the trainer's CURRENT running statistics and penalty coefficients.
        Call it in the thread that trains, next to taking the copy of
        ``theta`` the slice is computed around: the statistics change at
        every training step, and l1/l2 may be changed during a run."""
        return replace(self, **_trainer_state(trainer, self.arch, self.dtype))


def _trainer_state(trainer, arch: Architecture, dtype) -> dict:
    return {"l1": float(trainer.reg[R_L1]), "l2": float(trainer.reg[R_L2]),
            "bn_run": _bn_copy(arch, trainer.bn_run, dtype),
            "bn_eps": float(trainer.reg[R_BN_EPS])}


def _bn_copy(arch: Architecture, bn_run, dtype) -> np.ndarray:
    """A private read-only copy of running statistics for ``arch``."""
    U = arch.n_bn_units
    if bn_run is None:
        if U:
            raise ValueError("a network with batch normalisation needs its running statistics "
                             "(bn_run: the trainer's running means, then running variances)")
        bn_run = np.zeros(0)
    v = np.array(bn_run, dtype=dtype, order="C", copy=True).reshape(-1)
    if v.shape != (2 * U,):
        raise ValueError(f"bn_run must have shape ({2 * U},) (running means, then running "
                         f"variances of {U} batch-norm units), got {v.shape}")
    v.setflags(write=False)
    return v


def make_problem(arch: Architecture, x, t, *, loss: str, loss_param: float = 0.0,
                 dtype=np.float64, max_samples: int | None = DEFAULT_MAX_SAMPLES,
                 seed: int = 0, l1: float = 0.0, l2: float = 0.0, bn_run=None,
                 bn_eps: float = BN_EPS) -> SurfaceProblem:
    """A problem on the rows of (x, t): all of them, or a random subset of
    ``max_samples`` rows drawn with ``seed`` (kept in their original order)
    when there are more. ``max_samples=None`` keeps every row. ``l1``,
    ``l2``: the weight penalty added to the loss (the trainer's); ``bn_run``:
    the running statistics of a network with batch normalisation (required
    for one: there is no right default for a trained network)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}")
    l1 = REGULARIZATION["l1"].check(l1)
    l2 = REGULARIZATION["l2"].check(l2)
    x = np.asarray(x)
    t = np.asarray(t)
    if x.ndim != 2 or x.shape[1] != arch.n_inputs:
        raise ValueError(f"x must be (n, {arch.n_inputs}), got {x.shape}")
    t = t.reshape(len(t), -1)
    if len(t) != len(x) or t.shape[1] != arch.n_outputs:
        raise ValueError(f"t must be ({len(x)}, {arch.n_outputs}), got {t.shape}")
    if len(x) == 0:
        raise ValueError("no samples to evaluate the loss on")
    dtype = np.dtype(dtype)
    bn = _bn_copy(arch, bn_run, dtype)
    rows = _sample_rows(len(x), max_samples, seed)
    # Fancy indexing copies; ascontiguousarray + copy covers the slice case.
    xs = np.array(x[rows], dtype=dtype, order="C", copy=True)
    ts = np.array(t[rows], dtype=dtype, order="C", copy=True)
    xs.setflags(write=False)
    ts.setflags(write=False)
    return SurfaceProblem(arch, xs, ts, loss, float(loss_param), dtype, float(l1), float(l2),
                          bn, float(bn_eps))


def problem_from_trainer(trainer, max_samples: int | None = DEFAULT_MAX_SAMPLES,
                         seed: int = 0, split: str = "train") -> SurfaceProblem:
    """The loss surface of ``trainer``'s training set (or ``split='val'``),
    on at most ``max_samples`` rows, with the trainer's weight penalty and
    its batch-norm running statistics as they are NOW (see
    ``SurfaceProblem.with_trainer_state`` to refresh them later). Reads the
    data once (it never changes during training) and nothing else of the
    trainer afterwards."""
    data = trainer.train if split == "train" else trainer.val
    if data is None:
        raise ValueError(f"the trainer has no {split!r} split")
    return make_problem(trainer.arch, data.x, data.t, loss=trainer.loss_name,
                        loss_param=trainer.loss_param, dtype=trainer.dtype,
                        max_samples=max_samples, seed=seed,
                        **_trainer_state(trainer, trainer.arch, trainer.dtype))


def _sample_rows(n: int, max_samples: int | None, seed: int) -> np.ndarray:
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    if max_samples < 1:
        raise ValueError("max_samples must be at least 1")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(max_samples), replace=False))


def _arch_of(problem_or_arch) -> Architecture:
    return problem_or_arch.arch if isinstance(problem_or_arch, SurfaceProblem) else problem_or_arch


# -------------------------------------------------------------- directions
def random_directions(problem_or_arch, theta: np.ndarray, seed: int = 0):
    """Two filter-normalised Gaussian directions (d1, d2) for ``theta``.

    Each is drawn from N(0, 1) per parameter (d1 first, from
    ``numpy.random.default_rng(seed)``), then every row of every weight
    matrix is rescaled to the norm of the same row of ``theta``; biases and
    batch norm's gamma and beta are 0. A row of ``theta`` that is all zeros gets a zero row. Returned in
    ``theta``'s dtype."""
    arch = _arch_of(problem_or_arch)
    theta = np.asarray(theta)
    _check_vector(arch, theta, "theta")
    rng = np.random.default_rng(seed)
    return tuple(_filter_normalised(arch, theta, rng.standard_normal(arch.n_params))
                 for _ in range(2))


def _filter_normalised(arch: Architecture, theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    ref = theta.astype(np.float64)
    for i, s in enumerate(arch.layers):
        w_d = arch.weight(d, i)
        target = np.linalg.norm(arch.weight(ref, i), axis=1)
        norm = np.linalg.norm(w_d, axis=1)
        scale = np.divide(target, norm, out=np.zeros_like(norm), where=norm > 0)
        w_d *= scale[:, None]
        # one number per unit: no filter to take a scale from (Li et al.'s
        # ignore='biasbn'; see the module's notes)
        arch.bias(d, i)[...] = 0.0
        if s.batchnorm:
            arch.gamma(d, i)[...] = 0.0
            arch.beta(d, i)[...] = 0.0
    return d.astype(theta.dtype)


class TrajectoryTooShort(ValueError):
    """PCA of a trajectory that does not span a plane yet (fewer than three
    points, or all displacements along one line)."""


def pca_directions(points: np.ndarray, center: np.ndarray, *,
                   max_points: int | None = PCA_MAX_POINTS):
    """(d1, d2, explained): the top two principal directions of the rows
    ``points[i] − center`` and the fraction of their total squared length
    each one carries.

    With more than ``max_points`` rows, ``max_points`` of them evenly spread
    over the path (the first and the last included) are used: the plane is
    set by the large-scale shape of the path, and the cost grows with the
    square of the number of points (None: all of them).

    The displacements are not re-centred on their mean: the plane must pass
    through ``center``, where the slice is drawn, so this is the plane
    through ``center`` closest to the path (least squares). (Li et al.'s
    code fits sklearn's PCA, which centres on the mean of the path.) Every
    parameter counts, biases too. d1 and d2 are orthonormal float64
    vectors, signed so that the first point lies at α ≤ 0 and β ≤ 0 (the
    path runs towards +α, +β).

    Raises TrajectoryTooShort (a ValueError) with fewer than 3 points or
    when the displacements span less than a plane.

    Computed through the small Gram matrix of the displacements (k × k for
    k points) by compiled loops that read the points where they are (a
    float64 copy of 150 MNIST-sized points would take 130 MB) and call no
    BLAS (whose threads collapse next to a training thread's)."""
    points = np.asarray(points)
    center = np.asarray(center)
    if points.ndim != 2 or points.shape[1] != center.shape[0]:
        raise ValueError(f"points must be (k, {center.shape[0]}), got {points.shape}")
    k = points.shape[0]
    if k < 3:
        raise TrajectoryTooShort(f"PCA directions need at least 3 trajectory points, got {k}")
    rows = np.arange(k)
    if max_points is not None and k > max_points:
        rows = _evenly_spread(k, max(3, int(max_points)))
    points = np.ascontiguousarray(points)
    center = np.ascontiguousarray(center)
    gram = np.zeros((len(rows), len(rows)))
    _gram(points, rows, center, gram)
    eig, vec = np.linalg.eigh(gram)           # ascending
    eig = np.clip(eig[::-1], 0.0, None)
    vec = vec[:, ::-1]
    s = np.sqrt(eig)
    if s[0] == 0.0 or s[1] <= PCA_RANK_RTOL * s[0]:
        raise TrajectoryTooShort("the trajectory does not span a plane yet "
                                 "(all points lie on one line through the centre)")
    d = np.zeros((2, points.shape[1]))
    coef = np.ascontiguousarray(vec[:, :2].T / s[:2, None])   # d_r = Mᵀ u_r / s_r
    _combine_displacements(points, rows, center, coef, d)
    d1 = d[0] / np.linalg.norm(d[0])
    d2 = d[1] - (d[1] @ d1) * d1              # exact orthogonality despite rounding
    d2 /= np.linalg.norm(d2)
    first = points[0].astype(np.float64) - center
    d1, d2 = (_sign_towards(first, v) for v in (d1, d2))
    explained = eig[:2] / eig.sum()
    return d1, d2, explained


def _evenly_spread(k: int, n: int) -> np.ndarray:
    """n indices out of range(k), evenly spread, 0 and k - 1 included."""
    return np.unique(np.round(np.linspace(0, k - 1, n)).astype(np.int64))


def _sign_towards(first: np.ndarray, d: np.ndarray) -> np.ndarray:
    """d or −d, whichever puts the first point at a coordinate ≤ 0; when the
    first point is orthogonal to d, the one whose largest entry is positive."""
    c = float(first @ d)
    if c > 0.0 or (c == 0.0 and d[np.argmax(np.abs(d))] < 0.0):
        return -d
    return d


@kernel
def _gram(points, rows, center, gram):
    """gram[a, b] += (p_a − c)·(p_b − c) for the points ``points[rows]``, in
    float64. Column blocks of the displacements are copied transposed into
    a small buffer so the innermost loop runs along contiguous memory, four
    columns at a time so each row of ``gram`` is loaded and stored once per
    four products (1.7x faster than one at a time)."""
    k = rows.shape[0]
    n = points.shape[1]
    buf = np.empty((COLUMN_BLOCK, k))
    for lo in range(0, n, COLUMN_BLOCK):
        width = min(n, lo + COLUMN_BLOCK) - lo
        for q in range(COLUMN_BLOCK):
            if q < width:
                cq = np.float64(center[lo + q])
                for a in range(k):
                    buf[q, a] = np.float64(points[rows[a], lo + q]) - cq
            else:   # past the last column: zeros add nothing
                for a in range(k):
                    buf[q, a] = 0.0
        for q in range(0, COLUMN_BLOCK, 4):
            for a in range(k):
                x0 = buf[q, a]
                x1 = buf[q + 1, a]
                x2 = buf[q + 2, a]
                x3 = buf[q + 3, a]
                for b in range(k):
                    gram[a, b] += (x0 * buf[q, b] + x1 * buf[q + 1, b] + x2 * buf[q + 2, b]
                                   + x3 * buf[q + 3, b])


@kernel
def _combine_displacements(points, rows, center, coef, out):
    """out[r] = Σ_a coef[r, a] (p_rows[a] − c), in float64."""
    n = points.shape[1]
    for a in range(rows.shape[0]):
        for r in range(coef.shape[0]):
            w = coef[r, a]
            for q in range(n):
                out[r, q] += w * (np.float64(points[rows[a], q]) - np.float64(center[q]))


def project(points: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray):
    """(k, 2) coordinates (α, β) of each point in the plane of the slice:
    the least-squares solution of ``α d1 + β d2 = point − center``, exact
    for points in the plane whether or not d1, d2 are orthogonal (random
    directions are not). Solved with a QR decomposition of [d1 d2], stable
    even for nearly parallel directions."""
    coords, _ = _project_with_residual(points, center, d1, d2)
    return coords


def _project_with_residual(points, center, d1, d2):
    """Coordinates and, per point, the fraction of its distance from the
    centre that lies outside the plane (0: in the plane)."""
    points = np.atleast_2d(np.asarray(points))
    center = np.asarray(center)
    if points.shape[1] != center.shape[0]:
        raise ValueError(f"points must be (k, {center.shape[0]}), got {points.shape}")
    a = np.column_stack([np.asarray(d1, np.float64), np.asarray(d2, np.float64)])
    q, r = np.linalg.qr(a)
    if r[0, 0] == 0.0 or abs(r[1, 1]) <= 1e-12 * abs(r[0, 0]):
        raise ValueError("d1 and d2 are parallel (or zero): they span no plane")
    qt_m = np.zeros((points.shape[0], 2))
    sq = np.zeros(points.shape[0])
    _plane_parts(np.ascontiguousarray(points), np.ascontiguousarray(center),
                 np.ascontiguousarray(q.T), qt_m, sq)
    coords = np.linalg.solve(r, qt_m.T).T
    outside = np.sqrt(np.clip(sq - (qt_m ** 2).sum(axis=1), 0.0, None))
    dist = np.sqrt(sq)
    residual = np.divide(outside, dist, out=np.zeros_like(dist), where=dist > 0)
    return coords, residual


@kernel
def _plane_parts(points, center, qt, qt_m, sq):
    """For each point: Qᵀ(p − c) (its coordinates along an orthonormal basis
    of the plane) and |p − c|², in float64, in one pass over the points
    and without BLAS (a 2-row product is too thin to gain from it, and BLAS
    threads next to a training thread's BLAS collapse on a busy machine)."""
    k, n = points.shape
    for i in range(k):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for q in range(n):
            r = np.float64(points[i, q]) - np.float64(center[q])
            s0 += r * qt[0, q]
            s1 += r * qt[1, q]
            s2 += r * r
        qt_m[i, 0] = s0
        qt_m[i, 1] = s1
        sq[i] = s2


def _check_vector(arch: Architecture, v: np.ndarray, name: str) -> None:
    if v.shape != (arch.n_params,):
        raise ValueError(f"{name} must have shape ({arch.n_params},), got {v.shape}")


# ------------------------------------------------------------------ kernels
@kernel
def _combine_first_layer(zf, start, alpha, beta, z):
    """z = (Z0 + α Z1 + β Z2)[start : start + len(z)]: the first layer's
    pre-activation at (α, β) for one chunk of samples; ``zf`` holds
    [Z0 | Z1 | Z2] side by side, (n, 3 m)."""
    n, m = z.shape
    for i in range(n):
        r = start + i
        for j in range(m):
            z[i, j] = zf[r, j] + alpha * zf[r, m + j] + beta * zf[r, 2 * m + j]


@kernel
def _point_vector(c, d1, d2, off, alpha, beta, out):
    """out = (centre + α d1 + β d2)[off : off + len(out)] (a bias, or a
    weight in its (out, in) layout)."""
    for q in range(out.shape[0]):
        out[q] = c[off + q] + alpha * d1[off + q] + beta * d2[off + q]


@kernel
def _point_weight_t(c, d1, d2, off, alpha, beta, wt):
    """wt = the layer's (out, in) weight at (α, β), transposed to (in, out)
    so the hand-written product below runs along contiguous rows."""
    n_in, n_out = wt.shape
    for j in range(n_out):
        base = off + j * n_in
        for q in range(n_in):
            wt[q, j] = c[base + q] + alpha * d1[base + q] + beta * d2[base + q]


@kernel
def _dense_t(a, wt, b, z, idx, skip_zeros):
    """z = a @ wt + b with plain loops (a: (n, k), wt: (k, m))."""
    _dense_rows(a, wt, b, z, 0, a.shape[0], idx, skip_zeros)


@kernel
def _dense_rows(a, wt, b, z, lo, hi, idx, skip_zeros):
    """Rows lo..hi of z = a @ wt + b, by plain loops. The inner loop runs
    along a row of wt and of z, which LLVM vectorises (no reduction to
    reorder, so no fastmath needed). What runs inside prange, where BLAS
    must not be called.

    ``skip_zeros``: first list the nonzero inputs of the row (without a
    branch, so no mispredictions) and add only their terms: ReLU zeroes
    about half of a layer's outputs and MNIST about 80% of its pixels, and
    they cost nothing. Exact when every weight is finite (a skipped term
    is ±0, which leaves z's value alone); the caller checks that."""
    k = a.shape[1]
    m = wt.shape[1]
    for i in range(lo, hi):
        for j in range(m):
            z[i, j] = b[j]
        cnt = k
        if skip_zeros:
            cnt = 0
            for q in range(k):
                idx[cnt] = q
                cnt += a[i, q] != 0.0
        for r in range(cnt):
            q = idx[r] if skip_zeros else r
            aiq = a[i, q]
            for j in range(m):
                z[i, j] += aiq * wt[q, j]


@kernel_parallel
def _dense_parallel(a, wt, b, z, iscratch, skip_zeros):
    """z = a @ wt + b, the rows shared out in one block per row of
    ``iscratch`` (each block's index buffer)."""
    n = a.shape[0]
    n_blocks = iscratch.shape[0]
    for blk in numba.prange(n_blocks):
        _dense_rows(a, wt, b, z, blk * n // n_blocks, (blk + 1) * n // n_blocks,
                    iscratch[blk], skip_zeros)


@kernel
def _point_params(c, d1, d2, layout, alpha, beta, scratch, parts, woffs, boffs, blas):
    """The parameters at centre + α d1 + β d2 that the point's forward pass
    reads from ``scratch``: the weights and biases of layers 1..L-1 (layer
    0's product comes from the three first-layer products) and every
    batch-norm layer's gamma (at ``parts[8]`` + its first unit) and beta
    (``parts[8]`` + U + its first unit). ``blas``: weights kept (out, in)
    for BLAS, else transposed for the hand-written products."""
    L = layout.shape[0]
    U = (parts[9] - parts[8]) // 2
    for l in range(L):
        n_in = layout[l, 0]
        n_out = layout[l, 1]
        if l > 0:
            w_flat = scratch[parts[2] + woffs[l]:parts[2] + woffs[l] + n_in * n_out]
            if blas:
                _point_vector(c, d1, d2, layout[l, 2], alpha, beta, w_flat)
            else:
                _point_weight_t(c, d1, d2, layout[l, 2], alpha, beta,
                                w_flat.reshape((n_in, n_out)))
            _point_vector(c, d1, d2, layout[l, 3], alpha, beta,
                          scratch[parts[3] + boffs[l]:parts[3] + boffs[l] + n_out])
        bo = layout[l, L_BN]
        if bo >= 0:
            u = parts[8] + layout[l, L_BN_UNIT]
            _point_vector(c, d1, d2, bo, alpha, beta, scratch[u:u + n_out])
            _point_vector(c, d1, d2, bo + n_out, alpha, beta, scratch[u + U:u + U + n_out])


@kernel
def _point_penalty(c, d1, d2, layout, alpha, beta, l1, l2, tmp):
    """l1·Σ|w| + l2·Σw² over every layer's weights at centre + α d1 + β d2,
    as ``regularization.weight_penalty`` sums it (the same order, float64
    sums). Each weight goes through ``tmp`` (one value of the network's
    dtype) so it is the very number the parameter vector would hold."""
    if l1 <= 0.0 and l2 <= 0.0:
        return 0.0
    s1 = 0.0
    s2 = 0.0
    for l in range(layout.shape[0]):
        for k in range(layout[l, 2], layout[l, 3]):
            tmp[0] = c[k] + alpha * d1[k] + beta * d2[k]
            x = tmp[0]
            s1 += abs(x)
            s2 += x * x
    return l1 * s1 + l2 * s2


@kernel
def _layer_tail(l, layout, acts, act_params, z, a, y, out, inp, gamma, beta_, run_mean,
                run_inv):
    """Layer l after its product ``z``, in evaluation mode, as the trainer's
    forward pass: batch norm with the running statistics (a per-unit affine
    map: y = gamma·((z − mean)·(1/sqrt(var + eps))) + beta, the same
    operations as ``layers.batchnorm_forward``), the activation into ``a``,
    no dropout, and the residual connection ``out = a + inp``. Returns
    nothing: the layer's output is ``out`` with a residual connection,
    else ``a``."""
    rows, m = z.shape
    if layout[l, L_BN] >= 0:
        u = layout[l, L_BN_UNIT]
        for i in range(rows):
            for j in range(m):
                y[i, j] = gamma[j] * ((z[i, j] - run_mean[u + j]) * run_inv[u + j]) + beta_[j]
        activate(acts[l], act_params[l], y, a)
    else:
        activate(acts[l], act_params[l], z, a)
    if layout[l, L_RES] != 0:
        for i in range(rows):
            for j in range(m):
                out[i, j] = a[i, j] + inp[i, j]


@kernel
def _point_loss(alpha, beta, zf, c, d1, d2, layout, acts, act_params, x, t, loss_kind,
                loss_param, run_mean, run_inv, l1, l2, scratch, parts, offsets, woffs, boffs,
                chunk, blas, idx, skip_zeros):
    """The loss at centre + α d1 + β d2 (see the module's notes: the data
    loss in evaluation mode plus the weight penalty), from the first
    layer's three products ``zf``. Every array it writes is a view of
    ``scratch``: ``parts`` = where each piece starts -- z, a, the later
    layers' weights, their biases, delta, dL/da, batch norm's y, the
    residual layers' outputs, gamma then beta (ending at ``parts[9]``),
    one value for the penalty; ``offsets``/``woffs``/``boffs`` = each
    layer's place in those pieces. The samples go through in chunks
    of ``chunk`` rows. ``run_mean``/``run_inv``: the running means and
    1/sqrt(running variance + eps) of every batch-norm unit (empty without
    batch norm). ``blas``: products through BLAS (weights kept (out, in));
    never inside prange. ``idx``, ``skip_zeros``: see _dense_t."""
    n = t.shape[0]
    L = layout.shape[0]
    U = (parts[9] - parts[8]) // 2
    _point_params(c, d1, d2, layout, alpha, beta, scratch, parts, woffs, boffs, blas)
    m = layout[L - 1, 1]
    total = 0.0
    start = 0
    while start < n:
        rows = min(chunk, n - start)
        for l in range(L):
            n_in = layout[l, 0]
            n_out = layout[l, 1]
            o = offsets[l]
            z = scratch[parts[0] + o:parts[0] + o + rows * n_out].reshape((rows, n_out))
            a = scratch[parts[1] + o:parts[1] + o + rows * n_out].reshape((rows, n_out))
            y = scratch[parts[6] + o:parts[6] + o + rows * n_out].reshape((rows, n_out))
            out = scratch[parts[7] + o:parts[7] + o + rows * n_out].reshape((rows, n_out))
            g0 = parts[8] + max(layout[l, L_BN_UNIT], 0)
            gamma = scratch[g0:g0 + n_out]
            beta_ = scratch[g0 + U:g0 + U + n_out]
            if l == 0:
                _combine_first_layer(zf, start, alpha, beta, z)
                # (the inputs are read-only: a call of its own, not a
                # variable shared with the scratch views below)
                _layer_tail(0, layout, acts, act_params, z, a, y, out, x[start:start + rows],
                            gamma, beta_, run_mean, run_inv)
                continue
            # the previous layer's output: its residual sum, else its activation
            po = offsets[l - 1]
            src = parts[7] if layout[l - 1, L_RES] != 0 else parts[1]
            inp = scratch[src + po:src + po + rows * n_in].reshape((rows, n_in))
            w_flat = scratch[parts[2] + woffs[l]:parts[2] + woffs[l] + n_in * n_out]
            b = scratch[parts[3] + boffs[l]:parts[3] + boffs[l] + n_out]
            if blas:
                matmul_nt(inp, w_flat.reshape((n_out, n_in)), z)
                for i in range(rows):
                    for j in range(n_out):
                        z[i, j] += b[j]
            else:
                _dense_t(inp, w_flat.reshape((n_in, n_out)), b, z, idx, skip_zeros)
            _layer_tail(l, layout, acts, act_params, z, a, y, out, inp, gamma, beta_,
                        run_mean, run_inv)
        o = offsets[L - 1]
        z = scratch[parts[0] + o:parts[0] + o + rows * m].reshape((rows, m))
        a = scratch[parts[1] + o:parts[1] + o + rows * m].reshape((rows, m))
        delta = scratch[parts[4]:parts[4] + rows * m].reshape((rows, m))
        dl_da = scratch[parts[5]:parts[5] + rows * m].reshape((rows, m))
        # The training loss kernel itself, on what the trainer's evaluation
        # hands it (the output layer's product z and activation a): the
        # surface is exactly the loss that is minimised (its gradient
        # outputs are not needed here). It returns a float64 mean; the
        # chunks are summed in float64 too.
        loss = loss_and_delta(loss_kind, loss_param, acts[L - 1], act_params[L - 1], z, a,
                              t[start:start + rows], delta, dl_da)
        total += loss * rows
        start += rows
    return total / n + _point_penalty(c, d1, d2, layout, alpha, beta, l1, l2,
                                      scratch[parts[9]:parts[9] + 1])


@kernel
def _grid_serial(zf, c, d1, d2, layout, acts, act_params, x, t, loss_kind, loss_param,
                 run_mean, run_inv, l1, l2, alphas, betas, scratch, parts, offsets, woffs,
                 boffs, chunk, iscratch, skip_zeros, out, blas):
    """Every grid point in the calling thread; ``blas``: products through
    BLAS, else the hand-written ones."""
    for j in range(betas.shape[0]):
        for i in range(alphas.shape[0]):
            out[j, i] = _point_loss(alphas[i], betas[j], zf, c, d1, d2, layout, acts,
                                    act_params, x, t, loss_kind, loss_param, run_mean, run_inv,
                                    l1, l2, scratch[0], parts, offsets, woffs, boffs, chunk,
                                    blas, iscratch[0], skip_zeros)


@kernel_parallel
def _grid_parallel(zf, c, d1, d2, layout, acts, act_params, x, t, loss_kind, loss_param,
                   run_mean, run_inv, l1, l2, alphas, betas, scratch, parts, offsets, woffs,
                   boffs, chunk, iscratch, skip_zeros, out):
    """The grid points shared out in contiguous blocks, one block (and one
    row of ``scratch``) per thread; hand-written products only."""
    na = alphas.shape[0]
    n_points = betas.shape[0] * na
    n_blocks = scratch.shape[0]
    for blk in numba.prange(n_blocks):
        lo = blk * n_points // n_blocks
        hi = (blk + 1) * n_points // n_blocks
        for p in range(lo, hi):
            j = p // na
            i = p - j * na
            out[j, i] = _point_loss(alphas[i], betas[j], zf, c, d1, d2, layout, acts,
                                    act_params, x, t, loss_kind, loss_param, run_mean, run_inv,
                                    l1, l2, scratch[blk], parts, offsets, woffs, boffs, chunk,
                                    False, iscratch[blk], skip_zeros)


# ------------------------------------------------------------------- grids
# 'parallel': grid points shared between Numba's threads, hand-written
# products; 'single': the same in the calling thread only; 'blas': the
# calling thread, products through BLAS (multi-threaded by BLAS itself).
STRATEGIES = ("auto", "parallel", "single", "blas")
# Samples per chunk inside a grid point (see _point_loss).
SAMPLE_CHUNK = 128
# Below this many multiply-adds for the whole grid, 'auto' stays in the
# calling thread: waking Numba's threads would cost more than it saves
# (XOR's 41x41 grid is ~110 k; one point of a 784-128-64-10 MLP on 1,000
# samples ~9 M).
SMALL_GRID_WORK = 1 << 21


def loss_grid(problem: SurfaceProblem, center, d1, d2, alphas, betas, *,
              strategy: str = "auto", threads: int | None = None) -> np.ndarray:
    """The loss (see the module's notes: the mean data loss in evaluation
    mode, plus the weight penalty when the problem has one) at ``center +
    α d1 + β d2`` for every α in ``alphas`` and β in ``betas``: a float64
    array (len(betas), len(alphas)) with
    ``out[j, i] = L(center + alphas[i] d1 + betas[j] d2)`` -- rows follow β
    ascending (row 0 = bottom of a plot), columns follow α.

    The vectors are copied (cast to the problem's dtype) before anything is
    computed. ``strategy``: 'parallel' (grid points shared between Numba's
    threads, hand-written products), 'single' (the same in this thread
    alone), 'blas' (this thread, BLAS products: fast on an idle machine,
    but BLAS's own threads slow to a crawl when other work wants the cores,
    see benchmarks/bench_surface.py) or 'auto' ('single' for small grids,
    else 'parallel'). ``threads``: at most this many of Numba's threads
    for 'parallel' (a background slice can leave a core to training);
    Numba's thread count is per calling thread, so this changes nothing
    elsewhere."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    arch = problem.arch
    c, u, v = (_private_copy(arch, vec, name, problem.dtype)
               for vec, name in ((center, "center"), (d1, "d1"), (d2, "d2")))
    alphas = np.ascontiguousarray(alphas, dtype=np.float64).reshape(-1)
    betas = np.ascontiguousarray(betas, dtype=np.float64).reshape(-1)
    out = np.full((len(betas), len(alphas)), np.nan)
    if out.size == 0:
        return out
    if strategy == "auto":
        strategy = _auto_strategy(arch, problem.n_samples, out.size)
    available = numba.get_num_threads() if threads is None else max(1, int(threads))
    n_blocks = min(available, out.size) if strategy == "parallel" else 1
    # BLAS's products want many rows at once; the hand-written ones a
    # chunk that stays in the core's cache.
    chunk = problem.n_samples if strategy == "blas" else min(SAMPLE_CHUNK, problem.n_samples)
    scratch, plan = _scratch(arch, chunk, problem.dtype, n_blocks)
    iscratch = _padded_rows(n_blocks, max(s.n_in for s in arch.layers), np.int64)
    skip_zeros = _weights_stay_finite(c, u, v, alphas, betas)
    run_mean, run_inv = _running_stats(problem)
    with _SLICE_LOCK, _numba_threads(n_blocks if strategy == "parallel" else None):
        zf = _first_layer_products(problem, c, u, v, strategy, iscratch, skip_zeros)
        args = (zf, c, u, v, arch.layout, arch.act_ids, arch.act_params, problem.x, problem.t,
                problem.loss_kind, problem.loss_param, run_mean, run_inv, problem.l1,
                problem.l2, alphas, betas, scratch, *plan, chunk, iscratch, skip_zeros, out)
        if strategy == "parallel":
            _grid_parallel(*args)
        else:
            _grid_serial(*args, strategy == "blas")
    return out


@contextmanager
def _numba_threads(n: int | None):
    """Numba's thread count for this thread only (it is thread-local),
    restored afterwards; None leaves it alone."""
    if n is None:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _auto_strategy(arch: Architecture, n: int, n_points: int) -> str:
    per_point = n * (3 * arch.layers[0].n_out + sum(s.n_in * s.n_out for s in arch.layers[1:]))
    return "single" if per_point * n_points < SMALL_GRID_WORK else "parallel"


def loss_line(problem: SurfaceProblem, theta0, theta1, ts, *, strategy: str = "auto",
              threads: int | None = None):
    """The loss (as ``loss_grid``'s) at ``theta0 + t (theta1 − theta0)`` for
    each t in ``ts`` (t = 0: theta0, t = 1: theta1; any real t, so the line
    may run past both ends), batch norm's running statistics held at the
    problem's all along. A float64 array of len(ts)."""
    arch = problem.arch
    a = _private_copy(arch, theta0, "theta0", np.float64)
    b = _private_copy(arch, theta1, "theta1", np.float64)
    zero = np.zeros(arch.n_params)
    return loss_grid(problem, a, b - a, zero, ts, [0.0], strategy=strategy,
                     threads=threads)[0]


def _weights_stay_finite(c, u, v, alphas, betas) -> bool:
    """Whether every parameter at every grid point is finite: the vectors
    are, and |c| + |α| |u| + |β| |v| stays well below the dtype's largest
    number, so no combination can overflow. Then skipping zero inputs is
    exact (see _dense_t); a diverged network keeps the plain products."""
    if not all(np.isfinite(x).all() for x in (c, u, v, alphas, betas)):
        return False
    bound = (np.abs(c).max(initial=0.0) + np.abs(alphas).max() * np.abs(u).max(initial=0.0)
             + np.abs(betas).max() * np.abs(v).max(initial=0.0))
    return bool(bound < np.finfo(c.dtype).max / 4)


def _private_copy(arch: Architecture, v, name: str, dtype) -> np.ndarray:
    v = np.array(v, dtype=dtype, order="C", copy=True)
    _check_vector(arch, v, name)
    return v


def _first_layer_products(problem: SurfaceProblem, c, u, v, strategy, iscratch,
                          skip_zeros) -> np.ndarray:
    """[Z0 | Z1 | Z2] (n, 3 m0): X Wᵀ + b for the centre and for each
    direction side by side -- the first layer at any (α, β) is their
    combination Z0 + α Z1 + β Z2. One product with the three weights
    transposed next to each other; by hand except for the 'blas' strategy
    (no BLAS threads next to a training thread's, see loss_grid)."""
    arch = problem.arch
    wt = np.ascontiguousarray(np.concatenate([arch.weight(w, 0).T for w in (c, u, v)], axis=1))
    b = np.concatenate([arch.bias(w, 0) for w in (c, u, v)])
    zf = np.full((problem.n_samples, wt.shape[1]), 0, problem.dtype)
    if strategy == "blas":
        np.matmul(problem.x, wt, out=zf)
        zf += b
    elif strategy == "parallel":
        _dense_parallel(problem.x, wt, b, zf, iscratch, skip_zeros)
    else:
        _dense_t(problem.x, wt, b, zf, iscratch[0], skip_zeros)
    return zf


def _running_stats(problem: SurfaceProblem):
    """(running means in the network's dtype, 1/sqrt(running variance +
    eps) in float64) of every batch-norm unit, as ``batchnorm_forward``
    computes them in evaluation mode (empty without batch norm)."""
    U = problem.arch.n_bn_units
    run = problem.bn_run if problem.bn_run is not None else np.zeros(0, problem.dtype)
    mean = np.ascontiguousarray(run[:U], dtype=problem.dtype)
    with np.errstate(all="ignore"):    # a diverged network's statistics: NaN, like training
        inv = 1.0 / np.sqrt(run[U:].astype(np.float64) + problem.bn_eps)
    return mean, np.ascontiguousarray(inv)


def _scratch(arch: Architecture, chunk: int, dtype, n_blocks: int):
    """One row of scratch memory per thread -- z, a, batch norm's y and the
    residual layers' outputs of every layer for a chunk of samples, the
    later layers' weights and biases and every gamma and beta at one grid
    point, delta and dL/da of the output, one value for the penalty -- and
    the plan of where each piece starts (see _point_loss). Filled, not
    calloc'd, memory (see core/arrays.py)."""
    widths = [s.n_out for s in arch.layers]
    offsets = np.array([chunk * sum(widths[:i]) for i in range(len(widths))], np.int64)
    weights = [0] + [s.n_out * s.n_in for s in arch.layers[1:]]
    woffs = np.cumsum([0] + weights[:-1]).astype(np.int64)
    boffs = np.cumsum([0] + widths[:-1]).astype(np.int64)
    per_layer = chunk * sum(widths)
    out = chunk * arch.n_outputs
    # y and the residual outputs use the same per-layer offsets as z and a
    # (views of every layer are taken; only the layers that have batch norm
    # or a residual connection write theirs, so the rest is never touched)
    sizes = [per_layer, per_layer, sum(weights), sum(widths), out, out, per_layer, per_layer,
             2 * arch.n_bn_units, 1]
    parts = np.cumsum([0] + sizes[:-1]).astype(np.int64)
    scratch = _padded_rows(n_blocks, sum(sizes), dtype)
    return scratch, (parts, offsets, woffs, boffs)


def _padded_rows(n_rows: int, width: int, dtype) -> np.ndarray:
    """(n_rows, at least width) array whose rows are padded to whole pages:
    threads writing their own rows never share a cache line (false
    sharing). Contiguous, so a row is too (kernels reshape its pieces)."""
    per_page = 4096 // np.dtype(dtype).itemsize
    padded = -(-width // per_page) * per_page + per_page
    return np.full((n_rows, padded), 0, dtype=dtype)


# -------------------------------------------------------------- trajectory
def trajectory_capacity(n_params: int, dtype=np.float64,
                        budget_bytes: int = TRAJECTORY_BUDGET_BYTES) -> int:
    """How many parameter vectors fit the budget: an even number between
    TRAJECTORY_MIN_POINTS (which wins over a tiny budget) and
    TRAJECTORY_MAX_POINTS. 784-128-64-10 (109,386 parameters) in 64 MB:
    76 float64 or 152 float32 points."""
    per_point = max(1, n_params) * np.dtype(dtype).itemsize
    cap = min(TRAJECTORY_MAX_POINTS, budget_bytes // per_point)
    return max(TRAJECTORY_MIN_POINTS, int(cap) // 2 * 2)


class Trajectory:
    """Parameter vectors along training, at most ``capacity`` of them.

    Appending keeps every ``stride``-th vector (counting appends, the first
    one included); when the store is full every other kept vector is
    dropped and the stride doubles, so the kept points stay spread evenly
    over the whole run and memory never grows (like ``core.history``'s
    Decimated). The latest vector is always kept too. Each point carries
    the training step it was taken at.

    The training thread appends while another thread may read: both hold
    a lock, and readers get copies."""

    def __init__(self, n_params: int, dtype=np.float64, *, capacity: int | None = None,
                 budget_bytes: int = TRAJECTORY_BUDGET_BYTES):
        if capacity is None:
            capacity = trajectory_capacity(n_params, dtype, budget_bytes)
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.n_params = int(n_params)
        self.dtype = np.dtype(dtype)
        self.capacity = int(capacity)
        # np.empty: pages are only mapped when a point is written.
        self._rows = np.empty((self.capacity, self.n_params), self.dtype)
        self._steps = np.empty(self.capacity, np.int64)
        self._last = np.empty(self.n_params, self.dtype)
        self._last_step = -1
        self._last_is_row = True
        self._n = 0
        self._stride = 1
        self._seen = 0
        self._lock = threading.Lock()

    @classmethod
    def for_trainer(cls, trainer, **kwargs) -> "Trajectory":
        """An empty trajectory sized for ``trainer``'s parameters."""
        return cls(trainer.arch.n_params, trainer.dtype, **kwargs)

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes + self._last.nbytes + self._steps.nbytes

    @property
    def stride(self) -> int:
        return self._stride

    def __len__(self) -> int:
        """Points ``points()`` returns now."""
        with self._lock:
            return self._n + (0 if self._last_is_row else 1)

    def append(self, step: int, theta: np.ndarray) -> None:
        """Record ``theta`` (copied) as the parameters at ``step``."""
        if theta.shape != (self.n_params,):
            raise ValueError(f"expected {self.n_params} parameters, got {theta.shape}")
        with self._lock:
            g = self._seen
            self._seen += 1
            keep = g % self._stride == 0
            if keep and self._n == self.capacity:
                self._halve()
                keep = g % self._stride == 0
            if keep:
                self._rows[self._n] = theta
                self._steps[self._n] = step
                self._n += 1
                self._last_is_row = True
            else:
                self._last[...] = theta
                self._last_step = int(step)
                self._last_is_row = False

    def _halve(self) -> None:
        # Rows hold appends 0, s, 2s, ...: keep the even ones (multiples of
        # 2s). Forward order never overwrites a row still to be moved.
        half = (self._n + 1) // 2
        for r in range(1, half):
            self._rows[r] = self._rows[2 * r]
            self._steps[r] = self._steps[2 * r]
        self._n = half
        self._stride *= 2

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (k,), parameter vectors (k, n_params)): copies, oldest
        first, the latest vector last."""
        with self._lock:
            steps = self._steps[:self._n].copy()
            rows = self._rows[:self._n].copy()
            if not self._last_is_row:
                steps = np.append(steps, self._last_step)
                rows = np.vstack([rows, self._last[None, :]])
        return steps, rows

    def latest(self) -> tuple[int, np.ndarray] | None:
        """(step, parameters) of the newest point, or None when empty."""
        with self._lock:
            if self._seen == 0:
                return None
            if self._last_is_row:
                return int(self._steps[self._n - 1]), self._rows[self._n - 1].copy()
            return self._last_step, self._last.copy()

    def clear(self) -> None:
        with self._lock:
            self._n = 0
            self._stride = 1
            self._seen = 0
            self._last_is_row = True


# -------------------------------------------------------------- one call
@dataclass(frozen=True, eq=False)
class SurfaceSlice:
    """One 2-D slice and the path drawn over it. Arrays are read-only.

    ``losses[j, i] = L(center + alphas[i] d1 + betas[j] d2)`` (rows: β
    ascending, row 0 at the bottom of a plot). ``path`` holds the
    trajectory points' (α, β) coordinates (least squares, see
    ``project``), ``path_steps`` their training steps, ``path_offplane``
    the fraction of each point's distance from the centre that the plane
    does not show (close to 1 for random directions, which are nearly
    orthogonal to the path). ``explained``: the PCA directions' share of
    the path's squared length, None for random directions."""
    kind: str                  # "random" | "pca"
    alphas: np.ndarray         # (na,) along d1, left to right
    betas: np.ndarray          # (nb,) along d2, bottom to top
    losses: np.ndarray         # (nb, na) float64 losses (see loss_grid)
    center: np.ndarray         # (P,) the parameters at α = β = 0
    d1: np.ndarray             # (P,)
    d2: np.ndarray             # (P,)
    path: np.ndarray           # (k, 2) (α, β) of the trajectory points
    path_steps: np.ndarray     # (k,) int64
    path_offplane: np.ndarray  # (k,)
    explained: np.ndarray | None
    extent: tuple[float, float]
    seed: int
    loss: str

    @property
    def center_loss(self) -> float:
        """The loss at the grid point nearest to α = β = 0."""
        return float(self.losses[np.argmin(np.abs(self.betas)), np.argmin(np.abs(self.alphas))])


# The PCA extent covers the projected path with this margin, and the
# β extent is at least this fraction of α's so a nearly straight path
# still shows the valley on either side of it.
PCA_MARGIN = 1.25
PCA_MIN_ASPECT = 0.2


def surface_slice(problem: SurfaceProblem, theta, *, directions: str = "random",
                  trajectory: "Trajectory | None" = None, grid=41, extent=None,
                  extent_scale: float = 1.0, seed: int = 0, strategy: str = "auto",
                  threads: int | None = None) -> SurfaceSlice:
    """The 2-D slice around ``theta`` (copied first) along two directions.

    ``directions``: 'random' (filter-normalised, from ``seed``; needs no
    trajectory) or 'pca' (of the trajectory's points around ``theta``;
    raises TrajectoryTooShort while it spans no plane). ``grid``: points
    per axis (an int, or (na, nb)); an odd number puts a grid point on the
    centre. ``extent``: the grid spans ±extent in units of the direction
    vectors (a number or (α extent, β extent)); by default 1 for random
    directions (a step as large as the weights, Li et al.'s plots) and the
    projected path plus 25% for PCA. ``extent_scale`` multiplies it (a
    zoom that keeps the automatic choice). ``strategy``, ``threads``: see
    loss_grid."""
    theta = _private_copy(problem.arch, theta, "theta", problem.dtype)
    if trajectory is not None:
        steps, pts = trajectory.points()     # once: training may append meanwhile
    else:
        steps, pts = np.zeros(0, np.int64), np.zeros((0, problem.n_params), problem.dtype)
    if directions == "random":
        d1, d2 = random_directions(problem, theta, seed)
        explained = None
    elif directions == "pca":
        if trajectory is None:
            raise ValueError("PCA directions need a trajectory")
        d1, d2, explained = pca_directions(pts, theta)
    else:
        raise ValueError(f"directions must be 'random' or 'pca', got {directions!r}")
    if len(pts):
        path, offplane = _project_with_residual(pts, theta, d1, d2)
    else:
        path, offplane = np.zeros((0, 2)), np.zeros(0)
    ea, eb = _extent(extent, directions, path)
    ea, eb = ea * float(extent_scale), eb * float(extent_scale)
    if not (ea > 0 and eb > 0 and math.isfinite(ea) and math.isfinite(eb)):
        raise ValueError(f"extent_scale must be positive and finite, got {extent_scale!r}")
    na, nb = (grid, grid) if np.ndim(grid) == 0 else grid
    if min(na, nb) < 1:
        raise ValueError("grid needs at least one point per axis")
    alphas = np.linspace(-ea, ea, int(na)) if na > 1 else np.zeros(1)
    betas = np.linspace(-eb, eb, int(nb)) if nb > 1 else np.zeros(1)
    losses = loss_grid(problem, theta, d1, d2, alphas, betas, strategy=strategy,
                       threads=threads)
    return SurfaceSlice(
        kind=directions, alphas=_frozen(alphas), betas=_frozen(betas), losses=_frozen(losses),
        center=_frozen(theta), d1=_frozen(d1), d2=_frozen(d2), path=_frozen(path),
        path_steps=_frozen(np.asarray(steps, np.int64)), path_offplane=_frozen(offplane),
        explained=None if explained is None else _frozen(explained), extent=(ea, eb),
        seed=int(seed), loss=problem.loss)


def _extent(extent, directions: str, path: np.ndarray) -> tuple[float, float]:
    if extent is not None:
        ea, eb = (extent, extent) if np.ndim(extent) == 0 else extent
        ea, eb = float(ea), float(eb)
        if not (ea > 0 and eb > 0 and math.isfinite(ea) and math.isfinite(eb)):
            raise ValueError(f"extent must be positive and finite, got {extent!r}")
        return ea, eb
    if directions == "random" or len(path) == 0:
        return 1.0, 1.0
    ea = PCA_MARGIN * float(np.abs(path[:, 0]).max())
    eb = PCA_MARGIN * float(np.abs(path[:, 1]).max())
    ea = ea if ea > 0 else 1.0
    return ea, max(eb, PCA_MIN_ASPECT * ea)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a
