"""Run a scenario: the one entry point that `schoolflow run`, `compare`, sweeps, sensitivity
analysis and calibration all use, and the one writer of a run's results folder.

Replicate i of a scenario always has seed `sim.core.rng.replicate_seeds(seed, i, i + 1)`,
whichever engine, command, chunk or worker runs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from sim.core import rng
from sim.core.errors import InputError
from sim.core.i18n import N_, _
from sim.model import build, engine
from sim.model.scenario import Scenario, load
from sim.outputs import (
    console,
    first_screen,
    gis_layers,
    metrics,
    per_school,
    plan_report,
    store,
    tables,
    thresholds,
)

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


def write_run_folder(run: ScenarioRun, out_dir: Path, threads: int | None = None,
                     written: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write a run's results folder (indicators.parquet, summary.csv, scenario.yaml,
    metadata.json, the bus-day, plan and per-school tables; see results/README.md). Returns the
    tidy indicators and their summary; `written`, where given, receives the CSV tables by file
    name."""
    s, result = run.scenario, run.result
    df = run.tidy()
    summary = metrics.summarise(df)
    seeds = [int(x) for x in rng.replicate_seeds(s.seed, result.start,
                                                 result.start + result.values.shape[0])]
    post = run.model.posterior
    csvs = tables.run_tables(run.model, result)
    if written is not None:
        written.update(csvs)
    store.write_run(Path(out_dir), s, df, summary, seeds, {
        "engine": run.engine, "threads": threads, "seconds": round(result.seconds, 3),
        "child_year_steps": result.child_year_steps, "bus_cache": result.bus_stats,
        "posterior": None if post is None else {"file": str(post.path), "sha256": post.sha256,
                                                 "particles": len(post.weights)}},
        tables=csvs)
    gis_layers.write_gis(run.model, Path(out_dir) / "county.gpkg")
    return df, summary


def plan_and_reference(path: str | Path, overrides: dict, out: str | Path | None = None,
                       with_reference: bool = True) -> list[tuple[Scenario, Path]]:
    """The scenario of `path` (with overrides) and its results folder (default
    results/<name>/), then its `compare_to` reference if it names one (with the plan's seed,
    replicates, years and posterior: common random numbers and the same parameter draw for
    each replicate) in the folder's reference/."""
    plan = load(path, overrides)
    runs = [(plan, Path(out) if out else Path("results") / plan.name)]
    check_out(runs[0][1], "--out" if out else "results folder")
    if plan.compare_to and with_reference:
        ref = load(plan.compare_to, {"seed": plan.seed, "replicates": plan.replicates,
                                     "years": plan.years, "posterior": plan.posterior})
        runs.append((ref, runs[0][1] / "reference"))
    return runs


def check_out(folder: Path, what: str = "--out") -> None:
    """Refuse, before any work, a results folder that is an existing file or cannot be made."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), what, _("is an existing file, not a folder; give a folder "
                                              "for the results (it is made if missing)"))
    parent = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(str(folder), what, _("cannot be written ({parent} is not a writable "
                                              "folder); give a folder you can write to").format(
            parent=parent))


@dataclass
class PlanRun:
    """What `schoolflow run` prints: the final year's headline table (plan, reference, paired
    difference), one bus-cache line and one "plan carried out" block per scenario, and what
    the county's data leave out (said before simulating)."""

    table: pd.DataFrame
    bus_lines: list[str]
    plan_blocks: list[str]
    notes: list[str]
    first_screen: str = ""  #: what the plan does to pupils, and its thresholds
    thresholds: pd.DataFrame | None = None


def run_plan(runs: list[tuple[Scenario, Path]], engine_name: Engine = "numba",
             workers: int | None = None, progress: Callable[[int], object] | None = None,
             on_scenario: Callable[[str], object] | None = None,
             say: Callable[[str], object] | None = None) -> PlanRun:
    """`schoolflow run`: run each (scenario, folder) and write its folder; with a reference, also
    the paired difference plan - reference (paired_difference.csv in the plan's folder).
    `say(line)` gets the notes on the county's data before the simulation starts.

    Everything is written into a fresh temporary folder that replaces the plan's folder only
    when the whole run (plan, reference, paired difference) is written (`store.atomic_dir`):
    a rerun into the same folder never leaves the first run's files beside the second's, and
    an interrupted run leaves the earlier folder as it was."""
    threads = 1 if engine_name == "mesa" else engine.set_workers(workers)
    models = [build.build_model(s) for s, _ in runs]
    notes = list(dict.fromkeys(n for m in models for n in m.notes))
    problems = list(dict.fromkeys(n for m in models for n in m.problems))
    for label, lines in ((N_("Note: {text}"), notes),
                         (N_("Base-year problem: {text}"), problems)):
        for line in lines:
            if say is not None:
                say(_(label).format(text=line))
    final = runs[0][1]
    with store.atomic_dir(final) as tmp:
        return _run_into(runs, models, tmp, final, engine_name, threads, notes, progress,
                         on_scenario)


def _run_into(runs, models, tmp: Path, final: Path, engine_name: Engine, threads: int,
              notes: list[str], progress, on_scenario) -> PlanRun:
    """The body of `run_plan`, writing the folders under `tmp` in place of `final`."""
    runs = [(s, tmp / Path(out).relative_to(final)) for s, out in runs]  # the reference inside
    frames, bus_lines, blocks = [], [], []
    for model, (s, out_dir) in zip(models, runs, strict=True):
        if on_scenario is not None:
            on_scenario(s.name)
        run = run_scenario(s, engine_name=engine_name, model=model, progress=progress)
        csvs: dict = {}
        df, summary = write_run_folder(run, out_dir, threads, csvs)
        frames.append((s, df, summary))
        bus_lines.append(f"{s.name}: {console.cache_line(run.result.bus_stats)}")
        blocks.append("\n".join([plan_report.block_for_run(model, run.result, csvs),
                                 *per_school.console_lines(csvs["affected_pupils.csv"])]))
    plan, df, summary = frames[0]
    columns = [(plan.name, summary)]
    done = [metrics.Run(s, d, out) for (s, d, _), (_, out) in zip(frames, runs, strict=True)]
    reference = done[1] if len(done) > 1 else None
    checked = thresholds.table([reference, done[0]] if reference else [done[0]])
    screen = first_screen.render(done[0], reference, checked)
    if len(frames) > 1:
        ref, ref_df, ref_summary = frames[1]
        diff = metrics.paired_difference(df, ref_df)
        with store.atomic_path(runs[0][1] / "paired_difference.csv") as tmp:
            diff.to_csv(tmp, index=False)
        columns += [(ref.name, ref_summary), (console.PAIRED, diff)]
    return PlanRun(console.run_table(columns, plan.years), bus_lines, blocks, notes, screen,
                   checked)
