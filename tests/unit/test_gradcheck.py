"""Gradient check: backprop agrees with central finite differences across
activations and losses, a wrong gradient is caught, the trainer is left
untouched, and the command line reports it."""

import numpy as np
import pytest

from simtreino.analysis import gradient_check, param_name
from simtreino.cli import main
from simtreino.core.network import Architecture
from simtreino.core.trainer import SplitArrays, Trainer
from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_trainer


def bundled(name, steps=2):
    tr = build_trainer(load_scenario(find_scenario(name)))
    tr.run_steps(steps)
    return tr


def assert_agrees(gc, rel=1e-6):
    assert gc.ok, gc.rows(gc.worst(3))
    big = np.abs(gc.backprop) > 1e-5      # below: rounding noise of the differences
    assert gc.rel_error[big].max() < rel, gc.rows(gc.worst(3))


@pytest.mark.parametrize("name", ["course-221", "xor", "blobs", "sine", "iris", "minibatch"])
def test_bundled_scenarios_pass(name):
    gc = gradient_check(bundled(name), max_params=120)
    assert gc.dtype == "float64" and gc.eps == 1e-6
    assert_agrees(gc)


def small_trainer(acts, loss, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    n = 5
    x = rng.normal(size=(n, 3))
    labels = rng.integers(0, outputs, n)
    if loss in ("cross_entropy", "kl_div"):
        t = np.eye(outputs)[labels] * 0.9 + 0.1 / outputs
    elif loss == "bce":
        t = rng.integers(0, 2, (n, outputs)).astype(float)
    elif loss == "hinge":
        t = rng.choice([-1.0, 1.0], (n, outputs))
    else:
        t = rng.normal(size=(n, outputs))
    arch = Architecture(3, [(4, acts[0], None), (outputs, acts[1], None)])
    theta = rng.normal(scale=0.7, size=arch.n_params)
    return Trainer(arch, theta, SplitArrays(x, t, labels), None, loss=loss, loss_param=0.5,
                   optimizer="sgd", hyper={"lr": 0.1})


@pytest.mark.parametrize("acts,loss", [
    (("tanh", "identity"), "mse"), (("leaky_relu", "sigmoid"), "mae"),
    (("elu", "identity"), "huber"), (("relu", "sigmoid"), "bce"),
    (("sigmoid", "softmax"), "cross_entropy"), (("tanh", "softmax"), "kl_div"),
    (("elu", "tanh"), "hinge"),
])
def test_activation_and_loss_kinds_pass(acts, loss):
    assert_agrees(gradient_check(small_trainer(acts, loss)))


def test_float32_networks_are_differenced_in_float64():
    tr = bundled("spirals")
    gc = gradient_check(tr)
    assert gc.dtype == "float32" and (gc.eps, gc.rtol, gc.atol) == (1e-6, 1e-3, 1e-6)
    # float64 differences of the widened network: the only error left is
    # the float32 backprop's own rounding (float32 differences with eps 1e-3
    # disagreed by up to 96 % on MNIST)
    assert_agrees(gc, rel=1e-3)
    assert np.dtype(tr.theta.dtype) == np.float32          # the trainer is untouched


def test_a_float32_gradient_one_percent_off_is_caught():
    tr = bundled("spirals")
    good = gradient_check(tr)
    g = np.zeros(tr.arch.n_params)
    g[good.indices] = good.backprop
    k = int(np.argmax(np.abs(g)))
    g[k] *= 1.01
    bad = gradient_check(tr, backprop=g)
    assert not bad.ok and bad.n_disagree == 1 and bad.indices[bad.disagree][0] == k


def test_the_float64_probe_computes_the_float32_networks_loss():
    tr = bundled("spirals", steps=2)
    probe = tr.loss_probe(np.float64)
    assert probe.theta.dtype == np.float64 and np.array_equal(probe.theta, tr.theta)
    split = tr.train
    lo, hi = tr.evaluate(split)[0], probe.evaluate(split)[0]
    assert lo != hi and abs(lo - hi) < 1e-5 * abs(hi)     # the same function, less rounding


def test_a_wrong_gradient_is_caught():
    tr = bundled("course-221")
    good = gradient_check(tr)
    g = np.zeros(tr.arch.n_params)
    g[good.indices] = good.backprop
    g[4] *= 1.01                                   # layers.0.bias[0], 1 % off
    bad = gradient_check(tr, backprop=g)
    assert not bad.ok and bad.n_disagree == 1
    assert bad.names[bad.worst(1)[0]] == "layers.0.bias[0]"
    assert bad.rows(bad.worst(1))[0]["disagree"]


def test_a_wrong_backprop_kernel_is_caught(monkeypatch):
    import simtreino.core.trainer as T
    real = T.E.layer_backward

    def broken(l, theta, grad, layout, *rest):
        pen = real(l, theta, grad, layout, *rest)
        grad[layout[l, 3]:layout[l, 3] + layout[l, 1]] *= 0.5   # half of every bias gradient
        return pen
    monkeypatch.setattr(T.E, "layer_backward", broken)
    gc = gradient_check(bundled("course-221"))
    assert not gc.ok
    assert {gc.names[i] for i in np.flatnonzero(gc.disagree)} == {
        "layers.0.bias[0]", "layers.0.bias[1]", "layers.1.bias[0]"}


@pytest.mark.parametrize("name", ["course-221", "opt-adam"])
def test_the_trainer_is_left_unchanged(name):
    tr = bundled(name, steps=3)
    twin = bundled(name, steps=3)
    keep = {k: getattr(tr, k).copy() for k in ("theta", "grad", "counters", "accum", "order",
                                                 "sched")}
    opt_state, opt_counters = tr.opt.state.copy(), tr.opt.counters.copy()
    steps_logged = tr.step_history()[0].copy()
    gradient_check(tr, max_params=30)
    for k, v in keep.items():
        assert np.array_equal(getattr(tr, k), v), k
    assert np.array_equal(tr.opt.state, opt_state)
    assert np.array_equal(tr.opt.counters, opt_counters)
    assert np.array_equal(tr.step_history()[0], steps_logged)
    tr.run_steps(2)
    twin.run_steps(2)
    assert np.array_equal(tr.theta, twin.theta)


def test_large_nets_check_a_seeded_sample():
    tr = bundled("spirals", steps=0)
    a = gradient_check(tr, max_params=7, seed=3)
    b = gradient_check(tr, max_params=7, seed=3)
    assert a.sampled and a.n_checked == 7 and a.n_params == tr.arch.n_params
    assert np.array_equal(a.indices, b.indices) and list(a.indices) == sorted(a.indices)
    assert not gradient_check(tr, max_params=10 ** 6).sampled


def test_param_names():
    arch = Architecture(3, [(2, "tanh", None), (1, "sigmoid", None)])
    names = [param_name(arch, k) for k in range(arch.n_params)]
    assert names[:3] == ["layers.0.weight[0,0]", "layers.0.weight[0,1]", "layers.0.weight[0,2]"]
    assert names[6:9] == ["layers.0.bias[0]", "layers.0.bias[1]", "layers.1.weight[0,0]"]
    assert names[-1] == "layers.1.bias[0]"
    with pytest.raises(IndexError):
        param_name(arch, arch.n_params)


def test_cli(capsys, tmp_path):
    assert main(["gradcheck", "course-221", "--step", "3"]) == 0
    out = capsys.readouterr().out
    assert "step 3" in out and "layers.0.weight[0,0]" in out and out.splitlines()[-1].startswith("ok:")
    assert main(["--lang", "pt", "gradcheck", "blobs", "--max-params", "25"]) == 0
    out = capsys.readouterr().out
    assert "Verificação do gradiente" in out and "maiores erros" in out
    # an absurd eps makes the differences disagree: exit 1
    assert main(["gradcheck", "course-221", "--eps", "5"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["gradcheck", "course-221", "--init-params", str(tmp_path / "no.npz")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["gradcheck", "course-221", "--eps", "0"])
    assert e.value.code == 2


def test_cli_samples_large_networks_by_default(capsys):
    from simtreino.analysis.gradcheck import DEFAULT_SAMPLE
    n = build_trainer(load_scenario(find_scenario("mnist-tiny"))).arch.n_params
    assert n > DEFAULT_SAMPLE
    assert main(["gradcheck", "mnist-tiny"]) == 0
    first, *_, last = capsys.readouterr().out.splitlines()
    assert f"{DEFAULT_SAMPLE} of {n} parameters (a seeded random sample)" in first
    assert "differences in float64" in first and last.startswith("ok:")
    assert main(["gradcheck", "spirals"]) == 0      # small: every parameter
    first = capsys.readouterr().out.splitlines()[0]
    assert "sample" not in first and "float32 network" in first
