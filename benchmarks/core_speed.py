"""Speed of the numba core on one thread: child-year steps per second on the default county.

A child-year step is one child record (every child the run has seen: preschool, pupils,
migrants, graduates and dropouts alike) carried through one simulated school year. Compilation
is excluded: the same replicates run once untimed first (compiling the kernels and filling the
bus-day cache, so the figure is the core's own speed).

    python benchmarks/core_speed.py [--replicates N] [--threads T]

Last line: `child_year_steps_per_s: N`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from sim.model import build, engine
    from sim.model import scenario as sc

    t0 = time.perf_counter()
    model = build.build_model(sc.load(ROOT / "scenarios" / "default.yaml"))
    engine.set_workers(args.threads)
    # compile (or load) the kernels, and fill the bus-day cache for these replicates: the
    # figure is the numba core's own speed (the bus-day cost is in benchmarks/throughput.py)
    engine.run_model(model, 0, args.replicates, batch=args.replicates)
    warm = time.perf_counter() - t0
    result = engine.run_model(model, 0, args.replicates, batch=args.replicates)
    rate = result.child_year_steps / result.seconds
    print(f"county: {model.world.n_nodes} places, {model.world.n_schools} schools, "
          f"{model.population.n_households} households, {model.population.n_children} children")
    print(f"set-up, compile/load and an untimed first pass: {warm:.1f} s")
    print(f"{args.replicates} replicates x {model.scenario.years + 1} years on {args.threads} "
          f"thread(s): {result.seconds:.2f} s, {result.seconds / args.replicates * 1000:.0f} ms "
          f"per replicate")
    print(f"child_year_steps_per_s: {rate:.0f}")


if __name__ == "__main__":
    main()
