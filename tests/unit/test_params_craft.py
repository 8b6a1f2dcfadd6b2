"""Parameter files of networks with batch normalisation: PyTorch state_dict
names for a ``Linear -> BatchNorm1d`` layer, the running statistics saved
and loaded with the parameters, and (where torch is installed) the file
loaded into an equivalent torch module gives the same evaluation-mode
outputs."""

import numpy as np
import pytest

from simtreino.core.network import Architecture
from simtreino.headless.errors import ParamsError
from simtreino.headless.params import (load_params, load_state, param_keys, params_to_arrays,
                                       save_params)

from coretools import make_trainer

LAYERS = [(6, "relu", None, True, False),
          (6, "tanh", None, True, True),
          (6, "elu", None, False, True),
          (3, "softmax", None)]


def bn_trainer(dtype=np.float64, steps=25):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)) * 2.0 + 0.5
    labels = rng.integers(0, 3, 80)
    tr = make_trainer(LAYERS, x, np.eye(3)[labels], labels, loss="cross_entropy",
                      batch_size=16, shuffle=True, dtype=dtype, dropout=[0.2, 0.1, 0.1])
    tr.run_steps(steps)
    return tr


def test_keys_follow_torch_state_dict_names():
    arch = Architecture(4, LAYERS)
    keys = param_keys(arch)
    assert keys["layers.0.weight"] == (6, 4) and keys["layers.0.bias"] == (6,)
    for i in (0, 1):
        for part in ("weight", "bias", "running_mean", "running_var"):
            assert keys[f"layers.{i}.norm.{part}"] == (6,)
        assert keys[f"layers.{i}.norm.num_batches_tracked"] == ()
    assert not any(k.startswith("layers.2.norm") or k.startswith("layers.3.norm") for k in keys)
    assert len(keys) == 4 * 2 + 2 * 5


def test_a_batchnorm_network_round_trips_with_its_running_statistics(tmp_path):
    tr = bn_trainer()
    path = tmp_path / "bn.npz"
    save_params(path, tr)
    arch = tr.arch
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(param_keys(arch))
        np.testing.assert_array_equal(npz["layers.1.norm.weight"], arch.gamma(tr.theta, 1))
        np.testing.assert_array_equal(npz["layers.1.norm.bias"], arch.beta(tr.theta, 1))
        U, u = arch.n_bn_units, arch.layers[1].bn_unit
        np.testing.assert_array_equal(npz["layers.1.norm.running_mean"], tr.bn_run[u:u + 6])
        np.testing.assert_array_equal(npz["layers.1.norm.running_var"],
                                      tr.bn_run[U + u:U + u + 6])
        assert npz["layers.0.norm.num_batches_tracked"].dtype == np.int64
        assert int(npz["layers.0.norm.num_batches_tracked"]) == tr.step == 25
    state = load_state(path, arch, tr.dtype)
    np.testing.assert_array_equal(state.theta, tr.theta)
    np.testing.assert_array_equal(state.bn_run, tr.bn_run)
    assert state.num_batches_tracked == 25
    np.testing.assert_array_equal(load_params(path, arch, tr.dtype), tr.theta)
    # a fresh trainer given the file predicts what the trained one predicts
    twin = bn_trainer(steps=0)
    twin.set_params(state.theta)
    twin.bn_run[...] = state.bn_run
    np.testing.assert_array_equal(twin.predict(tr.train.x), tr.predict(tr.train.x))


def test_float32_files_and_arch_theta_sources(tmp_path):
    tr = bn_trainer(np.float32)
    save_params(tmp_path / "a.npz", tr.arch, tr.theta, bn_run=tr.bn_run)
    with np.load(tmp_path / "a.npz") as npz:
        assert npz["layers.0.norm.running_var"].dtype == np.float32
        assert int(npz["layers.0.norm.num_batches_tracked"]) == 0     # not given
    state = load_state(tmp_path / "a.npz", tr.arch, np.float32)
    np.testing.assert_array_equal(state.bn_run, tr.bn_run)
    # without the running statistics a batch-norm network cannot be saved
    with pytest.raises(ValueError, match="running statistics"):
        save_params(tmp_path / "b.npz", tr.arch, tr.theta)
    with pytest.raises(ValueError, match="bn_run has 3 values"):
        params_to_arrays(tr.arch, tr.theta, np.zeros(3))


