"""The trainer: phase stepping equals the fused fast path bit for bit,
runs are reproducible, divergence is caught, histories stay bounded."""

import numpy as np
import pytest

from simtreino.core.history import Decimated
from simtreino.core.trainer import SplitArrays

from coretools import make_trainer, xor_arrays


def classification_data(seed, n=23, d=3, k=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = rng.integers(0, k, n)
    t = np.eye(k)[labels]
    return x, t, labels


CONFIGS = [
    dict(optimizer="sgd", hyper={"lr": 0.3, "momentum": 0.9, "nesterov": True}, batch_size=None),
    dict(optimizer="adam", hyper={"lr": 0.01}, batch_size=5, shuffle=True),
    dict(optimizer="adamw", hyper={"lr": 0.01, "amsgrad": True}, batch_size=1, shuffle=True),
    dict(optimizer="rmsprop", hyper={"lr": 0.01, "centered": True, "momentum": 0.5}, batch_size=7),
    dict(optimizer="adagrad", hyper={"lr": 0.1}, batch_size=4, schedule="step",
         schedule_params={"step_size": 2, "gamma": 0.5}),
    dict(optimizer="adadelta", hyper={}, batch_size=6, shuffle=True, schedule="plateau",
         schedule_params={"patience": 1}),
]


def build(cfg, dtype=np.float64, with_val=True):
    x, t, labels = classification_data(0)
    xv, tv, lv = classification_data(1, n=9)
    val = SplitArrays(xv, tv, lv) if with_val else None
    return make_trainer([(6, "relu", None), (5, "tanh", None), (3, "softmax", None)], x, t, labels,
                        loss="cross_entropy", dtype=dtype, val=val, **cfg)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["optimizer"] for c in CONFIGS])
def test_phase_stepping_equals_fast_path_bit_for_bit(cfg, dtype):
    fast, slow = build(cfg, dtype), build(cfg, dtype)
    n = 3 * fast.steps_per_epoch + 2   # crosses epoch ends, shuffles, schedule steps
    fast.run_steps(n)
    for _ in range(n):
        slow.step_phases()
    assert fast.step == slow.step == n
    assert np.array_equal(fast.theta, slow.theta)
    assert np.array_equal(fast.opt.state, slow.opt.state)
    assert np.array_equal(fast.grad, slow.grad)
    assert fast.lr == slow.lr
    hf, hs = fast.epoch_history(), slow.epoch_history()
    for key in hf:
        assert np.array_equal(hf[key], hs[key], equal_nan=True), key
    assert fast.snapshot() == slow.snapshot()


def test_chunked_runs_equal_one_run():
    cfg = CONFIGS[1]
    a, b = build(cfg), build(cfg)
    a.run_steps(40)
    for k in (1, 2, 3, 5, 7, 22):
        b.run_steps(k)
    assert np.array_equal(a.theta, b.theta)


def test_same_seed_same_numbers_other_seed_other_numbers():
    cfg = CONFIGS[1]
    a, b = build(cfg), build(cfg)
    a.run_epochs(3)
    b.run_epochs(3)
    assert np.array_equal(a.theta, b.theta)
    x, t, labels = classification_data(0)
    c = make_trainer([(6, "relu", None), (5, "tanh", None), (3, "softmax", None)], x, t, labels,
                     loss="cross_entropy", seed=1, **cfg)
    c.run_epochs(3)
    assert not np.array_equal(a.theta, c.theta)


def test_shuffle_visits_every_sample_once_per_epoch():
    tr = build(CONFIGS[1])
    seen = []
    for _ in range(tr.steps_per_epoch):
        seen.extend(tr.step_phases()[0].tensors["indices"].tolist())
    assert sorted(seen) == list(range(len(tr.train)))
    assert seen != sorted(seen)  # actually shuffled


def test_run_epochs_stops_at_epoch_boundary_and_logs_epochs():
    tr = build(CONFIGS[3])
    tr.run_epochs(2)
    assert tr.epoch == 2 and tr.step == 2 * tr.steps_per_epoch
    h = tr.epoch_history()
    assert h["epoch"].tolist() == [1, 2]
    # the logged training loss is the mean of that epoch's batch losses
    steps, losses = tr.step_history()
    n = len(tr.train)
    sizes = [min(7, n - i) for i in range(0, n, 7)]
    per_epoch = tr.steps_per_epoch
    mean2 = np.dot(losses[per_epoch:], sizes) / n
    assert h["loss"][1] == pytest.approx(mean2, rel=1e-12)
    # validation metrics are those of the parameters at the end of the epoch
    assert h["val_loss"][1] == pytest.approx(tr.evaluate(tr.val)[0], rel=1e-12)


def test_xor_learns_and_accuracy_is_counted():
    x, t, y = xor_arrays()
    tr = make_trainer([(4, "tanh", None), (1, "sigmoid", None)], x, t, y, loss="bce",
                      hyper={"lr": 0.5, "momentum": 0.9}, bias=0.0)
    tr.run_epochs(500)
    snap = tr.snapshot()
    assert snap.loss < 0.05 and snap.accuracy == 1.0
    assert np.array_equal((tr.predict(x)[:, 0] > 0.5).astype(int), y)


