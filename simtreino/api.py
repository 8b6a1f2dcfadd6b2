"""The Python API: what the command line does, for notebooks and scripts.

    import simtreino as st
    s = st.load_scenario("xor")          # a bundled name or a file
    trainer = st.build_trainer(s)        # step it, inspect it
    result = st.run(s, epochs=200)       # or run it like `simtreino run`

Everything here is re-exported lazily by ``simtreino/__init__.py``, so
``import simtreino`` stays instant (Numba loads on first use).
"""

from pathlib import Path

from simtreino.headless.params import load_params, save_params
from simtreino.headless.compare import DEFAULT_ATOL, DEFAULT_RTOL
from simtreino.headless.runner import RunResult, Runner
from simtreino.headless.trace import read_trace

__all__ = ["load_scenario", "build_trainer", "save_params", "load_params", "run", "RunResult",
           "Runner", "replay", "read_trace"]


def load_scenario(name_or_path):
    """A validated ``Scenario`` from a file path or a bundled name (``"xor"``).
    Raises ScenarioError (one line: file, key, what was expected)."""
    from simtreino.scenario import find_scenario, load_scenario as _load
    return _load(find_scenario(name_or_path))


def _scenario(s):
    return load_scenario(s) if isinstance(s, (str, Path)) else s


def build_trainer(scenario, seed=None):
    """A ready ``Trainer`` for a scenario (or a name/path): data built,
    weights drawn from the seed (``seed`` overrides the scenario's)."""
    from simtreino.scenario.build import build_trainer as _build
    return _build(_scenario(scenario), seed=seed)


def run(scenario, epochs=None, *, seed=None, init_params=None, record=None, record_every=None,
        save_params_to=None, on_chunk=None, steps=None):
    """Run a scenario (or a name/path) to the end, like ``simtreino run``
    but printing nothing. Returns a ``RunResult``: ``status`` (finished |
    diverged | interrupted), the final ``snapshot``, ``metrics``, the
    ``[expect]`` ``checks`` (``passed``, ``failures``) and the ``trainer``.

    ``on_chunk(runner)`` is called every few thousand steps; it may change
    settings through ``runner.trainer.set_hyper`` (recorded in the trace).

    A race scenario (``kind = "race"``) gives a ``RaceResult`` instead:
    ``racers`` (each one's final point, loss, distance to the nearest
    minimum, divergence), ``race`` (every path) and the ``checks``;
    ``steps`` overrides its length, ``record``/``record_every`` work alike.

    A scenario with ``[[runs]]`` gives a list of ``RunResult``, one per run
    (``scenario.variants()`` names them), all from the same initial weights."""
    s = _scenario(scenario)
    if s.kind == "race":
        from simtreino.headless.race_run import run_race
        given = {"epochs": epochs, "seed": seed, "init_params": init_params,
                 "save_params_to": save_params_to, "on_chunk": on_chunk}
        bad = [k for k, v in given.items() if v is not None]
        if bad:
            raise ValueError(f"{bad[0]} does not apply to a race scenario ({s.name})")
        return run_race(s, steps=steps, record=record, record_every=record_every)
    if steps is not None:
        raise ValueError("steps applies to race scenarios; a network scenario trains for epochs")
    from simtreino.headless.runner import run as _run
    if s.runs:
        if record is not None or save_params_to is not None:
            raise ValueError(f"{s.name} compares {len(s.runs)} runs: run its variants() one "
                             "by one to record or save each")
        return [_run(v, epochs=epochs, seed=seed, init_params=init_params,
                     record_every=record_every, on_chunk=on_chunk) for _, v in s.variants()]
    return _run(s, epochs=epochs, seed=seed, init_params=init_params,
                record=record, record_every=record_every, save_params_to=save_params_to,
                on_chunk=on_chunk)


def replay(items, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL) -> list:
    """Replay traces, scenario files, bundled names or folders of them (one
    or a list), like ``simtreino replay``; returns one ``ItemResult`` per
    item (``ok``, ``message``, ``notes``, ``seconds``)."""
    from simtreino.headless.replay import prepare_items, replay_item
    if isinstance(items, (str, Path)):
        items = [items]
    return [replay_item(it, rtol, atol) for it in prepare_items([str(i) for i in items])]
