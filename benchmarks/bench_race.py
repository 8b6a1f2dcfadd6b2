"""Speed of an optimizer race: 8 optimizers x 1,000 steps on Rosenbrock
(the bundled race-rosenbrock), target < 0.5 s.

The race runs in one compiled call (core/race.py) with the same optimizer
kernels as network training. Compile (or cache load) time is reported
apart from the warm time, which is the median of several runs.

Run:  python benchmarks/bench_race.py
Prints figures; asserts nothing.
"""

import os
import statistics
import time

from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_race


def main() -> None:
    s = load_scenario(find_scenario("race-rosenbrock"))
    print(f"load average {os.getloadavg()[0]:.2f}; {len(s.racers)} racers x {s.steps} steps")
    t0 = time.perf_counter()
    race = build_race(s)
    race.run(s.steps)
    print(f"first race (compiles or loads the kernels): {time.perf_counter() - t0:.3f} s")
    times = []
    for _ in range(20):
        race.reset()
        t0 = time.perf_counter()
        race.run(s.steps)
        times.append(time.perf_counter() - t0)
    warm = statistics.median(times)
    steps = len(s.racers) * s.steps
    print(f"warm race: median {warm * 1e3:.3f} ms, min {min(times) * 1e3:.3f} ms "
          f"({steps / warm / 1e6:.1f} M optimizer steps/s); target < 500 ms: "
          f"{500 / (warm * 1e3):.0f}x under")
    for r, d in zip(s.racers, race.distances()):
        print(f"  {r.label:<9} ends {d:.3g} from the minimum")


if __name__ == "__main__":
    main()
