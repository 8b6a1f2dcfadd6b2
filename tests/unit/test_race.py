"""Optimizer races: the 2-D functions' gradients, and the racers' paths
against closed-form values on a quadratic (the ravine 0.01x² + y²)."""

import math

import numpy as np
import pytest

from simtreino.core.functions2d import FUNCTIONS, evaluate, grad, grid_values
from simtreino.core.hyper import resolve
from simtreino.core.optimizers import OPTIMIZERS
from simtreino.core.race import Race, Racer

# the ravine's Hessian: f = ½(A x² + B y²)
A, B = 0.02, 2.0
START = np.array([-9.0, -2.0])
H = np.array([A, B])


def racer(name, **hp):
    return Racer(hp.pop("label", name), name, resolve(name, OPTIMIZERS[name][1], hp))


def path_of(name, steps, fn="ravine", start=(-9.0, -2.0), **hp):
    race = Race(fn, start, [racer(name, **hp)], steps)
    race.run(steps)
    return race.path[0]


# ------------------------------------------------------------ the functions
@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_gradient_matches_central_differences(fn):
    rng = np.random.default_rng(1)
    xmin, xmax, ymin, ymax = FUNCTIONS[fn].domain
    for _ in range(20):
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        h = 1e-6
        fd = np.array([(evaluate(fn, x + h, y) - evaluate(fn, x - h, y)) / (2 * h),
                       (evaluate(fn, x, y + h) - evaluate(fn, x, y - h)) / (2 * h)])
        g = grad(fn, x, y)
        scale = max(1.0, np.abs(g).max())
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-6 * scale), (fn, x, y, g, fd)


@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_known_minima_are_stationary_and_lowest(fn):
    spec = FUNCTIONS[fn]
    values = [evaluate(fn, *m) for m in spec.minima]
    xs = np.linspace(spec.domain[0], spec.domain[1], 201)
    ys = np.linspace(spec.domain[2], spec.domain[3], 201)
    grid = grid_values(fn, xs, ys)
    for m, v in zip(spec.minima, values):
        # Himmelblau's minima are given to 6 decimals: gradient ~1e-4 there
        assert np.abs(grad(fn, *m)).max() < 1e-3, (fn, m)
        assert v <= grid.min() + 1e-6, (fn, m, v, grid.min())
    assert max(values) - min(values) < 1e-8


def test_grid_orientation_row_is_y():
    xs, ys = np.array([0.0, 1.0, 2.0]), np.array([-1.0, 3.0])
    g = grid_values("rosenbrock", xs, ys)
    assert g.shape == (2, 3)
    assert g[1, 2] == evaluate("rosenbrock", 2.0, 3.0)


@pytest.mark.parametrize("fn", list(FUNCTIONS))
def test_default_start_is_inside_the_domain_and_not_a_minimum(fn):
    spec = FUNCTIONS[fn]
    x, y = spec.start
    assert spec.domain[0] <= x <= spec.domain[1] and spec.domain[2] <= y <= spec.domain[3]
    assert np.abs(grad(fn, x, y)).max() > 0


# ---------------------------------------------- closed forms on the quadratic
def test_sgd_is_a_geometric_sequence():
    lr, k = 0.9, 60
    p = path_of("sgd", k, lr=lr)
    expected = START[None, :] * (1 - lr * H)[None, :] ** np.arange(k + 1)[:, None]
    assert np.allclose(p, expected, rtol=1e-12, atol=1e-300)


def _linear_recurrence(M_of, k):
    """(θ_k) per coordinate from a 2x2 recurrence on (θ, buffer), buffer_0 = 0."""
    out = np.empty((k + 1, 2))
    for c in range(2):
        M = M_of(H[c])
        for j in range(k + 1):
            out[j, c] = (np.linalg.matrix_power(M, j) @ np.array([START[c], 0.0]))[0]
    return out


def test_heavy_ball_momentum_matches_its_matrix_power():
    # torch: b_1 = g_1, b_k = μ b_{k-1} + g_k, θ_k = θ_{k-1} - lr b_k, which is
    # the same as starting from b_0 = 0: (θ, b) -> M (θ, b)
    lr, mu, k = 0.2, 0.9, 80
    p = path_of("momentum", k, lr=lr, momentum=mu)
    M = lambda h: np.array([[1 - lr * h, -lr * mu], [h, mu]])  # noqa: E731
    assert np.allclose(p, _linear_recurrence(M, k), rtol=1e-9, atol=1e-12)


def test_nesterov_matches_its_matrix_power():
    # θ' = θ - lr (g + μ b'), b' = μ b + g, g = h θ
    lr, mu, k = 0.2, 0.9, 80
    p = path_of("nesterov", k, lr=lr, momentum=mu)
    M = lambda h: np.array([[1 - lr * h * (1 + mu), -lr * mu * mu], [h, mu]])  # noqa: E731
    assert np.allclose(p, _linear_recurrence(M, k), rtol=1e-9, atol=1e-12)


def _two_steps(update):
    """Apply a two-step closed form: update(step, g, state) -> Δθ."""
    theta = START.copy()
    state = {}
    out = [theta.copy()]
    for step in (1, 2):
        g = H * theta
        theta = theta - update(step, g, state, theta)
        out.append(theta.copy())
    return np.array(out)


