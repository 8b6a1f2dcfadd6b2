"""Bounded histories: a run of a million steps keeps a few thousand points.

When a series fills up, every other point is dropped and the stride
doubles, so the kept points stay evenly spread over the whole run and
memory never grows. The newest point is always available separately.
"""

import numpy as np


class Decimated:
    """Rows of ``width`` floats, at most ``capacity`` of them kept."""

    def __init__(self, width: int, capacity: int = 4096):
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self._rows = np.empty((capacity, width))
        self._n = 0
        self.stride = 1       # rows with (index + 1) % stride == 0 are kept
        self.last = None      # the newest row, kept or not
        self.seen = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=float).reshape(-1, self._rows.shape[1])
        if len(rows) == 0:
            return
        g0 = self.seen
        self.seen += len(rows)
        self.last = rows[-1].copy()
        i = 0
        while i < len(rows):
            g = g0 + i
            j = g + (-(g + 1)) % self.stride - g0   # next row to keep
            if j >= len(rows):
                break
            if self._n == len(self._rows):
                # full: keep every other row (those still on the doubled grid)
                half = self._rows[1::2].copy()
                self._rows[: len(half)] = half
                self._n = len(half)
                self.stride *= 2
                continue
            self._rows[self._n] = rows[j]
            self._n += 1
            i = j + 1

    def array(self, include_last: bool = True) -> np.ndarray:
        """The kept rows (a copy), plus the newest row if it was not kept."""
        out = self._rows[: self._n]
        if include_last and self.last is not None and self.seen % self.stride:
            out = np.vstack([out, self.last[None, :]])
        return out.copy()

    def __len__(self) -> int:
        return self._n
