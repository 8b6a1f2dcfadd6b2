"""The live optimizer race behind the race screen, driven without a screen.

Every command runs in the session's worker thread; ``wait_idle()`` returns
once the commands sent before it have run, so the tests synchronise on it
(and, for "play", poll the published view with a generous time-out that
only bounds a failure)."""

import json
import time
from dataclasses import replace

import numpy as np
import pytest

from simtreino.api import load_scenario, replay
from simtreino.headless.race_session import MAX_DRAWN_POINTS, SPEEDS, RaceSession
from simtreino.headless.replay import prepare_items, replay_item
from simtreino.scenario.build import build_race


@pytest.fixture(scope="module")
def ravine():
    return load_scenario("race-ravine")


@pytest.fixture
def session(ravine):
    s = RaceSession(ravine).start()
    s.wait_idle()
    yield s
    s.close()


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def fresh_paths(scenario, steps):
    """(racers, steps + 1, 2) and (racers, steps + 1) of a race run from
    scratch, with no session involved."""
    race = build_race(scenario)
    race.run(steps)
    return race.path[:, :steps + 1].copy(), race.losses[:, :steps + 1].copy()


def assert_view_matches_race(view, race):
    """The published view says where the race is, racer by racer."""
    k = race.step
    assert view.step == k
    assert view.paths.shape == (len(race.racers), k + 1, 2)
    assert view.losses.shape == (len(race.racers), k + 1)
    np.testing.assert_array_equal(view.paths, race.path[:, :k + 1])
    np.testing.assert_array_equal(view.losses, race.losses[:, :k + 1])
    for i, r in enumerate(view.racers):
        assert r.label == race.racers[i].label
        assert r.point == (race.path[i, k, 0], race.path[i, k, 1])
        assert r.loss == race.losses[i, k]


# ------------------------------------------------------------------ stepping
def test_starts_paused_at_the_start(session, ravine):
    v = session.view
    assert v.state == "paused" and v.step == 0 and v.steps == ravine.steps
    assert v.paths.shape == (len(ravine.racers), 1, 2)
    for i in range(len(ravine.racers)):
        assert tuple(v.paths[i, 0]) == ravine.surface.start
    assert [r.label for r in v.racers] == [r.label for r in ravine.racers]


@pytest.mark.parametrize("counts", [(1,), (7,), (3, 1, 12)])
def test_step_advances_exactly_n_and_the_view_shows_it(session, ravine, counts):
    total = 0
    for n in counts:
        session.step(n)
        session.wait_idle()
        total += n
        assert session.race.step == total
        assert_view_matches_race(session.view, session.race)
        assert session.view.state == "paused"
    # the same numbers as a race run in one go, without the session
    paths, losses = fresh_paths(ravine, total)
    np.testing.assert_array_equal(session.view.paths, paths)
    np.testing.assert_array_equal(session.view.losses, losses)


def test_step_stops_at_the_end_of_the_race(session, ravine):
    session.step(ravine.steps + 25)
    session.wait_idle()
    assert session.view.step == ravine.steps
    assert session.view.state == "finished"
    session.step(3)                 # nothing left to run
    session.wait_idle()
    assert session.view.step == ravine.steps and session.view.state == "finished"


def test_auto_speed_runs_the_race_in_about_ten_seconds(ravine):
    # the slowest speed that covers a tenth of the race each second
    want = ravine.steps / 10
    s = RaceSession(ravine)
    assert s.speed == min(v for v in SPEEDS if v is not None and v >= want)
    assert s.view.speed == s.speed
    long = replace(ravine, steps=SPEEDS[-2] * 10 + 1)
    assert RaceSession(long).speed is None           # more than the fastest notch


