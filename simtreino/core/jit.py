"""The one place that holds the options every compiled kernel uses.

- ``cache=True``: a second process loads machine code from disk instead of
  compiling again (seconds saved on every start).
- ``nogil=True``: training runs in a worker thread; releasing the GIL keeps
  the UI thread responsive while a kernel runs.
- ``error_model='numpy'``: division by zero gives inf/nan like NumPy instead
  of raising; it also lets loops containing ``/`` vectorise (measured 5.7x on
  an Adam kernel).
- no ``fastmath``: it would let LLVM assume there are no NaN/Inf, and
  divergence must be detected, not optimised away. It would also allow
  reassociation, which breaks bit-for-bit reproducibility.
"""

import hashlib
import os
from pathlib import Path

import numba
from numba import njit


def _cache_dir() -> str:
    """A Numba cache folder keyed by the source of every kernel module.

    Numba's own cache only notices changes to the file that defines a
    function, not to the kernels it calls from other files, so a stale
    compiled loop could survive an edit of (say) a loss. Keying the folder
    by the sources of the whole core makes any edit start afresh."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "simtreino", "numba-" + h.hexdigest()[:16])


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _cache_dir()

JIT_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath=False)


def kernel(fn):
    """Compile ``fn`` lazily (on first call) with the project's options."""
    return njit(**JIT_OPTIONS)(fn)


def kernel_inline(fn):
    """A tiny kernel inlined into its callers at Numba's level: an array
    view built in a separate function cost ~27 ns, inlined ~15 ns, and a
    training step of a small network builds dozens of them."""
    return njit(inline="always", **JIT_OPTIONS)(fn)


def kernel_parallel(fn):
    """A kernel whose ``numba.prange`` loops run on Numba's thread pool
    (the same options otherwise). Two cautions: never call BLAS
    (``np.dot``) inside a ``prange`` body -- Numba's threads and BLAS's own
    then fight over the cores (parallel kernels next to multi-threaded BLAS
    took an epoch from ~90 ms to 6.5 s on these 2-core machines) -- and
    never enter parallel kernels from two Python threads at once (Numba's
    fallback 'workqueue' threading layer aborts the process): callers
    serialise them with a lock (see analysis/landscape.py)."""
    return njit(parallel=True, **JIT_OPTIONS)(fn)


def cache_is_warm() -> bool:
    """Whether compiled kernels for this version of the core are on disk
    (then starting takes a second, not a minute of compiling)."""
    folder = Path(numba.config.CACHE_DIR)
    return folder.is_dir() and any(folder.rglob("engine.train_loop-*.nbi"))
