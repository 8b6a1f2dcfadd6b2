"""Speed of a 41x41 loss-surface slice (simtreino.analysis.landscape).

(a) XOR, 2-4-1 tanh/sigmoid, BCE, float64, its 4 samples (target < 0.2 s).
(b) MLP 784-128-64-10, ReLU, softmax cross-entropy, float32, 1,000
    evaluation samples of MNIST shape (random pixels in [0, 1), random
    labels: the time does not depend on the values) (target < 3 s):
    - the slice as the app computes it ('parallel': grid points shared
      between Numba's threads, hand-written products, the first layer by
      the linearity trick Z0 + aZ1 + bZ2);
    - 'blas': the same trick, one thread, BLAS products;
    - naive: every grid point a full forward pass through the training
      kernels (what calling Trainer.evaluate per point would do; timed on
      one row of the grid and scaled to 41 rows);
    - PCA directions and the projection of a full trajectory store.
(c) with --contention: (b) again while a training thread runs epochs of
    the same MLP, as in the app (the slice runs in the background).

Compile times are reported apart from warm times (the first call compiles,
or loads the kernels from Numba's on-disk cache on a later run).

Run:  python benchmarks/bench_surface.py [--quick] [--contention]
Prints figures; asserts nothing. Other processes busy on the machine
change every figure (the load average is printed).
"""

import argparse
import os
import threading
import time

import numba
import numpy as np

from simtreino.analysis.landscape import (
    Trajectory,
    loss_grid,
    make_problem,
    pca_directions,
    problem_from_trainer,
    project,
    random_directions,
    surface_slice,
)
from simtreino.core import engine as E
from simtreino.core.arrays import zeros
from simtreino.core.layers import BN_MOMENTUM, MODE_EVAL
from simtreino.core.regularization import N_REG, R_BN_EPS, R_BN_MOMENTUM, R_L1, R_L2
from simtreino.core.network import Architecture, init_params
from simtreino.core.trainer import SplitArrays, Trainer

GRID = 41


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn, repeats=3):
    return min(timed(fn)[0] for _ in range(repeats))


def axis(extent=1.0, n=GRID):
    return np.linspace(-extent, extent, n)


# ----------------------------------------------------------------- (a) XOR
def xor_trainer():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]], float)
    arch = Architecture(2, [(4, "tanh", None), (1, "sigmoid", None)])
    theta = init_params(arch, [("xavier_uniform", {"gain": 1.0})] * 2, [0.0, 0.0],
                        np.random.default_rng(0), np.float64)
    return Trainer(arch, theta, SplitArrays(x, y, y[:, 0].astype(np.int64)), None,
                   loss="bce", optimizer="sgd", hyper={"lr": 0.5, "momentum": 0.9})


def bench_xor(repeats):
    tr = xor_trainer()
    tr.run_steps(300)
    problem = problem_from_trainer(tr)
    theta = tr.theta.copy()
    print(f"\n(a) XOR 2-4-1, {problem.n_samples} samples, float64, {GRID}x{GRID} random slice")
    for strategy, note in (("auto", "(the app's choice: 'single' here)"), ("parallel", ""),
                           ("blas", "")):
        def run(strategy=strategy):
            return surface_slice(problem, theta, grid=GRID, strategy=strategy)
        first, _ = timed(run)
        warm = best_of(run, repeats)
        target = f"  target < 200 ms: {'met' if warm < 0.2 else 'MISSED'}" if strategy == "auto" \
            else ""
        print(f"  {strategy:8s}: first call {first:6.2f} s (compile or cache load), warm "
              f"{warm * 1e3:7.2f} ms{target} {note}")


