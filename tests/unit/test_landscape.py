"""Loss landscapes: grids against a plain NumPy forward pass and against the
trainer's own evaluation, filter-normalised and PCA directions, the
projection of a path, the bounded trajectory store, and slices computed in
one thread while another trains."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from simtreino.analysis.landscape import (
    SurfaceProblem,
    Trajectory,
    TrajectoryTooShort,
    loss_grid,
    loss_line,
    make_problem,
    pca_directions,
    problem_from_trainer,
    project,
    random_directions,
    surface_slice,
    trajectory_capacity,
)
from simtreino.core.network import Architecture, init_params
from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_trainer


# ------------------------------------------------------ NumPy reference
def np_activation(name, z, param):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, param * z)
    if name == "elu":
        return np.where(z > 0, z, param * np.expm1(np.minimum(z, 0.0)))
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def np_loss(kind, z, a, t, param=0.0):
    """torch.nn's formulas, reduction='mean', in float64."""
    if kind == "mse":
        return np.mean((a - t) ** 2)
    if kind == "mae":
        return np.mean(np.abs(a - t))
    if kind == "huber":
        r = np.abs(a - t)
        return np.mean(np.where(r < param, 0.5 * r * r, param * (r - 0.5 * param)))
    if kind == "bce":    # BCEWithLogitsLoss
        return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    if kind == "hinge":
        return np.mean(np.maximum(0.0, 1.0 - t * a))
    logp = z - z.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    if kind == "cross_entropy":
        return -np.sum(t * logp) / len(z)
    if kind == "kl_div":
        safe_t = np.where(t > 0, t, 1.0)
        return np.sum(np.where(t > 0, t * (np.log(safe_t) - logp), 0.0)) / t.size
    raise ValueError(kind)


def np_mean_loss(problem: SurfaceProblem, theta):
    """The loss of ``theta`` on the problem's data, by plain NumPy in float64."""
    arch = problem.arch
    theta = np.asarray(theta, dtype=np.float64)
    a = problem.x.astype(np.float64)
    for i, s in enumerate(arch.layers):
        z = a @ arch.weight(theta, i).T + arch.bias(theta, i)
        a = np_activation(s.activation, z, s.act_param)
    return np_loss(problem.loss, z, a, problem.t.astype(np.float64), problem.loss_param)


def np_grid(problem, center, d1, d2, alphas, betas):
    c, u, v = (np.asarray(x, np.float64) for x in (center, d1, d2))
    return np.array([[np_mean_loss(problem, c + a * u + b * v) for a in alphas] for b in betas])


# ---------------------------------------------------------------- helpers
def bundled_trainer(name, steps=0, seed=None):
    tr = build_trainer(load_scenario(find_scenario(name)), seed=seed)
    if steps:
        tr.run_steps(steps)
    return tr


def random_problem(layers, loss, *, n=37, d=5, dtype=np.float64, loss_param=0.0, seed=0):
    """A small network with random data and parameters (biases nonzero, so
    the bias parts of the directions and of the first layer are exercised)."""
    rng = np.random.default_rng(seed)
    arch = Architecture(d, layers)
    theta = init_params(arch, [("xavier_normal", {"gain": 1.5})] * len(layers),
                        [0.0] * len(layers), rng, dtype)
    theta += rng.normal(scale=0.3, size=theta.shape).astype(dtype)   # biases too
    x = rng.normal(size=(n, d))
    m = arch.n_outputs
    if loss in ("cross_entropy", "kl_div"):
        t = np.eye(m)[rng.integers(0, m, n)]
        if loss == "kl_div":
            t = 0.8 * t + 0.2 / m
    elif loss == "bce":
        t = rng.integers(0, 2, (n, m)).astype(float)
    elif loss == "hinge":
        t = 2.0 * rng.integers(0, 2, (n, m)) - 1.0
    else:
        t = rng.normal(size=(n, m))
    problem = make_problem(arch, x, t, loss=loss, loss_param=loss_param, dtype=dtype)
    return problem, theta


def gaussian_pair(n, seed, dtype=np.float64, scale=0.5):
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=scale, size=n).astype(dtype),
            rng.normal(scale=scale, size=n).astype(dtype))