@pytest.mark.parametrize("change, words", [
    (lambda a: a.pop("layers.1.norm.running_var"), ["layers.1.norm.running_var", "missing"]),
    (lambda a: a.pop("layers.0.norm.weight"), ["layers.0.norm.weight", "missing", "(6,)"]),
    (lambda a: a.update({"layers.2.norm.weight": np.ones(6)}),
     ["layers.2.norm.weight", "unexpected", "layers.{i}.norm.* for batch-norm layers 0, 1"]),
    (lambda a: a["layers.0.norm.running_var"].__setitem__(2, -1.0),
     ["layers.0.norm.running_var", "negative"]),
    (lambda a: a["layers.1.norm.running_mean"].__setitem__(0, np.inf),
     ["layers.1.norm.running_mean", "NaN or infinite"]),
    (lambda a: a.update({"layers.0.norm.num_batches_tracked": np.array(-3)}),
     ["layers.0.norm.num_batches_tracked", "whole number"]),
    (lambda a: a.update({"layers.0.norm.num_batches_tracked": np.array([3])}),
     ["layers.0.norm.num_batches_tracked", "shape (1,)"]),
])
def test_bad_batchnorm_entries_are_refused_in_one_line(tmp_path, change, words):
    tr = bn_trainer(steps=3)
    arrays = params_to_arrays(tr.arch, tr.theta, tr.bn_run, tr.step)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ParamsError) as e:
        load_params(path, tr.arch)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(path))
    for w in words:
        assert w in msg


def test_num_batches_tracked_may_be_absent(tmp_path):
    tr = bn_trainer(steps=3)
    arrays = params_to_arrays(tr.arch, tr.theta, tr.bn_run, tr.step)
    del arrays["layers.0.norm.num_batches_tracked"], arrays["layers.1.norm.num_batches_tracked"]
    np.savez(tmp_path / "p.npz", **arrays)
    state = load_state(tmp_path / "p.npz", tr.arch)
    assert state.num_batches_tracked == 0
    np.testing.assert_array_equal(state.bn_run, tr.bn_run)


def test_a_plain_network_file_is_unchanged(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 2))
    tr = make_trainer([(3, "tanh", None), (1, "identity", None)], x, x[:, :1])
    save_params(tmp_path / "p.npz", tr)
    with np.load(tmp_path / "p.npz") as npz:
        assert sorted(npz.files) == ["layers.0.bias", "layers.0.weight", "layers.1.bias",
                                     "layers.1.weight"]
    state = load_state(tmp_path / "p.npz", tr.arch)
    assert state.bn_run.shape == (0,) and state.num_batches_tracked == 0


# ------------------------------------------------------------------ torch
def test_the_file_loads_into_an_equivalent_torch_module(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is optional: checked where installed")
    F = torch.nn.functional
    acts = {"relu": torch.relu, "tanh": torch.tanh, "elu": F.elu,
            "softmax": lambda z: torch.softmax(z, dim=1)}

    class Dense(torch.nn.Linear):
        """A layer as the file names it: the Linear, its BatchNorm1d as ``norm``."""
        def __init__(self, n_in, n_out, batchnorm):
            super().__init__(n_in, n_out, dtype=torch.float64)
            if batchnorm:
                self.norm = torch.nn.BatchNorm1d(n_out, dtype=torch.float64)

    class Net(torch.nn.Module):
        def __init__(self, arch, drop_p):
            super().__init__()
            self.arch = arch
            self.layers = torch.nn.ModuleList(Dense(s.n_in, s.n_out, s.batchnorm)
                                              for s in arch.layers)
            self.drops = torch.nn.ModuleList(torch.nn.Dropout(float(p)) for p in drop_p)

        def forward(self, x):
            for s, layer, drop in zip(self.arch.layers, self.layers, self.drops):
                z = torch.nn.Linear.forward(layer, x)
                if s.batchnorm:
                    z = layer.norm(z)
                a = drop(acts[s.activation](z))
                x = a + x if s.residual else a
            return x

    tr = bn_trainer()
    path = tmp_path / "bn.npz"
    save_params(path, tr)
    net = Net(tr.arch, tr.drop_p)
    with np.load(path, allow_pickle=False) as npz:
        state = {k: torch.tensor(npz[k]) for k in npz.files}
    result = net.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert sorted(net.state_dict()) == sorted(param_keys(tr.arch))
    net.eval()
    x = np.random.default_rng(5).normal(size=(30, 4)) * 2.0
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    np.testing.assert_allclose(tr.predict(x), want, rtol=1e-12, atol=1e-14)
    # and the other way round: torch's own buffers after training steps
    net.train()
    with torch.no_grad():
        net(torch.tensor(x))
    sd = {k: v.numpy() for k, v in net.state_dict().items()}
    np.savez(tmp_path / "torch.npz", **sd)
    back = load_state(tmp_path / "torch.npz", tr.arch)
    assert back.num_batches_tracked == 26
    net.eval()
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    twin = bn_trainer(steps=0)
    twin.set_params(back.theta)
    twin.bn_run[...] = back.bn_run
    np.testing.assert_allclose(twin.predict(x), want, rtol=1e-12, atol=1e-14)