# ----------------------------------------------------------------- (b) MLP
def mlp_problem(n=1000, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    arch = Architecture(784, [(128, "relu", None), (64, "relu", None), (10, "softmax", None)])
    theta = init_params(arch, [("he_uniform", {})] * 3, [0.0] * 3, rng, dtype)
    x = rng.random((n, 784)).astype(dtype)
    t = np.eye(10, dtype=dtype)[rng.integers(0, 10, n)]
    return make_problem(arch, x, t, loss="cross_entropy", dtype=dtype), theta


def naive_grid(problem, center, d1, d2, alphas, betas):
    """Every point a full forward pass (first layer included) through the
    training kernels, in evaluation mode -- no linearity trick."""
    arch, n, dtype = problem.arch, problem.n_samples, problem.dtype
    widths = [s.n_out for s in arch.layers]
    offsets = np.array([n * sum(widths[:i]) for i in range(len(widths))], np.int64)
    m = arch.n_outputs
    # the trainer's batch buffers (engine.B_*): z, a, y, zhat, mask, out,
    # delta, dL/da, then dL/da of the output layer
    bufs = tuple(zeros(n * sum(widths), dtype) for _ in range(8)) + (zeros(n * m, dtype),)
    delta, dl_da = zeros((n, m), dtype), zeros((n, m), dtype)
    drop_p = np.zeros(len(arch.layers))          # evaluation mode skips dropout anyway
    reg = np.zeros(N_REG)
    reg[R_L1], reg[R_L2] = problem.l1, problem.l2
    reg[R_BN_EPS], reg[R_BN_MOMENTUM] = problem.bn_eps, BN_MOMENTUM
    U = arch.n_bn_units
    bn_stats = np.zeros((2, U))
    bn_run = np.array(problem.bn_run if problem.bn_run is not None else np.zeros(0), dtype)
    counters = np.zeros(E.N_COUNTERS, np.int64)
    x, t = np.array(problem.x), np.array(problem.t)
    last = offsets[-1]
    out = np.empty((len(betas), len(alphas)))
    c, u, v = (np.asarray(w, np.float64) for w in (center, d1, d2))
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            theta = (c + a * u + b * v).astype(dtype)
            E.forward(theta, arch.layout, arch.act_ids, arch.act_params, drop_p, reg, MODE_EVAL,
                      x, offsets, bufs, bn_stats, bn_run, counters)
            z = bufs[E.B_Z][last:last + n * m].reshape(n, m)
            act = bufs[E.B_A][last:last + n * m].reshape(n, m)
            out[j, i] = E.loss_and_delta(problem.loss_kind, problem.loss_param,
                                         arch.act_ids[-1], arch.act_params[-1], z, act, t,
                                         delta, dl_da) + E.weight_penalty(
                                             theta, arch.layout, reg[R_L1], reg[R_L2])
    return out


def trajectory_like_training(theta, points, seed=1):
    """A store full of points on a drifting random walk (the values do not
    change the time)."""
    rng = np.random.default_rng(seed)
    traj = Trajectory(theta.shape[0], theta.dtype)
    p = theta.astype(np.float64)
    step_dir = rng.normal(scale=1e-3, size=theta.shape)
    for k in range(points):
        traj.append(k * 10, p.astype(theta.dtype))
        p = p + step_dir + rng.normal(scale=3e-4, size=theta.shape)
    return traj


def bench_mlp(repeats, quick):
    problem, theta = mlp_problem()
    d1, d2 = random_directions(problem, theta, seed=0)
    a = axis()
    print(f"\n(b) MLP 784-128-64-10 ReLU, softmax CE, float32, {problem.n_samples} samples, "
          f"{GRID}x{GRID} random slice")
    first = {}
    for strategy in ("parallel", "blas"):
        first[strategy], _ = timed(lambda s=strategy: loss_grid(problem, theta, d1, d2, a[:2],
                                                                a[:2], strategy=s))
    first["naive"], _ = timed(lambda: naive_grid(problem, theta, d1, d2, a[:1], a[:1]))
    print("  first call (compile or cache load): "
          + ", ".join(f"{k} {v:5.2f} s" for k, v in first.items()))
    warm = {}
    for strategy in ("parallel", "single", "blas"):
        warm[strategy] = best_of(lambda s=strategy: surface_slice(problem, theta, grid=GRID,
                                                                  strategy=s), repeats)
    rows = 1 if quick else 2
    naive = best_of(lambda: naive_grid(problem, theta, d1, d2, a, a[:rows]), 1) / rows * GRID
    par = warm["parallel"]
    print(f"  parallel (the app's choice)       : {par:7.3f} s   target < 3 s: "
          f"{'met' if par < 3 else 'MISSED'}; {par / GRID ** 2 * 1e3:.2f} ms per point, "
          f"{numba.get_num_threads()} threads")
    print(f"  single (one thread, same kernels) : {warm['single']:7.3f} s   parallel speed-up "
          f"{warm['single'] / par:4.2f}x")
    print(f"  blas (one thread + BLAS products) : {warm['blas']:7.3f} s")
    print(f"  naive full forward per point      : {naive:7.3f} s   (BLAS; {rows} row(s) of "
          f"{GRID} points, scaled)")
    print(f"  linearity trick alone             : {naive / warm['blas']:5.1f}x (naive vs blas, "
          f"both BLAS products); parallel slice vs naive {naive / par:5.1f}x")

    k = 152   # what the 64 MB budget holds of this network in float32
    traj = trajectory_like_training(theta, k)
    _, pts = traj.points()
    center = pts[-1]
    t_copy = best_of(traj.points, repeats)
    t_pca = best_of(lambda: pca_directions(pts, center), repeats)
    t_pca_all = best_of(lambda: pca_directions(pts, center, max_points=None), 1)
    u, v, _ = pca_directions(pts, center)
    t_proj = best_of(lambda: project(pts, center, u, v), repeats)
    t_pca_slice = best_of(lambda: surface_slice(problem, center, directions="pca",
                                                trajectory=traj, grid=GRID), repeats)
    print(f"  trajectory of {len(pts)} points ({traj.nbytes / 2**20:.0f} MB): copy "
          f"{t_copy * 1e3:5.1f} ms, PCA {t_pca * 1e3:6.1f} ms (of 64 points; all "
          f"{len(pts)}: {t_pca_all * 1e3:6.1f} ms), projection {t_proj * 1e3:5.1f} ms")
    print(f"  whole PCA slice (surface_slice)   : {t_pca_slice:7.3f} s")
    return problem, theta


# ------------------------------------------------------- (c) contention
def train_until(tr, stop, epochs):
    while not stop.is_set():
        epochs.append(timed(lambda: tr.run_epochs(1))[0])


def bench_contention(problem, theta, repeats):
    """Slices while a training thread runs, as in the app: the slice's time
    and the training epochs' time, for each way of computing it."""
    rng = np.random.default_rng(3)
    x = rng.random((5_000, 784)).astype(np.float32)
    labels = rng.integers(0, 10, len(x))
    t = np.eye(10, dtype=np.float32)[labels]
    tr = Trainer(problem.arch, theta.copy(), SplitArrays(x, t, labels), None,
                 loss="cross_entropy", optimizer="adam", hyper={"lr": 1e-3}, batch_size=64,
                 shuffle=True)
    tr.run_steps(2)
    alone = best_of(lambda: tr.run_epochs(1), 2)
    print(f"\n(c) the slice of (b) while a training thread runs Adam epochs of that MLP "
          f"(5,000 samples, batch 64; an epoch alone {alone:5.2f} s)")
    for strategy, threads in (("parallel", None), ("parallel", 1), ("blas", None)):
        stop = threading.Event()
        epochs = []
        worker = threading.Thread(target=train_until, args=(tr, stop, epochs))
        worker.start()
        try:
            time.sleep(0.2)
            secs = best_of(lambda s=strategy, n=threads: surface_slice(
                problem, theta, grid=GRID, strategy=s, threads=n), repeats)
        finally:
            stop.set()
            worker.join()
        name = strategy + (f", threads={threads}" if threads else "")
        print(f"  {name:20s}: slice {secs:7.3f} s; epochs meanwhile {min(epochs):5.2f}-"
              f"{max(epochs):5.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    ap.add_argument("--contention", action="store_true",
                    help="also time slices while a training thread runs")
    args = ap.parse_args()
    repeats = 1 if args.quick else 3
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores; numba {numba.__version__} "
          f"({numba.get_num_threads()} threads); numpy {np.__version__}; load average {load}")
    bench_xor(repeats)
    problem, theta = bench_mlp(repeats, args.quick)
    print(f"  threading layer: {numba.threading_layer()}")
    if args.contention:
        bench_contention(problem, theta, repeats)


if __name__ == "__main__":
    main()