# Several activations in hidden and output layers, every loss.
CASES = [
    ([(6, "relu", None), (3, "softmax", None)], "cross_entropy", 0.0),
    ([(7, "tanh", None), (4, "leaky_relu", 0.2), (2, "identity", None)], "mse", 0.0),
    ([(5, "sigmoid", None), (1, "sigmoid", None)], "bce", 0.0),
    ([(4, "elu", 0.7), (6, "relu", None), (3, "softmax", None)], "kl_div", 0.0),
    ([(5, "leaky_relu", None), (2, "tanh", None)], "huber", 0.4),
    ([(5, "relu", None), (2, "elu", None)], "mae", 0.0),
    ([(3, "tanh", None), (1, "identity", None)], "hinge", 0.0),
    ([(2, "sigmoid", None)], "bce", 0.0),                     # one layer only
    ([(16, "relu", None), (12, "relu", None), (3, "softmax", None)], "cross_entropy", 0.0),
]
CASE_IDS = [f"{c[1]}-{'-'.join(l[1] for l in c[0])}" for c in CASES]

# A non-square, asymmetric grid: a swapped orientation cannot pass.
ALPHAS = np.array([-1.0, -0.35, 0.0, 0.6, 1.3])
BETAS = np.array([-0.8, 0.0, 0.45, 1.1])


# ------------------------------------------------------------- the grids
@pytest.mark.parametrize("strategy", ["parallel", "single", "blas"])
@pytest.mark.parametrize("layers,loss,param", CASES, ids=CASE_IDS)
def test_grid_equals_numpy_float64(layers, loss, param, strategy):
    problem, theta = random_problem(layers, loss, loss_param=param)
    d1, d2 = gaussian_pair(problem.n_params, seed=1)
    got = loss_grid(problem, theta, d1, d2, ALPHAS, BETAS, strategy=strategy)
    want = np_grid(problem, theta, d1, d2, ALPHAS, BETAS)
    assert got.shape == (len(BETAS), len(ALPHAS)) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("layers,loss,param", CASES[:4] + CASES[-1:],
                         ids=CASE_IDS[:4] + CASE_IDS[-1:])
def test_grid_equals_numpy_float32(layers, loss, param):
    problem, theta = random_problem(layers, loss, loss_param=param, dtype=np.float32)
    d1, d2 = random_directions(problem, theta, seed=3)
    assert d1.dtype == np.float32
    got = loss_grid(problem, theta, d1, d2, ALPHAS, BETAS)
    want = np_grid(problem, theta, d1, d2, ALPHAS, BETAS)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_row_j_column_i_is_alpha_i_beta_j():
    problem, theta = random_problem(*CASES[0][:2])
    d1, d2 = gaussian_pair(problem.n_params, seed=2)
    grid = loss_grid(problem, theta, d1, d2, ALPHAS, BETAS)
    j, i = 3, 1
    direct = np_mean_loss(problem, theta + ALPHAS[i] * d1 + BETAS[j] * d2)
    assert grid[j, i] == pytest.approx(direct, rel=1e-12)
    assert grid[i, j] != pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize("name,steps", [("xor", 30), ("iris", 5), ("sine", 20),
                                        ("perceptron-and", 3), ("spirals", 40)])
def test_grid_equals_the_trainers_own_evaluation(name, steps):
    tr = bundled_trainer(name, steps)
    problem = problem_from_trainer(tr, max_samples=None)
    theta = tr.theta.copy()
    d1, d2 = random_directions(problem, theta, seed=5)
    alphas, betas = np.linspace(-0.7, 0.9, 3), np.linspace(-0.5, 0.8, 4)
    grid = loss_grid(problem, theta, d1, d2, alphas, betas)
    float32 = tr.dtype == np.float32
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            point = (theta.astype(np.float64) + a * d1 + b * d2).astype(tr.dtype)
            tr.theta[...] = point
            loss, _ = tr.evaluate(tr.train)
            assert grid[j, i] == pytest.approx(loss, rel=1e-5 if float32 else 1e-11), (i, j)


@pytest.mark.parametrize("name", ["xor", "iris", "spirals"])
def test_centre_of_the_grid_is_the_loss_at_theta(name):
    tr = bundled_trainer(name, steps=7)
    problem = problem_from_trainer(tr, max_samples=None)
    s = surface_slice(problem, tr.theta, grid=(7, 5), seed=1)
    assert s.alphas[3] == 0.0 and s.betas[2] == 0.0
    want, _ = tr.evaluate(tr.train)
    rel = 1e-5 if tr.dtype == np.float32 else 1e-12
    assert s.losses[2, 3] == pytest.approx(want, rel=rel)
    assert s.center_loss == s.losses[2, 3]