@pytest.mark.parametrize("lr,why", [(1e4, None)])
def test_divergence_is_detected_and_stops_training(lr, why):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2)) * 10
    t = rng.normal(size=(16, 1)) * 10
    tr = make_trainer([(8, "identity", None), (1, "identity", None)], x, t, loss="mse",
                      hyper={"lr": lr})
    done = tr.run_steps(10_000)
    assert done < 10_000
    snap = tr.snapshot()
    assert snap.diverged and snap.divergence in ("nan", "exploded")
    assert tr.run_steps(10) == 0  # stays stopped


def test_float32_is_float32_all_the_way():
    tr = build(CONFIGS[1], dtype=np.float32)
    tr.run_steps(5)
    assert tr.theta.dtype == np.float32 and tr.opt.state.dtype == np.float32
    assert np.all(np.isfinite(tr.theta))


def test_set_hyper_changes_the_next_step_and_is_recorded():
    a, b = build(CONFIGS[0]), build(CONFIGS[0])
    a.run_steps(3)
    b.run_steps(3)
    b.set_hyper("lr", 0.0)
    before = b.theta.copy()
    b.run_steps(1)
    assert np.array_equal(before, b.theta)  # lr 0: no move
    assert b.events[-1].step == 3 and b.events[-1].key == "lr"
    with pytest.raises(ValueError):
        b.set_hyper("momentum", -1.0)
    with pytest.raises(KeyError):
        b.set_hyper("betas", (0.9, 0.9))


def test_batch_size_change_mid_epoch_keeps_every_sample_once():
    tr = build(CONFIGS[1])   # batch 5, 23 samples
    seen = tr.step_phases()[0].tensors["indices"].tolist()
    tr.set_hyper("batch_size", 8)
    while tr.epoch == 0:
        seen.extend(tr.step_phases()[0].tensors["indices"].tolist())
    assert sorted(seen) == list(range(23))


def test_decimated_history_stays_bounded_and_spans_the_run():
    h = Decimated(1, capacity=64)
    for start in range(0, 100_000, 997):
        h.extend(np.arange(start, min(start + 997, 100_000), dtype=float)[:, None])
    arr = h.array()
    assert len(h) <= 64
    assert arr[0, 0] < 2048 and arr[-1, 0] == 99_999
    assert np.all(np.diff(arr[:-1, 0]) == h.stride)


def test_regression_reports_nan_accuracy_not_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 1))
    t = np.sin(x)
    xv = rng.normal(size=(5, 1))
    tr = make_trainer([(4, "tanh", None), (1, "identity", None)], x, t, loss="mse",
                      val=SplitArrays(xv, np.sin(xv), np.zeros(0, np.int64)), batch_size=5)
    tr.run_epochs(2)
    slow = make_trainer([(4, "tanh", None), (1, "identity", None)], x, t, loss="mse",
                        val=SplitArrays(xv, np.sin(xv), np.zeros(0, np.int64)), batch_size=5)
    for _ in range(8):
        slow.step_phases()
    for trainer in (tr, slow):
        snap = trainer.snapshot()
        assert np.isnan(snap.accuracy) and np.isnan(snap.val_accuracy)
        assert np.isfinite(snap.loss) and np.isfinite(snap.val_loss)


def test_schedule_changed_mid_run_continues_from_the_current_epoch():
    tr = build(CONFIGS[0])
    tr.run_epochs(3)
    tr.set_hyper("schedule", "step")
    tr.set_hyper("schedule.step_size", 2)
    tr.set_hyper("schedule.gamma", 0.5)
    # epoch 3: 0.3 * 0.5 ** (3 // 2)
    assert tr.lr == pytest.approx(0.15)
    tr.run_epochs(1)
    assert tr.lr == pytest.approx(0.3 * 0.25)
    with pytest.raises(KeyError):
        tr.set_hyper("schedule.t_max", 3)
    assert [e.key for e in tr.events][-3:] == ["schedule", "schedule.step_size", "schedule.gamma"]


def test_save_and_restore_state_replays_the_same_steps():
    tr = build(CONFIGS[1])
    tr.run_steps(7)
    st = tr.save_state()
    tr.run_steps(9)
    after = tr.theta.copy()
    tr.restore_state(st)
    assert tr.step == 7
    tr.run_steps(9)
    assert np.array_equal(tr.theta, after)


def test_dead_units_finds_relu_units_silent_on_every_sample():
    x, t, labels = classification_data(0)
    tr = make_trainer([(4, "relu", None), (3, "softmax", None)], x, t, labels,
                      loss="cross_entropy")
    assert tr.dead_units() == []
    tr.weight(0)[2] = 0.0
    tr.bias(0)[2] = -1.0          # unit 2 now outputs 0 for every input
    assert tr.dead_units() == [(0, 2)]
