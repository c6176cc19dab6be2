"""The CSV tables a run's folder holds besides its indicators: the bus day of replicate 0
(safety ledger, stops) and every school's pupils over all replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.model.build import Model
from sim.model.engine import RunResult


def safety_ledger(model: Model, result: RunResult, replicate_index: int = 0) -> pd.DataFrame:
    """The bus safety ledger of one replicate of a run (by default its first): per year and
    line, vehicles, drivers, pupils carried, first pick-up, longest ride (sim/model/transport.py)."""
    return model.bus.ledger(_ids_by_year(result, replicate_index))


def bus_stops(model: Model, result: RunResult, replicate_index: int = 0) -> pd.DataFrame:
    """Per year, line and served village of one replicate: pick-up, wait, ride and door-to-school
    times (sim/model/transport.py)."""
    return model.bus.stops_table(_ids_by_year(result, replicate_index))


def bus_tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The CSV tables of the bus day a run's folder holds (replicate 0 of the run)."""
    return {"safety_ledger.csv": safety_ledger(model, result),
            "bus_stops.csv": bus_stops(model, result)}


def run_tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The CSV tables a run's folder holds besides its indicators: the bus day of replicate 0,
    every school's pupils over all replicates, what the plan did (sim/outputs/plan_report.py),
    and school by school where its pupils went and its classes, beds and canteen by year
    (sim/outputs/per_school.py)."""
    from sim.outputs import per_school
    from sim.outputs.plan_report import plan_tables
    return {**bus_tables(model, result), "school_pupils.csv": school_table(model, result),
            **plan_tables(model, result), **per_school.tables(model, result)}


def school_table(model: Model, result: RunResult) -> pd.DataFrame:
    """Pupils by school, year and level over a run's replicates (pupils at the end of the
    year): mean, 5% and 95% quantiles, and the share of replicates with no pupils (closed, or
    empty). One row per school, year and level the school teaches (primary, junior), and `all`
    for a nine-year school."""
    pupils = result.school_pupils  # (replicate, year, school, level)
    level_name = dt.LEVEL_OF_CODE
    mean = pupils.mean(axis=0)
    q05, q95 = np.quantile(pupils, [0.05, 0.95], axis=0)
    empty = (pupils == 0).mean(axis=0)
    rows = []
    for s, name in enumerate(model.world.school_name):
        lo, hi = dt.LEVEL_GRADES[int(model.world.school_level[s])]
        levels = [(0, "primary")] * (lo <= 6) + [(1, "junior")] * (hi >= 7)
        if len(levels) > 1:
            levels.append((2, "all"))
        for lev, lev_name in levels:
            for year in range(pupils.shape[1]):
                rows.append((name, level_name[int(model.world.school_level[s])], year, lev_name,
                             mean[year, s, lev], q05[year, s, lev], q95[year, s, lev],
                             empty[year, s, lev]))
    return pd.DataFrame(rows, columns=["school", "school_level", "year", "level", "pupils_mean",
                                       "pupils_p05", "pupils_p95", "share_without_pupils"])


def _ids_by_year(result: RunResult, replicate_index: int) -> dict[int, int]:
    return {y: int(k) for y, k in enumerate(result.bus_networks[replicate_index]) if k >= 0}