# ------------------------------------------------------------------ playing
@pytest.mark.parametrize("speed", [None, 1000])
def test_play_runs_to_the_end_and_stops_by_itself(ravine, speed):
    s = RaceSession(ravine, speed=speed).start()
    try:
        s.play()
        assert wait_for(lambda: s.view.state == "finished"), s.view.state
        s.wait_idle()
        assert not s.playing
        assert s.view.step == ravine.steps
        assert_view_matches_race(s.view, s.race)
        paths, _ = fresh_paths(ravine, ravine.steps)
        np.testing.assert_array_equal(s.view.paths, paths)
        s.play()                     # a finished race does not start again
        s.wait_idle()
        assert not s.playing and s.view.state == "finished"
    finally:
        s.close()


def test_pause_stops_playing(ravine):
    long = replace(ravine, steps=100_000)        # cannot end while the test looks
    s = RaceSession(long, speed=1000).start()
    try:
        s.play()
        s.wait_idle()
        assert s.playing and s.view.state == "training"
        assert wait_for(lambda: s.view.step >= 10)
        s.pause()
        s.wait_idle()
        assert not s.playing and s.view.state == "paused"
        step = s.race.step
        assert step < long.steps
        time.sleep(0.2)              # a playing worker would run ~200 steps meanwhile
        s.wait_idle()
        assert s.race.step == step and s.view.step == step
        s.toggle()                   # toggle plays again, toggle pauses
        s.wait_idle()
        assert s.playing and s.view.state == "training"
        s.toggle()
        s.wait_idle()
        assert not s.playing and s.view.state == "paused"
    finally:
        s.close()


def test_an_idle_session_publishes_nothing_new(session):
    """Every view makes the screen redraw everything: a paused race must
    not publish the same picture over and over."""
    session.step(3)
    session.wait_idle()
    version = session.view.version
    time.sleep(0.3)                  # the idle worker wakes several times meanwhile
    assert session.view.version == version
    session.step(1)                  # and a command still shows at once
    session.wait_idle()
    assert session.view.version > version and session.view.step == 4


def test_step_while_playing_pauses_first(ravine):
    s = RaceSession(ravine, speed=SPEEDS[0]).start()
    try:
        s.play()
        s.wait_idle()
        s.step(2)
        s.wait_idle()
        assert not s.playing and s.view.state == "paused"
        assert_view_matches_race(s.view, s.race)
    finally:
        s.close()


def test_faster_and_slower_walk_the_speeds_and_stop_at_both_ends(ravine):
    s = RaceSession(ravine, speed=SPEEDS[0]).start()
    try:
        for want in SPEEDS[1:]:
            s.faster()
            s.wait_idle()
            assert s.speed == want and s.view.speed == want
        s.faster()                   # already at the top ("max")
        s.wait_idle()
        assert s.view.speed is SPEEDS[-1] is None
        for want in reversed(SPEEDS[:-1]):
            s.slower()
            s.wait_idle()
            assert s.speed == want and s.view.speed == want
        s.slower()                   # already at the bottom
        s.wait_idle()
        assert s.view.speed == SPEEDS[0]
    finally:
        s.close()


# ------------------------------------------------------------------ reset
def test_reset_returns_to_the_start_with_fresh_optimizer_state(session, ravine):
    n = 23
    session.step(n)
    session.wait_idle()
    first = session.view
    momentum = [i for i, r in enumerate(ravine.racers) if r.optimizer.kind == "momentum"]
    assert momentum, "race-ravine has a momentum racer"
    buf = session.race.state_of(momentum[0])
    assert any(np.any(v != 0) for v in buf.values())      # the state has built up

    session.reset()
    session.wait_idle()
    v = session.view
    assert v.step == 0 and v.state == "paused" and v.message == "race_reset"
    assert v.paths.shape == (len(ravine.racers), 1, 2)
    for i in range(len(ravine.racers)):
        assert tuple(v.paths[i, 0]) == ravine.surface.start
        for arr in session.race.state_of(i).values():
            assert not np.any(arr)                          # cleared

    session.step(n)
    session.wait_idle()
    np.testing.assert_array_equal(session.view.paths, first.paths)
    np.testing.assert_array_equal(session.view.losses, first.losses)
    paths, _ = fresh_paths(ravine, n)
    np.testing.assert_array_equal(session.view.paths, paths)


