"""The optimizer update fused into the backward pass (layer by layer) gives
the numbers of the update after the whole backward pass, on networks large
enough for the matrix products to go to BLAS; the per-slice optimizer step
equals the whole-vector one; the BLAS products equal NumPy's."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from simtreino.core import engine as E
from simtreino.core.optimizers import (OPTIMIZERS, N_STEP_SCALARS, new_state, pack_hyper,
                                       update, update_begin, update_slice)
from simtreino.core.hyper import resolve

from coretools import make_trainer

# Every rule, and each of Adam's loops (no weight decay, coupled and
# decoupled weight decay, amsgrad, a first beta below 0.5: torch's other lerp).
CONFIGS = [
    ("sgd", {"lr": 0.05}),
    ("nesterov", {"lr": 0.05, "weight_decay": 1e-3}),
    ("adagrad", {"lr": 0.05, "lr_decay": 0.01}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 1e-3}),
    ("adadelta", {"weight_decay": 1e-3}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "weight_decay": 1e-2}),
    ("adam", {"lr": 0.01, "betas": (0.3, 0.99)}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "amsgrad": True}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 1e-2}),
]
IDS = [f"{n}-{'-'.join(k for k in h if k != 'lr') or 'default'}" for n, h in CONFIGS]


def blas_sized(name, hyper, dtype, seed=0):
    """48-64-32-5 with batches of 24: the first two layers' products are
    large enough for BLAS, the last one runs as loops."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 48))
    labels = rng.integers(0, 5, 60)
    t = np.eye(5)[labels]
    return make_trainer([(64, "relu", None), (32, "tanh", None), (5, "softmax", None)], x, t,
                        labels, loss="cross_entropy", optimizer=name, hyper=hyper,
                        batch_size=24, shuffle=True, dtype=dtype, init="he_uniform")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,hyper", CONFIGS, ids=IDS)
def test_fused_unfused_and_phase_paths_agree_bit_for_bit(name, hyper, dtype):
    fused, unfused, phases = (blas_sized(name, hyper, dtype) for _ in range(3))
    assert fused.fuse_update and fused.arch.n_params >= E.FUSE_MIN_PARAMS
    unfused.fuse_update = False
    n = 2 * fused.steps_per_epoch + 1    # crosses epoch ends and a partial batch
    fused.run_steps(n)
    unfused.run_steps(n)
    for _ in range(n):
        phases.step_phases()
    for other in (unfused, phases):
        assert np.array_equal(fused.theta, other.theta)
        assert np.array_equal(fused.grad, other.grad)
        assert np.array_equal(fused.opt.state, other.opt.state)
        assert np.array_equal(fused.opt.counters, other.opt.counters)
    assert not np.array_equal(fused.theta, fused.initial_theta)


def test_update_record_shows_the_state_before_and_after():
    tr = blas_sized("adam", {"lr": 0.01}, np.float32)
    tr.run_steps(3)
    before = tr.theta.copy()
    rec = tr.step_phases()[-1]
    assert rec.phase == "update" and rec.scalars["t"] == 4
    assert np.array_equal(rec.tensors["before"], before)
    assert np.array_equal(rec.tensors["after"], tr.theta)
    assert not np.array_equal(rec.tensors["state_before.exp_avg"], rec.tensors["state.exp_avg"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,hyper", CONFIGS, ids=IDS)
def test_update_in_slices_equals_one_update(name, hyper, dtype):
    rng = np.random.default_rng(3)
    P = 1000
    hp = resolve(name, OPTIMIZERS[name][1], hyper)
    theta0 = rng.normal(size=P).astype(dtype)
    whole = (theta0.copy(), new_state(name, hp, P, dtype))
    parts = (theta0.copy(), new_state(name, hp, P, dtype))
    hv = pack_hyper(name, hp, dtype)
    sc = np.zeros(N_STEP_SCALARS, dtype)
    cuts = [0, 7, 300, 301, 640, P]
    for step in range(5):
        g = rng.normal(size=P).astype(dtype)
        update(whole[1].kind, whole[0], g, whole[1].state, whole[1].counters, hv, hp["lr"])
        first = update_begin(parts[1].kind, parts[1].counters, hv, hp["lr"], sc)
        for lo, hi in reversed(list(zip(cuts, cuts[1:]))):
            update_slice(parts[1].kind, parts[0], g, parts[1].state, parts[1].counters, hv,
                         hp["lr"], sc, first, lo, hi)
        assert np.array_equal(whole[0], parts[0])
        assert np.array_equal(whole[1].state, parts[1].state)
        assert np.array_equal(whole[1].counters, parts[1].counters)


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaPerformanceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_products_equal_numpy(dtype):
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(40, 90)).astype(dtype)
    a = wide[:, :70]                       # rows further apart than their length
    w = rng.normal(size=(50, 70)).astype(dtype)
    d = rng.normal(size=(40, 50)).astype(dtype)
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4 if dtype == np.float32
               else 1e-12)
    out = np.full((40, 50), np.nan, dtype)
    E.matmul_nt(np.ascontiguousarray(a), w, out)
    np.testing.assert_allclose(out, a @ w.T, **tol)
    out[...] = np.nan
    E.matmul_nt(a, w, out)                 # a strided view: leading dimension 90
    np.testing.assert_allclose(out, a @ w.T, **tol)
    g = np.full((50, 70), np.nan, dtype)
    E.matmul_tn(d, a, g)
    np.testing.assert_allclose(g, d.T @ a, **tol)
    back = np.full((40, 70), np.nan, dtype)
    E.matmul_nn(d, w, back)
    np.testing.assert_allclose(back, d @ w, **tol)
    every_other = np.ascontiguousarray(rng.normal(size=(40, 140)).astype(dtype))[:, ::2]
    out[...] = np.nan                      # not unit-stride rows: the np.dot fallback
    E.matmul_nt(every_other, w, out)
    np.testing.assert_allclose(out, every_other @ w.T, **tol)


def test_blas_name_is_reported():
    assert "BLAS" in E.BLAS_NAME


def test_scipy_blas_fallback_trains_to_the_same_numbers_within_rounding():
    """``SIMTREINO_BLAS=scipy`` switches the same compiled kernels to
    Numba's np.dot (SciPy's BLAS) at run time."""
    code = ("import numpy as np, sys; sys.path.insert(0, {tests!r});"
            "from test_core_fused_update import blas_sized;"
            "from simtreino.core import engine as E;"
            "tr = blas_sized('adam', {{'lr': 0.01}}, np.float64); tr.run_steps(7);"
            "print(E.BLAS_NAME); np.save(sys.stdout.buffer, tr.theta)")
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, SIMTREINO_BLAS="scipy")
    out = subprocess.run([sys.executable, "-c", code.format(tests=tests)], env=env,
                         capture_output=True, check=True).stdout
    first_line, _, rest = out.partition(b"\n")
    assert b"SciPy" in first_line
    theta_scipy = np.load(io.BytesIO(rest))
    tr = blas_sized("adam", {"lr": 0.01}, np.float64)
    tr.run_steps(7)
    np.testing.assert_allclose(theta_scipy, tr.theta, rtol=1e-9, atol=1e-12)


def test_slow_path_is_selected_by_the_trainer_flag():
    a, b = blas_sized("adam", {"lr": 0.01}, np.float64), blas_sized("adam", {"lr": 0.01},
                                                                      np.float64)
    b.fuse_update = False
    a.run_epochs(2)
    b.run_epochs(2)
    assert np.array_equal(a.theta, b.theta)
    assert a.epoch_history()["loss"].tolist() == b.epoch_history()["loss"].tolist()