def test_a_dead_unit_with_an_infinite_weight_gives_nan_like_numpy():
    # Skipping the zero inputs of a ReLU layer is only exact for finite
    # weights: 0 * inf is NaN. A diverged network must still show NaN.
    problem, theta = random_problem([(6, "relu", None), (3, "softmax", None)],
                                    "cross_entropy", d=5)
    arch = problem.arch
    arch.weight(theta, 0)[2] = 0.0
    arch.bias(theta, 0)[2] = -1.0                 # unit 2 never fires
    arch.weight(theta, 1)[1, 2] = np.inf          # its outgoing weight
    d1, d2 = gaussian_pair(arch.n_params, seed=4)
    arch.weight(d1, 0)[2] = arch.weight(d2, 0)[2] = 0.0
    arch.bias(d1, 0)[2] = arch.bias(d2, 0)[2] = 0.0
    got = loss_grid(problem, theta, d1, d2, ALPHAS[:2], BETAS[:2])
    with np.errstate(invalid="ignore"):
        want = np_grid(problem, theta, d1, d2, ALPHAS[:2], BETAS[:2])
    assert np.isnan(want).all()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


# ------------------------------------------------------------ directions
def test_random_directions_are_filter_normalised():
    tr = bundled_trainer("iris", steps=3)
    theta = tr.theta.copy()
    arch = tr.arch
    d1, d2 = random_directions(arch, theta, seed=11)
    assert not np.array_equal(d1, d2)
    for d in (d1, d2):
        for i in range(len(arch.layers)):
            np.testing.assert_allclose(np.linalg.norm(arch.weight(d, i), axis=1),
                                       np.linalg.norm(arch.weight(theta, i), axis=1),
                                       rtol=1e-12)
            assert not arch.bias(d, i).any()
    # d1 is the first N(0, 1) draw of the seed, each row scaled by its own factor
    g = np.random.default_rng(11).standard_normal(arch.n_params)
    for i in range(len(arch.layers)):
        gw = arch.weight(g, i)
        factor = np.linalg.norm(arch.weight(theta, i), axis=1) / np.linalg.norm(gw, axis=1)
        np.testing.assert_allclose(arch.weight(d1, i), gw * factor[:, None], rtol=1e-12)


