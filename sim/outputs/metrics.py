"""Indicators: their names, levels and meaning, and tidy tables of them.

The kernel `sim.core.kernels.record.record_year` computes them; this module names them and turns
the (replicate, year, indicator, level) array into tidy rows and summaries (mean, 90% interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.dtypes import INDICATOR_LEVELS

#: (name, unit, meaning) in the kernel's row order
INDICATORS: list[tuple[str, str, str]] = [
    ("schools_open", "schools", "open schools teaching the level's grades"),
    ("pupils_enrolled", "pupils", "pupils enrolled at the end of the year"),
    ("dropout_rate", "per year", "dropouts / pupils enrolled during the year"),
    ("dropouts", "pupils", "pupils who dropped out this year"),
    ("junior_retention_3yr", "share", "synthetic-cohort junior three-year retention "
     "(product over grades 7-9 of 1 - grade dropout rate)"),
    ("mean_class_size", "pupils", "mean pupils per class"),
    ("share_classes_over_standard", "share", "classes above the cap (45 primary / 50 junior)"),
    ("share_classes_very_large", "share", "classes of 56+ (primary) / 61+ (junior) pupils"),
    ("share_classes_super_large", "share", "classes of 66+ pupils"),
    ("share_classes_over_51", "share", "classes above 51 pupils"),
    ("travel_time_mean_min", "minutes", "mean one-way travel of day pupils"),
    ("travel_time_p95_min", "minutes", "95th percentile of one-way travel of day pupils"),
    ("share_travel_over_60min", "share", "day pupils travelling over 60 minutes one way"),
    ("share_lower_primary_over_30min", "share",
     "day pupils in grades 1-3 travelling over 30 minutes (national guidance limit)"),
    ("pupils_unplaced", "pupils", "children of school age with no feasible school this year"),
    ("boarding_share", "share", "pupils boarding"),
    ("bus_share", "share", "pupils riding a student bus"),
    ("share_under100_closed", "share", "base-year schools under 100 pupils now closed"),
    ("cost_per_pupil_yuan", "yuan per year",
     "schools, teachers, student buses and boarding (public and family shares) per pupil"),
    ("family_cost_yuan_per_pupil", "yuan per year",
     "family spending on bus fares, private transport, boarding and rent per pupil"),
    ("left_behind_share", "share", "pupils with one or both parents away"),
    ("schools_closed", "schools", "schools closed since the base year"),
    ("closures_deferred", "schools", "closures deferred for lack of room at the receiving "
     "school, summed over years"),
    ("children_migrated", "children", "children living outside the county with their parents"),
    ("closures_exempted", "schools", "schools kept open for grades 1-3 (as teaching points) since "
     "the base year because closing them would break the exemption's travel-time limit"),
    ("teachers_per_100_pupils_cv", "ratio", "inter-school coefficient of variation (population "
     "standard deviation / mean over open schools with pupils at the level) of teachers per 100 "
     "pupils; Nanle 2022 plan: at most 0.50 primary, 0.45 junior"),
    ("schools_over_2000", "schools", "open schools above 2000 pupils (2500 for nine-year schools), "
     "the Nanle 2022 plan's size limit"),
    ("bus_ride_time_p95_min", "minutes", "95th percentile of bus riders' time on the bus (morning "
     "run, from the simulated school day)"),
    ("buses_needed", "buses", "buses the year's student bus lines need (simulated school day)"),
    ("bus_cost_yuan_per_year", "yuan per year", "operating cost of the student bus lines: bus-km, "
     "bus-days, insurance and safety staff (government and parent shares together)"),
    ("parent_cost_yuan_per_pupil", "yuan per year", "parents' bus fares and boarding fees per pupil "
     "who rides a student bus or boards"),
    ("villages_without_bus", "villages", "villages whose school closed that no bus line can serve "
     "within the ride limits (max ride, earliest pick-up)"),
]
INDICATOR_NAMES = [name for name, _, _ in INDICATORS]
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


def summarise(df: pd.DataFrame, by: tuple[str, ...] = (), count: bool = False) -> pd.DataFrame:
    """Mean and 90% interval (5th and 95th percentiles over replicates) per indicator, level
    and year (and the `by` columns first); with `count`, the replicates in each group too."""
    g = df.groupby([*by, "indicator", "level", "year"], observed=True)["value"]
    cols = {"replicates": g.size()} if count else {}
    out = pd.DataFrame({**cols, "mean": g.mean(), "p05": g.quantile(0.05), "p95": g.quantile(0.95)})
    return out.reset_index()


def paired_difference(plan: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per replicate plan - reference (same replicate seeds: common random numbers), summarised
    as mean and 90% interval per indicator, level and year."""
    keys = ["replicate", "year", "indicator", "level"]
    m = plan[keys + ["value"]].merge(reference[keys + ["value"]], on=keys, suffixes=("", "_ref"))
    m["value"] = m["value"] - m["value_ref"]
    return summarise(m.drop(columns="value_ref"))
