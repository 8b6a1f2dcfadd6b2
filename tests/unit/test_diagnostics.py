"""The training diagnostics (simtreino.analysis.diagnostics) on synthetic runs.

Each detector is fed plain observations (what a check measures) and an
epoch history: a healthy run raises nothing, and a planted problem raises
exactly its finding, with the layer, the steps and the evidence planted.
The thresholds are the module's constants, so each test plants a value
just past one (and a control just short of it)."""

import math
from dataclasses import replace

import numpy as np
import pytest

from simtreino import i18n
from simtreino.analysis import diagnostics as D
from simtreino.analysis.diagnostics import (FINDINGS, Diagnostician, Finding, Observation,
                                            RunInfo, chance_loss, check_stride)
from simtreino.i18n import MESSAGES, placeholders, set_lang

LN2 = math.log(2)
N_CHECKS = D.CHECKS_PER_RUN


@pytest.fixture(autouse=True)
def english():
    before = i18n.get_lang()
    set_lang("en")
    yield
    set_lang(before)


def info(acts=("tanh", "tanh", "sigmoid"), units=(16, 16, 1), *, chance=LN2, has_val=False,
         epochs=100, spe=10, lr=0.1, **kw) -> RunInfo:
    n_in = 2
    n_params = []
    for u in units:
        n_params.append(u * (n_in + 1))
        n_in = u
    kw.setdefault("init", "xavier_uniform")
    return RunInfo(activations=tuple(acts), n_params=tuple(n_params), units=tuple(units),
                   loss="bce", chance=chance, has_val=has_val, planned_steps=epochs * spe,
                   steps_per_epoch=spe, lr=lr, optimizer="sgd", epochs=epochs, **kw)


def healthy_loss(i: int, n: int = N_CHECKS) -> float:
    """A loss that falls smoothly from chance level to 0.05."""
    return 0.05 + (LN2 - 0.05) * math.exp(-5 * i / n)


