"""Cohort statistics of a plan against a reference run of the same children (common random
numbers): the design of Hannum, Liu & Wang 2021 (Economic Development and Cultural Change
70(1): 485-528).

The exposed cohort: children living in the county in the base year, aged 6-11 in year 1, in a
village (not a township centre or the seat) whose base-year catchment school was closed in year
1 of the plan. The same children are followed in the reference run (same replicate seed, so the
same households and random draws until the plans differ). Each replicate gives:

- `girls_years_at_17`, `boys_years_at_17`: mean (plan - reference) years of schooling completed
  at age 17 (`rules.SCHOOLING_MEASURED_AT_AGE`) of the exposed girls (boys) who reach 17 in the
  county in both runs (years);
- `years_at_17`: the same for girls and boys together (Liang 2017's overall effect);
- `gap_years_at_17`: the girls' mean less the boys' (the sex difference Hannum et al. test);
- `compulsory_years_at_17`: the same for both sexes, years counted up to grade 9 only (the
  compulsory stage; Liang 2017 finds no effect there);
- `senior_entry_relative`: the exposed grade-9 finishers' senior-high entry share under the
  plan over that under the reference, minus 1 (Liang 2017: about -18%).

And, from one scenario alone (a baseline, not a contrast):

- `junior_dropout_rate`: mean over years 1..N of the junior annual dropout rate;
- `nine_year_completion`: mean over years 1..N of the synthetic-cohort nine-year completion.

Used by `benchmarks/validation_closure_effects.py` and by calibration targets that name a
`cohort` statistic (`sim/experiments/calibrate.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import dtypes as dt
from sim.core.indicators import ROW
from sim.core.rules import SCHOOLING_MEASURED_AT_AGE
from sim.model import build, engine
from sim.model.scenario import Scenario

EXPOSED_AGES = (6, 11)  #: ages in the closure year (year 1) that count as exposed at primary ages
COMPULSORY_YEARS = 9  #: grades of compulsory schooling
PAIRED = ("girls_years_at_17", "boys_years_at_17", "gap_years_at_17", "years_at_17",
          "compulsory_years_at_17", "senior_entry_relative")
BASELINE = ("junior_dropout_rate", "nine_year_completion")
STATISTICS = PAIRED + BASELINE


@dataclass
class Trace:
    """One replicate's children followed to 17 (arrays over the base-year children)."""

    years_at_17: np.ndarray  #: years of schooling at 17 (NaN: not reached in the county)
    senior: np.ndarray  #: entered senior high at some point
    age1: np.ndarray  #: age in year 1
    node0: np.ndarray  #: base-year home node
    open1: np.ndarray  #: schools open in year 1 (per school)
    indicators: np.ndarray  #: (years + 1, N_INDICATORS, 3)


def follow(model: build.Model, replicate: int) -> Trace:
    """Run one replicate, keeping each base-year child's years of schooling at 17, whether it
    entered senior high, its age in year 1 and base-year node, and the schools open in year 1."""
    out = senior = age1 = node0 = open1 = None
    values = []
    for st in engine.trace_replicate(model, replicate):
        n = int(st.C.n_used[0])
        if out is None:
            out = np.full(n, np.nan)
            senior = np.zeros(n, bool)
            node0 = st.H.node[st.C.hh[:n]].copy()
        m = len(out)
        senior |= st.C.status[:m] == dt.SENIOR_HIGH
        if st.year == 1:
            age1 = st.C.age[:m].astype(int).copy()
            open1 = st.S.open.copy()
        at17 = np.flatnonzero((st.C.age[:m] == SCHOOLING_MEASURED_AT_AGE) & np.isnan(out)
                              & (st.C.status[:m] != dt.MIGRATED))
        out[at17] = st.C.schooling[at17]
        values.append(st.indicators.copy())
    if age1 is None:
        raise ValueError("the cohort statistics need at least one simulated year")
    return Trace(out, senior, age1, node0, open1, np.array(values))


def exposed(model: build.Model, plan: Trace) -> np.ndarray:
    """Children exposed at primary ages: aged 6-11 in year 1, living in a village whose
    base-year catchment school the plan closed in year 1."""
    catch = model.W.node_catchment[plan.node0]
    closed = ~plan.open1
    lo, hi = EXPOSED_AGES
    return ((catch >= 0) & closed[np.maximum(catch, 0)] & (plan.age1 >= lo) & (plan.age1 <= hi)
            & (model.world.node_kind[plan.node0] == 0))


