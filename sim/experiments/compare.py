"""Comparing plans: run (or reuse) several scenarios with common random numbers, and report each
one's final-year indicators, its paired difference against the first (reference) scenario, and
each scenario's own thresholds (its `targets:` and its closure rules' shares), checked in every
simulated year (sim/outputs/thresholds.py; the bundled standards and their sources are in
scenarios/base.yaml).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from sim.core.errors import InputError
from sim.core.i18n import _
from sim.experiments.run import check_out, run_scenario, write_run_folder
from sim.model import scenario as sc
from sim.outputs import first_screen, metrics, per_school, plan_report, store, thresholds
from sim.outputs.metrics import Run


def _from_results(folder: Path) -> Run:
    try:
        data = yaml.safe_load((folder / "scenario.yaml").read_text())
        df = pd.read_parquet(folder / "indicators.parquet")
    except FileNotFoundError as exc:
        raise InputError(str(folder), "(folder)", _(
            "not a results folder ({file} missing); give a scenario file or a folder written by "
            "schoolflow run").format(file=exc.filename)) from None
    return Run(sc.validate(data, str(folder / "scenario.yaml")), df, folder)


def load_runs(sources: list[str], replicates: int | None, results_root: Path,
              progress=None) -> list[Run]:
    """Results of every source, running scenario files that have no matching results yet. All
    runs share the first source's seed and replicate count (common random numbers)."""
    runs: list[Run | None] = [None] * len(sources)
    seed = n = years = None
    for i, src in enumerate(sources):  # result folders first: they fix seed and replicates
        if Path(src).is_dir():
            runs[i] = _from_results(Path(src))
            if seed is None:
                seed, years = runs[i].scenario.seed, runs[i].scenario.years
                n = int(runs[i].indicators["replicate"].nunique())
    for i, src in enumerate(sources):
        if runs[i] is not None:
            continue
        over = {} if seed is None else {"seed": seed, "years": years}
        if replicates is not None or n is not None:
            over["replicates"] = replicates if replicates is not None else n
        s = sc.load(src, over)
        if seed is None:
            seed, years, n = s.seed, s.years, s.replicates
        folder = results_root / s.name
        if (folder / "metadata.json").exists():
            # the hash the folder was written with: scenario and its files' content then
            made = json.loads((folder / "metadata.json").read_text()).get("scenario_hash")
            if made == sc.scenario_hash(s) and (folder / "plan_events.csv").exists():
                runs[i] = _from_results(folder)
                continue
        check_out(folder, "--results")
        with store.atomic_dir(folder) as tmp:  # a complete run folder, or the old one
            df, _ = write_run_folder(run_scenario(s, progress=progress), tmp)
        runs[i] = Run(s, df, folder)
    names = [r.scenario.name for r in runs]
    if len(set(names)) < len(names):
        raise InputError(", ".join(sources), "name", _("two sources have the same scenario name; "
                                                       "give each scenario its own name"))
    return runs


def final_year_table(runs: list[Run]) -> pd.DataFrame:
    """Final-year mean and 90% interval of every indicator, level and scenario."""
    rows = []
    for r in runs:
        s = metrics.summarise(r.indicators)
        s = s[s["year"] == s["year"].max()].copy()
        s.insert(0, "scenario", r.scenario.name)
        rows.append(s)
    return pd.concat(rows, ignore_index=True)


