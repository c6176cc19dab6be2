"""`schoolflow calibrate TARGETS`: approximate Bayesian computation (ABC-SMC, pyabc) on the numba
core.

The statistical model: each observation is the model's expected indicator plus independent
Gaussian error with the targets file's `sd` (which should cover reporting error and the
county's own year-to-year chance). A parameter set is simulated for `replicates` replicates
with common random numbers (replicate seeds 0..replicates-1 of the base scenario, as in
sweeps), and the simulated mean stands for the expectation. pyabc's stochastic acceptor with an
independent normal kernel and a temperature schedule then samples the exact posterior of that
model once the temperature reaches 1 (Wilkinson 2013; Schaelte & Hasenauer 2020), starting from
the uniform priors of the targets file.

Outputs in DIR:
- `posterior.parquet`: the final generation's particles (one column per parameter, `weight`);
- `populations.parquet`: every generation's particles, with `generation` and `temperature`;
- `posterior_summary.csv`: per parameter the prior range, weighted mean, sd and 5/50/95%
  quantiles;
- `fit.csv`: per target the observation, its sd and the simulated mean with its 5-95%
  posterior interval;
- `calibrated.yaml`: a scenario that extends the base scenario with the posterior means (or
  medians, or one chosen draw: `--pick`);
- `posterior.png` (marginals) and `fit.png` (observed vs simulated with intervals);
- `metadata.json` (budget, generations, temperatures, simulations, wall time, versions) and
  pyabc's own history database `abc.db`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import __version__
from sim.core.errors import InputError
from sim.experiments import exposure
from sim.experiments.calibrate import Targets, simulated_means
from sim.experiments.run import run_scenario
from sim.experiments.sweep_run import keep_freed_memory, optional_client
from sim.model import engine
from sim.model import scenario as sc
from sim.outputs import store

#: stand-in for a simulated target the model leaves undefined: far from any observation
UNDEFINED = 1e30


@dataclass(frozen=True)
class Simulator:
    """The pyabc model: a parameter set -> {"y": simulated means of the targets}. Picklable, so
    Dask workers can run it; `threads` numba threads per call (None: all)."""

    base: str
    names: tuple[str, ...]
    integer: tuple[bool, ...]
    replicates: int
    index: tuple[tuple[int, int, int, int], ...]
    threads: int | None = None
    #: (statistic, scenario path, reference path or None) of the cohort targets
    cohort: tuple[tuple[str, str, str | None], ...] = ()

    def overrides(self, pars) -> dict:
        return {n: (int(round(float(pars[n]))) if is_int else float(pars[n]))
                for n, is_int in zip(self.names, self.integer, strict=True)}

    def __call__(self, pars) -> dict:
        engine.set_workers(self.threads)
        keep_freed_memory()  # on a Dask worker (sim/experiments/sweep_run.py)
        over = sc.FIXED_PARAMETERS | self.overrides(pars)
        parts = []
        if self.index:
            result = run_scenario(sc.load(self.base, over), 0, self.replicates).result
            parts.append(simulated_means(result.values, list(self.index), result.school_pupils))
        if self.cohort:
            scen = {f: sc.load(f, over | {"replicates": self.replicates})
                    for c in self.cohort for f in c[1:] if f}
            parts.append(exposure.evaluate(
                [(stat, scen[s], scen[r] if r else None) for stat, s, r in self.cohort],
                self.replicates))
        y = np.concatenate(parts)
        return {"y": np.where(np.isfinite(y), y, UNDEFINED)}


def simulator(targets: Targets, threads: int | None = None) -> Simulator:
    names = tuple(targets.priors)
    return Simulator(str(targets.base), names, tuple(targets.priors[n].integer for n in names),
                     targets.replicates, tuple(targets.index), threads,
                     tuple(c[:3] for c in targets.cohort))


def _prior(targets: Targets):
    import pyabc

    return pyabc.Distribution(**{n: pyabc.RV("uniform", p.low, p.high - p.low)
                                 for n, p in targets.priors.items()})


def _check_out(out: Path, resume: bool) -> None:
    if (out / "metadata.json").exists():
        raise InputError(str(out), "--out", "already holds a finished calibration; choose "
                         "another folder")
    if (out / "abc.db").exists() and not resume:
        raise InputError(str(out), "--out", "already holds an interrupted calibration; add "
                         "--resume to continue it from its last finished generation, or choose "
                         "another folder")
    if resume and not (out / "abc.db").exists():
        raise InputError(str(out), "--resume", "no calibration to resume here (no abc.db); "
                         "leave out --resume to start one")


def _reload(abc, db: str, targets: Targets, observed: np.ndarray) -> int:
    """Attach an interrupted run's history; check it belongs to these targets. Returns the
    generations it finished (the prior sample that sets the first temperature not counted)."""
    history = abc.load(db)
    stored = np.asarray(history.observed_sum_stat()["y"], float)
    if stored.shape != observed.shape or not np.allclose(stored, observed, rtol=1e-12):
        raise InputError(db, "observed", "the targets' observations changed since this run "
                         "started; start a new calibration in another folder")
    if history.max_t >= 0:
        df, _ = history.get_distribution(m=0, t=history.max_t)
        if sorted(df.columns) != sorted(targets.priors):
            raise InputError(db, "parameters", "the targets' parameters changed since this run "
                             "started; start a new calibration in another folder")
    return history.max_t + 1


def calibrate(targets: Targets, out: Path, budget: int, workers: int | None = None,
              scheduler: str | None = None, model=None, progress=None,
              resume: bool = False, pick: str = "mean") -> dict:
    """Run ABC-SMC until the temperature reaches 1 or `budget` parameter sets have been
    simulated; write the outputs (module docstring) and return the metadata. `model` (a
    picklable callable: parameter dict -> {"y": array of target values}) replaces the
    SchoolFlow simulator, for testing the sampler on models with a known posterior; `progress`
    is called after each generation (see `BatchSampler`). `resume` continues an interrupted
    run in `out` from its last finished generation: what was finished is kept, and the
    remaining generations run (a valid ABC-SMC posterior; the temperatures are set again from
    the last finished generation, so the draws differ from those of an uninterrupted run).
    `pick` chooses the parameter set of calibrated.yaml (`posterior_point`)."""
    import pyabc

    from sim.experiments.abc_sampler import BatchSampler

    out = Path(out).resolve()
    _check_out(out, resume)
    _check_pick(pick, targets.population)
    out.mkdir(parents=True, exist_ok=True)
    observed = targets.table["value"].to_numpy(float)
    sd = targets.table["sd"].to_numpy(float)
    np.random.seed(targets.seed)  # pyabc's transition fits in this process draw from it
    logging.getLogger("ABC").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    with optional_client(workers, scheduler) as (client, threads):
        sampler = BatchSampler(targets.seed, client, progress)
        abc = pyabc.ABCSMC(
            models=model or simulator(targets, threads), parameter_priors=_prior(targets),
            distance_function=pyabc.IndependentNormalKernel(var=sd ** 2),
            population_size=targets.population, eps=pyabc.Temperature(),
            acceptor=pyabc.StochasticAcceptor(), sampler=sampler)
        db = "sqlite:///" + str(out / "abc.db")
        done = _reload(abc, db, targets, observed) if resume else 0
        if not resume:
            abc.new(db, {"y": observed})
        sampler.skip(done + 1 if done else 0)  # fresh seeds for the generations to come
        # pyabc's temperature schedule counts generations from 0 (t_to_go = this - t), and the
        # run ends at temperature 1, so the total is the right limit on a resumed run too
        history = abc.run(max_nr_populations=targets.generations,
                          max_total_nr_simulations=budget)
    seconds = time.perf_counter() - t0
    meta = _write_outputs(targets, out, history, observed, sd, pick)
    meta.update({
        "schoolflow_version": __version__, "git_commit": store.git_commit(),
        "pyabc_version": pyabc.__version__, "targets_file": str(targets.path),
        "base": str(targets.base), "budget": budget, "population": targets.population,
        "replicates": targets.replicates, "max_generations": targets.generations,
        "seed": targets.seed,
        "workers": workers or 1, "scheduler": scheduler, "simulations": sampler.simulations,
        "resumed_after_generations": done if resume else None,
        "wall_seconds": round(seconds, 1), "cpu_count": os.cpu_count(),
    })
    with store.atomic_path(out / "metadata.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=str))
    return meta


def _weighted(x: np.ndarray, w: np.ndarray, q: float) -> float:
    from pyabc.weighted_statistics import weighted_quantile

    return float(weighted_quantile(np.asarray(x, float), w, alpha=q))


def _write_outputs(targets: Targets, out: Path, history, observed, sd, pick: str) -> dict:
    names = list(targets.priors)
    pops = history.get_all_populations()
    temps = dict(zip(pops.t, pops.epsilon, strict=True))
    frames = []
    for t in range(history.max_t + 1):
        df, w = history.get_distribution(m=0, t=t)
        df = df[names].reset_index(drop=True)
        df["weight"] = w
        df.insert(0, "temperature", temps.get(t, np.nan))
        df.insert(0, "generation", t)
        frames.append(df)
    allpops = pd.concat(frames, ignore_index=True)
    final = frames[-1].drop(columns=["generation", "temperature"])
    w = final["weight"].to_numpy()
    rows = []
    for n in names:
        x = final[n].to_numpy(float)
        mean = float(np.sum(w * x))
        rows.append({"parameter": n, "prior_low": targets.priors[n].low,
                     "prior_high": targets.priors[n].high, "mean": mean,
                     "sd": float(np.sqrt(np.sum(w * (x - mean) ** 2))),
                     "q05": _weighted(x, w, 0.05), "q50": _weighted(x, w, 0.5),
                     "q95": _weighted(x, w, 0.95)})
    summary = pd.DataFrame(rows)
    sw, stats = history.get_weighted_sum_stats(t=history.max_t)
    sims = np.array([s["y"] for s in stats], float)
    sw = np.asarray(sw, float) / np.sum(sw)
    fit = targets.table.copy()
    fit["simulated_mean"] = sims.T @ sw
    fit["simulated_q05"] = [_weighted(sims[:, k], sw, 0.05) for k in range(sims.shape[1])]
    fit["simulated_q95"] = [_weighted(sims[:, k], sw, 0.95) for k in range(sims.shape[1])]
    fit["z"] = (fit["simulated_mean"] - observed) / sd
    for name, frame in [("posterior.parquet", final), ("populations.parquet", allpops)]:
        with store.atomic_path(out / name) as tmp:
            frame.to_parquet(tmp, index=False)
    for name, frame in [("posterior_summary.csv", summary), ("fit.csv", fit)]:
        with store.atomic_path(out / name) as tmp:
            frame.to_csv(tmp, index=False)
    write_calibrated(targets, posterior_point(targets, final, pick), out / "calibrated.yaml", pick)
    posterior_figure(targets, allpops, summary, out / "posterior.png")
    fit_figure(fit, out / "fit.png")
    final_temperature = float(temps.get(history.max_t, np.nan))
    return {"generations": int(history.max_t + 1), "temperatures": [float(temps[t]) for t in
            sorted(temps) if t >= 0], "final_temperature": final_temperature,
            "converged": bool(final_temperature <= 1.0 + 1e-9),
            "accepted_simulations": int(history.total_nr_simulations)}


def _check_pick(pick: str, population: int) -> None:
    k = pick.partition(":")[2] if pick.startswith("draw:") else None
    if pick not in ("mean", "median") and not (k and k.isdigit() and int(k) < population):
        raise InputError("--pick", pick, f"use mean, median or draw:K with K from 0 to "
                         f"{population - 1} (a row of posterior.parquet)")


def repick(targets: Targets, out: Path, pick: str) -> Path:
    """Write a finished calibration's calibrated.yaml again from another choice of parameter
    set (`posterior_point`), without running anything."""
    out = Path(out).resolve()
    if not (out / "metadata.json").exists():
        raise InputError(str(out), "--out", "no finished calibration here to pick from")
    posterior = pd.read_parquet(out / "posterior.parquet")
    if sorted(posterior.columns.drop("weight")) != sorted(targets.priors):
        raise InputError(str(out), "parameters", "this calibration fitted other parameters than "
                         "the targets file names; give the targets file it was run with")
    return write_calibrated(targets, posterior_point(targets, posterior, pick),
                            out / "calibrated.yaml", pick)


def posterior_point(targets: Targets, posterior: pd.DataFrame, pick: str = "mean") -> dict:
    """One parameter set from the final particles (`posterior.parquet`): `mean` or `median`
    (weighted) or `draw:K` (row K); whole-number parameters rounded."""
    w = posterior["weight"].to_numpy(float)
    _check_pick(pick, len(posterior))
    if pick.startswith("draw:"):
        row = posterior.iloc[int(pick.partition(":")[2])]
        values = {n: float(row[n]) for n in targets.priors}
    else:
        values = {n: (float(np.sum(w * posterior[n])) if pick == "mean"
                      else _weighted(posterior[n].to_numpy(), w, 0.5)) for n in targets.priors}
    return {n: round(v) if targets.priors[n].integer else v for n, v in values.items()}


def write_calibrated(targets: Targets, values: dict, path: Path, pick: str = "mean") -> Path:
    """A scenario file extending the base scenario with these parameter values (dotted path ->
    value, from `posterior_point`)."""
    base = sc.load(targets.base)
    doc: dict = {"name": f"{base.name}_calibrated",
                 "extends": os.path.relpath(targets.base, path.parent)}
    for name, value in values.items():
        node = doc
        *parents, leaf = name.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    header = (f"# Calibrated by `schoolflow calibrate {targets.path.name}`: posterior {pick}.\n"
              "# posterior_summary.csv next to this file gives the 90% intervals.\n")
    with store.atomic_path(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    sc.load(path)  # the written file must load as a scenario
    return path


def _panels(n: int, height: float):
    """A figure with n panels, three to a row: (figure, axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, n)
    rows = -(-n // cols)
    return plt.subplots(rows, cols, figsize=(4.2 * cols, height * rows), squeeze=False,
                        constrained_layout=True)


def _save(fig, axes, n: int, path: Path) -> Path:
    """Hide the unused panels, put the legend on the first, write the PNG atomically."""
    import matplotlib.pyplot as plt

    for ax in axes.flat[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    with store.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def posterior_figure(targets: Targets, pops: pd.DataFrame, summary: pd.DataFrame,
                     path: Path) -> Path:
    """One panel per parameter over its prior range: the final posterior (weighted histogram),
    the first generation for contrast, the posterior mean and 90% interval."""
    names = list(targets.priors)
    fig, axes = _panels(len(names), 3.0)
    first = pops[pops.generation == 0]
    fin = pops[pops.generation == pops.generation.max()]
    for ax, (n, s) in zip(axes.flat, zip(names, summary.itertuples(), strict=True), strict=False):
        bins = np.linspace(s.prior_low, s.prior_high, 31)
        ax.hist(first[n], bins=bins, weights=first.weight, density=True, color="#cccccc",
                label=f"generation 0 (T={first.temperature.iloc[0]:.3g})")
        ax.hist(fin[n], bins=bins, weights=fin.weight, density=True, color="#1f77b4",
                alpha=0.8, label="posterior")
        ax.axvspan(s.q05, s.q95, color="#1f77b4", alpha=0.12, label="90% interval")
        ax.axvline(s.mean, color="k", lw=1, label="mean")
        ax.set_title(n, fontsize=8)
        ax.set_xlim(s.prior_low, s.prior_high)
        ax.tick_params(labelsize=7)
    return _save(fig, axes, len(names), path)


def fit_figure(fit: pd.DataFrame, path: Path) -> Path:
    """One panel per (indicator, level) against year: observations with their 90% error bars
    (1.645 sd), simulated posterior means with their 5-95% interval."""
    keys = ["indicator", "level"] + (["school"] if "school" in fit.columns else [])
    groups = [(key[:2], key[2] if len(key) > 2 else "", d)
              for key, d in fit.fillna({"school": ""}).groupby(keys, sort=False)]
    fig, axes = _panels(len(groups), 2.8)
    for ax, ((name, level), school, d) in zip(axes.flat, groups, strict=False):
        ax.errorbar(d.year - 0.08, d.value, yerr=1.645 * d.sd, fmt="o", color="k", ms=4,
                    capsize=3, label="observed (90%)")
        ax.errorbar(d.year + 0.08, d.simulated_mean,
                    yerr=[d.simulated_mean - d.simulated_q05, d.simulated_q95 - d.simulated_mean],
                    fmt="s", color="#1f77b4", ms=4, capsize=3, label="simulated (5-95%)")
        ax.set_title(f"{school} {name} ({level})".strip(), fontsize=8)
        ax.set_xlabel("year", fontsize=8)
        ax.set_xlim(d.year.min() - 0.6, d.year.max() + 0.6)
        ax.set_xticks(sorted(d.year.unique()))
        ax.tick_params(labelsize=7)
    return _save(fig, axes, len(groups), path)



def ship_posterior(targets: Targets, out: Path, dest: Path) -> Path:
    """Write a finished calibration's final particles (`out`/posterior.parquet) as a CSV that
    runs can draw from (`posterior:` in a scenario, `--posterior`), with what made it in `#`
    lines: the targets file and its sha256, the run's commit, generations, final temperature
    and simulations. `tests/test_closure_calibration.py` fails when the targets file changes
    under a shipped posterior or the defaults drift from its means."""
    out = Path(out).resolve()
    if not (out / "metadata.json").exists():
        raise InputError(str(out), "--out", "no finished calibration here to ship")
    meta = json.loads((out / "metadata.json").read_text())
    posterior = pd.read_parquet(out / "posterior.parquet")
    if sorted(posterior.columns.drop("weight")) != sorted(targets.priors):
        raise InputError(str(out), "parameters", "this calibration fitted other parameters than "
                         "the targets file names; give the targets file it was run with")
    digest = hashlib.sha256(Path(targets.path).read_bytes()).hexdigest()
    lines = [f"# posterior of {Path(targets.path).name} (sha256 {digest}), written by "
             "`schoolflow calibrate` and sim.experiments.calibrate_run.ship_posterior",
             f"# run: commit {meta.get('git_commit')}, {meta.get('generations')} generations of "
             f"{meta.get('population')} particles, {meta.get('replicates')} replicates per set, "
             f"final temperature {meta.get('final_temperature')}, "
             f"{meta.get('accepted_simulations')} parameter sets simulated, "
             f"{meta.get('wall_seconds')} s on {meta.get('workers')} workers"]
    with store.atomic_path(Path(dest)) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + posterior[list(targets.priors) + ["weight"]]
                       .to_csv(index=False, float_format="%.6g"))
    return Path(dest)
