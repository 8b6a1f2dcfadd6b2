"""What a person watching a headless run sees on stderr while it works.

- a progress line, redrawn at most ~10 times a second, only on a terminal
  (in a CI log, hundreds of carriage-return frames are noise);
- a notice when the first step is slow because Numba is compiling: at
  once when no compiled kernels are on disk, else from a timer thread if
  the first chunk has not returned after a few seconds (a new dtype or
  loss still compiles its own kernels; loading cached ones takes ~0.5 s,
  which must not trigger it). The kernels release the GIL, so the thread
  gets to run.
"""

import math
import threading
import time

MSG = {
    "compiling": "compiling kernels (first run only)…",
    "line": "epoch {epoch}/{total}  loss {loss}  accuracy {acc}  {rate} steps/s",
}

REDRAW_SECONDS = 0.1
COMPILE_NOTICE_SECONDS = 2.0


def _num(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


class Progress:
    def __init__(self, stream, total_epochs: int, enabled: bool):
        self.stream = stream
        self.total = total_epochs
        self.enabled = enabled
        self._last_draw = -math.inf
        self._shown = False

    def update(self, snap, rate: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        line = MSG["line"].format(epoch=snap.epoch, total=self.total, loss=_num(snap.loss),
                                  acc=_num(snap.accuracy),
                                  rate=f"{rate:,.0f}" if math.isfinite(rate) else "-")
        # \r back to the start, \x1b[K clear what a longer line left behind
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


class CompileNotice:
    """``with CompileNotice(stderr, enabled): trainer.run_steps(1)``"""

    def __init__(self, stream, enabled: bool = True, delay: float | None = None):
        from simtreino.core.jit import cache_is_warm
        self.stream = stream
        self.enabled = enabled
        if delay is None:
            delay = COMPILE_NOTICE_SECONDS if cache_is_warm() else 0.0
        self.delay = delay
        self._timer = None
        self.shown = False

    def _show(self) -> None:
        self.stream.write(MSG["compiling"] + "\n")
        self.stream.flush()
        self.shown = True

    def __enter__(self):
        if self.enabled:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True   # never keeps the process alive
            self._timer.start()
        return self

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return False
