"""The loss surface of a live run (SurfaceWatcher, LiveSession.watch_surface)
and its headless export (``simtreino surface``)."""

import json
import time

import numpy as np
import pytest

from simtreino.analysis.landscape import loss_line, problem_from_trainer, project
from simtreino.cli import main
from simtreino.core.functions2d import grid_values
from simtreino.headless.session import LiveSession
from simtreino.headless.surface_export import SurfaceError, export_surface
from simtreino.headless.surface_watch import SurfaceWatcher
from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_trainer


def xor_trainer():
    return build_trainer(load_scenario(find_scenario("xor")))


def wait_for(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_watcher_slices_around_the_latest_parameters():
    tr = xor_trainer()
    w = SurfaceWatcher(tr, grid=21)
    try:
        for _ in range(10):
            tr.run_steps(20)
            w.after_steps(tr)
        w.compute_now(tr)
        st = w.latest
        s = st.slice
        assert st.step == tr.step
        assert np.array_equal(s.center, tr.theta)
        assert s.losses.shape == (21, 21)
        # α = β = 0 is the current loss on the same samples
        problem = problem_from_trainer(tr)
        mid = s.losses[10, 10]
        assert mid == pytest.approx(float(loss_line(problem, tr.theta, tr.theta, [0.0])[0]),
                                    rel=1e-12)
        # the 1-D slice runs from the initial (t = 0) to the current weights (t = 1)
        i0, i1 = np.argmin(abs(st.line_ts)), np.argmin(abs(st.line_ts - 1))
        ends = loss_line(problem, tr.initial_theta, tr.theta, [0.0, 1.0])
        assert st.line_losses[i0] == pytest.approx(ends[0], rel=1e-12)
        assert st.line_losses[i1] == pytest.approx(ends[1], rel=1e-12)
        assert s.kind == "pca" and st.path_steps[-1] == tr.step
    finally:
        w.close()


def test_new_points_are_projected_on_the_current_plane():
    tr = xor_trainer()
    w = SurfaceWatcher(tr, grid=11)
    try:
        for _ in range(5):
            tr.run_steps(10)
            w.after_steps(tr)
        w.compute_now(tr)
        s = w.latest.slice
        n0 = len(w.latest.path)
        tr.run_steps(3)
        w._project_new(tr.step, tr.theta)     # what after_steps does between slices
        st = w.latest
        assert len(st.path) == n0 + 1 and st.path_steps[-1] == tr.step
        expected = project(tr.theta[None, :], s.center, s.d1, s.d2)[0]
        assert np.allclose(st.path[-1], expected, rtol=1e-9, atol=1e-12)
    finally:
        w.close()


def test_a_slice_is_asked_for_when_the_weights_move():
    tr = xor_trainer()
    w = SurfaceWatcher(tr, grid=11)
    try:
        w.after_steps(tr, force=True)
        assert wait_for(lambda: w.latest is not None)
        first = w.latest
        tr.run_steps(400)
        w.after_steps(tr)
        assert wait_for(lambda: w.latest is not None and w.latest.slice is not first.slice
                        and w.latest.step == tr.step)
    finally:
        w.close()


def test_live_session_publishes_the_surface_and_keeps_training():
    s = LiveSession(load_scenario(find_scenario("xor")), speed=None)
    s.start()
    try:
        s.watch_surface(True)
        s.play()
        assert wait_for(lambda: s.view.surface is not None)
        step = s.view.snapshot.step
        assert wait_for(lambda: s.view.snapshot.step > step or s.view.state == "finished")
        s.reset()
        s.wait_idle()
        assert wait_for(lambda: s.view.surface is not None and s.view.surface.step == 0)
        s.watch_surface(False)
        s.wait_idle()
        assert s.view.surface is None
    finally:
        s.close()


# ------------------------------------------------------------------- export
def test_export_npz_has_grid_axes_path_and_line(tmp_path):
    out = tmp_path / "xor.npz"
    done = export_surface(load_scenario(find_scenario("xor")), out, epochs=50, grid=15)
    assert done.files == [str(out)]
    d = np.load(out)
    meta = json.loads(str(d["meta"]))
    assert meta["step"] == 50 and meta["directions"] == "pca" and meta["grid"] == [15, 15]
    assert d["losses"].shape == (15, 15) and len(d["alphas"]) == 15
    assert d["path"].shape == (len(d["path_steps"]), 2) and d["path_steps"][-1] == 50
    # the centre of the grid is the loss of the saved centre
    tr = xor_trainer()
    tr.set_params(d["center"])
    assert d["losses"][7, 7] == pytest.approx(tr.evaluate(tr.train)[0], rel=1e-12)
    # the path's last point is the centre itself
    assert np.allclose(d["path"][-1], 0.0, atol=1e-12)


def test_export_csv_round_trips_the_numbers(tmp_path):
    out = tmp_path / "xor.csv"
    export_surface(load_scenario(find_scenario("xor")), out, epochs=20, grid=5,
                   directions="random")
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert rows.shape == (25, 3)
    npz = tmp_path / "xor.npz"
    export_surface(load_scenario(find_scenario("xor")), npz, epochs=20, grid=5,
                   directions="random")
    d = np.load(npz)
    assert np.array_equal(rows[:, 2], d["losses"].ravel())     # shortest repr reads back exactly
    assert (tmp_path / "xor.path.csv").read_text().startswith("step,alpha,beta,offplane\n0,")
    assert (tmp_path / "xor.line.csv").exists()


def test_export_race_has_the_function_and_every_path(tmp_path):
    out = tmp_path / "r.npz"
    export_surface(load_scenario(find_scenario("race-saddle")), out, steps=30)
    d = np.load(out)
    assert d["paths"].shape == (3, 31, 2)
    assert np.array_equal(d["values"], grid_values("saddle", d["xs"], d["ys"]))


def test_export_errors(tmp_path):
    xor = load_scenario(find_scenario("xor"))
    with pytest.raises(SurfaceError, match=r"\.npz or \.csv"):
        export_surface(xor, tmp_path / "x.txt")
    with pytest.raises(SurfaceError, match="train longer"):
        export_surface(xor, tmp_path / "x.npz", epochs=1)
    with pytest.raises(SurfaceError, match="--steps"):
        export_surface(xor, tmp_path / "x.npz", steps=3)


def test_cli_surface(tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert main(["surface", "xor", "--epochs", "30", "--grid", "9", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("XOR: 9x9 loss surface around step 30") and str(out) in line
    assert main(["surface", "xor", "--out", str(tmp_path / "no" / "s.npz")]) == 2
    assert main(["surface", "xor", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "train longer" in err
