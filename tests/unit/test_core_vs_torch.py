"""Conventions against PyTorch itself (skipped where torch is not installed):
weights (out, in), the losses with reduction='mean', and a few training
steps of a whole network."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is optional: checked where installed")
F = torch.nn.functional

from simtreino.scenario.build import make_targets  # noqa: E402

from coretools import make_trainer  # noqa: E402

ACT = {"identity": lambda z: z, "relu": torch.relu, "tanh": torch.tanh,
       "sigmoid": torch.sigmoid, "elu": F.elu, "leaky_relu": F.leaky_relu,
       "softmax": lambda z: z}


def torch_model(tr):
    lins = []
    for i, s in enumerate(tr.arch.layers):
        lin = torch.nn.Linear(s.n_in, s.n_out, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(tr.weight(i)))   # same (out, in) layout
            lin.bias.copy_(torch.tensor(tr.bias(i)))
        lins.append((lin, s.activation))
    return lins


def torch_forward(lins, x, logits=True):
    """The network in torch; with ``logits`` the output layer's sigmoid or
    softmax is left to the loss (BCEWithLogitsLoss, CrossEntropyLoss)."""
    a = x
    for i, (lin, act) in enumerate(lins):
        last = i == len(lins) - 1
        a = lin(a) if last and logits and act in ("sigmoid", "softmax") else ACT[act](lin(a))
    return a


CASES = [
    ("mse", "identity", lambda out, y, t: F.mse_loss(out, t)),
    ("mae", "tanh", lambda out, y, t: F.l1_loss(out, t)),
    ("huber", "identity", lambda out, y, t: F.huber_loss(out, t, delta=1.0)),
    ("bce", "sigmoid", lambda out, y, t: F.binary_cross_entropy_with_logits(out, t)),
    ("cross_entropy", "softmax", lambda out, y, t: F.cross_entropy(out, y)),
    ("kl_div", "softmax", lambda out, y, t: F.kl_div(F.log_softmax(out, 1), t, reduction="mean")),
]


@pytest.mark.parametrize("loss,out_act,torch_loss", CASES, ids=[c[0] for c in CASES])
def test_loss_and_gradients_equal_torch(loss, out_act, torch_loss):
    rng = np.random.default_rng(0)
    n, k = 10, 3
    x = rng.normal(size=(n, 4))
    labels = rng.integers(0, k, n)
    if loss in ("cross_entropy", "kl_div"):
        t, _ = make_targets(loss, {}, labels, "classification", k, k)
        m = k
    elif loss == "bce":
        labels = labels % 2
        t, _ = make_targets(loss, {}, labels, "classification", 2, 1)
        m = 1
    else:
        t = rng.normal(size=(n, 2))
        m = 2
    tr = make_trainer([(5, "relu", None), (4, "leaky_relu", 0.01), (m, out_act, None)], x, t,
                      labels if loss != "mse" else None, loss=loss, hyper={"lr": 0.0},
                      loss_param=1.0 if loss == "huber" else 0.0)
    lins = torch_model(tr)
    recs = tr.step_phases()
    ours = next(r for r in recs if r.phase == "loss")
    out = torch_forward(lins, torch.tensor(x))
    ref = torch_loss(out, torch.tensor(labels), torch.tensor(t))
    ref.backward()
    assert ours.scalars["loss"] == pytest.approx(ref.item(), rel=1e-12)
    for i, (lin, _) in enumerate(lins):
        np.testing.assert_allclose(tr.arch.weight(tr.grad, i), lin.weight.grad.numpy(),
                                   rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(tr.arch.bias(tr.grad, i), lin.bias.grad.numpy(),
                                   rtol=1e-10, atol=1e-14)


def test_label_smoothing_equals_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3))
    labels = rng.integers(0, 4, 6)
    t, _ = make_targets("cross_entropy", {"label_smoothing": 0.2}, labels, "classification", 4, 4)
    tr = make_trainer([(4, "softmax", None)], x, t, labels, loss="cross_entropy",
                      hyper={"lr": 0.0})
    lins = torch_model(tr)
    loss = next(r for r in tr.step_phases() if r.phase == "loss").scalars["loss"]
    ref = F.cross_entropy(torch_forward(lins, torch.tensor(x)), torch.tensor(labels),
                          label_smoothing=0.2)
    assert loss == pytest.approx(ref.item(), rel=1e-12)


def test_ten_adam_steps_with_minibatches_equal_torch():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 3))
    labels = rng.integers(0, 3, 12)
    t = np.eye(3)[labels]
    tr = make_trainer([(8, "tanh", None), (3, "softmax", None)], x, t, labels,
                      loss="cross_entropy", optimizer="adam", hyper={"lr": 0.05}, batch_size=4)
    lins = torch_model(tr)
    params = [p for lin, _ in lins for p in lin.parameters()]
    opt = torch.optim.Adam(params, lr=0.05, foreach=False)
    tr.run_steps(9)
    for step in range(9):
        sl = slice((step % 3) * 4, (step % 3) * 4 + 4)
        opt.zero_grad()
        F.cross_entropy(torch_forward(lins, torch.tensor(x[sl])), torch.tensor(labels[sl])).backward()
        opt.step()
    for i, (lin, _) in enumerate(lins):
        np.testing.assert_allclose(tr.weight(i), lin.weight.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_batchnorm_dropout_residual_penalty_and_clipping_equal_torch():
    """Five SGD steps of Linear -> BatchNorm1d -> tanh -> Dropout (+ skip)
    with an L1/L2 penalty in the loss and clip_grad_norm_, the dropout masks
    taken from our own steps."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4))
    labels = rng.integers(0, 3, 8)
    t = np.eye(3)[labels]
    layers = [(4, "tanh", None, True, True), (4, "tanh", None, True, False),
              (3, "softmax", None)]
    tr = make_trainer(layers, x, t, labels, loss="cross_entropy", hyper={"lr": 0.1},
                      dropout=[0.3, 0.5], l1=0.01, l2=0.02, clip_grad_norm=0.5)
    lins = torch_model(tr)
    bns = []
    for i in range(2):
        bn = torch.nn.BatchNorm1d(4, dtype=torch.float64)   # eps 1e-5, momentum 0.1
        bns.append(bn)
    params = [p for lin, _ in lins for p in lin.parameters()] + \
        [p for bn in bns for p in bn.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    for step in range(5):
        recs = tr.step_phases()
        masks = [torch.tensor(r.tensors["mask"]) for r in recs if r.phase == "forward"
                 and "mask" in r.tensors]
        opt.zero_grad()
        a = torch.tensor(x)
        for i in range(2):
            out = torch.tanh(bns[i](lins[i][0](a))) * masks[i]
            a = out + a if i == 0 else out
        logits = lins[2][0](a)
        w = [lin.weight for lin, _ in lins]
        loss = F.cross_entropy(logits, torch.tensor(labels)) \
            + 0.01 * sum(p.abs().sum() for p in w) + 0.02 * sum((p ** 2).sum() for p in w)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        ours = next(r for r in recs if r.phase == "loss").scalars["total"]
        assert ours == pytest.approx(loss.item(), rel=1e-12)
    for i, (lin, _) in enumerate(lins):
        np.testing.assert_allclose(tr.weight(i), lin.weight.detach().numpy(), rtol=1e-10,
                                   atol=1e-13)
    for i, bn in enumerate(bns):
        np.testing.assert_allclose(tr.arch.gamma(tr.theta, i), bn.weight.detach().numpy(),
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(tr.bn_run[4 * i:4 * i + 4], bn.running_mean.numpy(),
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(tr.bn_run[8 + 4 * i:8 + 4 * i + 4], bn.running_var.numpy(),
                                   rtol=1e-10, atol=1e-13)
    # evaluation: running statistics, no dropout
    for bn in bns:
        bn.eval()
    a = torch.tensor(x)
    for i in range(2):
        out = torch.tanh(bns[i](lins[i][0](a)))
        a = out + a if i == 0 else out
    ref = torch.softmax(lins[2][0](a), 1).detach().numpy()
    np.testing.assert_allclose(tr.predict(x), ref, rtol=1e-10, atol=1e-13)
