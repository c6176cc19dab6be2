"""Calibration targets: what a county observed, with uncertainties, and the parameters to fit.

A targets file (YAML) names the base scenario, a CSV of observed indicators and the parameters
to calibrate with their prior ranges:

    scenario: ../../scenarios/default.yaml   # relative to this file
    observed: observed.csv                   # indicator, level, year, value, sd
    replicates: 16                           # replicates per simulated parameter set
    population: 200                          # particles per ABC-SMC generation
    generations: 8                           # temperature 1 (exact posterior) by the last
    seed: 0                                  # sampler seed
    parameters:                              # dotted scenario paths -> prior range (uniform)
      behaviour.dropout.base_junior: {low: 0.006, high: 0.02}

Each CSV row is one observed indicator (names and levels as in docs/indicators.md; year 0 is the
base year) with its standard deviation `sd` (> 0, same units). An optional `school` column
makes a row one school's `pupils_enrolled` (the school's id in the county, at the level given);
rows with it empty are county-wide.

A `cohort:` list adds targets that are not indicators of the base scenario: statistics of
`sim.experiments.exposure` measured in other scenarios, each with its published value and sd:

    cohort:
      - statistic: girls_years_at_17        # a paired statistic: scenario against reference
        scenario: ../../scenarios/validation/hannum_2000s_closures.yaml
        reference: ../../scenarios/validation/hannum_2000s_reference.yaml
        value: -0.60
        sd: 0.30
        source: "Hannum, Liu & Wang 2021 ..."
      - statistic: nine_year_completion      # a baseline statistic: scenario alone
        scenario: ../../scenarios/no_closure.yaml
        value: 0.957
        sd: 0.02

The calibrated parameters are set in every scenario the targets run (each must accept them).
Either `observed` or `cohort` (or both) must be given. `distance` compares simulated means with
the targets in units of their sd; `sim.experiments.calibrate_run` is the sampler
(`schoolflow calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.core.dtypes import LEVELS
from sim.core.errors import InputError
from sim.core.indicators import INDICATOR_NAMES, pair_error
from sim.experiments import exposure
from sim.experiments.sweep import Range
from sim.model import scenario as sc

OBSERVED_COLUMNS = ["indicator", "level", "year", "value", "sd"]
SCHOOL_COLUMN = "school"  #: optional: a school's id; the row is that school's pupils_enrolled


#: a uniform prior range: the sweep files' {low, high[, integer]}
Prior = Range


class CohortTarget(BaseModel):
    """One statistic of `sim.experiments.exposure` with its published value."""

    model_config = ConfigDict(extra="forbid")
    statistic: str = Field(description="one of sim.experiments.exposure.STATISTICS")
    scenario: str = Field(description="scenario file (the plan, for a paired statistic), "
                                      "relative to the targets file")
    reference: str | None = Field(None, description="the same county without the plan (paired "
                                                    "statistics only)")
    value: float = Field(description="published value, in the statistic's units")
    sd: float = Field(gt=0, description="its standard error or stated uncertainty")
    unit: str = Field("", description="the statistic's unit, for readers")
    source: str = Field("", description="where the value comes from")

    @model_validator(mode="after")
    def _kind(self):
        if self.statistic not in exposure.STATISTICS:
            raise ValueError(f"statistic {self.statistic!r} is not one of "
                             + ", ".join(exposure.STATISTICS))
        paired = self.statistic in exposure.PAIRED
        if paired and not self.reference:
            raise ValueError(f"{self.statistic} compares a plan with a reference: add "
                             "`reference:` (the same county without the plan)")
        if not paired and self.reference:
            raise ValueError(f"{self.statistic} is measured in one scenario: remove "
                             "`reference:`")
        return self


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(description="base scenario file, relative to the targets file")
    observed: str | None = Field(None, description="CSV of observed indicators, relative to "
                                                   "the targets file")
    cohort: list[CohortTarget] = Field([], description="statistics of other scenario runs")
    replicates: int = Field(16, ge=1, description="replicates per simulated parameter set")
    population: int = Field(200, ge=10, description="particles per ABC-SMC generation")
    generations: int = Field(8, ge=1, le=100, description="most ABC-SMC generations; the "
                             "temperature reaches 1 (the exact posterior) by the last")
    seed: int = Field(0, ge=0, description="seed of the sampler (proposals and acceptances)")
    parameters: dict[str, Prior] = Field(min_length=1, description="dotted path -> prior range")

    @model_validator(mode="after")
    def _something_to_fit(self):
        if not self.observed and not self.cohort:
            raise ValueError("nothing to calibrate to: give `observed:` (a CSV of indicators) "
                             "or `cohort:` (statistics with published values), or both")
        return self


@dataclass
class Targets:
    path: Path
    base: Path
    observed: pd.DataFrame   #: OBSERVED_COLUMNS, one row per target
    replicates: int
    priors: dict[str, Prior]
    population: int = 200
    generations: int = 8
    seed: int = 0

    school_index: dict[str, int] | None = None  #: school id -> index, where rows name schools
    #: (statistic, scenario path, reference path or None, value, sd) of the `cohort:` targets
    cohort: tuple[tuple[str, str, str | None, float, float], ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        """Every target in the order of the simulated vector: the observed indicator rows, then
        the cohort statistics (indicator = the statistic's name, level `cohort`, year -1)."""
        rows = pd.DataFrame([{"indicator": stat, "level": "cohort", "year": -1, "value": value,
                              "sd": sd} for stat, _, _, value, sd in self.cohort],
                            columns=OBSERVED_COLUMNS)
        if not len(rows):
            return self.observed
        if not len(self.observed):
            return rows
        return pd.concat([self.observed, rows], ignore_index=True)

    @property
    def index(self) -> list[tuple[int, int, int, int]]:
        """(year, indicator, level, school) of each target: the school's index in the county,
        or -1 for a county-wide indicator."""
        schools = self.observed.get(SCHOOL_COLUMN, pd.Series([""] * len(self.observed)))
        return [(int(r.year), INDICATOR_NAMES.index(r.indicator), LEVELS[r.level],
                 self.school_index[school] if school else -1)
                for r, school in zip(self.observed.itertuples(), schools, strict=True)]

    def simulated(self, values: np.ndarray, school_pupils: np.ndarray | None = None) -> np.ndarray:
        """Mean over replicates of each observed indicator, from values[replicate, year,
        indicator, level] and school_pupils[replicate, year, school, level] (a RunResult's;
        NaN where the simulation never defines it)."""
        return simulated_means(values, self.index, school_pupils)

    def distance(self, simulated: np.ndarray) -> float:
        """Root mean square of (simulated - target) / sd over the targets (`table`; inf if any
        is undefined in the simulation)."""
        z = (simulated - self.table["value"].to_numpy()) / self.table["sd"].to_numpy()
        return float(np.sqrt(np.mean(z ** 2))) if np.isfinite(z).all() else float("inf")


def target_values(values: np.ndarray, school_pupils: np.ndarray | None,
                  entry: tuple[int, int, int, int]) -> np.ndarray:
    """One target's value in each replicate: values[:, year, indicator, level], or
    school_pupils[:, year, school, level] for a school's entry (year, indicator, level,
    school; school -1 for a county-wide indicator)."""
    year, ind, lev, school = entry
    return values[:, year, ind, lev] if school < 0 else school_pupils[:, year, school, lev]


def simulated_means(values: np.ndarray, index: list[tuple[int, int, int, int]],
                    school_pupils: np.ndarray | None = None) -> np.ndarray:
    """Mean over replicates of each index entry's `target_values` (NaN where no replicate
    defines it)."""
    out = np.full(len(index), np.nan)
    for k, entry in enumerate(index):
        x = target_values(values, school_pupils, entry)
        if np.isfinite(x).any():
            out[k] = np.nanmean(x)
    return out


def _read_observed(path: Path, years: int) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(str(path), "(file)", "observed CSV not found; check `observed:` in the "
                         "targets file") from None
    except Exception as exc:  # pandas parser errors
        raise InputError(str(path), "(csv)", f"cannot be read as CSV: {exc}") from None
    missing = [c for c in OBSERVED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(str(path), missing[0], "missing column; required: "
                         + ", ".join(OBSERVED_COLUMNS))
    for i, row in enumerate(df.itertuples(), start=2):
        problem = pair_error(str(row.indicator), str(row.level))
        if problem:  # the same check as a scenario's targets
            field = "indicator" if row.indicator not in INDICATOR_NAMES else "level"
            raise InputError(str(path), field, f"row {i}: {problem}")
        if not (isinstance(row.year, int | np.integer) and 0 <= row.year <= years):
            raise InputError(str(path), "year", f"row {i}: {row.year!r} must be a whole year "
                             f"from 0 to the scenario's {years}")
        if not (np.isfinite(row.value) and np.isfinite(row.sd) and row.sd > 0):
            raise InputError(str(path), "sd", f"row {i}: value must be a number and sd a "
                             "positive number (the observation's uncertainty)")
    columns = list(OBSERVED_COLUMNS)
    if SCHOOL_COLUMN in df.columns:
        df[SCHOOL_COLUMN] = df[SCHOOL_COLUMN].fillna("").astype(str).str.strip()
        bad = df[(df[SCHOOL_COLUMN] != "") & (df.indicator != "pupils_enrolled")]
        if len(bad):
            raise InputError(str(path), SCHOOL_COLUMN, f"row {bad.index[0] + 2}: a school's row "
                             "must be pupils_enrolled (the only per-school indicator); leave "
                             "school empty for a county-wide indicator")
        columns.append(SCHOOL_COLUMN)
    return df[columns].reset_index(drop=True)


def _school_index(path: Path, observed: pd.DataFrame, scenario) -> dict[str, int] | None:
    """School id -> index in the county, checking every school the observations name."""
    if SCHOOL_COLUMN not in observed.columns or not (observed[SCHOOL_COLUMN] != "").any():
        return None
    from sim.model.build import build_world

    names = build_world(scenario).school_name
    index = {name: k for k, name in enumerate(names)}
    for i, school in enumerate(observed[SCHOOL_COLUMN], start=2):
        if school and school not in index:
            raise InputError(str(path), SCHOOL_COLUMN, f"row {i}: no school {school!r} in the "
                             f"scenario's county (ids such as {names[0]!r}, {names[-1]!r})")
    return index


def load_targets(path: str | Path) -> Targets:
    """Read and check a targets file, its observed CSV and its parameters (every path must be a
    numeric scenario field, both prior ends valid values)."""
    path = Path(path).resolve()
    try:
        spec = TargetsFile.model_validate(sc.read_yaml(path))
    except ValidationError as exc:
        field, msg = sc.format_error(exc.errors()[0])
        raise InputError(str(path), field, msg) from None
    base = (path.parent / spec.scenario).resolve()
    scenario = sc.load(base)
    if spec.observed:
        observed_path = (path.parent / spec.observed).resolve()
        observed = _read_observed(observed_path, scenario.years)
        schools = _school_index(observed_path, observed, scenario)
    else:
        observed, schools = pd.DataFrame(columns=OBSERVED_COLUMNS), None
    cohort = []
    for i, t in enumerate(spec.cohort):
        files = [(path.parent / f).resolve() for f in (t.scenario, t.reference) if f]
        for f, field in zip(files, ("scenario", "reference"), strict=False):
            if not f.exists():
                raise InputError(str(path), f"cohort[{i}].{field}", f"no file {f}; give a "
                                 "scenario file relative to the targets file")
        cohort.append((t.statistic, str(files[0]), str(files[1]) if t.reference else None,
                       t.value, t.sd))
    scenario_files = [base] + sorted({Path(f) for c in cohort for f in c[1:3] if f})
    for name, prior in spec.parameters.items():
        for f in scenario_files:
            try:
                sc.numeric_field(f, name, (prior.low, prior.high))
            except InputError as exc:
                raise InputError(str(path), f"parameters.{name}",
                                 f"{exc.message} (in {f.name})") from None
    return Targets(path, base, observed, spec.replicates, dict(spec.parameters), spec.population,
                   spec.generations, spec.seed, schools, tuple(cohort))
