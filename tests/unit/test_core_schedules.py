"""Learning-rate schedules epoch by epoch against their closed forms and
ReduceLROnPlateau's rules."""

import numpy as np
import pytest

from simtreino.core.hyper import resolve
from simtreino.core.schedules import SCHEDULES, new_schedule, schedule_end_epoch, S_LR, set_lr


def lrs(name, given, lr0, epochs, metrics=None):
    params = resolve(name, SCHEDULES[name][1], given)
    s = new_schedule(name, params, lr0)
    out = [s[S_LR]]
    for e in range(epochs):
        schedule_end_epoch(s, metrics[e] if metrics else 0.0)
        out.append(s[S_LR])
    return np.array(out)


def test_constant():
    assert np.all(lrs("constant", {}, 0.3, 10) == 0.3)


def test_step():
    got = lrs("step", {"step_size": 3, "gamma": 0.5}, 1.0, 9)
    np.testing.assert_allclose(got, [1, 1, 1, .5, .5, .5, .25, .25, .25, .125])


def test_exponential():
    got = lrs("exponential", {"gamma": 0.9}, 0.1, 5)
    np.testing.assert_allclose(got, 0.1 * 0.9 ** np.arange(6), rtol=1e-15)


def test_cosine():
    got = lrs("cosine", {"t_max": 4, "eta_min": 0.01}, 0.1, 8)
    e = np.arange(9)
    ref = 0.01 + (0.1 - 0.01) * (1 + np.cos(np.pi * e / 4)) / 2
    np.testing.assert_allclose(got, ref, rtol=1e-14)
    assert got[4] == pytest.approx(0.01)


def test_plateau_reduces_after_patience_and_respects_cooldown_and_min_lr():
    # improves for 3 epochs, then flat
    metrics = [1.0, 0.9, 0.8] + [0.8] * 12
    got = lrs("plateau", {"factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.3}, 1.0, 15,
              metrics)
    # bad epochs start at epoch 4 (index 3); the 3rd bad epoch (> patience 2) halves.
    assert list(got[:6]) == [1.0] * 6
    assert got[6] == 0.5
    # cooldown 1: one epoch ignored, then 3 more bad epochs -> 0.25, clipped to min_lr 0.3
    assert got[7:10].tolist() == [0.5, 0.5, 0.5]
    assert got[10] == 0.3
    assert got[-1] == 0.3


def test_plateau_threshold_is_relative():
    # 0.99995 is not an improvement on 1.0 with threshold 1e-4 (needs < 0.9999)
    got = lrs("plateau", {"factor": 0.1, "patience": 0}, 1.0, 2, [1.0, 0.99995])
    assert got[2] == pytest.approx(0.1)


def test_live_lr_change_rescales_the_schedule():
    params = resolve("step", SCHEDULES["step"][1], {"step_size": 2, "gamma": 0.1})
    s = new_schedule("step", params, 1.0)
    for _ in range(2):
        schedule_end_epoch(s, 0.0)
    assert s[S_LR] == pytest.approx(0.1)
    set_lr(s, 0.5)
    assert s[S_LR] == pytest.approx(0.05)
