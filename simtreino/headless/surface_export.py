"""``simtreino surface``: train a scenario, then write its loss surface, axes
and trajectory to a file for notebooks.

Network scenarios: a 2-D slice around the final parameters (PCA of the
path, or filter-normalised random directions), the path projected on it,
and the 1-D slice from the initial to the final parameters. Race
scenarios: the function on its domain and every racer's path.

``.npz`` holds everything (arrays by name, plus ``meta``: a JSON string);
``.csv`` writes the grid in long form (one row per grid point) and the
path and line next to it (``NAME.path.csv``, ``NAME.line.csv``). Files are
written whole or not at all.
"""

from dataclasses import dataclass
import io
import json
from pathlib import Path

import numpy as np

import simtreino
from simtreino.analysis.landscape import (Trajectory, TrajectoryTooShort, loss_line,
                                          problem_from_trainer, surface_slice)

from .atomic import atomic_open, atomic_write_text
from .runner import Runner

LINE_TS = np.linspace(-0.25, 1.25, 61)
# Points of the trajectory kept along a run (spread evenly over it).
PATH_POINTS = 400
FORMATS = (".npz", ".csv")


class SurfaceError(ValueError):
    """A surface that cannot be made (one line for the person)."""


@dataclass
class Exported:
    files: list[str]
    summary: str


def export_surface(scenario, out, *, epochs=None, steps=None, seed=None, directions="pca",
                   grid=41, extent=None, samples=1000) -> Exported:
    out = Path(out)
    if out.suffix not in FORMATS:
        raise SurfaceError(f"{out}: expected a file name ending in .npz or .csv")
    if scenario.kind == "race":
        if epochs is not None or seed is not None:
            raise SurfaceError("a race takes --steps, not --epochs or --seed")
        return _export_race(scenario, out, steps)
    if steps is not None:
        raise SurfaceError("--steps applies to races; a network scenario trains for --epochs")
    runner = Runner(scenario, epochs=epochs, seed=seed)
    tr = runner.trainer
    total = runner.target_epoch * tr.steps_per_epoch
    every = max(1, total // PATH_POINTS)
    traj = Trajectory.for_trainer(tr)
    traj.append(tr.step, tr.theta)
    while not runner.done:
        runner.advance(every)
        if not tr.diverged:
            traj.append(tr.step, tr.theta)
    if tr.diverged:
        raise SurfaceError(f"{scenario.name}: training diverged at step {tr.step}; "
                           "there is no surface around NaN weights")
    problem = problem_from_trainer(tr, max_samples=samples, seed=runner.scenario.seed)
    try:
        s = surface_slice(problem, tr.theta, directions=directions, trajectory=traj,
                          grid=grid, extent=extent, seed=runner.scenario.seed)
    except TrajectoryTooShort as e:
        raise SurfaceError(f"{scenario.name}: {e}; train longer or use --directions random") \
            from None
    line = np.asarray(loss_line(problem, tr.initial_theta, tr.theta, LINE_TS))
    meta = {
        "simtreino": simtreino.__version__, "kind": "network", "scenario": scenario.name,
        "step": tr.step, "epoch": tr.epoch, "directions": s.kind, "grid": [len(s.alphas),
                                                                           len(s.betas)],
        "extent": list(s.extent), "samples": problem.n_samples, "loss": s.loss,
        "seed": s.seed, "explained": None if s.explained is None else
        [float(v) for v in s.explained],
        "orientation": "losses[j, i] = L(center + alphas[i] d1 + betas[j] d2)",
    }
    arrays = {
        "alphas": s.alphas, "betas": s.betas, "losses": s.losses, "path": s.path,
        "path_steps": s.path_steps, "path_offplane": s.path_offplane, "line_t": LINE_TS,
        "line_losses": line, "center": s.center, "d1": s.d1, "d2": s.d2,
        "initial": tr.initial_theta,
    }
    if out.suffix == ".npz":
        files = [_write_npz(out, arrays, meta)]
    else:
        files = [
            _write_csv(out, ("alpha", "beta", "loss"), _long_form(s.alphas, s.betas, s.losses)),
            _write_csv(_sibling(out, "path"), ("step", "alpha", "beta", "offplane"),
                       [s.path_steps, s.path[:, 0], s.path[:, 1], s.path_offplane]),
            _write_csv(_sibling(out, "line"), ("t", "loss"), [LINE_TS, line]),
        ]
    how = (f"PCA of the path ({100 * float(np.sum(s.explained)):.0f}% of it)"
           if s.kind == "pca" else "random filter-normalised directions")
    summary = (f"{scenario.name}: {len(s.alphas)}x{len(s.betas)} loss surface around step "
               f"{tr.step} along {how}, {len(s.path)} path points, loss on {problem.n_samples} "
               f"samples -> {', '.join(files)}")
    return Exported(files, summary)


def _export_race(scenario, out: Path, steps) -> Exported:
    from simtreino.core.functions2d import grid_values
    from .race_run import run_race
    result = run_race(scenario, steps=steps)
    race = result.race
    xmin, xmax, ymin, ymax = scenario.surface.domain
    xs = np.linspace(xmin, xmax, 201)
    ys = np.linspace(ymin, ymax, 201)
    values = grid_values(scenario.surface.function, xs, ys)
    paths = race.path[:, :race.step + 1]
    losses = race.losses[:, :race.step + 1]
    labels = [r.label for r in scenario.racers]
    meta = {"simtreino": simtreino.__version__, "kind": "race", "scenario": scenario.name,
            "function": scenario.surface.function, "steps": race.step, "labels": labels,
            "orientation": "values[j, i] = f(xs[i], ys[j])"}
    if out.suffix == ".npz":
        files = [_write_npz(out, {"xs": xs, "ys": ys, "values": values, "paths": paths,
                                  "losses": losses}, meta)]
    else:
        n = paths.shape[1]
        files = [
            _write_csv(out, ("x", "y", "f"), _long_form(xs, ys, values)),
            _write_csv(_sibling(out, "path"), ("racer", "step", "x", "y", "f"),
                       [np.repeat(labels, n), np.tile(np.arange(n), len(labels)),
                        paths[:, :, 0].ravel(), paths[:, :, 1].ravel(), losses.ravel()]),
        ]
    summary = (f"{scenario.name}: {scenario.surface.function} on 201x201 points and "
               f"{len(labels)} paths of {race.step} steps -> {', '.join(files)}")
    return Exported(files, summary)


def _long_form(xs, ys, values) -> list:
    gx, gy = np.meshgrid(xs, ys)
    return [gx.ravel(), gy.ravel(), np.asarray(values).ravel()]


def _sibling(out: Path, part: str) -> Path:
    return out.with_name(f"{out.stem}.{part}.csv")


def _write_npz(path: Path, arrays: dict, meta: dict) -> str:
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **{k: np.asarray(v) for k, v in arrays.items()})
    with atomic_open(path, "wb") as f:
        f.write(buf.getvalue())
    return str(path)


def _write_csv(path: Path, header, columns) -> str:
    """Columns of equal length; floats in their shortest exact form (they
    read back bit for bit), integers and labels as they are."""
    def cells(col):
        col = np.asarray(col)
        if col.dtype.kind in "iu":
            return [str(int(v)) for v in col]
        if col.dtype.kind == "f":
            return [repr(float(v)) for v in col]
        return [str(v) for v in col]
    cols = [cells(c) for c in columns]
    lines = [",".join(header)] + [",".join(row) for row in zip(*cols)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return str(path)
