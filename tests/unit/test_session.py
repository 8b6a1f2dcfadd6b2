"""The live session behind the terminal UI, driven without a screen."""

import time

import numpy as np
import pytest

from simtreino.api import load_scenario, load_params, replay
from simtreino.headless.session import LiveSession, SPEEDS


@pytest.fixture
def session():
    s = LiveSession(load_scenario("xor")).start()
    s.wait_idle()
    yield s
    s.close()


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_starts_paused_and_steps_one_at_a_time(session):
    assert session.view.state == "paused" and session.view.snapshot.step == 0
    session.step()
    session.wait_idle()
    assert session.view.snapshot.step == 1
    session.epoch()
    session.wait_idle()
    assert session.view.snapshot.epoch == 2


def test_play_trains_at_the_asked_pace_and_pause_stops(session):
    session.play()
    assert wait_for(lambda: session.view.snapshot.step >= 20)
    session.pause()
    session.wait_idle()
    step = session.view.snapshot.step
    time.sleep(0.3)
    session.wait_idle()
    assert session.view.snapshot.step == step
    assert session.view.state == "paused"


def test_speed_levels_move_one_notch(session):
    before = session.speed
    session.faster()
    session.wait_idle()
    assert SPEEDS.index(session.speed) == SPEEDS.index(before) + 1
    session.slower()
    session.slower()
    session.wait_idle()
    assert SPEEDS.index(session.speed) == SPEEDS.index(before) - 1


def test_interactive_session_replays(session, tmp_path):
    trace = tmp_path / "live.jsonl"
    session.toggle_recording(trace)
    session.step(30)
    session.set_hyper({"lr": 0.05, "momentum": 0.5})
    session.step(40)
    session.toggle_recording(trace)
    session.wait_idle()
    assert session.view.message == "recording_stopped"
    (result,) = replay(trace)
    assert result.ok, result.message
    # and it would fail if the events were not applied: drop them
    lines = [l for l in trace.read_text().splitlines() if '"event"' not in l]
    (tmp_path / "noev.jsonl").write_text("\n".join(lines) + "\n")
    (bad,) = replay(tmp_path / "noev.jsonl")
    assert not bad.ok


def test_save_params_writes_the_current_parameters(session, tmp_path):
    session.step(5)
    session.save_params(tmp_path / "p.npz")
    session.wait_idle()
    tr = session.trainer
    theta = load_params(tmp_path / "p.npz", tr.arch, tr.dtype)
    assert np.array_equal(theta, tr.theta)
    assert session.view.message == "params_saved"


def test_divergence_pauses_and_says_so(session):
    session.set_hyper({"lr": 1e6})
    session.play()
    assert wait_for(lambda: session.view.state == "diverged")
    assert session.view.snapshot.diverged
    session.play()       # cannot go on from NaN
    session.wait_idle()
    assert session.view.state == "diverged"
    session.reset()
    session.wait_idle()
    assert session.view.state == "paused" and session.view.snapshot.step == 0


def test_reset_gives_the_same_start_and_reseed_another(session):
    first = session.trainer.theta.copy()
    session.step(10)
    session.reset()
    session.wait_idle()
    assert np.array_equal(session.trainer.theta, first)
    session.reset(reseed=True)
    session.wait_idle()
    assert not np.array_equal(session.trainer.theta, first)


def test_decision_boundary_field_covers_the_data(session):
    session.step(200)
    session.wait_idle()
    f = session.view.field
    assert f.kind == "classes" and f.values.shape[2] == 2
    xmin, xmax, ymin, ymax = f.extent
    assert xmin < 0 and xmax > 1 and ymin < 0 and ymax > 1
    np.testing.assert_allclose(f.values.sum(axis=2), 1.0)


@pytest.mark.parametrize("kind,value", [("loss_below", 0.3), ("loss_below", 0.01),
                                        ("grad_norm_above", 0.4)])
def test_breakpoint_stops_just_before_the_step_where_it_happens(kind, value):
    s = LiveSession(load_scenario("xor")).start()
    try:
        s.run_until(kind, value)
        assert wait_for(lambda: s.view.break_id == 1, 30)
        kind_hit, _, step, detail = s.view.break_hit
        tr = s.trainer
        assert kind_hit == kind and tr.step == step - 1
        # the step it stopped before is the one where the condition first holds
        from simtreino.api import build_trainer
        ref = build_trainer(load_scenario("xor"))
        losses = []
        for _ in range(step):
            ref.run_steps(1)
            losses.append(ref.snapshot().last_loss if kind == "loss_below"
                          else float(np.linalg.norm(ref.grad)))
        holds = [(v < value) if kind == "loss_below" else (v > value) for v in losses]
        assert holds.index(True) == step - 1
        assert np.array_equal(tr.theta, build_and_run(step - 1))
    finally:
        s.close()


def build_and_run(steps):
    from simtreino.api import build_trainer
    ref = build_trainer(load_scenario("xor"))
    ref.run_steps(steps)
    return ref.theta


def test_nan_breakpoint_stops_before_the_loss_becomes_nan():
    s = LiveSession(load_scenario("xor")).start()
    try:
        s.set_hyper({"lr": 1e6})
        s.run_until("nan")
        assert wait_for(lambda: s.view.break_id == 1, 30)
        assert not s.trainer.diverged and s.view.state != "diverged"
        assert s.trainer.step == s.view.break_hit[2] - 1
    finally:
        s.close()