def paired_statistics(plan_model: build.Model, plan: Trace, ref: Trace) -> dict[str, float]:
    """The `PAIRED` statistics of one replicate's plan and reference runs (NaN where the
    cohort is empty)."""
    both = exposed(plan_model, plan) & np.isfinite(plan.years_at_17) & np.isfinite(ref.years_at_17)
    female = plan_model.C0.female[: len(both)]
    diff = plan.years_at_17 - ref.years_at_17
    res = {}
    for name, mask in (("girls_years_at_17", both & female), ("boys_years_at_17", both & ~female)):
        res[name] = float(diff[mask].mean()) if mask.any() else np.nan
    res["gap_years_at_17"] = res["girls_years_at_17"] - res["boys_years_at_17"]
    res["years_at_17"] = float(diff[both].mean()) if both.any() else np.nan
    capped = (np.minimum(plan.years_at_17, COMPULSORY_YEARS)
              - np.minimum(ref.years_at_17, COMPULSORY_YEARS))
    res["compulsory_years_at_17"] = float(capped[both].mean()) if both.any() else np.nan
    done_p, done_r = both & (plan.years_at_17 >= 9), both & (ref.years_at_17 >= 9)
    base = ref.senior[done_r].mean() if done_r.any() else 0.0
    res["senior_entry_relative"] = (float(plan.senior[done_p].mean() / base - 1)
                                    if done_p.any() and base > 0 else np.nan)
    return res


def baseline_statistics(trace: Trace) -> dict[str, float]:
    """The `BASELINE` statistics of one replicate's run."""
    later = trace.indicators[1:]
    return {"junior_dropout_rate": float(np.nanmean(later[:, ROW["dropout_rate"],
                                                          dt.LEVEL_JUNIOR])),
            "nine_year_completion": float(np.nanmean(later[:, ROW["nine_year_completion"],
                                                           dt.LEVEL_ALL]))}


def per_replicate(entries: list[tuple[str, Scenario, Scenario | None]],
                  replicates: int) -> np.ndarray:
    """Each (statistic, scenario, reference) entry in each replicate, (replicates, entries): a
    paired statistic of scenario against reference, or a baseline statistic of scenario
    (reference None); NaN where the cohort is empty. Each scenario is built once and run once
    per replicate however many entries use it."""
    def key(x: Scenario) -> str:
        return x.model_dump_json()

    models: dict[str, build.Model] = {}
    for _, scen, ref in entries:
        for x in (scen, ref):
            if x is not None and key(x) not in models:
                models[key(x)] = build.build_model(x)
    out = np.full((replicates, len(entries)), np.nan)
    for r in range(replicates):
        traces = {name: follow(m, r) for name, m in models.items()}
        for k, (stat, scen, ref) in enumerate(entries):
            out[r, k] = (baseline_statistics(traces[key(scen)])[stat] if ref is None else
                         paired_statistics(models[key(scen)], traces[key(scen)],
                                           traces[key(ref)])[stat])
    return out


def statistics(plan: Scenario, reference: Scenario, replicates: int) -> dict[str, np.ndarray]:
    """The paired statistics of plan against reference and the baseline statistics of the
    reference, per replicate (replicates 0..R-1 of each scenario's seed): arrays of length
    `replicates`."""
    entries = ([(k, plan, reference) for k in PAIRED] + [(k, reference, None) for k in BASELINE])
    values = per_replicate(entries, replicates)
    return {k: values[:, i] for i, (k, _, _) in enumerate(entries)}


def evaluate(entries: list[tuple[str, Scenario, Scenario | None]],
             replicates: int) -> np.ndarray:
    """Mean over replicates of each entry of `per_replicate` (NaN where no replicate has a
    value)."""
    values = per_replicate(entries, replicates)
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(values).sum(axis=0)
        return np.where(counts > 0, np.nansum(values, axis=0) / np.maximum(counts, 1), np.nan)


def summary(values: np.ndarray) -> tuple[float, float, float, int]:
    """(median, 5% and 95% quantiles over replicates, replicates with a value)."""
    v = values[np.isfinite(values)]
    if not len(v):
        return (np.nan, np.nan, np.nan, 0)
    return (float(np.median(v)), float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95)), len(v))
