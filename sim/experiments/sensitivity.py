"""Global sensitivity analysis with SALib: which parameters drive an indicator.

`schoolflow sensitivity SCENARIO --params PATH=LOW:HIGH ... [--method sobol|morris]` (or a
sweep file in place of SCENARIO: its base scenario and its parameters' ranges) draws a SALib
design over the parameter ranges (Sobol' sequence with Saltelli's scheme, or Morris
trajectories), runs every design point as a scenario (the base file with those values) for
`replicates` replicates with common random numbers (the same replicate seeds at every point),
and analyses the mean over replicates of each chosen indicator in one year:

- sobol: first-order (S1) and total (ST) indices with bootstrap confidence intervals;
- morris: mu* (mean absolute elementary effect, in the indicator's units) with its confidence
  interval, and sigma.

Writes DIR/sensitivity.csv (indicator, level, parameter, indices, intervals), DIR/samples.csv
(the design and each point's indicator means) and DIR/sensitivity.png.

By default the points run one after another in this process (all cores on each point's
replicates). With `--workers N` or `--scheduler ADDRESS` they run as a sweep on Dask instead
(`sim/experiments/sweep_run.py`): one chunk per point, written to DIR/runs/ as it finishes, so `--resume`
continues an interrupted analysis; the numbers are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.dtypes import LEVELS
from sim.core.errors import InputError
from sim.core.indicators import INDICATOR_NAMES
from sim.experiments.calibrate import simulated_means
from sim.experiments.run import run_scenario
from sim.model import scenario as sc
from sim.outputs.store import atomic_path


@dataclass
class Setup:
    base: Path
    names: list[str]            #: dotted scenario paths
    bounds: list[list[float]]   #: [low, high] per parameter
    integer: list[bool]         #: parameter takes whole numbers
    targets: list[tuple[str, str]]  #: (indicator, level)
    method: str
    samples: int                #: SALib's N (base samples / trajectories)
    replicates: int
    year: int
    seed: int

    @property
    def problem(self) -> dict:
        return {"num_vars": len(self.names), "names": self.names, "bounds": self.bounds}


def parse_params(base: Path, items: list[str]) -> tuple[list[str], list[list[float]], list[bool]]:
    """`PATH=LOW:HIGH` items -> names, bounds, integer flags; checks each path and both ends
    against the scenario (a wrong path or value names the file, the field and the fix)."""
    names, bounds, integer = [], [], []
    for item in items:
        path, _, rng = item.partition("=")
        low, _, high = rng.partition(":")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            raise InputError("--params", item, "write PATH=LOW:HIGH, e.g. "
                             "behaviour.dropout.per_10min_travel=0.05:0.2") from None
        if not lo < hi:
            raise InputError("--params", item, "LOW must be below HIGH")
        is_int = sc.numeric_field(base, path, (lo, hi))
        names.append(path)
        bounds.append([lo, hi])
        integer.append(is_int)
    if not names:
        raise InputError("--params", "(none)", "give at least one PATH=LOW:HIGH")
    return names, bounds, integer


def source(path: Path, params: list[str]) -> tuple[Path, list[str], int | None]:
    """(base scenario, PATH=LOW:HIGH items, replicates or None) from a scenario file with
    `--params`, or from a sweep file: its base, its ranges, and numeric value lists taken as
    their min:max range; `params` add to or replace the sweep's."""
    from sim.experiments.sweep import Range, load_sweep

    raw = sc.read_yaml(path)
    if "base" not in raw or "parameters" not in raw:
        return path, params, None
    sweep = load_sweep(path)
    items: dict[str, str] = {}
    for name, spec in sweep.spec.parameters.items():
        if isinstance(spec, Range):
            items[name] = f"{name}={spec.low}:{spec.high}"
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec):
            items[name] = f"{name}={min(spec)}:{max(spec)}"
        else:
            raise InputError(str(path), f"parameters.{name}", "not numeric: sensitivity needs a "
                             "range; give it with --params PATH=LOW:HIGH or leave it out")
    for item in params:
        items[item.partition("=")[0]] = item
    return sweep.base, list(items.values()), sweep.spec.replicates


