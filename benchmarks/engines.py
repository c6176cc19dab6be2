"""The two engines: agreement of the numba core with the Mesa reference model, and their speed.

    python benchmarks/engines.py [--numba-replicates 200] [--mesa-replicates 60] [--speed-mesa 2]

1. Agreement, on a small county (the default scenario's plan and its no-closure reference with
   `county.synthetic` shrunk to 4 townships and 40 villages): every indicator, level and year,
   mean over numba replicates 0-199 against Mesa replicates 1000-1059 (a disjoint block, so the
   two samples are independent), in combined standard errors (pooled, sim/reference/agreement.py). The
   final year's table is printed; the whole table goes to results/engines_agreement.csv. A
   check that both engines give identical numbers for the same replicate comes first.
   Then replicate 0 of the default scenario, agent by agent, all ten years.
2. Speed on the default county, one thread: seconds per replicate of each engine, with the
   numba kernels compiled and the shared bus-day cache warm (replicates run once untimed).

Last line: `speed_ratio: N` (numba replicates per second over Mesa replicates per second).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model import build, engine
from sim.model import scenario as sc
from sim.reference import agreement, mesa_model

ROOT = Path(__file__).resolve().parents[1]
SMALL_COUNTY = {"county.synthetic.townships": 4, "county.synthetic.villages": 40}


def agreement_run(n_numba: int, n_mesa: int) -> pd.DataFrame:
    tables = []
    for path in ("scenarios/default.yaml", "scenarios/no_closure.yaml"):
        s = sc.load(ROOT / path, SMALL_COUNTY)
        built = build.build_model(s)
        same = np.allclose(engine.run_model(built, 1000, 1002).values,
                           mesa_model.run_model(built, 1000, 1002).values, rtol=1e-9, atol=1e-12,
                           equal_nan=True)
        print(f"{s.name}: replicates 1000-1001 identical in both engines: {same}")
        t0 = time.perf_counter()
        a = engine.run_model(built, 0, n_numba).values
        t1 = time.perf_counter()
        b = mesa_model.run_model(built, 1000, 1000 + n_mesa).values
        t2 = time.perf_counter()
        print(f"{s.name}: {n_numba} numba replicates in {t1 - t0:.1f} s, {n_mesa} Mesa replicates "
              f"in {t2 - t1:.1f} s")
        table = agreement.agreement_table(a, b)
        table.insert(0, "scenario", s.name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def speed(n_numba: int, n_mesa: int) -> tuple[float, float]:
    s = sc.load(ROOT / "scenarios/default.yaml")
    built = build.build_model(s)
    engine.set_workers(1)
    # compile (or load) the kernels and fill the bus-day cache for these replicates, so both
    # engines are timed on their own work (they share the bus-day code and its cache)
    engine.run_model(built, 0, n_numba, batch=n_numba)
    t0 = time.perf_counter()
    engine.run_model(built, 0, n_numba, batch=n_numba)
    numba_s = (time.perf_counter() - t0) / n_numba
    t0 = time.perf_counter()
    mesa_model.run_model(built, 0, n_mesa)
    mesa_s = (time.perf_counter() - t0) / n_mesa
    return numba_s, mesa_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--numba-replicates", type=int, default=200)
    ap.add_argument("--mesa-replicates", type=int, default=60)
    ap.add_argument("--speed-numba", type=int, default=24)
    ap.add_argument("--speed-mesa", type=int, default=2)
    ap.add_argument("--speed-only", action="store_true", help="skip the agreement part")
    args = ap.parse_args()
    if not args.speed_only:
        report_agreement(args.numba_replicates, args.mesa_replicates)
        default_ten_years()
    numba_s, mesa_s = speed(args.speed_numba, args.speed_mesa)
    print(f"default county, 1 thread: numba {numba_s:.3f} s per replicate, Mesa {mesa_s:.1f} s "
          f"per replicate")
    print(f"speed_ratio: {mesa_s / numba_s:.0f}")


def default_ten_years() -> None:
    """Every child, household and school of replicate 0 of the default scenario, year by year
    for its ten years, in both engines (the test suite checks the first three years)."""
    built = build.build_model(sc.load(ROOT / "scenarios" / "default.yaml"))
    diff = agreement.state_differences(agreement.numba_states(built, 0),
                                       agreement.mesa_states(built, 0))
    print("default scenario, replicate 0, ten years agent by agent: "
          + ("identical" if not diff else "DIFFERENT:\n" + "\n".join(diff[:20])))


def report_agreement(n_numba: int, n_mesa: int) -> None:
    table = agreement_run(n_numba, n_mesa)
    out = ROOT / "results" / "engines_agreement.csv"
    out.parent.mkdir(exist_ok=True)
    table.to_csv(out, index=False)
    final = table[table.year == table.year.max()]
    pd.set_option("display.width", 160)
    print(final.to_string(index=False, float_format=lambda x: f"{x:.5g}"))
    bad = table[~table.agrees]
    print(f"cells: {len(table)} (all years); |z| > 3: {len(bad)}; largest |z|: "
          f"{table.z.abs().max():.2f}; table: {out}")
    if len(bad):
        print(bad.to_string(index=False, float_format=lambda x: f"{x:.5g}"))


if __name__ == "__main__":
    main()
