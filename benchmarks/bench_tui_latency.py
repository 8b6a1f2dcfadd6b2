"""How fast the terminal UI answers a key while XOR trains at full speed,
measured as a person sees it: the app runs in a real terminal (tmux,
120x36), keys are sent with ``tmux send-keys`` and the screen is read with
``tmux capture-pane`` until the status badge changes.

Run:  python benchmarks/bench_tui_latency.py      (needs tmux)
Prints figures; asserts nothing. The figure includes the polling interval
of capture-pane (a few ms).
"""

import shutil
import statistics
import subprocess
import sys
import time

SESSION = "simtreino-latency"


def tmux(*args) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def badge() -> str:
    first = tmux("capture-pane", "-p", "-t", SESSION).splitlines()[:1]
    return first[0].split()[0] if first and first[0].split() else ""


def wait_badge(pred, timeout=10.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if pred(badge()):
            return time.perf_counter() - t0
        time.sleep(0.002)
    return float("nan")


def main(presses: int = 20):
    if not shutil.which("tmux"):
        print("tmux is not installed")
        return
    exe = shutil.which("simtreino") or f"{sys.executable} -m simtreino"
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36")
    tmux("send-keys", "-t", SESSION, f"{exe} open xor --lang en", "Enter")
    wait_badge(lambda b: b in ("training", "paused", "finished"), 120)
    for _ in range(20):                  # as fast as it goes
        tmux("send-keys", "-t", SESSION, "+")
    time.sleep(1.0)
    if badge() != "training":
        tmux("send-keys", "-t", SESSION, "Space")
        wait_badge(lambda b: b == "training")
    time.sleep(1.0)
    times = []
    for i in range(presses):
        playing = badge() == "training"
        t0 = time.perf_counter()
        tmux("send-keys", "-t", SESSION, "Space")
        dt = wait_badge(lambda b: (b == "training") != playing)
        times.append((time.perf_counter() - t0) * 1e3 if dt == dt else float("nan"))
        time.sleep(0.4)
    screen = tmux("capture-pane", "-p", "-t", SESSION).splitlines()[:2]
    tmux("send-keys", "-t", SESSION, "q")
    time.sleep(0.5)
    tmux("kill-session", "-t", SESSION)
    ok = [t for t in times if t == t]
    print("XOR at full speed in a real terminal (tmux 120x36), space pressed", presses, "times")
    print(f"  key -> new state on screen: median {statistics.median(ok):.0f} ms, "
          f"max {max(ok):.0f} ms   (target < 100 ms)")
    print("  status line:", screen[0].strip() if screen else "?")


if __name__ == "__main__":
    main()
