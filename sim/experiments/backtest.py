"""`schoolflow backtest SCENARIO --next schools_2024.csv`: does the calibrated status quo
forecast a county's next school year?

The scenario's county gives the rolls of one school year (its schools.csv); `--next` gives the
rolls of the following year. The backtest calibrates the school constants on the first year
(as every run does), simulates one year with no plan (the scenario's closure rules and named
actions removed) over the replicates, and compares each school's mean pupils, by level, with
the second year's roll. Beside it stands the naive forecast a bureau would make by hand:
every cohort moves up one grade at the same school; a school's entry grade (grade 1, or grade
7 at a junior school) is this year's entry grade scaled by the cohort coming in (grade 1: the
national births of the cohort aged 5 against that aged 6; grade 7: the county's grade 6 against
its grade 7); grade 9 leaves.

Errors by level (primary grades 1-6, junior 7-9, all): mean absolute error per school
(pupils), and the same as a percent of the schools' mean roll (total |error| / total roll),
for the model and the naive forecast; and the share of schools whose second-year roll lies in
the model's 90% interval over replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.model import build, engine
from sim.model.age_structure import cohort_weights
from sim.model.arrays import school_pupils_by_level
from sim.model.county_files import load_rolls
from sim.model.scenario import Scenario, validate
from sim.outputs.store import atomic_path

LEVELS = {"primary": dt.LEVEL_PRIMARY, "junior": dt.LEVEL_JUNIOR, "all": dt.LEVEL_ALL}


@dataclass
class Backtest:
    """The school-by-school comparison and its summary by level."""

    schools: pd.DataFrame  #: school, level, roll_now, actual, model, model_p05, model_p95, naive
    summary: pd.DataFrame  #: level, schools, mae_model, mae_naive, pct_model, pct_naive, covered
    notes: list[str]


def status_quo(scenario: Scenario, replicates: int | None = None, years: int = 1) -> Scenario:
    """The scenario with no plan (no closure rules, named actions, targets or reference),
    `years` simulated years (one: what the backtest runs)."""
    data = scenario.model_dump(mode="json", exclude={"file"})
    data["years"] = years
    data["policies"]["closures"] = []
    data["policies"]["actions"] = []
    data["targets"] = []
    data.pop("compare_to", None)
    if replicates is not None:
        data["replicates"] = replicates
    return validate(data, str(scenario.file))


def naive_forecast(roll: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(schools, 10) next year's pupils by grade if every cohort moves up one grade at the same
    school (grade 9 leaves) and each school's entry grade is this year's scaled by the cohort
    coming in (see the module docstring)."""
    out = np.zeros_like(roll, dtype=np.float64)
    w = cohort_weights()
    entry_1 = w[dt.SCHOOL_ENTRY_AGE - 1] / w[dt.SCHOOL_ENTRY_AGE]
    g6, g7 = roll[:, dt.FIRST_JUNIOR_GRADE - 1].sum(), roll[:, dt.FIRST_JUNIOR_GRADE].sum()
    entry_7 = g6 / g7 if g7 > 0 else 1.0
    for s in range(roll.shape[0]):
        lo, hi = dt.LEVEL_GRADES[int(level[s])]
        for g in range(lo, hi + 1):
            if g == lo:
                out[s, g] = roll[s, g] * (entry_1 if g == 1 else entry_7)
            else:
                out[s, g] = roll[s, g - 1]
    return out


def rolls_table(school_names: list[str], enrol: np.ndarray) -> pd.DataFrame:
    """A schools table of pupils by grade (`school_id`, `pupils_g1` ... `pupils_g9`) from
    enrol[school, grade], as `--next` reads it: e.g. a simulated year written as rolls."""
    return pd.DataFrame({"school_id": school_names,
                         **{f"pupils_g{g}": enrol[:, g] for g in range(1, dt.N_GRADES + 1)}})