def test_random_directions_are_reproducible_from_the_seed():
    problem, theta = random_problem(*CASES[1][:2])
    a = random_directions(problem, theta, seed=7)
    b = random_directions(problem, theta, seed=7)
    c = random_directions(problem, theta, seed=8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_a_zero_row_of_theta_gets_a_zero_row_in_the_direction():
    problem, theta = random_problem(*CASES[0][:2])
    arch = problem.arch
    arch.weight(theta, 1)[0] = 0.0
    d1, _ = random_directions(problem, theta, seed=0)
    assert not arch.weight(d1, 1)[0].any()
    assert arch.weight(d1, 1)[1].any()


def test_float32_directions_keep_the_row_norms():
    tr = bundled_trainer("spirals")
    d1, _ = random_directions(tr.arch, tr.theta, seed=0)
    assert d1.dtype == np.float32
    for i in range(len(tr.arch.layers)):
        np.testing.assert_allclose(np.linalg.norm(tr.arch.weight(d1, i).astype(float), axis=1),
                                   np.linalg.norm(tr.weight(i).astype(float), axis=1), rtol=1e-5)


def random_path(k=9, p=40, seed=0):
    rng = np.random.default_rng(seed)
    points = np.cumsum(rng.normal(size=(k, p)) * rng.uniform(0.1, 2.0, p), axis=0)
    return points, points[-1].copy()


def test_pca_directions_are_orthonormal_and_match_numpy_svd():
    points, center = random_path()
    d1, d2, explained = pca_directions(points, center)
    np.testing.assert_allclose([d1 @ d1, d2 @ d2, d1 @ d2], [1.0, 1.0, 0.0], atol=1e-12)
    _, s, vt = np.linalg.svd(points - center, full_matrices=False)
    assert abs(d1 @ vt[0]) == pytest.approx(1.0, abs=1e-10)
    assert abs(d2 @ vt[1]) == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(explained, s[:2] ** 2 / np.sum(s ** 2), rtol=1e-10)


def test_pca_signs_put_the_start_of_the_path_at_negative_coordinates():
    points, center = random_path(seed=3)
    d1, d2, _ = pca_directions(points, center)
    start = project(points[:1], center, d1, d2)[0]
    assert start[0] <= 0 and start[1] <= 0


def test_pca_recovers_a_planted_plane_exactly():
    rng = np.random.default_rng(4)
    p = 300
    center = rng.normal(size=p)
    u, v = rng.normal(size=p), rng.normal(size=p)       # not orthogonal
    coef = rng.normal(size=(12, 2))
    points = center + coef[:, :1] * u + coef[:, 1:] * v
    d1, d2, explained = pca_directions(points, center)
    assert explained.sum() == pytest.approx(1.0, abs=1e-12)
    basis = np.column_stack([d1, d2])
    for w in (u, v):   # u and v lie in span(d1, d2)
        np.testing.assert_allclose(basis @ (basis.T @ w), w, atol=1e-9 * np.linalg.norm(w))
    # and every point is reproduced from its projected coordinates
    xy = project(points, center, d1, d2)
    np.testing.assert_allclose(center + xy @ basis.T, points, atol=1e-9)


def test_pca_of_many_points_uses_an_even_subset_of_them():
    rng = np.random.default_rng(8)
    p = 50
    center = rng.normal(size=p)
    u, v = rng.normal(size=p), rng.normal(size=p)
    s = np.linspace(-3, 0, 200)
    points = center + np.outer(s, u) + np.outer(np.sin(3 * s), v)
    d1, d2, _ = pca_directions(points, center, max_points=20)
    basis = np.column_stack([d1, d2])
    for w in (u, v):      # the same plane as from all 200 points
        np.testing.assert_allclose(basis @ (basis.T @ w), w, atol=1e-9 * np.linalg.norm(w))
    # with points off the plane, the subset's plane is the one NumPy finds for it
    noisy = points + 0.05 * rng.normal(size=points.shape)
    d1, d2, _ = pca_directions(noisy, center, max_points=20)
    idx = np.unique(np.round(np.linspace(0, 199, 20)).astype(int))
    _, _, vt = np.linalg.svd(noisy[idx] - center, full_matrices=False)
    assert abs(d1 @ vt[0]) == pytest.approx(1.0, abs=1e-10)
    assert abs(d2 @ vt[1]) == pytest.approx(1.0, abs=1e-10)


def test_pca_of_a_short_or_straight_path_raises_a_clear_error():
    points, center = random_path(k=2)
    with pytest.raises(TrajectoryTooShort, match="at least 3"):
        pca_directions(points, center)
    rng = np.random.default_rng(0)
    line = rng.normal(size=20)
    straight = np.outer([3.0, 2.0, 1.0, 0.0], line)
    with pytest.raises(ValueError, match="plane"):
        pca_directions(straight, straight[-1])


# ------------------------------------------------------------ projection
def test_projection_equals_numpy_lstsq_for_non_orthogonal_directions():
    rng = np.random.default_rng(5)
    p = 70
    center = rng.normal(size=p)
    d1 = rng.normal(size=p)
    d2 = 0.6 * d1 + rng.normal(size=p)        # far from orthogonal
    points = center + rng.normal(size=(6, p))
    got = project(points, center, d1, d2)
    want = np.linalg.lstsq(np.column_stack([d1, d2]), (points - center).T, rcond=None)[0].T
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_projection_is_exact_in_the_plane():
    problem, theta = random_problem(*CASES[2][:2])
    d1, d2 = random_directions(problem, theta, seed=9)
    d1, d2 = d1.astype(float), d2.astype(float)
    coords = np.array([[0.3, -1.2], [0.0, 0.0], [-2.5, 0.7]])
    points = theta + coords @ np.vstack([d1, d2])
    np.testing.assert_allclose(project(points, theta, d1, d2), coords, atol=1e-12)


# ------------------------------------------------------------ the line
def test_loss_line_from_the_initial_to_the_current_parameters():
    tr = bundled_trainer("xor", steps=200)
    problem = problem_from_trainer(tr)
    ts = np.array([-0.5, 0.0, 0.25, 1.0, 1.5])
    line = loss_line(problem, tr.initial_theta, tr.theta, ts)
    now, _ = tr.evaluate(tr.train)
    assert line[3] == pytest.approx(now, rel=1e-12)
    assert line[1] == pytest.approx(np_mean_loss(problem, tr.initial_theta), rel=1e-12)
    want = [np_mean_loss(problem, tr.initial_theta + t * (tr.theta - tr.initial_theta))
            for t in ts]
    np.testing.assert_allclose(line, want, rtol=1e-11)
    assert line[3] < line[1]          # training lowered the loss


# ----------------------------------------------------------- the problem
def test_problem_from_trainer_copies_a_seeded_subset():
    tr = bundled_trainer("spirals")
    n = len(tr.train)
    small = problem_from_trainer(tr, max_samples=n // 3, seed=1)
    again = problem_from_trainer(tr, max_samples=n // 3, seed=1)
    other = problem_from_trainer(tr, max_samples=n // 3, seed=2)
    assert small.n_samples == n // 3 and small.dtype == tr.dtype
    np.testing.assert_array_equal(small.x, again.x)
    assert not np.array_equal(small.x, other.x)
    rows = {r.tobytes() for r in tr.train.x}
    assert all(r.tobytes() in rows for r in small.x)
    assert not np.shares_memory(small.x, tr.train.x)
    assert not small.x.flags.writeable
    full = problem_from_trainer(tr, max_samples=None)
    np.testing.assert_array_equal(full.x, tr.train.x)


# ------------------------------------------------------------ trajectory
def test_trajectory_capacity_fits_the_memory_budget():
    n_params = 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    for dtype in (np.float32, np.float64):
        cap = trajectory_capacity(n_params, dtype)
        per_point = n_params * np.dtype(dtype).itemsize
        assert cap % 2 == 0 and cap >= 4
        assert cap * per_point <= 64 * 2**20 < (cap + 2) * per_point
        t = Trajectory(n_params, dtype)
        assert t.capacity == cap
        assert t.nbytes <= 64 * 2**20 + 2 * per_point
    assert trajectory_capacity(17) == 4096            # tiny networks: the cap
    assert trajectory_capacity(10**9, budget_bytes=1) == 4    # the floor


def test_trajectory_decimates_and_keeps_the_first_and_latest_points():
    p = 5
    traj = Trajectory(p, capacity=16)
    for step in range(1000):
        traj.append(step * 3, np.full(p, float(step)))
        assert len(traj) <= 17
    steps, points = traj.points()
    assert steps[0] == 0 and steps[-1] == 999 * 3
    np.testing.assert_array_equal(points[:, 0], steps / 3)     # each row with its step
    assert (np.diff(steps) > 0).all()
    kept = steps[:-1] if (999 % traj.stride) else steps
    assert len(set(np.diff(kept))) == 1                   # evenly spread
    assert 8 <= len(kept) <= 16
    last_step, last = traj.latest()
    assert last_step == 999 * 3 and (last == 999.0).all()


def test_trajectory_points_are_copies():
    traj = Trajectory(3, capacity=4)
    v = np.ones(3)
    traj.append(0, v)
    v[:] = 7.0
    _, pts = traj.points()
    assert (pts == 1.0).all()
    pts[:] = 5.0
    assert (traj.points()[1] == 1.0).all()


# -------------------------------------------------------- surface_slice
def test_surface_slice_random_record():
    tr = bundled_trainer("xor")
    traj = Trajectory.for_trainer(tr)
    traj.append(tr.step, tr.theta)
    for _ in range(10):
        tr.run_steps(20)
        traj.append(tr.step, tr.theta)
    problem = problem_from_trainer(tr)
    s = surface_slice(problem, tr.theta, trajectory=traj, grid=9, extent=0.5, seed=3)
    assert s.kind == "random" and s.explained is None and s.extent == (0.5, 0.5)
    assert s.losses.shape == (9, 9) and s.alphas[0] == -0.5 and s.betas[-1] == 0.5
    assert s.path.shape == (11, 2) and list(s.path_steps) == list(range(0, 201, 20))
    np.testing.assert_allclose(s.path[-1], 0.0, atol=1e-12)      # the centre itself
    assert ((s.path_offplane >= 0) & (s.path_offplane <= 1)).all()
    d1, d2 = random_directions(problem, tr.theta, seed=3)
    np.testing.assert_array_equal(s.d1, d1)
    np.testing.assert_array_equal(s.losses, loss_grid(problem, tr.theta, d1, d2, s.alphas,
                                                      s.betas))
    with pytest.raises(ValueError):
        s.losses[0, 0] = 1.0


def test_surface_slice_pca_covers_the_path():
    tr = bundled_trainer("iris")
    traj = Trajectory.for_trainer(tr)
    traj.append(tr.step, tr.theta)
    for _ in range(12):
        tr.run_steps(5)
        traj.append(tr.step, tr.theta)
    problem = problem_from_trainer(tr)
    s = surface_slice(problem, tr.theta, directions="pca", trajectory=traj, grid=(11, 7))
    assert s.kind == "pca" and s.losses.shape == (7, 11)
    assert 0 < s.explained[1] <= s.explained[0] and s.explained.sum() <= 1 + 1e-12
    assert (np.abs(s.path[:, 0]) < s.alphas[-1]).all()
    assert (np.abs(s.path[:, 1]) < s.betas[-1]).all()
    assert s.path[0, 0] < 0
    # the path lies close to its own PCA plane
    assert s.path_offplane.max() < 1.0
    want = np_mean_loss(problem, tr.theta + s.alphas[0] * s.d1 + s.betas[-1] * s.d2)
    assert s.losses[-1, 0] == pytest.approx(want, rel=1e-11)


def test_surface_slice_pca_without_enough_points_raises():
    tr = bundled_trainer("xor")
    traj = Trajectory.for_trainer(tr)
    traj.append(0, tr.theta)
    with pytest.raises(TrajectoryTooShort):
        surface_slice(problem_from_trainer(tr), tr.theta, directions="pca", trajectory=traj)


# --------------------------------------------------------------- threads
@pytest.mark.parametrize("strategy", ["parallel", "single"])
def test_a_slice_computed_while_the_trainer_trains_equals_one_computed_alone(strategy):
    tr = bundled_trainer("spirals", steps=50)
    twin = bundled_trainer("spirals", steps=50)
    problem = problem_from_trainer(tr, max_samples=300)
    theta = tr.theta.copy()
    alone = surface_slice(problem, theta, grid=15, seed=2, strategy=strategy).losses

    stop = threading.Event()

    def train():
        while not stop.is_set():
            tr.run_steps(25)

    worker = threading.Thread(target=train)
    worker.start()
    try:
        during = [surface_slice(problem, theta, grid=15, seed=2, strategy=strategy).losses
                  for _ in range(3)]
    finally:
        stop.set()
        worker.join()
    for grid in during:
        np.testing.assert_array_equal(grid, alone)
    # and the slices did not disturb training
    twin.run_steps(tr.step - twin.step)
    np.testing.assert_array_equal(tr.theta, twin.theta)


def test_two_threads_asking_for_slices_at_once_get_the_right_grids():
    problem, theta = random_problem(*CASES[-1][:2])
    d1, d2 = gaussian_pair(problem.n_params, seed=6)
    alphas = np.linspace(-1, 1, 13)
    want = loss_grid(problem, theta, d1, d2, alphas, alphas)
    results = [None] * 4

    def work(k):
        results[k] = loss_grid(problem, theta, d1, d2, alphas, alphas)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_thread_counts_and_strategies_agree_and_numba_threads_are_restored():
    import numba
    problem, theta = random_problem(*CASES[-1][:2], n=300)
    d1, d2 = gaussian_pair(problem.n_params, seed=6)
    alphas = np.linspace(-1, 1, 9)
    before = numba.get_num_threads()
    grids = [loss_grid(problem, theta, d1, d2, alphas, alphas, strategy=s, threads=n)
             for s, n in (("parallel", None), ("parallel", 1), ("single", None), ("auto", 1))]
    assert numba.get_num_threads() == before
    for g in grids[1:]:
        np.testing.assert_array_equal(g, grids[0])


def test_landscape_does_not_import_the_ui():
    code = ("import sys, simtreino.analysis.landscape; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