def test_reset_after_the_end_can_play_again(ravine):
    s = RaceSession(ravine, speed=None).start()
    try:
        s.step(ravine.steps)
        s.wait_idle()
        assert s.view.state == "finished"
        s.reset()
        s.wait_idle()
        assert s.view.state == "paused" and s.view.step == 0
        s.play()
        assert wait_for(lambda: s.view.state == "finished")
        assert s.view.step == ravine.steps
    finally:
        s.close()


# ------------------------------------------------------------------ recording
def replays_ok(path):
    (item,) = prepare_items([str(path)])
    result = replay_item(item)
    assert result.ok, result.message
    return result


def records_of(path):
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["kind"] == "race"
    return lines, [line for line in lines if line["type"] == "record"]


def test_recording_from_the_start_replays(session, tmp_path):
    trace = tmp_path / "race.jsonl"
    session.toggle_recording(trace)
    session.wait_idle()
    assert session.view.recording == str(trace)
    assert session.view.message == "recording_started"
    session.step(15)
    session.toggle_recording(trace)
    session.wait_idle()
    assert session.view.recording is None
    assert session.view.message == "recording_stopped"
    assert session.view.message_args["path"] == str(trace)
    lines, records = records_of(trace)
    assert [r["step"] for r in records] == list(range(16))
    assert lines[-1]["type"] == "end" and lines[-1]["step"] == 15
    replays_ok(trace)


def test_recording_started_mid_race_replays_from_step_zero(session, ravine, tmp_path):
    trace = tmp_path / "mid.jsonl"
    session.step(30)
    session.wait_idle()
    before = session.view
    session.toggle_recording(trace)
    session.wait_idle()
    # starting a recording does not move the race
    assert session.view.step == 30
    np.testing.assert_array_equal(session.view.paths, before.paths)
    session.step(12)
    session.toggle_recording(trace)
    session.wait_idle()
    _, records = records_of(trace)
    assert records[0]["step"] == 0 and records[-1]["step"] == 42
    # the recorded points are the race's points
    last = np.array(records[-1]["points"])
    np.testing.assert_array_equal(last, session.race.path[:, 42])
    replays_ok(trace)
    (result,) = replay(trace)                 # the public API says the same
    assert result.ok, result.message


def test_replay_of_a_tampered_race_trace_fails(session, tmp_path):
    """The replay really compares numbers: change one and it fails."""
    trace = tmp_path / "race.jsonl"
    session.toggle_recording(trace)
    session.step(10)
    session.toggle_recording(trace)
    session.wait_idle()
    lines = trace.read_text().splitlines()
    i = max(k for k, line in enumerate(lines) if '"record"' in line)
    rec = json.loads(lines[i])
    rec["points"][1][0] += 1e-3
    lines[i] = json.dumps(rec)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    (item,) = prepare_items([str(bad)])
    result = replay_item(item)
    assert not result.ok
    assert f"step {rec['step']}" in result.message


def test_the_race_goes_on_after_a_recording_stops(session, ravine, tmp_path):
    trace = tmp_path / "race.jsonl"
    session.step(5)
    session.toggle_recording(trace)
    session.step(5)
    session.toggle_recording(trace)
    session.step(4)
    session.wait_idle()
    assert session.view.step == 14
    assert_view_matches_race(session.view, session.race)
    paths, _ = fresh_paths(ravine, 14)
    np.testing.assert_array_equal(session.view.paths, paths)
    replays_ok(trace)
    # and it can still be played to its end
    for _ in SPEEDS:
        session.faster()
    session.play()
    assert wait_for(lambda: session.view.state == "finished")
    assert session.view.step == ravine.steps