def backtest(scenario: Scenario, next_rolls: str | Path, replicates: int | None = None,
             ) -> Backtest:
    """Calibrate on the scenario's rolls, simulate one year, compare with `next_rolls`."""
    sc = status_quo(scenario, replicates)
    model = build.build_model(sc)
    w = model.world
    if w.school_roll is None:
        raise InputError(str(scenario.file), "county.data", "the backtest needs a county with "
                         "rolls (pupils_g1 ... pupils_g9 in schools.csv) for the first year")
    if w.planned().any():
        raise InputError(str(scenario.file), "policies.actions", "the backtest compares the "
                         "county's schools of both years; remove the open actions")
    actual = school_pupils_by_level(load_rolls(next_rolls, w).astype(np.float64))
    result = engine.run_model(model, 0, sc.replicates)
    sim = result.school_pupils[:, 1].astype(np.float64)  # (replicates, schools, 3)
    naive = school_pupils_by_level(naive_forecast(w.school_roll, w.school_level))
    now = school_pupils_by_level(w.school_roll.astype(np.float64))
    rows, summary = [], []
    for name, lv in LEVELS.items():
        teaches = now[:, lv] + actual[:, lv] > 0
        mean = sim[:, :, lv].mean(axis=0)
        lo, hi = np.quantile(sim[:, :, lv], [0.05, 0.95], axis=0)
        err_m, err_n = np.abs(mean - actual[:, lv]), np.abs(naive[:, lv] - actual[:, lv])
        total = actual[teaches, lv].sum()
        summary.append({
            "level": name, "schools": int(teaches.sum()),
            "mae_model": float(err_m[teaches].mean()), "mae_naive": float(err_n[teaches].mean()),
            "pct_model": float(100 * err_m[teaches].sum() / total) if total else float("nan"),
            "pct_naive": float(100 * err_n[teaches].sum() / total) if total else float("nan"),
            "covered": float(((actual[teaches, lv] >= lo[teaches])
                              & (actual[teaches, lv] <= hi[teaches])).mean())})
        if name == "all":
            continue
        for s in np.flatnonzero(teaches):
            rows.append({"school": w.school_name[s], "level": name, "roll_now": now[s, lv],
                         "actual": actual[s, lv], "model": mean[s], "model_p05": lo[s],
                         "model_p95": hi[s], "naive": naive[s, lv]})
    return Backtest(pd.DataFrame(rows), pd.DataFrame(summary), list(model.notes))


def lines(bt: Backtest, next_rolls: str | Path, replicates: int) -> list[str]:
    """The summary as printed by the command."""
    out = [f"Backtest: calibrated on the county's rolls, one year simulated ({replicates} "
           f"replicates, no plan), compared with {next_rolls}",
           f"{'level':<8} {'schools':>7}  {'model MAE':>10} {'naive MAE':>10}  "
           f"{'model %':>8} {'naive %':>8}  {'in 90% interval':>15}"]
    for r in bt.summary.itertuples():
        out.append(f"{r.level:<8} {r.schools:>7}  {r.mae_model:>10.1f} {r.mae_naive:>10.1f}  "
                   f"{r.pct_model:>7.1f}% {r.pct_naive:>7.1f}%  {100 * r.covered:>14.0f}%")
    out.append("MAE: mean absolute error per school (pupils); %: total |error| / total roll")
    worst = bt.schools.assign(err=(bt.schools.model - bt.schools.actual).abs()).nlargest(
        5, "err")
    out.append("largest model errors (school, level: roll now -> actual; model [90%]; naive):")
    for r in worst.itertuples():
        out.append(f"  {r.school} {r.level}: {r.roll_now:.0f} -> {r.actual:.0f}; {r.model:.0f} "
                   f"[{r.model_p05:.0f}, {r.model_p95:.0f}]; {r.naive:.0f}")
    return out


def write(bt: Backtest, out: Path) -> None:
    """backtest_schools.csv and backtest_summary.csv in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in (("backtest_schools.csv", bt.schools), ("backtest_summary.csv", bt.summary)):
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False)
