"""What closures do to the pupils whose school closed, plan by plan, from the run's own tally
(sim/model/affected.py, sim/outputs/per_school.py): pupils moved per replicate, their one-way
day travel before and after (median over the affected day pupils, minutes), the shares that
board, ride the bus or are out of school by the end of the year; and each plan's schools closed,
unplaced pupils and dropout rate in the final year (medians over replicates).

    python benchmarks/affected_pupils.py [--replicates 20] [PLAN.yaml ...]

Default plans: four of scenarios/plans/. Last line: `affected_travel_increase_min: X` (the first
plan's median increase, minutes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core.indicators import ROW
from sim.model import build, engine
from sim.model.scenario import load
from sim.outputs import per_school

ROOT = Path(__file__).resolve().parents[1]
PLANS = ["xunwu_2024_2026", "jiangyuan_keep_points", "qujing_concentrate", "town_no_transport"]


def affected(path: Path, replicates: int) -> dict:
    model = build.build_model(load(path, {"replicates": replicates}))
    result = engine.run_model(model, 0, replicates)
    df = per_school.pupils_frame(model, result)
    last = result.values[:, -1]
    day = df.dropna(subset=["travel_before", "travel_after"])
    return {"plan": path.stem,
            "schools_closed": float(np.median(last[:, ROW["schools_closed"], 2])),
            "pupils_affected_per_replicate": len(df) / replicates,
            "travel_before_min": float(day["travel_before"].median()) if len(day) else np.nan,
            "travel_after_min": float(day["travel_after"].median()) if len(day) else np.nan,
            "travel_increase_min": float((day["travel_after"] - day["travel_before"]).median())
            if len(day) else np.nan,
            "boarding_after": float((df["mode_after"] == dt.BOARDING).mean()) if len(df) else np.nan,
            "bus_after": float((df["mode_after"] == dt.BUS).mean()) if len(df) else np.nan,
            "out_of_school_after": float(df["outcome"].isin(["unplaced", "dropped_out"]).mean())
            if len(df) else np.nan,
            "unplaced_final_year": float(np.median(last[:, ROW["pupils_unplaced"], 2])),
            "dropout_final_year": float(np.median(last[:, ROW["dropout_rate"], 2]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("plans", nargs="*")
    args = ap.parse_args()
    paths = [Path(p) for p in args.plans] or [ROOT / "scenarios" / "plans" / f"{p}.yaml"
                                              for p in PLANS]
    table = pd.DataFrame([affected(p, args.replicates) for p in paths])
    with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
        print(table.to_string(index=False))
    print(f"affected_travel_increase_min: {table['travel_increase_min'].iloc[0]:.1f}")


if __name__ == "__main__":
    main()
