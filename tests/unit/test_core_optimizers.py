"""Every optimizer, step by step, against a NumPy transcription of the
update rule in torch.optim's documentation (and torch itself when it is
installed)."""

import numpy as np
import pytest

from simtreino.core.optimizers import OPTIMIZERS, new_state, pack_hyper, update
from simtreino.core.hyper import resolve


def reference(name, hp, theta, grads):
    """Plain NumPy: the pseudo-code of torch.optim's docs, one step at a time."""
    p = theta.copy()
    lr, wd = hp["lr"], hp["weight_decay"]
    st = {}
    for t, g in enumerate(grads, start=1):
        g = g.copy()
        if name in ("sgd", "momentum", "nesterov"):
            if wd:
                g = g + wd * p
            mu = hp["momentum"]
            if mu:
                st["b"] = g.copy() if t == 1 else mu * st["b"] + (1 - hp["dampening"]) * g
                g = g + mu * st["b"] if hp["nesterov"] else st["b"]
            p = p - lr * g
        elif name == "adagrad":
            if wd:
                g = g + wd * p
            clr = lr / (1 + (t - 1) * hp["lr_decay"])
            st["s"] = st.get("s", np.full_like(p, hp["initial_accumulator_value"])) + g * g
            p = p - clr * g / (np.sqrt(st["s"]) + hp["eps"])
        elif name == "rmsprop":
            if wd:
                g = g + wd * p
            a = hp["alpha"]
            st["v"] = a * st.get("v", 0 * p) + (1 - a) * g * g
            v = st["v"]
            if hp["centered"]:
                st["g"] = a * st.get("g", 0 * p) + (1 - a) * g
                v = v - st["g"] ** 2
            denom = np.sqrt(v) + hp["eps"]
            if hp["momentum"] > 0:
                st["b"] = hp["momentum"] * st.get("b", 0 * p) + g / denom
                p = p - lr * st["b"]
            else:
                p = p - lr * g / denom
        elif name == "adadelta":
            if wd:
                g = g + wd * p
            rho, eps = hp["rho"], hp["eps"]
            st["v"] = rho * st.get("v", 0 * p) + (1 - rho) * g * g
            dx = np.sqrt(st.get("u", 0 * p) + eps) / np.sqrt(st["v"] + eps) * g
            st["u"] = rho * st.get("u", 0 * p) + (1 - rho) * dx * dx
            p = p - lr * dx
        elif name in ("adam", "adamw"):
            b1, b2 = hp["betas"]
            if name == "adamw":
                p = p * (1 - lr * wd)
            elif wd:
                g = g + wd * p
            st["m"] = b1 * st.get("m", 0 * p) + (1 - b1) * g
            st["v"] = b2 * st.get("v", 0 * p) + (1 - b2) * g * g
            mhat = st["m"] / (1 - b1 ** t)
            v = st["v"]
            if hp["amsgrad"]:
                st["vmax"] = np.maximum(st.get("vmax", 0 * p), v)
                v = st["vmax"]
            vhat = v / (1 - b2 ** t)
            p = p - lr * mhat / (np.sqrt(vhat) + hp["eps"])
        else:
            raise AssertionError(name)
    return p


VARIANTS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("momentum", {"lr": 0.05}),
    ("nesterov", {"lr": 0.05, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.2, "weight_decay": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "betas": [0.8, 0.9]}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3}),
]


def run_kernel(name, given, theta, grads, dtype=np.float64):
    hp = resolve(name, OPTIMIZERS[name][1], given)
    st = new_state(name, hp, len(theta), dtype)
    p = theta.astype(dtype)
    for g in grads:
        update(st.kind, p, g.astype(dtype), st.state, st.counters, pack_hyper(name, hp), hp["lr"])
    return hp, p


@pytest.mark.parametrize("name,given", VARIANTS)
def test_update_rule_matches_reference(name, given):
    rng = np.random.default_rng(3)
    theta = rng.normal(size=50)
    grads = [rng.normal(size=50) * (i + 1) for i in range(6)]
    hp, p = run_kernel(name, given, theta, grads)
    ref = reference(name, hp, theta, grads)
    np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-14)
    assert not np.array_equal(p, theta)


def test_torch_defaults_are_ours():
    d = {k: {n: h.default for n, h in v[1].items()} for k, v in OPTIMIZERS.items()}
    assert d["sgd"]["lr"] == 1e-3 and d["sgd"]["momentum"] == 0.0
    assert d["momentum"]["momentum"] == 0.9 and d["nesterov"]["nesterov"] is True
    assert d["adam"]["betas"] == (0.9, 0.999) and d["adam"]["eps"] == 1e-8
    assert d["adamw"]["weight_decay"] == 1e-2 and d["adam"]["weight_decay"] == 0.0
    assert d["adadelta"]["lr"] == 1.0 and d["adadelta"]["eps"] == 1e-6 and d["adadelta"]["rho"] == 0.9
    assert d["adagrad"]["lr"] == 1e-2 and d["adagrad"]["eps"] == 1e-10
    assert d["rmsprop"]["lr"] == 1e-2 and d["rmsprop"]["alpha"] == 0.99


def test_first_adam_step_moves_each_parameter_by_lr():
    """With bias correction, Adam's first step is lr * sign(g) (for |g| >> eps)."""
    g = np.array([3.0, -0.002, 40.0])
    _, p = run_kernel("adam", {"lr": 0.01}, np.zeros(3), [g])
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-5)


torch = pytest.importorskip("torch", reason="torch is optional: checked where installed")


@pytest.mark.parametrize("name,given", VARIANTS)
def test_update_rule_matches_torch(name, given):
    rng = np.random.default_rng(5)
    theta = rng.normal(size=20)
    grads = [rng.normal(size=20) for _ in range(5)]
    hp, p = run_kernel(name, given, theta, grads)
    cls = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "nesterov": torch.optim.SGD,
           "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adadelta": torch.optim.Adadelta, "adam": torch.optim.Adam,
           "adamw": torch.optim.AdamW}[name]
    w = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
    opt = cls([w], **{k: (tuple(v) if isinstance(v, list) else v) for k, v in hp.items()},
              foreach=False)
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    np.testing.assert_allclose(p, w.detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adadelta", "adam"])
def test_decayed_state_is_flushed_to_zero_below_the_smallest_normal(name):
    """A zero gradient decays the running averages; below float32's smallest
    normal number they become 0 instead of slow subnormals."""
    g = np.array([1e-20], np.float32)
    hp = resolve(name, OPTIMIZERS[name][1], {"lr": 1e-3})
    st = new_state(name, hp, 1, np.float32)
    p = np.zeros(1, np.float32)
    update(st.kind, p, g, st.state, st.counters, pack_hyper(name, hp, np.float32), 1e-3)
    zero = np.zeros(1, np.float32)
    tiny = np.finfo(np.float32).tiny
    reached_zero = False
    for _ in range(20000):
        update(st.kind, p, zero, st.state, st.counters, pack_hyper(name, hp, np.float32), 1e-3)
        assert not np.any((np.abs(st.state) > 0) & (np.abs(st.state) < tiny))
        reached_zero = reached_zero or np.any(st.state == 0)
    assert reached_zero