def parse_targets(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split(","):
        name, _, level = item.strip().partition(":")
        level = level or "all"
        if name not in INDICATOR_NAMES or level not in LEVELS:
            raise InputError("--indicators", item, "use NAME or NAME:LEVEL (primary, junior, all) "
                             "with a name from docs/indicators.md")
        out.append((name, level))
    return out


def design(setup: Setup) -> np.ndarray:
    """The SALib design: (points, parameters)."""
    if setup.method == "sobol":
        from SALib.sample import sobol
        return sobol.sample(setup.problem, setup.samples, calc_second_order=False, seed=setup.seed)
    from SALib.sample import morris
    return morris.sample(setup.problem, setup.samples, num_levels=4, seed=setup.seed)


def _point(setup: Setup, row: np.ndarray) -> dict:
    return {n: (int(round(v)) if is_int else float(v))
            for n, v, is_int in zip(setup.names, row, setup.integer, strict=True)}


def as_sweep(setup: Setup, X: np.ndarray):
    """The design as a sweep (one chunk of all replicates per point) for `sim.experiments.sweep_run`."""
    from sim.experiments.sweep import Range, Sweep, SweepFile

    spec = SweepFile(base=str(setup.base), replicates=setup.replicates, design="lhs",
                     points=len(X), seed=setup.seed, chunk_replicates=setup.replicates,
                     parameters={n: Range(low=lo, high=hi, integer=i) for n, (lo, hi), i
                                 in zip(setup.names, setup.bounds, setup.integer, strict=True)})
    return Sweep(setup.base, spec, setup.base, [_point(setup, row) for row in X])


def evaluate_on_dask(setup: Setup, X: np.ndarray, runs: Path, workers: int | None,
                     scheduler: str | None, resume: bool = False, progress=None) -> np.ndarray:
    """`evaluate` as a resumable sweep on Dask: chunks go to `runs`/results/, then the target
    indicators' means are read back. Same numbers as `evaluate`."""
    from sim.experiments import sweep_run

    sweep = as_sweep(setup, X)
    _, todo = sweep_run.prepare(sweep, runs, setup.replicates, resume)
    if progress is not None:
        progress(len(X) - len(todo))
    sweep_run.run_chunks(sweep, runs, todo, workers, scheduler,
                         progress=None if progress is None else lambda info: progress(1))
    df = pd.read_parquet(Path(runs) / "results", columns=["point", "year", "indicator", "level",
                                                          "value"],
                         filters=[("indicator", "in", sorted({n for n, _ in setup.targets}))])
    year = min(setup.year, int(df.year.max()))
    means = df[df.year == year].groupby(["point", "indicator", "level"]).value.mean()
    Y = np.full((len(X), len(setup.targets)), np.nan)
    for j, (name, level) in enumerate(setup.targets):
        col = means.xs((name, level), level=("indicator", "level"))
        Y[col.index.to_numpy(), j] = col.to_numpy()
    return Y


def evaluate(setup: Setup, X: np.ndarray, progress=None) -> np.ndarray:
    """Mean over replicates of each target indicator at every design point: (points, targets).
    Every point uses replicate seeds 0..replicates-1 of the base scenario's root seed."""
    Y = np.empty((len(X), len(setup.targets)))
    for i, row in enumerate(X):
        values = run_scenario(sc.load(setup.base, sc.FIXED_PARAMETERS | _point(setup, row)), 0,
                              setup.replicates).result.values
        year = min(setup.year, values.shape[1] - 1)
        Y[i] = simulated_means(values, [(year, INDICATOR_NAMES.index(name), LEVELS[level], -1)
                                        for name, level in setup.targets])
        if progress is not None:
            progress(1)
    return Y


def analyse(setup: Setup, X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """Indices per target and parameter, with 95% confidence intervals."""
    rows = []
    for j, (name, level) in enumerate(setup.targets):
        y = Y[:, j]
        if setup.method == "sobol":
            from SALib.analyze import sobol
            si = sobol.analyze(setup.problem, y, calc_second_order=False, seed=setup.seed)
            for k, p in enumerate(setup.names):
                rows.append({"indicator": name, "level": level, "parameter": p,
                             "S1": si["S1"][k], "S1_conf": si["S1_conf"][k],
                             "ST": si["ST"][k], "ST_conf": si["ST_conf"][k]})
        else:
            from SALib.analyze import morris
            si = morris.analyze(setup.problem, X, y, num_levels=4, seed=setup.seed)
            for k, p in enumerate(setup.names):
                rows.append({"indicator": name, "level": level, "parameter": p,
                             "mu_star": si["mu_star"][k], "mu_star_conf": si["mu_star_conf"][k],
                             "sigma": si["sigma"][k]})
    table = pd.DataFrame(rows)
    key = "ST" if setup.method == "sobol" else "mu_star"
    table["rank"] = table.groupby(["indicator", "level"])[key].rank(ascending=False).astype(int)
    return table.sort_values(["indicator", "level", "rank"]).reset_index(drop=True)


#: a Sobol' index is stable enough to rank parameters when its 95% confidence half-width is at
#: most this (indices lie in 0-1)
STABLE_CONF = 0.05


def stability_warnings(setup: Setup, table: pd.DataFrame) -> list[str]:
    """Why the indices may not be trusted at this sample size, and the N to use: negative
    first-order indices beyond their confidence interval, first-order above total indices,
    confidence intervals wider than STABLE_CONF. Sobol' confidence shrinks as 1/sqrt(N), so
    the N that brings the widest interval down to STABLE_CONF is N * (widest / STABLE_CONF)^2,
    rounded up to a power of two (SALib's Saltelli design wants one)."""
    if setup.method != "sobol" or table.empty:
        return []
    out = []
    neg = table[table["S1"] + table["S1_conf"] < 0]
    if len(neg):
        out.append(f"{len(neg)} first-order index(es) below zero beyond their confidence "
                   f"interval (e.g. {neg.iloc[0]['parameter']}: S1 = {neg.iloc[0]['S1']:.3g}); "
                   "indices cannot be negative: the sample is too small")
    above = table[table["S1"] > table["ST"] + table[["S1_conf", "ST_conf"]].max(axis=1)]
    if len(above):
        out.append(f"{len(above)} first-order index(es) above the total index (e.g. "
                   f"{above.iloc[0]['parameter']}: S1 {above.iloc[0]['S1']:.3g} > ST "
                   f"{above.iloc[0]['ST']:.3g}); impossible in theory: the sample is too small")
    widest = float(table[["S1_conf", "ST_conf"]].max().max())
    if widest > STABLE_CONF or out:
        need = setup.samples * max(widest / STABLE_CONF, 1.0) ** 2
        n = 1 << int(np.ceil(np.log2(max(need, setup.samples * 2))))
        out.append(f"confidence half-widths up to {widest:.2f} (stable ranking needs at most "
                   f"{STABLE_CONF}); rerun with --samples {n} or more")
    return out


def figure(setup: Setup, table: pd.DataFrame, path: Path) -> Path:
    """One panel per target: indices per parameter with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(setup.targets)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 0.45 * len(setup.names) + 2.2),
                             constrained_layout=True, squeeze=False)
    for ax, (name, level) in zip(axes[0], setup.targets, strict=True):
        d = table[(table.indicator == name) & (table.level == level)].set_index("parameter")
        d = d.loc[setup.names[::-1]]
        pos = np.arange(len(d))
        labels = [p.split(".")[-1] for p in d.index]
        if setup.method == "sobol":
            ax.barh(pos + 0.2, d.ST, 0.4, xerr=d.ST_conf, label="total (ST)", color="#1f77b4")
            ax.barh(pos - 0.2, d.S1, 0.4, xerr=d.S1_conf, label="first order (S1)", color="#ff7f0e")
            ax.set_xlabel("Sobol' index (95% interval)")
            ax.legend(fontsize=8)
        else:
            ax.barh(pos, d.mu_star, 0.6, xerr=d.mu_star_conf, color="#1f77b4")
            ax.set_xlabel("Morris mu* (indicator units, 95% interval)")
        ax.set_yticks(pos, labels, fontsize=8)
        ax.set_title(f"{name} ({level}), year {setup.year}", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def run(setup: Setup, out: Path, progress=None, workers: int | None = None,
        scheduler: str | None = None, resume: bool = False) -> pd.DataFrame:
    """Design, evaluate (in this process, or on Dask when `workers` or `scheduler` is given),
    analyse; write the table, the samples and the figure into `out`."""
    X = design(setup)
    if workers or scheduler:
        Y = evaluate_on_dask(setup, X, out / "runs", workers, scheduler, resume, progress)
    else:
        Y = evaluate(setup, X, progress)
    table = analyse(setup, X, Y)
    out.mkdir(parents=True, exist_ok=True)
    samples = pd.DataFrame(X, columns=setup.names)
    for j, (name, level) in enumerate(setup.targets):
        samples[f"{name}:{level}"] = Y[:, j]
    with atomic_path(out / "samples.csv") as tmp:
        samples.to_csv(tmp, index=False)
    with atomic_path(out / "sensitivity.csv") as tmp:
        table.to_csv(tmp, index=False)
    figure(setup, table, out / "sensitivity.png")
    return table
