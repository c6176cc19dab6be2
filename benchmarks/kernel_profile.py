"""Where the numba core spends its time: each kernel of the annual cycle timed on one thread,
replicate by replicate, on the default county (or a scenario given), in milliseconds per
replicate-year, beside the whole `engine.run_model` on the same replicates (the difference is
the engine's Python bookkeeping between kernels: bus networks, per-school tables, the affected
pupils' tally).

The kernels are called one by one from Python in the order of `sim/core/kernels/annual.py`,
after an untimed pass that compiles them and fills the bus-network cache, so the figures are
the kernels' own cost. Each call also pays numba's dispatch (about 10 microseconds per call,
measured by `dispatch` below).

    python benchmarks/kernel_profile.py [--scenario FILE] [--replicates 12]

Last line: `ms_per_replicate_year: N` (the kernels' total, one thread).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def profile(model, replicates: int) -> tuple[dict[str, float], int]:
    """Seconds per kernel over `replicates` replicates (one thread), and replicate-years run."""
    from sim.core import dtypes as dt
    from sim.core import rng
    from sim.core.indicators import N_INDICATORS
    from sim.core.kernels.achievement import achievement_year
    from sim.core.kernels.closures import apply_closures
    from sim.core.kernels.demography import age_and_progress, households_year
    from sim.core.kernels.dropout import apply_dropout
    from sim.core.kernels.enrolment import place_all, recount
    from sim.core.kernels.record import record_year
    from sim.core.kernels.state import N_COUNTS
    from sim.core.kernels.year_end import remember_year
    from sim.model import engine

    seconds: dict[str, float] = {}

    def timed(name, f, *args):
        t0 = time.perf_counter()
        f(*args)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0

    P, W, R, A = model.P, model.W, model.R, model.A
    bus_from = model.bus_years()
    seeds = rng.replicate_seeds(model.scenario.seed, 0, replicates)
    n_years = 0
    for r in range(replicates):
        seed = seeds[r]
        S, H, C = engine.replicate(engine.batch_state(model, 1), 0)
        counts = np.zeros(N_COUNTS, np.int64)
        at_risk = np.zeros(dt.N_GRADES + 1, np.int64)
        dropped = np.zeros(dt.N_GRADES + 1, np.int64)
        out = np.empty((N_INDICATORS, 3))
        net = -1
        for year in range(model.scenario.years + 1):
            if year > 0:
                timed("ageing", age_and_progress, year, seed, P, W, H, C, S, counts)
                timed("households", households_year, year, seed, P, W, H, C)
                timed("closures", apply_closures, year, P, W, R, A, S, counts)
                if year >= bus_from:
                    t0 = time.perf_counter()
                    net = engine.set_bus_network(model, S, H, C, net)
                    seconds["bus day (Python)"] = (seconds.get("bus day (Python)", 0.0)
                                                   + time.perf_counter() - t0)
            timed("recount", recount, P, W, S, H, C)
            timed("placement", place_all, year, seed, P, W, S, H, C)
            timed("achievement", achievement_year, P, W, C)
            timed("dropout", apply_dropout, year, seed, P, W, S, H, C, at_risk, dropped)
            timed("remember", remember_year, year, S, H, C)
            timed("record", record_year, out, P, W, S, H, C, at_risk, dropped, counts)
            n_years += 1
    return seconds, n_years


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.yaml"))
    ap.add_argument("--replicates", type=int, default=12)
    args = ap.parse_args()
    from sim.core.kernels.achievement import achievement_year
    from sim.model import build, engine
    from sim.model import scenario as sc

    model = build.build_model(sc.load(args.scenario))
    engine.set_workers(1)
    profile(model, args.replicates)  # compile the kernels, fill the bus cache
    seconds, n_years = profile(model, args.replicates)
    result = engine.run_model(model, 0, args.replicates, batch=args.replicates)
    engine.run_model(model, 0, args.replicates, batch=args.replicates)  # warm, then time
    result = engine.run_model(model, 0, args.replicates, batch=args.replicates)
    C = engine.replicate(engine.batch_state(model, 1), 0)[2]
    t0 = time.perf_counter()
    for _ in range(1000):
        achievement_year(model.P, model.W, C._replace(n_used=np.zeros(1, np.int64)))
    dispatch = (time.perf_counter() - t0) / 1000
    kernels = sum(seconds.values())
    print(f"{model.scenario.name}: {model.population.n_children} children at the base year, "
          f"{args.replicates} replicates x {model.scenario.years + 1} years, one thread")
    print(f"{'kernel':<20}{'ms per replicate-year':>24}{'share':>8}")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"{name:<20}{1000 * s / n_years:>24.2f}{s / kernels:>8.1%}")
    print(f"{'all kernels':<20}{1000 * kernels / n_years:>24.2f}")
    print(f"engine.run_model, same replicates: {1000 * result.seconds / n_years:.2f} ms per "
          f"replicate-year (kernels in one parallel call per half-year, plus bookkeeping)")
    print(f"dispatch of one kernel call from Python: {dispatch * 1e6:.0f} us")
    print(f"ms_per_replicate_year: {1000 * kernels / n_years:.2f}")


if __name__ == "__main__":
    main()
