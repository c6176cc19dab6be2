"""What closures do to the pupils whose school closed, plan by plan: for each pupil enrolled at a
school the year before it closes, the one-way day travel before and after of those who stay day
pupils (minutes, door to school), and the share of them boarding, without a place or dropped out
a year later. Also each plan's schools closed, unplaced pupils
and dropout rate in the final year (means over replicates).

    python benchmarks/affected_pupils.py [--replicates 20] [PLAN.yaml ...]

Default plans: scenarios/plans/*.yaml except no_closure. Last line:
`affected_travel_increase_min: X` (the first plan's mean increase).
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

ROOT = Path(__file__).resolve().parents[1]
PLANS = ["xunwu_2024_2026", "jiangyuan_keep_points", "qujing_concentrate", "town_no_transport"]


def affected(path: Path, replicates: int) -> dict:
    model = build.build_model(load(path))
    before, after, boarded, lost, closed, unplaced, dropout = [], [], [], [], [], [], []
    for r in range(replicates):
        prev = None
        for st in engine.trace_replicate(model, r):
            S, C = st.S, st.C
            n = int(C.n_used[0])
            if prev is not None:
                gone = np.flatnonzero(prev["open"] & ~S.open)
                kids = np.flatnonzero(np.isin(prev["school"], gone) & (prev["status"] == 1))
                kids = kids[kids < n]
                now = C.status[kids]
                on = kids[now == dt.ENROLLED]
                day = on[(C.mode[on] != dt.BOARDING) & (prev["mode"][on] != dt.BOARDING)]
                before += prev["travel"][day].tolist()
                after += C.travel[day].tolist()
                boarded += (C.mode[on] == dt.BOARDING).tolist()
                lost += ((now == dt.UNPLACED) | (now == dt.DROPPED_OUT)).tolist()
            prev = {"open": S.open.copy(), "school": C.school[:n].copy(),
                    "status": C.status[:n].copy(), "travel": C.travel[:n].copy(),
                    "mode": C.mode[:n].copy()}
        closed.append(st.indicators[ROW["schools_closed"], 2])
        unplaced.append(st.indicators[ROW["pupils_unplaced"], 2])
        dropout.append(st.indicators[ROW["dropout_rate"], 2])
    b, a = np.array(before), np.array(after)
    return {"plan": path.stem, "schools_closed": np.mean(closed),
            "pupils_affected_per_replicate": len(lost) / replicates,
            "travel_before_min": b.mean() if len(b) else np.nan,
            "travel_after_min": a.mean() if len(a) else np.nan,
            "travel_increase_min": (a - b).mean() if len(a) else np.nan,
            "boarding_after": np.mean(boarded) if boarded else np.nan,
            "lost_after_a_year": np.mean(lost) if lost else np.nan,
            "unplaced_final_year": np.mean(unplaced), "dropout_final_year": np.mean(dropout)}


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
