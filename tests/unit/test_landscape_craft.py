"""Loss landscapes of networks with batch normalisation, residual
connections, dropout and weight penalties: every point is the objective as
the trainer evaluates it (evaluation mode: running statistics, no dropout;
plus the weight penalty), against the trainer itself and an independent
NumPy forward pass."""

import numpy as np
import pytest

from simtreino.analysis.landscape import (
    Trajectory,
    loss_grid,
    loss_line,
    make_problem,
    problem_from_trainer,
    random_directions,
    surface_slice,
)
from simtreino.core.network import Architecture
from simtreino.core.regularization import weight_penalty

from coretools import make_trainer
from test_landscape import np_activation, np_loss

CRAFT_LAYERS = [(4, "relu", None, True, True),        # BN and a residual on the first layer
                (6, "tanh", None, True, False),
                (6, "elu", None, False, True),
                (3, "softmax", None)]
ALPHAS = np.array([-0.8, -0.25, 0.0, 0.5])
BETAS = np.array([-0.6, 0.0, 0.35, 1.1, 1.4])


def craft_data(n=60, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * 3.0 + 1.0      # unnormalised: batch norm has work to do
    labels = rng.integers(0, k, n)
    return x, np.eye(k)[labels], labels


def craft_trainer(dtype=np.float64, steps=30, **kw):
    x, t, labels = craft_data()
    craft = dict(dropout=[0.2, 0.1, 0.3], l2=0.01, l1=0.003)
    craft.update(kw)
    tr = make_trainer(CRAFT_LAYERS, x, t, labels, loss="cross_entropy", batch_size=16,
                      shuffle=True, dtype=dtype, **craft)
    tr.run_steps(steps)
    assert not tr.halted
    return tr


def objective(tr) -> float:
    """What the surface shows at the trainer's parameters: the data loss in
    evaluation mode plus the weight penalty."""
    loss, _ = tr.evaluate(tr.train)
    return loss + weight_penalty(tr.theta, tr.arch.layout, tr.reg[0], tr.reg[1])


def gaussian_pair(n, seed, dtype, scale=0.3):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(scale=scale, size=n).astype(dtype) for _ in range(2))


# ------------------------------------------------------- NumPy reference
def np_objective(problem, theta) -> float:
    """The problem's loss at ``theta`` by plain NumPy in float64: batch norm
    with the problem's running statistics, residual connections, no
    dropout; the output layer's product and activation go to the loss (as
    the trainer hands them); plus the weight penalty."""
    arch = problem.arch
    theta = np.asarray(theta, dtype=np.float64)
    run = np.asarray(problem.bn_run, dtype=np.float64)
    U = arch.n_bn_units
    a = problem.x.astype(np.float64)
    for i, s in enumerate(arch.layers):
        z = a @ arch.weight(theta, i).T + arch.bias(theta, i)
        pre = z
        if s.batchnorm:
            u = s.bn_unit
            mean, var = run[u:u + s.n_out], run[U + u:U + u + s.n_out]
            pre = arch.gamma(theta, i) * (z - mean) / np.sqrt(var + 1e-5) + arch.beta(theta, i)
        act = np_activation(s.activation, pre, s.act_param)
        a = act + a if s.residual else act
    data = np_loss(problem.loss, z, act, problem.t.astype(np.float64), problem.loss_param)
    w = np.concatenate([arch.weight(theta, i).ravel() for i in range(len(arch.layers))])
    return data + problem.l1 * np.abs(w).sum() + problem.l2 * (w * w).sum()


