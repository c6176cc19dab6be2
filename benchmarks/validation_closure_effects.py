"""The Hannum design: years of schooling by age 17 lost by children whose village school closed.

Hannum, Liu & Wang 2021 (Economic Development and Cultural Change 70(1): 485-528; working paper
arXiv 2203.17101): girls exposed to village-school closure at primary ages completed 0.60 fewer
years of schooling by mean age 17; boys' loss is not significant.

Here: scenarios/validation/hannum_2000s_closures.yaml (the study's conditions, each setting
explained there) against the same county without the closures, with common random numbers, so
the same children are compared. The exposed cohort: children aged 6-11 in the closure year
whose base-year home village's catchment school closed. For each replicate, the mean years of
schooling at 17 of the exposed girls (boys) under the closures minus the same children without
them; then the mean and 90% interval over replicates. The same contrast for today's plan
(scenarios/default.yaml: Xunwu 2024 with buses, boarding subsidies and exemptions, against
scenarios/no_closure.yaml, extended to 12 years) says how much of the historical harm today's
measures remove.

    python benchmarks/validation_closure_effects.py [--replicates 40]

Last line: `girls_years_lost: X [lo, hi]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.core import dtypes as dt
from sim.core.rules import SCHOOLING_MEASURED_AT_AGE
from sim.model import build, engine
from sim.model.scenario import load

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "calibration" / "closure_effects" / "targets.yaml"


def published() -> dict[str, tuple[float, str]]:
    """The published contrasts (value, short source) of calibration/closure_effects/."""
    spec = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))["contrasts"]
    return {k: (float(v["published"]), v["source"].split(";")[0].split(":")[0][:48])
            for k, v in spec.items()}


def years_at_17(model, replicate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(years of schooling at 17 per child (NaN if not reached), age in year 1, base-year node)
    for one replicate; `years_at_17.senior` keeps whether each child entered senior high."""
    out = None
    age1 = node0 = None
    for st in engine.trace_replicate(model, replicate):
        n = int(st.C.n_used[0])
        if out is None:
            out = np.full(st.C.hh.shape[0], np.nan)
            senior = np.zeros(st.C.hh.shape[0], bool)
            node0 = st.H.node[st.C.hh[:n]].copy()
        senior[:n] |= st.C.status[:n] == dt.SENIOR_HIGH
        if st.year == 1:
            age1 = st.C.age[: len(node0)].astype(int).copy()
        at17 = np.flatnonzero((st.C.age[:n] == SCHOOLING_MEASURED_AT_AGE) & np.isnan(out[:n])
                              & (st.C.status[:n] != dt.MIGRATED))
        out[at17] = st.C.schooling[at17]
    years_at_17.senior = senior[: len(node0)]
    return out[: len(node0)], age1, node0


def contrast(plan_path: Path, ref_path: Path, replicates: int, years: int | None = None) -> dict:
    """Mean and 90% interval over replicates of (plan - reference) years at 17 of the exposed
    girls and boys."""
    over = {"replicates": replicates} | ({"years": years} if years else {})
    plan, ref = build.build_model(load(plan_path, over)), build.build_model(load(ref_path, over))
    female = plan.C0.female
    out = {"girls": [], "boys": [], "senior_entry": []}
    for r in range(replicates):
        y_plan, age1, node0 = years_at_17(plan, r)
        s_plan = years_at_17.senior
        y_ref, _, _ = years_at_17(ref, r)
        s_ref = years_at_17.senior
        catch = plan.W.node_catchment[node0]
        closed = np.zeros(plan.world.n_schools, bool)
        # exposure: the village's base-year catchment school closed in year 1 under the plan
        trace = engine.trace_replicate(plan, r)
        next(trace)
        closed = ~next(trace).S.open.copy()
        exposed = (catch >= 0) & closed[np.maximum(catch, 0)] & (age1 >= 6) & (age1 <= 11)
        exposed &= (plan.world.node_kind[node0] == 0)
        both = exposed & np.isfinite(y_plan) & np.isfinite(y_ref)
        for sex, mask in (("girls", female[: len(both)]), ("boys", ~female[: len(both)])):
            sel = both & mask
            if sel.any():
                out[sex].append(float((y_plan[sel] - y_ref[sel]).mean()))
        # senior-high entry of the exposed who finished grade 9, relative change (Liang 2017)
        done_p, done_r = both & (y_plan >= 9), both & (y_ref >= 9)
        if done_p.any() and done_r.any() and s_ref[done_r].mean() > 0:
            out["senior_entry"].append(float(s_plan[done_p].mean() / s_ref[done_r].mean() - 1))
    return {sex: (np.mean(v), np.quantile(v, 0.05), np.quantile(v, 0.95), len(v))
            for sex, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=40)
    args = ap.parse_args()
    v = ROOT / "scenarios" / "validation"
    history = contrast(v / "hannum_2000s_closures.yaml", v / "hannum_2000s_reference.yaml",
                       args.replicates)
    today = contrast(ROOT / "scenarios" / "default.yaml", ROOT / "scenarios" / "no_closure.yaml",
                     args.replicates, years=12)
    rows = []
    targets = published()
    for sex in ("girls", "boys", "senior_entry"):
        pub, source = targets[sex]
        for name, res in (("2000s conditions", history), ("Xunwu 2024 plan", today)):
            m, lo, hi, n = res[sex]
            rows.append({"outcome": sex, "setting": name, "published": pub, "source": source,
                         "model": m, "p05": lo, "p95": hi, "replicates": n})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    g_then, g_now = history["girls"][0], today["girls"][0]
    if g_then < 0:
        print(f"today's measures remove {1 - g_now / g_then:.0%} of the historical loss for girls")
    m, lo, hi, _ = history["girls"]
    print(f"girls_years_lost: {m:.3f} [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
