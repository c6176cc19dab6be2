"""Observations made by the model itself, from known ("true") parameters, for checking that a
calibration recovers them (the worked example in calibration/example/).

The observed value of each target is the mean over `truth_replicates` replicates at the true
parameters (replicates from `first_replicate` on, disjoint from the 0..R-1 a calibration
simulates) plus Gaussian reporting error of `rel_error` x |mean|. Its sd is what that value's
distance from a calibration's simulated mean at the truth really has:
sd^2 = (rel_error x mean)^2 + s^2 / truth_replicates + s^2 / calibration_replicates, with s the
replicates' standard deviation. So the calibration's Gaussian error model holds exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.indicators import INDICATOR_NAMES
from sim.experiments.calibrate import LEVELS, OBSERVED_COLUMNS, SCHOOL_COLUMN, target_values
from sim.experiments.run import run_scenario
from sim.model import scenario as sc


def synthetic_observations(base: Path, truth: dict, targets: list[tuple],
                           calibration_replicates: int, truth_replicates: int = 64,
                           first_replicate: int = 1000, rel_error: float = 0.05,
                           seed: int = 0) -> pd.DataFrame:
    """Observed rows (OBSERVED_COLUMNS and `school`) for (indicator, level, year) targets, or
    (indicator, level, year, school id) for a school's pupils_enrolled, simulated at `truth`
    (dotted path -> value) on the base scenario; `seed` draws the reporting errors."""
    # as a calibration runs each parameter set: fixed parameters, no posterior draws (a
    # posterior would replace the truth's values of the parameters it varies)
    done = run_scenario(sc.load(base, sc.FIXED_PARAMETERS | truth), first_replicate,
                        first_replicate + truth_replicates)
    run = done.result
    schools = {name: k for k, name in enumerate(done.model.world.school_name)}
    rng = np.random.default_rng(seed)
    rows = []
    for name, level, year, *school in targets:
        entry = (year, INDICATOR_NAMES.index(name), LEVELS[level],
                 schools[school[0]] if school else -1)
        x = target_values(run.values, run.school_pupils, entry)
        mean, s = float(np.mean(x)), float(np.std(x, ddof=1))
        report = rel_error * abs(mean)
        sd = np.sqrt(report ** 2 + s ** 2 / truth_replicates + s ** 2 / calibration_replicates)
        rows.append({"indicator": name, "level": level, "year": year,
                     "value": mean + rng.normal(0.0, report), "sd": sd,
                     SCHOOL_COLUMN: school[0] if school else ""})
    return pd.DataFrame(rows, columns=[*OBSERVED_COLUMNS, SCHOOL_COLUMN])
