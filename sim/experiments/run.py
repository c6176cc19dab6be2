"""Run a scenario: the one entry point that `schoolflow run`, `compare`, sweeps, sensitivity
analysis and calibration all use, and the one writer of a run's results folder.

Replicate i of a scenario always has seed `sim.core.rng.replicate_seeds(seed, i, i + 1)`,
whichever engine, command, chunk or worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from sim.core import rng
from sim.model import build, engine
from sim.model.scenario import Scenario
from sim.outputs import metrics, store, tables

Engine = Literal["numba", "mesa"]


@dataclass
class ScenarioRun:
    """Replicates start..stop-1 of one scenario: the built model and the engine's result."""

    scenario: Scenario
    model: build.Model
    result: engine.RunResult
    engine: Engine = "numba"

    def tidy(self) -> pd.DataFrame:
        """Tidy indicator rows (scenario, replicate, year, indicator, level, value)."""
        return metrics.tidy(self.result.values, self.scenario.name,
                            first_replicate=self.result.start)


def run_scenario(scenario: Scenario, start: int = 0, stop: int | None = None,
                 engine_name: Engine = "numba", model: build.Model | None = None,
                 progress: Callable[[int], object] | None = None) -> ScenarioRun:
    """Run replicates start..stop-1 (default: all the scenario's replicates) on the numba core
    or the Mesa reference model. `model`: an already built model of this scenario (sweeps keep
    one per worker); `progress(n)` is called as replicates finish."""
    model = model or build.build_model(scenario)
    stop = scenario.replicates if stop is None else stop
    if engine_name == "mesa":
        from sim.reference import mesa_model
        result = mesa_model.run_model(model, start, stop, progress=progress)
    else:
        result = engine.run_model(model, start, stop, progress=progress)
    return ScenarioRun(scenario, model, result, engine_name)


def write_run_folder(run: ScenarioRun, out_dir: Path,
                     threads: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write a run's results folder (indicators.parquet, summary.csv, scenario.yaml,
    metadata.json, the bus-day tables and school_pupils.csv; see results/README.md). Returns the
    tidy indicators and their summary."""
    s, result = run.scenario, run.result
    df = run.tidy()
    summary = metrics.summarise(df)
    seeds = [int(x) for x in rng.replicate_seeds(s.seed, result.start,
                                                 result.start + result.values.shape[0])]
    store.write_run(Path(out_dir), s, df, summary, seeds, {
        "engine": run.engine, "threads": threads, "seconds": round(result.seconds, 3),
        "child_year_steps": result.child_year_steps, "bus_cache": result.bus_stats},
        tables=tables.run_tables(run.model, result))
    return df, summary