# ------------------------------------------------------------- the grids
@pytest.mark.parametrize("strategy", ["parallel", "single", "blas"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_equals_the_trainers_objective_with_batchnorm_residual_dropout_penalty(dtype,
                                                                                    strategy):
    tr = craft_trainer(dtype)
    problem = problem_from_trainer(tr, max_samples=None)
    theta = tr.theta.copy()
    # Gaussian directions move every parameter, gamma and beta included
    d1, d2 = gaussian_pair(tr.arch.n_params, seed=1, dtype=dtype)
    grid = loss_grid(problem, theta, d1, d2, ALPHAS, BETAS, strategy=strategy)
    rel = 1e-6 if dtype == np.float32 else 1e-12
    for j, b in enumerate(BETAS):
        for i, a in enumerate(ALPHAS):
            tr.theta[...] = (theta.astype(np.float64) + a * d1 + b * d2).astype(dtype)
            assert grid[j, i] == pytest.approx(objective(tr), rel=rel), (i, j)
    tr.theta[...] = theta


def test_the_centre_of_a_slice_is_evaluate_plus_the_penalty():
    tr = craft_trainer()
    problem = problem_from_trainer(tr, max_samples=None)
    s = surface_slice(problem, tr.theta, grid=(5, 7), seed=2)
    assert s.alphas[2] == 0.0 and s.betas[3] == 0.0
    data, _ = tr.evaluate(tr.train)
    want = objective(tr)
    assert want > data                           # the penalty is in it
    assert s.center_loss == pytest.approx(want, rel=1e-12)
    # and every point of it equals an independent NumPy forward pass
    want_grid = [[np_objective(problem, s.center + a * s.d1 + b * s.d2) for a in s.alphas]
                 for b in s.betas]
    np.testing.assert_allclose(s.losses, want_grid, rtol=1e-11)


def test_a_plain_network_with_a_penalty_shows_it_too():
    x, t, labels = craft_data()
    tr = make_trainer([(5, "tanh", None), (3, "softmax", None)], x, t, labels,
                      loss="cross_entropy", l2=0.05, l1=0.01)
    tr.run_steps(10)
    assert tr.arch.plain
    problem = problem_from_trainer(tr, max_samples=None)
    assert problem.l1 == 0.01 and problem.l2 == 0.05
    s = surface_slice(problem, tr.theta, grid=3)
    assert s.center_loss == pytest.approx(objective(tr), rel=1e-12)
    assert s.center_loss > tr.evaluate(tr.train)[0] + 0.01


@pytest.mark.parametrize("strategy", ["parallel", "single", "blas"])
def test_grid_equals_numpy_for_random_craft_networks(strategy):
    rng = np.random.default_rng(3)
    arch = Architecture(5, [(5, "sigmoid", None, True, True), (7, "leaky_relu", 0.1, True, False),
                            (7, "tanh", None, False, True), (7, "relu", None, True, True),
                            (2, "identity", None)])
    theta = rng.normal(scale=0.7, size=arch.n_params)
    U = arch.n_bn_units
    bn_run = np.concatenate([rng.normal(size=U), rng.uniform(0.2, 3.0, U)])
    x, t = rng.normal(size=(41, 5)), rng.normal(size=(41, 2))
    problem = make_problem(arch, x, t, loss="huber", loss_param=0.7, l1=0.02, l2=0.03,
                           bn_run=bn_run)
    d1, d2 = gaussian_pair(arch.n_params, seed=4, dtype=np.float64, scale=0.5)
    got = loss_grid(problem, theta, d1, d2, ALPHAS, BETAS, strategy=strategy)
    want = [[np_objective(problem, theta + a * d1 + b * d2) for a in ALPHAS] for b in BETAS]
    np.testing.assert_allclose(got, want, rtol=1e-11)


def test_the_loss_line_holds_the_running_statistics_fixed():
    tr = craft_trainer(steps=40)
    problem = problem_from_trainer(tr)
    line = loss_line(problem, tr.initial_theta, tr.theta, [0.0, 0.5, 1.0])
    assert line[2] == pytest.approx(objective(tr), rel=1e-12)
    for k, t_ in enumerate((0.0, 0.5)):
        point = tr.initial_theta + t_ * (tr.theta - tr.initial_theta)
        assert line[k] == pytest.approx(np_objective(problem, point), rel=1e-11)


def test_a_pca_slice_of_a_batchnorm_network():
    tr = craft_trainer(steps=0)
    traj = Trajectory.for_trainer(tr)
    traj.append(tr.step, tr.theta)
    for _ in range(8):
        tr.run_steps(5)
        traj.append(tr.step, tr.theta)
    problem = problem_from_trainer(tr)
    s = surface_slice(problem, tr.theta, directions="pca", trajectory=traj, grid=(5, 3))
    assert s.center_loss == pytest.approx(objective(tr), rel=1e-12)
    tr.theta[...] = s.center + s.alphas[0] * s.d1 + s.betas[-1] * s.d2
    assert s.losses[-1, 0] == pytest.approx(objective(tr), rel=1e-11)


# ------------------------------------------------------------ directions
def test_random_directions_leave_gamma_and_beta_alone():
    tr = craft_trainer()
    arch, theta = tr.arch, tr.theta.copy()
    d1, d2 = random_directions(arch, theta, seed=5)
    for d in (d1, d2):
        for i, s in enumerate(arch.layers):
            np.testing.assert_allclose(np.linalg.norm(arch.weight(d, i), axis=1),
                                       np.linalg.norm(arch.weight(theta, i), axis=1), rtol=1e-12)
            assert not arch.bias(d, i).any()
            if s.batchnorm:
                assert not arch.gamma(d, i).any() and not arch.beta(d, i).any()
    # so a random slice keeps every unit's learned scale and shift
    grid = loss_grid(problem_from_trainer(tr), theta, d1, d2, [0.7], [-0.4])
    tr.theta[...] = theta + 0.7 * d1 - 0.4 * d2
    for i, s in enumerate(arch.layers):
        if s.batchnorm:
            np.testing.assert_array_equal(arch.gamma(tr.theta, i), arch.gamma(theta, i))
    assert grid[0, 0] == pytest.approx(objective(tr), rel=1e-12)


# ----------------------------------------------------------- the problem
def test_the_problem_copies_the_running_statistics_and_the_penalty():
    tr = craft_trainer()
    problem = problem_from_trainer(tr)
    assert problem.l1 == 0.003 and problem.l2 == 0.01 and problem.penalty_on
    np.testing.assert_array_equal(problem.bn_run, tr.bn_run)
    assert not np.shares_memory(problem.bn_run, tr.bn_run)
    assert not problem.bn_run.flags.writeable
    assert problem.bn_run.dtype == tr.dtype


def test_with_trainer_state_follows_the_running_statistics_and_live_penalties():
    tr = craft_trainer()
    old = problem_from_trainer(tr, max_samples=None)
    tr.run_steps(20)                     # the running statistics move
    tr.set_hyper("l2", 0.2)
    theta = tr.theta.copy()
    new = old.with_trainer_state(tr)
    assert new.x is old.x and new.l2 == 0.2 and old.l2 == 0.01
    fresh = loss_grid(new, theta, np.zeros_like(theta), np.zeros_like(theta), [0.0], [0.0])
    stale = loss_grid(old, theta, np.zeros_like(theta), np.zeros_like(theta), [0.0], [0.0])
    assert fresh[0, 0] == pytest.approx(objective(tr), rel=1e-12)
    assert stale[0, 0] != pytest.approx(objective(tr), rel=1e-3)


def test_a_batchnorm_problem_needs_its_running_statistics():
    arch = Architecture(3, [(4, "relu", None, True, False), (1, "identity", None)])
    x, t = np.zeros((5, 3)), np.zeros((5, 1))
    with pytest.raises(ValueError, match="running statistics"):
        make_problem(arch, x, t, loss="mse")
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        make_problem(arch, x, t, loss="mse", bn_run=np.ones(4))
    with pytest.raises(ValueError):
        make_problem(arch, x, t, loss="mse", bn_run=np.r_[np.zeros(4), np.ones(4)], l2=-1.0)
    p = make_problem(arch, x, t, loss="mse", bn_run=np.r_[np.zeros(4), np.ones(4)])
    assert p.bn_run.shape == (8,) and not p.penalty_on


def test_the_live_watcher_follows_the_running_statistics_and_the_penalty():
    from simtreino.headless.surface_watch import SurfaceWatcher
    tr = craft_trainer()
    w = SurfaceWatcher(tr, grid=5)
    try:
        tr.run_steps(40)                 # the running statistics move on
        tr.set_hyper("l2", 0.3)          # and the penalty changes live
        w.compute_now(tr)
        assert w.latest.slice.center_loss == pytest.approx(objective(tr), rel=1e-9)
    finally:
        w.close()
