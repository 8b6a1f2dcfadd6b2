"""simtreino: watch neural networks train, step by step, in the terminal."""

__version__ = "0.1.0"

# The Python API (simtreino/api.py), loaded on first use: `import simtreino`
# must stay instant and must not start Numba.
_API = ("load_scenario", "build_trainer", "run", "RunResult", "Runner", "save_params",
        "load_params", "replay", "read_trace")


def __getattr__(name):
    if name in _API:
        from simtreino import api
        return getattr(api, name)
    raise AttributeError(f"module 'simtreino' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
