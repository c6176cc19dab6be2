"""Tidy tables of indicators: the (replicate, year, indicator, level) array of either engine
as tidy rows, summaries (mean, 90% interval) and paired differences. Names, units and levels:
the registry in sim/core/indicators.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.dtypes import INDICATOR_LEVELS
from sim.core.indicators import BY_NAME, INDICATOR_NAMES
from sim.model.scenario import Scenario


@dataclass
class Run:
    """One scenario's tidy indicators (all replicates) and its resolved scenario."""

    scenario: Scenario
    indicators: pd.DataFrame
    folder: Path | None = None  #: its results folder, where it has one


COLUMNS = ["scenario", "replicate", "year", "indicator", "level", "value"]


def tidy(values: np.ndarray, scenario: str, first_replicate: int = 0) -> pd.DataFrame:
    """Tidy rows (scenario, replicate, year, indicator, level, value) from an array
    values[replicate, year, indicator, level]; indicators that do not apply (NaN) are dropped."""
    n_r, n_y, n_i, n_l = values.shape
    if n_i != len(INDICATOR_NAMES):
        raise ValueError(f"expected {len(INDICATOR_NAMES)} indicators, got {n_i}")
    r, y, i, lv = np.meshgrid(np.arange(n_r), np.arange(n_y), np.arange(n_i), np.arange(n_l),
                              indexing="ij")
    flat = values.reshape(-1)
    keep = ~np.isnan(flat)
    return pd.DataFrame({
        "scenario": pd.Categorical([scenario] * int(keep.sum())),
        "replicate": (r.reshape(-1)[keep] + first_replicate).astype(np.int32),
        "year": y.reshape(-1)[keep].astype(np.int16),
        "indicator": pd.Categorical.from_codes(i.reshape(-1)[keep], INDICATOR_NAMES),
        "level": pd.Categorical.from_codes(lv.reshape(-1)[keep], list(INDICATOR_LEVELS)),
        "value": flat[keep],
    })


#: units of indicators that count things: their interval ends are replicates' own values
COUNT_UNITS = frozenset({"buses", "children", "pupils", "schools", "villages"})


def is_count(indicator: str) -> bool:
    """Whether an indicator counts things (schools, pupils, ...), shown as whole numbers."""
    return indicator in BY_NAME and BY_NAME[indicator].unit in COUNT_UNITS


def interval(g, indicators: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """5th and 95th percentiles over replicates of a grouped series `g`: interpolated, except
    for counts (`indicators`: the indicator of each group), whose ends are the replicates' own
    values just outside (a count of schools reads 0 [0, 1], never [0, 0.05])."""
    lo, hi = g.quantile(0.05), g.quantile(0.95)
    if indicators is None:
        return lo, hi
    counts = indicators.map(is_count).to_numpy(bool)
    if counts.any():
        lo = lo.where(~counts, g.quantile(0.05, interpolation="lower"))
        hi = hi.where(~counts, g.quantile(0.95, interpolation="higher"))
    return lo, hi


def summarise(df: pd.DataFrame, by: tuple[str, ...] = (), count: bool = False) -> pd.DataFrame:
    """Mean, median and 90% interval (5th and 95th percentiles over replicates, `interval`)
    per indicator, level and year (and the `by` columns first); with `count`, the replicates in
    each group too. Printed tables show the median with the interval: both are quantiles of the
    same replicates, so the middle value always lies inside its interval (a mean need not)."""
    g = df.groupby([*by, "indicator", "level", "year"], observed=True)["value"]
    cols = {"replicates": g.size()} if count else {}
    mean = g.mean()
    p05, p95 = interval(g, mean.index.get_level_values("indicator").to_series(index=mean.index)
                        .astype(str))
    out = pd.DataFrame({**cols, "mean": mean, "p05": p05, "p50": g.median(), "p95": p95})
    return out.reset_index()


def paired_difference(plan: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per replicate plan - reference (same replicate seeds: common random numbers), summarised
    as mean and 90% interval per indicator, level and year."""
    keys = ["replicate", "year", "indicator", "level"]
    m = plan[keys + ["value"]].merge(reference[keys + ["value"]], on=keys, suffixes=("", "_ref"))
    m["value"] = m["value"] - m["value_ref"]
    return summarise(m.drop(columns="value_ref"))