def paired_table(runs: list[Run]) -> pd.DataFrame:
    """Each scenario minus the first, replicate by replicate (paired), all years; with the
    width of the unpaired interval (difference of independent 90% intervals) beside it."""
    ref = runs[0].indicators
    keys = ["indicator", "level", "year"]

    def width(df: pd.DataFrame) -> pd.Series:
        s = metrics.summarise(df).set_index(keys)
        return s["p95"] - s["p05"]

    ref_width = width(ref)
    rows = []
    for r in runs[1:]:
        d = metrics.paired_difference(r.indicators, ref)
        # unpaired: the two scenarios' 90% interval widths added in quadrature (the width for
        # independent runs under a normal approximation)
        unpaired = width(r.indicators).pow(2).add(ref_width.pow(2)).pow(0.5)
        d = d.merge(unpaired.rename("unpaired_width").reset_index(), on=keys, how="left")
        d["paired_width"] = d["p95"] - d["p05"]
        d.insert(0, "scenario", r.scenario.name)
        d.insert(1, "reference", runs[0].scenario.name)
        rows.append(d)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def replicates_to_run(sources: list[str], replicates: int | None, results_root: Path) -> int:
    """Replicates `load_runs` will simulate (for a progress bar's total): scenario files without
    matching results, with the replicate count they will run with."""
    folders = [Path(s) for s in sources if Path(s).is_dir()]
    n = replicates
    if n is None and folders:
        n = int(pd.read_parquet(folders[0] / "indicators.parquet",
                                columns=["replicate"])["replicate"].nunique())
    total = 0
    for src in sources:
        if Path(src).is_dir():
            continue
        s = sc.load(src, {} if n is None else {"replicates": n})
        n = s.replicates if n is None else n
        folder = results_root / s.name
        if not (folder / "metadata.json").exists() or not (folder / "plan_events.csv").exists():
            total += s.replicates
    return total


def first_screens(runs: list[Run], checked: pd.DataFrame) -> list[str]:
    """What each plan does to pupils against the first run (the reference)."""
    return [first_screen.render(r, runs[0], checked) for r in runs[1:]] or \
        [first_screen.render(runs[0], None, checked)]


def threshold_wide(runs: list[Run], checked: pd.DataFrame) -> pd.DataFrame:
    """Thresholds as rows, scenarios as columns in the order given (the reference first)."""
    return thresholds.wide(checked, [r.scenario.name for r in runs])


def plan_blocks(runs: list[Run]) -> dict[str, str]:
    """The "plan carried out" block of each run with closures or actions, from the plan tables
    of its results folder (sim/outputs/plan_report.py), by scenario name."""
    blocks: dict[str, str] = {}
    for r in runs:
        s = r.scenario
        if not (s.policies.actions or s.policies.closures) or r.folder is None:
            continue
        try:
            events = pd.read_csv(r.folder / "plan_events.csv")
            targets = pd.read_csv(r.folder / "plan_targets.csv")
        except FileNotFoundError:
            blocks[s.name] = (f"Plan carried out ({s.name}): not known - {r.folder} has no "
                              "plan_events.csv (written by SchoolFlow before plan tables "
                              "existed); run the scenario again")
            continue
        except pd.errors.EmptyDataError:
            events = pd.DataFrame(columns=["year", "school", "event", "by_action", "replicates",
                                           "share"])
            targets = pd.read_csv(r.folder / "plan_targets.csv")
        n = int(r.indicators["replicate"].nunique())
        per = {}
        for name in ("affected_pupils", "affected_villages"):
            try:
                per[name] = pd.read_csv(r.folder / f"{name}.csv", keep_default_na=False,
                                        na_values=[""] if name == "affected_pupils" else [])
            except (FileNotFoundError, pd.errors.EmptyDataError):
                per[name] = None
        blocks[s.name] = plan_report.carried_out_block(s, events, targets, n,
                                                       per["affected_pupils"],
                                                       per["affected_villages"])
    return blocks


def moves(runs: list[Run]) -> dict[str, list[str]]:
    """The short "pupils the plan moves" lines of each run with a results folder that has
    affected_pupils.csv (sim/outputs/per_school.py), by scenario name."""
    out = {}
    for r in runs:
        if r.folder is None:
            continue
        try:
            table = pd.read_csv(r.folder / "affected_pupils.csv")
        except (FileNotFoundError, pd.errors.EmptyDataError):
            continue
        out[r.scenario.name] = per_school.console_lines(table)
    return out


def threshold_table(runs: list[Run]) -> pd.DataFrame:
    """Every scenario's own thresholds, checked in every simulated year (the first run is the
    reference of the others): sim/outputs/thresholds.py."""
    return thresholds.table(runs)
