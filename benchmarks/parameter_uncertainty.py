"""How much wider the answer gets when it includes what the studies leave unknown: the default
plan (scenarios/default.yaml) against no closure (scenarios/no_closure.yaml), replicate by
replicate (common random numbers), once with the behavioural parameters fixed at the defaults
(chance only) and once with each replicate drawing them from the calibrated posterior that the
bundled scenarios name (base.yaml `posterior`; the same draw for the plan and the reference).

For each headline indicator of the final year: the paired difference's median and 90% interval
both ways, and the ratio of the interval widths.

    python benchmarks/parameter_uncertainty.py [--replicates 200]

Last line: `interval_width_ratio: X` (children out of school: with parameter uncertainty over
chance only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.indicators import ROW
from sim.model import build, engine
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parents[1]
#: (indicator, level index: 0 primary, 1 junior, 2 all)
SHOWN = [("children_out_of_school", 2), ("dropout_rate", 2), ("senior_high_entry_rate", 2),
         ("years_of_schooling_by_17_girls", 2), ("years_of_schooling_by_17_boys", 2),
         ("share_lower_primary_over_30min", 0), ("cost_per_pupil_yuan", 2)]


def paired(replicates: int, over: dict) -> np.ndarray:
    """Final-year plan - reference of each SHOWN indicator per replicate: (replicates, shown)."""
    o = {"replicates": replicates} | over
    plan = load(ROOT / "scenarios" / "default.yaml", o)
    ref = load(plan.compare_to, o | {"seed": plan.seed, "years": plan.years})
    a = engine.run_model(build.build_model(plan), 0, replicates).values[:, -1]
    b = engine.run_model(build.build_model(ref), 0, replicates).values[:, -1]
    return np.stack([a[:, ROW[i], lv] - b[:, ROW[i], lv] for i, lv in SHOWN], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=200)
    args = ap.parse_args()
    fixed = paired(args.replicates, {"posterior": None})
    drawn = paired(args.replicates, {})
    rows = []
    for k, (name, _) in enumerate(SHOWN):
        f, d = fixed[:, k], drawn[:, k]
        fq, dq = np.nanquantile(f, [0.05, 0.5, 0.95]), np.nanquantile(d, [0.05, 0.5, 0.95])
        wf, wd = fq[2] - fq[0], dq[2] - dq[0]
        rows.append({"indicator": name, "fixed median": fq[1], "fixed p05": fq[0],
                     "fixed p95": fq[2], "posterior median": dq[1], "posterior p05": dq[0],
                     "posterior p95": dq[2], "width ratio": wd / wf if wf > 0 else np.nan})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 220, "display.float_format", "{:.4g}".format):
        print(f"default plan - no closure, final year, {args.replicates} replicates each way")
        print(table.to_string(index=False))
    print(f"interval_width_ratio: {table['width ratio'].iloc[0]:.2f}")


if __name__ == "__main__":
    main()