def test_recording_to_the_end_of_the_race_replays_as_finished(ravine, tmp_path):
    trace = tmp_path / "full.jsonl"
    s = RaceSession(ravine, speed=None).start()
    try:
        s.toggle_recording(trace)
        s.play()
        assert wait_for(lambda: s.view.state == "finished")
        s.toggle_recording(trace)
        s.wait_idle()
    finally:
        s.close()
    lines, records = records_of(trace)
    assert lines[-1]["type"] == "end"
    assert lines[-1]["status"] == "finished" and lines[-1]["step"] == ravine.steps
    assert records[-1]["step"] == ravine.steps
    result = replays_ok(trace)
    assert not result.notes                   # nothing was cut short


def test_reset_stops_a_recording(session, tmp_path):
    trace = tmp_path / "race.jsonl"
    session.toggle_recording(trace)
    session.step(6)
    session.reset()
    session.wait_idle()
    assert session.view.recording is None and session.view.step == 0
    lines, _ = records_of(trace)
    assert lines[-1]["type"] == "end" and lines[-1]["step"] == 6
    replays_ok(trace)


def test_close_finishes_an_open_recording(ravine, tmp_path):
    trace = tmp_path / "race.jsonl"
    s = RaceSession(ravine).start()
    s.toggle_recording(trace)
    s.step(8)
    s.wait_idle()
    s.close()
    lines, _ = records_of(trace)
    assert lines[-1]["type"] == "end" and lines[-1]["step"] == 8
    replays_ok(trace)


# ------------------------------------------------------------------ drawing
def test_long_paths_are_thinned_for_drawing(ravine):
    steps = MAX_DRAWN_POINTS * 2 + 37
    long = replace(ravine, steps=steps)
    s = RaceSession(long).start()
    try:
        s.step(MAX_DRAWN_POINTS - 1)      # MAX_DRAWN_POINTS points: not thinned yet
        s.wait_idle()
        assert s.view.paths.shape[1] == MAX_DRAWN_POINTS
        assert_view_matches_race(s.view, s.race)
        s.step(steps)
        s.wait_idle()
        v, race = s.view, s.race
    finally:
        s.close()
    assert v.step == steps
    n = v.paths.shape[1]
    assert 2 <= n <= MAX_DRAWN_POINTS
    assert v.losses.shape == (len(long.racers), n)
    # the first and the last point are kept, and every drawn point is a real
    # point of the path, in order
    np.testing.assert_array_equal(v.paths[:, 0], race.path[:, 0])
    np.testing.assert_array_equal(v.paths[:, -1], race.path[:, steps])
    full = race.path[0, :steps + 1]
    j = 0
    for p in v.paths[0]:
        while j <= steps and not np.array_equal(full[j], p):
            j += 1
        assert j <= steps, "a drawn point that is not on the path (or out of order)"
    # and the racers' table still reads the real last step
    for i, r in enumerate(v.racers):
        assert r.point == tuple(race.path[i, steps])


# ------------------------------------------------------------------ threads
def test_close_joins_the_worker(ravine):
    s = RaceSession(ravine, speed=SPEEDS[0]).start()
    s.play()
    s.wait_idle()
    assert s._thread.is_alive()
    s.close()
    assert not s._thread.is_alive()


def test_advance_now_runs_before_the_worker_starts_and_refuses_after(ravine):
    s = RaceSession(ravine)
    s.advance_now(9)
    assert s.view.step == 9
    assert_view_matches_race(s.view, s.race)
    s.start()
    try:
        with pytest.raises(RuntimeError, match="advance_now"):
            s.advance_now(1)
        s.wait_idle()
        assert s.view.step == 9           # the worker takes over where it was
        s.step(1)
        s.wait_idle()
        assert s.view.step == 10
    finally:
        s.close()


def test_saddle_race_runs_in_a_session_too():
    saddle = load_scenario("race-saddle")
    s = RaceSession(saddle, speed=None).start()
    try:
        s.step(40)
        s.wait_idle()
        assert_view_matches_race(s.view, s.race)
        paths, _ = fresh_paths(saddle, 40)
        np.testing.assert_array_equal(s.view.paths, paths)
    finally:
        s.close()
