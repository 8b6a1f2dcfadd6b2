"""When a replayed number equals a recorded one.

On the same machine a replay reproduces a run bit for bit; the tolerance
is there for other machines (another BLAS, another CPU may round the last
bits differently). Kept apart from ``replay`` so the command line can show
the defaults in ``--help`` without loading Numba.
"""

import math

DEFAULT_RTOL = 1e-7
DEFAULT_ATOL = 1e-12


def close(recorded: float, replayed: float, rtol: float = DEFAULT_RTOL,
          atol: float = DEFAULT_ATOL) -> bool:
    """``|a - b| <= atol + rtol * |a|``; NaN (null in a trace) matches only NaN."""
    a, b = recorded, replayed
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= atol + rtol * abs(a)