def test_adam_first_two_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8

    def upd(step, g, st, theta):
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
        mhat = st["m"] / (1 - b1 ** step)
        vhat = st["v"] / (1 - b2 ** step)
        return lr * mhat / (np.sqrt(vhat) + eps)

    expected = _two_steps(upd)
    # step 1 of Adam moves every coordinate by lr (times the sign): m̂ = g, v̂ = g²
    assert np.allclose(expected[1] - expected[0], lr * np.sign(-H * START), rtol=1e-6)
    assert np.allclose(path_of("adam", 2, lr=lr), expected, rtol=1e-12)


def test_adamw_decays_the_weights_first():
    lr, wd, b1, b2, eps = 0.1, 0.5, 0.9, 0.999, 1e-8

    def run():
        theta, m, v, out = START.copy(), 0.0, 0.0, [START.copy()]
        for step in (1, 2):
            g = H * theta
            theta = theta * (1 - lr * wd)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            theta = theta - lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
            out.append(theta.copy())
        return np.array(out)

    assert np.allclose(path_of("adamw", 2, lr=lr, weight_decay=wd), run(), rtol=1e-12)


def test_adagrad_first_two_steps():
    lr, eps = 0.5, 1e-10

    def upd(step, g, st, theta):
        st["s"] = st.get("s", 0.0) + g * g
        return lr * g / (np.sqrt(st["s"]) + eps)

    assert np.allclose(path_of("adagrad", 2, lr=lr), _two_steps(upd), rtol=1e-12)


def test_rmsprop_first_two_steps():
    lr, alpha, eps = 0.01, 0.99, 1e-8

    def upd(step, g, st, theta):
        st["v"] = alpha * st.get("v", 0.0) + (1 - alpha) * g * g
        return lr * g / (np.sqrt(st["v"]) + eps)

    expected = _two_steps(upd)
    # the first step is lr / sqrt(1 - alpha) = 10 lr per coordinate
    assert np.allclose(np.abs(expected[1] - expected[0]), lr / math.sqrt(1 - alpha), rtol=1e-6)
    assert np.allclose(path_of("rmsprop", 2, lr=lr), expected, rtol=1e-12)


def test_adadelta_first_two_steps():
    lr, rho, eps = 1.0, 0.9, 1e-6

    def upd(step, g, st, theta):
        st["v"] = rho * st.get("v", 0.0) + (1 - rho) * g * g
        dx = np.sqrt(st.get("u", 0.0) + eps) / np.sqrt(st["v"] + eps) * g
        st["u"] = rho * st.get("u", 0.0) + (1 - rho) * dx * dx
        return lr * dx

    assert np.allclose(path_of("adadelta", 2, lr=lr), _two_steps(upd), rtol=1e-12)


# ------------------------------------------------------------------ the race
def test_racers_are_independent_of_each_other():
    names = list(OPTIMIZERS)
    race = Race("rosenbrock", (-1.5, 2.5), [racer(n, lr=1e-3) for n in names], 300)
    race.run(300)
    for i, n in enumerate(names):
        alone = path_of(n, 300, fn="rosenbrock", start=(-1.5, 2.5), lr=1e-3)
        assert np.array_equal(race.path[i], alone), n


def test_run_stops_at_the_race_length_and_in_chunks_gives_the_same_path():
    a = Race("beale", (1.0, 1.5), [racer("adam", lr=0.01)], 100)
    assert a.run(1000) == 100 and a.step == 100 and a.done
    b = Race("beale", (1.0, 1.5), [racer("adam", lr=0.01)], 100)
    for n in (1, 7, 30, 62):
        b.run(n)
    assert np.array_equal(a.path, b.path) and np.array_equal(a.losses, b.losses)
    assert a.losses[0, 0] == evaluate("beale", 1.0, 1.5)
    assert np.allclose(a.losses[0], [evaluate("beale", *p) for p in a.path[0]], rtol=1e-14)


def test_a_diverging_racer_stops_and_keeps_its_last_finite_point():
    race = Race("ravine", (-9.0, -2.0), [racer("sgd", lr=1.5), racer("sgd", lr=0.1,
                                                                    label="calm")], 500)
    race.run(500)
    assert race.diverged(0) and not race.diverged(1)
    k = int(race.diverged_at[0])
    assert 0 < k < 500
    assert np.isfinite(race.path[0]).all() and np.isfinite(race.losses[0]).all()
    assert np.array_equal(race.path[0, k], race.path[0, k - 1])   # frozen from there
    assert race.step == 500


def test_distances_and_nearest_minimum():
    race = Race("himmelblau", (0.0, 0.0), [racer("adam", lr=0.1)], 2000)
    race.run(2000)
    m = np.array(FUNCTIONS["himmelblau"].minima)
    p = race.points()[0]
    d = np.hypot(*(m - p).T)
    assert race.nearest()[0] == d.argmin()
    assert race.distances()[0] == pytest.approx(d.min())
    assert d.min() < 1e-3


def test_reset_restarts_from_scratch():
    race = Race("saddle", (-1.5, 1e-3), [racer("adam", lr=0.01), racer("adagrad")], 50)
    race.run(50)
    first = race.path.copy()
    race.reset()
    assert race.step == 0 and np.isnan(race.path[:, 1:]).all()
    race.run(50)
    assert np.array_equal(race.path, first)


def test_adagrad_initial_accumulator_is_used():
    p0 = path_of("adagrad", 1, lr=0.5)
    p1 = path_of("adagrad", 1, lr=0.5, initial_accumulator_value=4.0)
    g = H * START
    assert np.allclose(p1[1], START - 0.5 * g / (np.sqrt(4.0 + g * g) + 1e-10), rtol=1e-12)
    assert not np.allclose(p0[1], p1[1])