def obs(inf: RunInfo, i: int, *, loss=None, grad=None, sat=None, dead=None, identical=None,
        z=None, a=None, update=1e-3, lr=None, diverged=False, divergence="", val_se=0.01,
        start_loss=math.nan, grad_norm=None) -> Observation:
    """Check number ``i`` (step i * every) of a healthy run, with the given
    values replaced."""
    L = len(inf.activations)
    every = max(1, inf.planned_steps // N_CHECKS)
    step = i * every
    grad = tuple(grad) if grad is not None else (0.1,) * L
    if i == 0 and grad_norm is None:
        grad = (0.0,) * L                       # no step yet: no gradient
    hidden_nan = lambda v: tuple(v) if v is not None else (0.0,) * (L - 1) + (math.nan,)  # noqa
    return Observation(
        step=step, epoch=step // inf.steps_per_epoch,
        loss=(healthy_loss(i) if i > 0 else math.nan) if loss is None else loss,
        lr=inf.lr if lr is None else lr,
        grad_norm=tuple(grad_norm) if grad_norm is not None else grad,
        grad_rms=grad, weight_rms=(0.5,) * L, update=update if i > 0 else math.nan,
        moved=0.01 * i,
        z_rms=tuple(z) if z is not None else (1.0,) * L,
        a_rms=tuple(a) if a is not None else (0.8,) * L, input_rms=1.0,
        saturated=hidden_nan(sat) if any(x in D.BOUNDED for x in inf.activations[:-1]) or sat
        else (math.nan,) * L,
        dead=tuple(dead) if dead is not None else (math.nan,) * L,
        dead_units=tuple(int(round(d * u)) if d == d else 0 for d, u in
                         zip(dead, inf.units)) if dead is not None else (0,) * L,
        identical=tuple(identical) if identical is not None else (False,) * L,
        val_se=val_se, start_loss=start_loss if i != 1 else (LN2 if start_loss != start_loss
                                                              else start_loss),
        diverged=diverged, divergence=divergence)


def history_upto(i: int, inf: RunInfo, train=None, val=None) -> dict:
    """Epoch history at check ``i``: columns epoch, step, loss, val_loss."""
    every = max(1, inf.planned_steps // N_CHECKS)
    n_epochs = i * every // inf.steps_per_epoch
    e = np.arange(1, n_epochs + 1, dtype=float)
    tr = np.array([train(k) for k in range(n_epochs)]) if train else \
        0.05 + (LN2 - 0.05) * np.exp(-5 * e / inf.epochs)
    h = {"epoch": e, "step": e * inf.steps_per_epoch, "loss": tr}
    if inf.has_val:
        h["val_loss"] = np.array([val(k) for k in range(n_epochs)]) if val else tr + 0.02
    return h


def run(inf: RunInfo, n: int = N_CHECKS, make=None, train=None, val=None) -> Diagnostician:
    """Feed checks 0..n to a Diagnostician; ``make(i)`` gives the
    observation of check i (default: healthy)."""
    d = Diagnostician(inf)
    for i in range(n + 1):
        o = make(i) if make is not None else obs(inf, i)
        d.update(o, history_upto(i, inf, train, val))
    return d


def only(d: Diagnostician, name: str) -> Finding:
    assert d.names == [name], d.names
    return d.get(name)


# ------------------------------------------------------------------ healthy

@pytest.mark.parametrize("acts,units", [
    (("tanh", "tanh", "sigmoid"), (16, 16, 1)),
    (("relu", "relu", "relu", "softmax"), (32, 32, 32, 3)),
    (("sigmoid",), (1,)),
])
def test_a_healthy_run_raises_nothing(acts, units):
    inf = info(acts, units, has_val=True)
    relu = [0.0 if a == "relu" else math.nan for a in acts]
    d = run(inf, make=lambda i: obs(inf, i, dead=relu))
    assert d.findings == []
    assert len(d.observations) == N_CHECKS + 1


def test_check_steps_are_fixed_and_thin_out_past_the_planned_run():
    inf = info(epochs=100, spe=10)          # 1000 planned steps
    d = Diagnostician(inf)
    assert d.every == 10
    assert d.next_check(0) == 10 and d.next_check(15) == 20 and d.next_check(-1) == 0
    assert check_stride(999, 10, 1000) == 10
    assert check_stride(1000, 10, 1000) == 20 and check_stride(2500, 10, 1000) == 40
    assert d.next_check(1000) == 1020
    # every check of the planned run: about CHECKS_PER_RUN of them
    steps, s = [], 0
    while s < 1000:
        s = d.next_check(s)
        steps.append(s)
    assert len(steps) == N_CHECKS


def test_an_observation_already_seen_is_ignored():
    inf = info()
    d = Diagnostician(inf)
    d.update(obs(inf, 0))
    d.update(obs(inf, 3))
    assert d.update(obs(inf, 2)) == [] and d.last_step == obs(inf, 3).step
    assert len(d.observations) == 2


# ---------------------------------------------------------------- vanishing

def _deep(act="sigmoid", depth=8):
    return info((act,) * (depth - 1) + ("sigmoid",), (16,) * (depth - 1) + (1,))


def test_vanishing_gradients_is_raised_after_persisting_with_its_evidence():
    inf = _deep()
    ratio = 1e-4
    grads = tuple(0.2 * ratio ** ((7 - l) / 7) for l in range(8))   # x0.27 per layer
    d = run(inf, make=lambda i: obs(inf, i, loss=LN2, grad=grads if i >= 10 else None))
    f = only(d, "vanishing_gradients")
    every = inf.planned_steps // N_CHECKS
    assert f.layer == 0
    assert f.step == 10 * every and f.epoch == 10 * every // inf.steps_per_epoch
    assert f.raised_step == (10 + D.PERSIST - 1) * every
    assert f.evidence["ratio"] == pytest.approx(ratio, rel=1e-5)
    assert f.evidence["factor"] == pytest.approx(ratio ** (1 / 7), rel=1e-5)
    assert f.evidence["layers"] == 8
    assert f.evidence["per_layer"][-1] == 1.0 and len(f.evidence["per_layer"]) == 8
    assert f.cure["model.init"] == "he_uniform"
    assert all(f.cure[f"model.layers[{l}].activation"] == "relu" for l in range(7))
    assert f.explain_key == "diag.vanishing_gradients.explain"
    assert "0.0001 times the last layer's" in f.explanation()
    assert "he_uniform" in f.suggestion()


def test_vanishing_needs_persistence_depth_and_a_network_that_has_not_learned():
    inf = _deep()
    low = tuple([2e-5] + [0.2] * 7)
    # four checks in a row, then a healthy one, again and again: never raised
    flicker = run(inf, make=lambda i: obs(inf, i, loss=LN2,
                                          grad=low if i % (D.PERSIST) else None))
    # (the flat loss is another matter: underfitting, named as such)
    assert "vanishing_gradients" not in flicker.names
    # a ratio just above the threshold: nothing
    above = tuple([0.2 * D.VANISH_RATIO * 1.5] + [0.2] * 7)
    assert "vanishing_gradients" not in run(
        inf, make=lambda i: obs(inf, i, loss=LN2, grad=above)).names
    # a network that has learned (loss far below chance): small early gradients are fine
    assert run(inf, make=lambda i: obs(inf, i, loss=0.1, grad=low)).findings == []
    # two layers are not "depth"
    shallow = info(("tanh", "sigmoid"), (16, 1))
    assert run(shallow, make=lambda i: obs(shallow, i, loss=LN2,
                                           grad=(1e-7, 0.2))).names != ["vanishing_gradients"]


def test_a_finding_once_raised_stays_and_keeps_its_latest_evidence():
    inf = _deep()
    def make(i):
        if 10 <= i < 20:
            return obs(inf, i, loss=LN2, grad=tuple([1e-5] + [0.2] * 7))
        if i == 30:
            return obs(inf, i, loss=LN2, grad=tuple([1e-6] + [0.2] * 7))
        return obs(inf, i, loss=LN2)
    d = run(inf, make=make)
    f = only(d, "vanishing_gradients")
    every = inf.planned_steps // N_CHECKS
    assert f.step == 10 * every and f.last_step == 30 * every
    assert f.evidence["ratio"] == pytest.approx(5e-6)


# ---------------------------------------------------------------- exploding

def test_exploding_gradients_through_depth():
    inf = _deep("relu")
    grads = tuple([0.2 * D.EXPLODE_RATIO * 3] + [0.2] * 7)
    d = run(inf, make=lambda i: obs(inf, i, grad=grads if i >= 5 else None,
                                    dead=(0.0,) * 7 + (math.nan,)))
    f = only(d, "exploding_gradients")
    assert f.layer == 0 and f.evidence["ratio"] == pytest.approx(D.EXPLODE_RATIO * 3)
    assert f.explain_key == "diag.exploding_gradients.explain.depth"
    assert f.cure == {"model.init": "he_uniform"}


def test_exploding_gradients_growing_in_time():
    inf = info()
    def make(i):
        g = 0.1 * (D.EXPLODE_GROWTH * 2 if i >= 50 else 1.0)
        return obs(inf, i, grad=(g, g, g))
    f = only(run(inf, make=make), "exploding_gradients")
    assert f.layer is None and f.explain_key == "diag.exploding_gradients.explain.growth"
    assert f.evidence["growth"] == pytest.approx(D.EXPLODE_GROWTH * 2)
    assert f.cure == {"optimizer.lr": 0.01}
    assert run(inf, make=lambda i: obs(inf, i, grad=(0.1 * D.EXPLODE_GROWTH / 2,) * 3
                                       if i >= 50 else None)).findings == []


# ---------------------------------------------------------------- dead relus

def test_dead_relus_name_the_layer_and_count():
    inf = info(("relu", "relu", "sigmoid"), (16, 20, 1))
    d = run(inf, make=lambda i: obs(inf, i, dead=(0.0, 0.6 if i >= 40 else 0.1, math.nan)))
    f = only(d, "dead_relus")
    assert f.layer == 1 and f.evidence == {"fraction": 0.6, "dead": 12, "units": 20}
    assert f.cure == {"model.layers[0].activation": "leaky_relu",
                      "model.layers[1].activation": "leaky_relu"}
    assert "12 of the 20 ReLU units of layer 2 (60%)" in f.explanation()
    just_short = run(inf, make=lambda i: obs(inf, i, dead=(0.0, D.DEAD_FRACTION - 0.01, math.nan)))
    assert just_short.findings == []


# ---------------------------------------------------------------- saturation

def test_saturated_units_while_the_network_has_not_learned():
    inf = info()
    d = run(inf, make=lambda i: obs(inf, i, loss=0.6, sat=(0.9, 0.2), z=(3.0, 1.0, 1.0),
                                    update=0.01))
    f = only(d, "saturated_units")
    assert f.layer == 0 and f.step == 0
    assert f.evidence["fraction"] == 0.9 and f.evidence["z_rms"] == 3.0
    assert f.evidence["progress"] == pytest.approx(1 - 0.6 / LN2, rel=1e-5)
    assert f.cure == {"optimizer.lr": 0.01}        # Xavier already: the steps are the cause
    # the same saturation in a network that learned: confident units, no finding
    assert run(inf, make=lambda i: obs(inf, i, loss=0.1, sat=(0.9, 0.2))).findings == []


def test_saturation_cures_name_the_likely_cause():
    big = info(init="normal")
    d = run(big, make=lambda i: obs(big, i, loss=0.6, sat=(0.9, 0.9), update=0.01))
    assert d.get("saturated_units").cure == {"model.init": "xavier_uniform"}
    raw = info(normalize="none", input_rms=40.0)
    d = run(raw, make=lambda i: obs(raw, i, loss=0.6, sat=(0.9, 0.9), update=0.01))
    f = d.get("saturated_units")
    assert f.cure == {"data.normalize": "standard"}
    assert 'data.normalize = "standard"' in f.suggestion()


# ------------------------------------------------------- learning rate high

def test_divergence_is_a_learning_rate_too_high_at_once():
    inf = info(lr=5.0)
    def make(i):
        if i == 20:
            return obs(inf, i, loss=math.nan, diverged=True, divergence="nan")
        return obs(inf, i)
    d = run(inf, n=20, make=make)
    f = only(d, "lr_too_high")
    assert f.step == f.raised_step == 20 * (inf.planned_steps // N_CHECKS)
    assert f.explain_key == "diag.lr_too_high.explain.nan"
    assert f.cure == {"optimizer.lr": 0.5}
    assert "learning rate 5" in f.explanation() and "0.5" in f.suggestion()


def test_a_loss_going_back_up_is_a_learning_rate_too_high():
    inf = info()
    def loss(i):
        return healthy_loss(i) if i < 30 else 0.6
    f = only(run(inf, make=lambda i: obs(inf, i, loss=loss(i))), "lr_too_high")
    assert f.explain_key == "diag.lr_too_high.explain.rising"
    assert f.evidence["loss"] == 0.6 and f.evidence["best"] < 0.3
    # a small bump is noise
    bump = lambda i: healthy_loss(i) + (0.03 if 30 <= i < 40 else 0.0)   # noqa: E731
    assert run(inf, make=lambda i: obs(inf, i, loss=bump(i))).findings == []


def test_a_loss_jumping_up_and_down_is_a_learning_rate_too_high():
    inf = info()
    wild = lambda i: 0.4 + (0.3 if i % 2 else -0.3)          # noqa: E731
    f = only(run(inf, make=lambda i: obs(inf, i, loss=wild(i))), "lr_too_high")
    assert f.explain_key == "diag.lr_too_high.explain.oscillating"
    assert f.evidence["amplitude"] == pytest.approx(0.6)
    # mini-batch noise far below the loss scale: fine
    noisy = lambda i: healthy_loss(i) * (1.03 if i % 2 else 0.97)   # noqa: E731
    assert run(inf, make=lambda i: obs(inf, i, loss=noisy(i))).findings == []


# -------------------------------------------------------- learning rate low

def test_a_plateau_from_the_start_with_tiny_steps_is_a_learning_rate_too_low():
    inf = info(lr=1e-4)
    d = run(inf, make=lambda i: obs(inf, i, loss=LN2 - 1e-4 * i, update=1e-6))
    f = only(d, "lr_too_low")
    every = inf.planned_steps // N_CHECKS
    first = math.ceil(D.LOW_AFTER * N_CHECKS)
    assert f.step == first * every and f.raised_step == (first + D.PERSIST - 1) * every
    assert f.cure == {"optimizer.lr": 0.001}
    assert f.evidence["update"] == 1e-6
    # the same plateau with large steps is not the learning rate's fault
    moving = run(inf, make=lambda i: obs(inf, i, loss=LN2, update=1e-2))
    assert "lr_too_low" not in moving.names


# ---------------------------------------------------------------- overfitting

def _val_u(k):
    """Validation loss: down to 0.3 at epoch 20, then up to 0.9."""
    return 0.7 - 0.02 * k if k <= 20 else 0.3 + 0.01 * (k - 20)


def test_overfitting_validation_rising_while_training_falls():
    inf = info(has_val=True)
    d = run(inf, val=_val_u)
    f = only(d, "overfitting")
    assert f.layer is None
    # GL >= 10% from epoch 26 on (smoothed, 5-epoch median): first seen there
    sv = D._running_median(np.array([_val_u(k) for k in range(100)]), D.SMOOTH_EPOCHS)
    gl = sv / np.minimum.accumulate(sv) - 1
    first_epoch = int(np.argmax(gl >= D.GL_ALPHA)) + 1
    assert f.epoch == first_epoch and f.step == first_epoch * inf.steps_per_epoch
    need = max(D.PERSIST_EPOCHS, math.ceil(D.PERSIST_SHARE * inf.epochs))
    assert f.raised_step >= (first_epoch + need - 1) * inf.steps_per_epoch
    best_epoch = int(np.argmin(sv)) + 1          # of the smoothed curve: a little after 21
    assert 21 <= f.evidence["best_epoch"] == best_epoch <= 25
    assert f.evidence["best_val"] == pytest.approx(sv.min())
    assert f.cure == {"training.epochs": best_epoch}
    assert f"epoch {best_epoch}" in f.explanation()


def test_overfitting_needs_a_rise_beyond_the_noise_and_a_val_split():
    inf = info(has_val=True)
    noisy = run(inf, val=_val_u, make=lambda i: obs(inf, i, val_se=1.0))
    assert noisy.findings == []
    no_val = info(has_val=False)
    assert run(no_val, val=_val_u).findings == []
    # validation and training rising together is not overfitting
    both = run(inf, train=lambda k: 0.1 + 0.01 * k, val=_val_u)
    assert "overfitting" not in both.names


def test_overfitting_cure_is_more_data_for_generated_data():
    inf = info(has_val=True, n_samples=200)
    assert run(inf, val=_val_u).get("overfitting").cure == {"data.n_samples": 800}


# --------------------------------------------------------------- underfitting

def test_underfitting_high_flat_loss_while_the_parameters_move():
    inf = info(("sigmoid",), (1,), has_val=True)
    d = run(inf, make=lambda i: obs(inf, i, loss=0.6, update=1e-2),
            train=lambda k: 0.6, val=lambda k: 0.62)
    f = only(d, "underfitting")
    every = inf.planned_steps // N_CHECKS
    first = math.ceil(D.UNDERFIT_AFTER * N_CHECKS)
    assert f.step == first * every
    assert f.evidence["progress"] == pytest.approx(1 - 0.6 / LN2, rel=1e-5)
    assert f.cure_key == "diag.underfitting.cure.hidden"
    assert f.cure["model.layers"][0] == {"units": 16, "activation": "tanh"}
    # a loss that is still falling is not flat
    falling = run(inf, make=lambda i: obs(inf, i, loss=0.69 - 0.001 * i, update=1e-2),
                  train=lambda k: 0.6, val=lambda k: 0.62)
    assert falling.findings == []


def test_underfitting_cure_widens_hidden_layers():
    inf = info(has_val=False)
    f = run(inf, make=lambda i: obs(inf, i, loss=0.5, update=1e-2)).get("underfitting")
    assert f.cure == {"model.layers[0].units": 32, "model.layers[1].units": 32}
    assert "32 units" in f.suggestion()


# ------------------------------------------------------ poor initialisation

def test_symmetric_units_are_a_poor_initialisation_at_step_0():
    inf = info()
    d = run(inf, make=lambda i: obs(inf, i, identical=(True, True, False), loss=LN2,
                                    grad=(0.0, 0.0, 0.1), update=1e-2))
    f = only(d, "poor_initialisation")
    assert f.step == 0 and f.raised_step == 0 and f.layer == 0
    assert f.explain_key == "diag.poor_initialisation.explain.symmetric"
    assert f.cure == {"model.init": "xavier_uniform"}
    assert "all 16 compute the same thing" in f.explanation()


@pytest.mark.parametrize("scale,variant,layer", [(6.0, "large", 1), (0.2, "small", 1),
                                                 (12.0, "large", 0)])
def test_signal_growing_or_shrinking_layer_by_layer(scale, variant, layer):
    inf = info()
    # z_l = scale * a_{l-1}; a_l = 0.8 * z_l (a linear-ish regime): the
    # gain relative to ideal is `scale` per hidden layer
    z1 = scale * 1.0
    z2 = scale * (0.8 * z1)
    z, a = (z1, z2, 1.0), (0.8 * z1, 0.8 * z2, 0.5)
    d = run(inf, n=3, make=lambda i: obs(inf, i, z=z if i == 0 else None,
                                         a=a if i == 0 else None))
    f = only(d, "poor_initialisation")
    assert f.layer == layer and f.explain_key == f"diag.poor_initialisation.explain.{variant}"
    assert f.evidence["per_layer"] == [pytest.approx(scale), pytest.approx(scale)]


def test_a_fair_initialisation_is_not_flagged():
    inf = info()
    z, a = (0.5, 0.6, 1.0), (0.45, 0.5, 0.5)     # gains 0.5 and 1.33: product 0.67
    assert run(inf, n=3, make=lambda i: obs(inf, i, z=z, a=a)).findings == []
    relu = info(("relu", "relu", "sigmoid"), (16, 16, 1))
    z, a = (1.4, 1.4, 1.0), (1.0, 1.0, 0.5)      # He: sqrt(2) per layer
    assert run(relu, n=3, make=lambda i: obs(relu, i, z=z, a=a,
                                             dead=(0, 0, math.nan))).findings == []


# ---------------------------------------------------------- measurements

def test_chance_loss():
    bce = np.array([[0.0], [1.0], [1.0], [1.0]])
    p = 0.75
    assert chance_loss("bce", bce) == pytest.approx(-(p * math.log(p) + (1 - p) * math.log(1 - p)))
    onehot = np.eye(3)[[0, 1, 2, 2]]
    assert chance_loss("cross_entropy", onehot) == pytest.approx(
        -(0.25 * math.log(0.25) * 2 + 0.5 * math.log(0.5)))
    y = np.array([[1.0], [2.0], [3.0], [6.0]])
    assert chance_loss("mse", y) == pytest.approx(y.var())
    assert chance_loss("mae", y) == pytest.approx(np.abs(y - 2.5).mean())
    assert chance_loss("hinge", np.array([[1.0], [1.0], [-1.0]])) == pytest.approx(2 / 3)


def test_sample_losses_average_to_the_batch_loss():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20, 3))
    t = np.eye(3)[rng.integers(0, 3, 20)]
    e = np.exp(z - z.max(1, keepdims=True))
    a = e / e.sum(1, keepdims=True)
    ce = D.sample_losses("cross_entropy", z, a, t)
    assert ce.mean() == pytest.approx(float(-(t * np.log(a)).sum(1).mean()))
    zb = rng.normal(size=(20, 1)) * 5
    tb = rng.integers(0, 2, (20, 1)).astype(float)
    ab = 1 / (1 + np.exp(-zb))
    assert D.sample_losses("bce", zb, ab, tb).mean() == pytest.approx(
        float(-(tb * np.log(ab) + (1 - tb) * np.log(1 - ab)).mean()))


def test_probe_measures_saturation_dead_units_and_symmetry():
    from simtreino.core.network import Architecture
    arch = Architecture(2, [(3, "tanh", None), (2, "relu", None), (1, "sigmoid", None)])
    theta = np.zeros(arch.n_params)
    arch.weight(theta, 0)[...] = [[100.0, 0.0], [0.0, 0.0], [0.01, 0.0]]
    arch.weight(theta, 1)[...] = [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]
    arch.bias(theta, 1)[...] = [-5.0, 0.1]
    x = np.array([[1.0, 0.0], [-1.0, 1.0], [2.0, 3.0]])
    p = D.probe(arch, theta, x)
    assert p["saturated"][0] == pytest.approx(3 / 9)   # unit 0 at +-1 on all 3 rows
    assert p["dead"][1] == 0.5 and p["dead_units"][1] == 1
    assert math.isnan(p["saturated"][2]) and math.isnan(p["dead"][0])
    assert p["identical"] == (False, False, False)
    sym = np.zeros(arch.n_params)
    assert D.probe(arch, sym, x)["identical"] == (True, True, False)


def test_for_trainer_measures_a_real_trainer():
    from simtreino.scenario import find_scenario, load_scenario
    from simtreino.scenario.build import build_trainer
    s = load_scenario(find_scenario("lesson-init-zero"))
    tr = build_trainer(s)
    d = Diagnostician.for_trainer(tr, scenario=s)
    assert d.names == ["poor_initialisation"] and d.last_step == 0
    assert d.info.chance == pytest.approx(LN2) and d.info.init == "zeros"
    tr.run_steps(d.every)
    new = d.observe(tr)
    o = d.observations[-1]
    assert new == [] and o.step == d.every and o.loss == pytest.approx(LN2)
    assert o.identical[:2] == (True, True) and o.grad_norm[0] == 0.0
    assert d.observe(tr) == []                    # the same step twice: once
    assert len(d.observations) == 2


# ------------------------------------------------------------ records, texts

def test_finding_round_trips_through_a_dict():
    inf = _deep()
    d = run(inf, make=lambda i: obs(inf, i, loss=LN2, grad=tuple([1e-6] + [0.2] * 7)))
    f = d.get("vanishing_gradients")
    assert Finding.from_dict(f.to_dict()) == f


def _every_variant() -> list[Finding]:
    """A planted finding for every explanation and cure text."""
    out = []
    deep = _deep()
    out += run(deep, make=lambda i: obs(deep, i, loss=LN2, grad=(1e-6,) + (0.2,) * 7)).findings
    relu = _deep("relu")
    out += run(relu, make=lambda i: obs(relu, i, loss=LN2, grad=(1e-6,) + (0.2,) * 7,
                                        dead=(0.0,) * 7 + (math.nan,))).findings
    out += run(relu, make=lambda i: obs(relu, i, grad=(100.0,) + (0.2,) * 7,
                                        dead=(0.0,) * 7 + (math.nan,))).findings
    inf = info()
    out += run(inf, make=lambda i: obs(inf, i, grad=(0.1 * (1e4 if i > 50 else 1),) * 3)).findings
    r2 = info(("relu", "relu", "sigmoid"), (16, 16, 1))
    out += run(r2, make=lambda i: obs(r2, i, dead=(0.0, 0.9, math.nan))).findings
    for extra in ({}, {"init": "normal"}, {"normalize": "none", "input_rms": 50.0}):
        s = info(**extra)
        out += run(s, make=lambda i: obs(s, i, loss=0.6, sat=(0.9, 0.9), update=0.01)).findings
    for kind in ("nan", "exploded"):
        out += run(inf, n=10, make=lambda i: obs(inf, i, diverged=i == 10, divergence=kind,
                                                 loss=math.nan if i == 10 else None)).findings
    out += run(inf, make=lambda i: obs(inf, i, loss=healthy_loss(i) if i < 30 else 0.6)).findings
    out += run(inf, make=lambda i: obs(inf, i, loss=0.4 + (0.3 if i % 2 else -0.3))).findings
    out += run(inf, make=lambda i: obs(inf, i, loss=LN2, update=1e-6)).findings
    for extra in ({}, {"n_samples": 200}):
        v = info(has_val=True, **extra)
        out += run(v, val=_val_u).findings
    lin = info(("sigmoid",), (1,))
    out += run(lin, make=lambda i: obs(lin, i, loss=0.6, update=1e-2)).findings
    out += run(inf, make=lambda i: obs(inf, i, loss=0.5, update=1e-2)).findings
    out += run(inf, make=lambda i: obs(inf, i, identical=(True, True, False), loss=LN2,
                                       update=1e-2)).findings
    for scale in (6.0, 0.2):
        z = (scale, scale * 0.8 * scale, 1.0)
        a = (0.8 * z[0], 0.8 * z[1], 0.5)
        out += run(inf, n=2, make=lambda i: obs(inf, i, z=z if i == 0 else None,
                                                a=a if i == 0 else None)).findings
    return out


def test_every_finding_text_exists_in_both_languages_and_renders():
    found = _every_variant()
    assert {f.name for f in found} == set(FINDINGS)
    used = {f.explain_key for f in found} | {f.cure_key for f in found}
    catalogue = {k for k in MESSAGES if k.startswith("diag.") and
                 (".explain" in k or ".cure" in k)}
    assert used == catalogue, (sorted(catalogue - used), sorted(used - catalogue))
    for name in FINDINGS:
        assert f"diag.{name}.title" in MESSAGES
    for lang in ("en", "pt"):
        set_lang(lang)
        for f in found:           # strict in tests: a missing value raises KeyError
            text = f.explanation() + f.suggestion() + f.title()
            assert "{" not in text, (f.explain_key, text)
    for key in used:
        assert placeholders(MESSAGES[key]["en"]) == placeholders(MESSAGES[key]["pt"]), key


def test_portuguese_texts_use_the_course_words():
    set_lang("pt")
    inf = _deep()
    f = run(inf, make=lambda i: obs(inf, i, loss=LN2, grad=(1e-6,) + (0.2,) * 7)).findings[0]
    assert f.title() == "desvanecimento do gradiente"
    assert "retropropagação" in f.explanation() and "camadas ocultas" in f.suggestion()
    assert MESSAGES["diag.lr_too_high.title"]["pt"] == "taxa de aprendizado alta demais"


def test_the_module_imports_numpy_only_and_no_ui():
    import ast
    import subprocess
    import sys
    tree = ast.parse(open(D.__file__, encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0] if node.level == 0 else ".")
    # numpy and the standard library; simtreino only for the message catalogue
    assert imported <= {"numpy", "math", "statistics", "dataclasses", "simtreino"}, imported
    assert "from simtreino.i18n import t" in open(D.__file__, encoding="utf-8").read()
    code = ("import sys, simtreino.analysis.diagnostics; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


# ------------------------------------------- batch norm, residuals, penalties

def test_batchnorm_restarts_the_signal_scale_of_the_initialisation_check():
    # input RMS 1; layer 0's weights shrink the product 20x, but batch norm
    # gives the activation's input the scale of gamma and beta (RMS 1)
    bn = info(batchnorm=(True, True, False))
    z, a = (1.0, 1.0, 1.0), (0.7, 0.7, 0.5)
    assert run(bn, n=3, make=lambda i: obs(bn, i, z=z, a=a)).findings == []
    # the same numbers without batch norm: the product's scale is what counts
    plain = info()
    z, a = (0.05, 0.05 * 0.05, 1.0), (0.04, 0.04 * 0.05, 0.5)
    assert run(plain, n=3, make=lambda i: obs(plain, i, z=z, a=a)).names == \
        ["poor_initialisation"]
    # a batch-norm layer cannot repair the layer before it
    mixed = info(batchnorm=(False, True, False))
    z, a = (30.0, 1.0, 1.0), (24.0, 0.7, 0.5)
    f = only(run(mixed, n=3, make=lambda i: obs(mixed, i, z=z, a=a)), "poor_initialisation")
    assert f.layer == 0 and f.explain_key.endswith(".large")
    assert f.evidence["per_layer"][1] == pytest.approx(1.0 / 30.0)    # back to scale 1


def test_a_residual_layer_is_judged_on_its_output_against_its_input():
    # a branch starting near 0 (pre-activations 100x below ideal) is fine:
    # the input passes beside it, the output keeps the input's scale
    res = info(("tanh", "tanh", "sigmoid"), (16, 16, 1), residual=(False, True, False))
    z, a = (1.0, 0.01, 1.0), (0.8, 0.81, 0.5)
    assert run(res, n=3, make=lambda i: obs(res, i, z=z, a=a)).findings == []
    # a branch 30x too large blows the output up: flagged at that layer
    z, a = (1.0, 30.0, 1.0), (0.8, 24.0, 0.5)
    f = only(run(res, n=3, make=lambda i: obs(res, i, z=z, a=a)), "poor_initialisation")
    assert f.layer == 1 and f.evidence["per_layer"][1] == pytest.approx(30.0)


def test_underfitting_judges_the_data_loss_not_the_penalty():
    inf = info(("sigmoid",), (1,), has_val=True)
    # the training loss holds a weight penalty of 0.4: the data are fitted (0.2)
    heavy = run(inf, make=lambda i: replace(obs(inf, i, loss=0.6, update=1e-2), penalty=0.4),
                train=lambda k: 0.6, val=lambda k: 0.25)
    assert heavy.findings == []
    # a penalty on a network that does not fit the data either: still named,
    # with the data loss as its evidence
    poor = run(inf, make=lambda i: replace(obs(inf, i, loss=0.65, update=1e-2), penalty=0.05),
               train=lambda k: 0.65, val=lambda k: 0.62)
    f = only(poor, "underfitting")
    assert f.evidence["loss"] == pytest.approx(0.6) and f.evidence["penalty"] == 0.05


def _rows(n=64, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_probe_of_batchnorm_layers_judges_what_the_activation_receives():
    from simtreino.core.network import Architecture
    arch = Architecture(3, [(4, "relu", None, True, False), (4, "sigmoid", None, True, False),
                            (1, "identity", None)])
    rng = np.random.default_rng(1)
    theta = rng.normal(size=arch.n_params)
    arch.gamma(theta, 0)[...] = 1.0
    arch.beta(theta, 0)[...] = 0.0
    arch.bias(theta, 0)[...] = -50.0              # cancelled by the normalisation
    arch.weight(theta, 1)[...] *= 100.0           # so is the scale of the weights
    arch.gamma(theta, 1)[...] = 1.0
    arch.beta(theta, 1)[...] = 0.0
    x = _rows()
    p = D.probe(arch, theta, x)
    assert p["dead"][0] == 0.0                    # every unit fires on some rows
    assert p["saturated"][1] < 0.2                # sigmoid of a unit-variance input
    assert p["z_rms"][0] == pytest.approx(1.0, rel=1e-3)     # y: normalised
    assert p["z_rms"][1] == pytest.approx(1.0, rel=1e-3)
    # beta far below zero silences the units: dead, whatever the product
    arch.beta(theta, 0)[...] = [-10.0, -10.0, 0.0, 0.0]
    p = D.probe(arch, theta, x)
    assert p["dead"][0] == 0.5 and p["dead_units"][0] == 2
    # evaluation mode: the running statistics (what the validation loss uses)
    U = arch.n_bn_units
    run_stats = np.r_[np.zeros(U), np.ones(U)]    # torch's fresh buffers: BN ~ identity
    z, a = D.probe(arch, theta, x, keep_output=True, bn_run=run_stats)["output"]
    h = x @ arch.weight(theta, 0).T + arch.bias(theta, 0)
    h = np.maximum(arch.gamma(theta, 0) * h / np.sqrt(1 + D.BN_EPS) + arch.beta(theta, 0), 0)
    h2 = h @ arch.weight(theta, 1).T + arch.bias(theta, 1)
    h2 = 1 / (1 + np.exp(-(arch.gamma(theta, 1) * h2 / np.sqrt(1 + D.BN_EPS)
                          + arch.beta(theta, 1))))
    want = h2 @ arch.weight(theta, 2).T + arch.bias(theta, 2)
    np.testing.assert_allclose(z, want, rtol=1e-10)
    np.testing.assert_allclose(a, want, rtol=1e-10)


def test_probe_of_residual_layers_looks_at_the_activation_and_passes_the_sum_on():
    from simtreino.core.network import Architecture
    arch = Architecture(2, [(2, "relu", None, False, True), (2, "tanh", None, False, True),
                            (1, "identity", None)])
    theta = np.zeros(arch.n_params)
    arch.weight(theta, 0)[...] = [[1.0, 0.0], [0.0, 0.0]]
    arch.bias(theta, 0)[...] = [0.0, -1.0]        # unit 1: silent, though its output (+x) is not
    arch.weight(theta, 1)[...] = [[100.0, 0.0], [0.0, 0.01]]
    x = np.array([[1.0, 2.0], [2.0, -1.0], [0.5, 0.5]])
    p = D.probe(arch, theta, x)
    assert p["dead"][0] == 0.5 and p["dead_units"][0] == 1
    out0 = np.maximum(x @ arch.weight(theta, 0).T + arch.bias(theta, 0), 0) + x
    assert p["a_rms"][0] == pytest.approx(D._rms(out0))       # what layer 1 receives
    act1 = np.tanh(out0 @ arch.weight(theta, 1).T)
    assert p["z_rms"][1] == pytest.approx(D._rms(out0 @ arch.weight(theta, 1).T))
    assert p["saturated"][1] == pytest.approx(np.mean(np.abs(act1) >= 0.98))   # not of out
    assert p["a_rms"][1] == pytest.approx(D._rms(act1 + out0))


def test_the_probes_batchnorm_eps_is_the_cores():
    from simtreino.core.layers import BN_EPS
    assert D.BN_EPS == BN_EPS


def _moons_trainer(layers, *, scale=None, **kw):
    from simtreino.core.trainer import SplitArrays
    from simtreino.data.generators import moons
    from coretools import make_trainer
    rng = np.random.default_rng(0)
    x, y = moons({"n_samples": 400, "noise": 0.1}, rng)
    x = (x - x.mean(0)) / x.std(0)
    perm = rng.permutation(len(x))
    x, y = x[perm], y[perm]
    t = y[:, None].astype(float)
    val = SplitArrays(x[320:], t[320:], y[320:])
    tr = make_trainer(layers, x[:320], t[:320], y[:320], loss="bce", batch_size=32, shuffle=True,
                      val=val, hyper={"lr": 0.1}, **kw)
    if scale:
        theta = tr.theta.copy()
        for l, f in scale.items():
            tr.arch.weight(theta, l)[...] *= f
        tr.set_params(theta)
    return tr


HEALTHY_CRAFT = {
    "batchnorm-relu": dict(layers=[(16, "relu", None, True, False),
                                   (16, "relu", None, True, False), (1, "sigmoid", None)]),
    # weights 8x too large: batch norm takes the scale out (a plain network
    # with these weights is a poor initialisation)
    "batchnorm-relu-large-weights": dict(layers=[(32, "relu", None, True, False),
                                                 (32, "relu", None, True, False),
                                                 (32, "relu", None, True, False),
                                                 (1, "sigmoid", None)],
                                         scale={0: 8.0, 1: 8.0, 2: 8.0}),
    "batchnorm-tanh-large-weights": dict(layers=[(32, "tanh", None, True, False),
                                                 (32, "tanh", None, True, False),
                                                 (1, "sigmoid", None)], scale={0: 10.0, 1: 10.0}),
    "residual-tanh": dict(layers=[(16, "tanh", None), (16, "tanh", None, False, True),
                                  (16, "tanh", None, False, True), (1, "sigmoid", None)]),
    # branches starting near zero: the signal passes through the skips
    "residual-relu-small-branches": dict(layers=[(16, "relu", None),
                                                 (16, "relu", None, False, True),
                                                 (16, "relu", None, False, True),
                                                 (1, "sigmoid", None)],
                                         scale={1: 0.01, 2: 0.01}, init="he_uniform"),
    "batchnorm-residual-dropout-l2": dict(layers=[(16, "relu", None, True, False),
                                                  (16, "relu", None, True, True),
                                                  (16, "relu", None, True, True),
                                                  (1, "sigmoid", None)],
                                          dropout=[0.1, 0.1, 0.1], l2=1e-3),
}


@pytest.mark.parametrize("name", list(HEALTHY_CRAFT))
def test_healthy_batchnorm_and_residual_networks_raise_nothing(name):
    from simtreino.headless.runner import run_diagnosed
    tr = _moons_trainer(**HEALTHY_CRAFT[name])
    epochs = 60
    d = Diagnostician.for_trainer(tr, planned_steps=epochs * tr.steps_per_epoch)
    assert d.info.batchnorm == tuple(s.batchnorm for s in tr.arch.layers)
    assert d.info.residual == tuple(s.residual for s in tr.arch.layers)
    run_diagnosed(tr, epochs * tr.steps_per_epoch, None, d)
    assert tr.evaluate(tr.val)[1] > 0.95          # it did learn
    assert d.findings == [], [(f.name, f.step, f.evidence) for f in d.findings]
    assert len(d.observations) > D.CHECKS_PER_RUN // 2


def test_gradient_sizes_are_per_weight_and_bias_of_batchnorm_layers():
    tr = _moons_trainer(HEALTHY_CRAFT["batchnorm-relu"]["layers"])
    tr.run_steps(3)
    d = Diagnostician.for_trainer(tr, planned_steps=100)
    # the snapshot's gradient and weight norms cover weights and biases, not gamma and beta
    assert d.info.n_params == (16 * 3, 16 * 17, 17)
    o = d.observations[-1]
    snap = tr.snapshot()
    assert o.grad_rms[1] == pytest.approx(snap.layers[1].grad_norm / math.sqrt(16 * 17))
