"""`schoolflow optimise --objective children`: closure plans judged by what the simulation says
they do to children, searched with NSGA-II (pymoo).

A plan gives each closable candidate school (`ClosureProblem`: within the travel exemption) a
closure year or none; its pupils go to the nearest open school teaching their grades, with the
simulation's capacity check, as for the rules. A repair keeps every plan on the scenario's
targets: by each rule's year, exactly the number of its schools the exact `travel` plan closes
(what it asks, or the largest number that can close), the schools of a rule without a share
closed by its year. Objectives, each the mean over the same replicates for every plan (common
random numbers), in the final simulated year: children out of school, the share of day pupils
in grades 1-3 travelling over 30 minutes, and the cost per pupil (yuan per year). The search
starts from the rule plans and the exact `travel` plan; the final front, and the rule plan
`smallest_first`, are then run on fresh replicates (from FRESH_FIRST on), each front plan's
paired difference against the rule plan with its 90% interval over those replicates.

The run is determined by the scenario and its seed: pymoo's draws by `seed`, the replicates
by the scenario's seed; numba threads change nothing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import indicators as ind
from sim.core.i18n import N_
from sim.experiments.closure_problem import ClosureProblem
from sim.model.build import Model, with_plan
from sim.model.engine import run_model

#: the objectives, all minimised: (indicator, words)
OBJECTIVES = (("children_out_of_school", N_("children out of school")),
              ("share_lower_primary_over_30min", N_("grades 1-3 over 30 minutes")),
              ("cost_per_pupil_yuan", N_("cost per pupil (yuan per year)")))
ALL = 2  #: the "all" level's column in a run's values
FRESH_FIRST = 1000  #: first replicate of the final front's re-evaluation


@dataclass
class SearchSpace:
    """Genes: for each closable candidate (`genes` -> candidate index) 0 = stays open, k =
    closes in the k-th closure year. `forced[g]`: the latest year index by which a rule without
    a share closes it (0: none). `targets`: (year index, genes covered, number closed by then)
    for each share rule."""

    problem: ClosureProblem
    genes: np.ndarray
    forced: np.ndarray
    targets: list[tuple[int, np.ndarray, int]]

    @property
    def n_years(self) -> int:
        return len(self.problem.years)


def search_space(p: ClosureProblem, closed_by_year_target: list[int]) -> SearchSpace:
    """Genes and quota targets from the problem and the number each rule must close
    (`closed_by_year_target[q]`: what the exact plan closes of rule q by its year)."""
    genes = np.flatnonzero(p.closable())
    gpos = {int(i): g for g, i in enumerate(genes)}
    forced = np.zeros(len(genes), np.int64)
    targets = []
    for q, t in zip(p.quotas, closed_by_year_target, strict=True):
        k = p.years.index(q.year) + 1
        covered = np.array([gpos[int(i)] for i in q.covered if int(i) in gpos], np.int64)
        if q.share is None:
            forced[covered] = np.where(forced[covered] > 0, np.minimum(forced[covered], k), k)
        else:
            targets.append((k, covered, int(t)))
    return SearchSpace(p, genes, forced, targets)


def repair(space: SearchSpace, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plan moved onto the targets: forced schools closed by their year; for each share
    rule, in year order, schools added (closed in its year) or put off (to the next year, or
    kept open after the last) until exactly its target is closed by its year."""
    x = np.clip(np.round(x), 0, space.n_years).astype(np.int64)
    f = space.forced > 0
    x[f] = np.where((x[f] == 0) | (x[f] > space.forced[f]), space.forced[f], x[f])
    for k, covered, target in sorted(space.targets, key=lambda t: t[0]):
        by = covered[(x[covered] > 0) & (x[covered] <= k)]
        if len(by) < target:
            later = covered[(x[covered] == 0) | (x[covered] > k)]
            pick = rng.choice(later, size=min(target - len(by), len(later)), replace=False)
            x[pick] = k
        elif len(by) > target:  # put off closures of this year that no rule forces
            movable = by[(x[by] == k) & (space.forced[by] == 0)]
            pick = rng.choice(movable, size=min(len(by) - target, len(movable)), replace=False)
            x[pick] = 0 if k == space.n_years else k + 1
    return x


def plan_of(space: SearchSpace, x: np.ndarray) -> list[dict]:
    """A gene vector as named close actions (receiver: the nearest, as for rules)."""
    p = space.problem
    acts = []
    for k, year in enumerate(p.years, start=1):
        schools = [p.names[p.school[space.genes[g]]] for g in np.flatnonzero(x == k)]
        if schools:
            acts.append({"year": int(year), "close": schools})
    return acts


def genes_of(space: SearchSpace, year: np.ndarray, into: np.ndarray) -> np.ndarray:
    """A plan given per candidate (closure year, receiver or -1) as genes."""
    p = space.problem
    x = np.zeros(len(space.genes), np.int64)
    for g, i in enumerate(space.genes):
        if into[i] >= 0 and int(year[i]) in p.years:
            x[g] = p.years.index(int(year[i])) + 1
    return x


ROWS = [ind.ROW[name] for name, _ in OBJECTIVES]


@functools.lru_cache(maxsize=2)
def _built(path: str, overrides: str) -> Model:
    from sim.model import scenario as sc
    from sim.model.build import build_model

    return build_model(sc.load(path, json.loads(overrides)))


def plan_values(path: str, overrides: str, actions: str, start: int, stop: int,
                threads: int | None = None) -> np.ndarray:
    """(replicates, objectives) of a plan (JSON actions) on the scenario at `path`, built once
    per process: what a Dask worker runs."""
    from sim.experiments.sweep_run import keep_freed_memory
    from sim.model import engine

    engine.set_workers(threads)
    keep_freed_memory()
    model = _built(path, overrides)
    return run_model(with_plan(model, json.loads(actions)), start, stop).values[:, -1, ROWS, ALL]


class PlanEvaluator:
    """Runs plans on the built model (`with_plan`; the scenario's rules stay, acting where a
    plan leaves a target unmet), each plan on the same replicates: in this process, or on a
    Dask client (`client`, with `threads` numba threads per task) that builds the scenario at
    `source` (path, overrides) once per worker. The mean objectives of every plan run are kept
    in `cache` (a CSV file, appended after each generation): a search run again with the same
    settings replays from it (`--resume`)."""

    def __init__(self, model: Model, space: SearchSpace, replicates: int,
                 source: tuple[str, dict] | None = None, client=None,
                 threads: int | None = None, cache: Path | None = None):
        self.model, self.space, self.replicates = model, space, replicates
        self.source = (str(source[0]), json.dumps(source[1], sort_keys=True)) if source else None
        self.client, self.threads, self.cache = client, threads, cache
        self.evaluations = 0
        self.known: dict[str, np.ndarray] = {}
        if cache is not None and cache.exists():
            table = pd.read_csv(cache, dtype={"genes": str})
            self.known = {g: row for g, row in zip(table.genes, table[[n for n, _ in OBJECTIVES]]
                                                   .to_numpy(float), strict=True)}
        self.replayed = len(self.known)

    def values(self, x: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(replicates, objectives): the final year's values of the plan's runs."""
        return self.many([x], start, stop)[0]

    def many(self, X: list[np.ndarray], start: int = 0, stop: int | None = None
             ) -> list[np.ndarray]:
        """values() of several plans, on the Dask client when there is one."""
        stop = self.replicates if stop is None else stop
        self.evaluations += len(X)
        plans = [json.dumps(plan_of(self.space, x)) for x in X]
        if self.client is None or self.source is None:
            return [run_model(with_plan(self.model, json.loads(a)), start, stop)
                    .values[:, -1, ROWS, ALL] for a in plans]
        futures = self.client.map(plan_values, [self.source[0]] * len(plans),
                                  [self.source[1]] * len(plans), plans, [start] * len(plans),
                                  [stop] * len(plans), [self.threads] * len(plans), pure=False)
        return self.client.gather(futures)

    def model_values(self, model: Model, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(replicates, objectives) of a built model's runs (e.g. a rule plan's)."""
        stop = self.replicates if stop is None else stop
        self.evaluations += 1
        return run_model(model, start, stop).values[:, -1, ROWS, ALL]

    def means(self, X: np.ndarray) -> np.ndarray:
        """(plans, objectives): mean objectives of each plan on replicates 0..replicates-1,
        from the cache where it has them."""
        keys = [" ".join(map(str, np.asarray(x).astype(np.int64))) for x in X]
        todo = [k for k in dict.fromkeys(keys) if k not in self.known]
        if todo:
            runs = self.many([np.array(k.split(), np.int64) for k in todo])
            new = {k: np.nanmean(v, axis=0) for k, v in zip(todo, runs, strict=True)}
            self.known.update(new)
            if self.cache is not None:
                rows = pd.DataFrame([[k, *v] for k, v in new.items()],
                                    columns=["genes", *[n for n, _ in OBJECTIVES]])
                rows.to_csv(self.cache, mode="a", header=not self.cache.exists(), index=False,
                            float_format="%.17g")
        return np.array([self.known[k] for k in keys])


def search(evaluator: PlanEvaluator, starts: list[np.ndarray], pop_size: int, generations: int,
           seed: int):
    """NSGA-II over the genes, the first generation seeded with `starts` (then repaired random
    plans). Returns pymoo's result."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.pntx import TwoPointCrossover
    from pymoo.operators.mutation.pm import PM
    from pymoo.optimize import minimize

    space = evaluator.space
    rng = np.random.default_rng(seed)

    class Plans(Problem):
        def __init__(self):
            super().__init__(n_var=len(space.genes), n_obj=len(OBJECTIVES), xl=0,
                             xu=space.n_years, vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = evaluator.means(X)

    class Quotas(Repair):
        def _do(self, problem, X, **kwargs):
            return np.array([repair(space, x, rng) for x in X], float)

    first = [repair(space, s, rng) for s in starts]
    while len(first) < pop_size:
        first.append(repair(space, rng.integers(0, space.n_years + 1, len(space.genes)), rng))
    algorithm = NSGA2(pop_size=pop_size, sampling=np.array(first[:pop_size], float),
                      crossover=TwoPointCrossover(), mutation=PM(eta=3, vtype=float),
                      repair=Quotas(), eliminate_duplicates=True)
    return minimize(Plans(), algorithm, ("n_gen", generations), seed=seed, verbose=False)


def paired(fresh: np.ndarray, reference: np.ndarray) -> list[tuple[float, float, float]]:
    """(median, 5%, 95%) over replicates of plan minus reference, per objective."""
    d = fresh - reference
    return [tuple(float(v) for v in np.nanquantile(d[:, j], [0.5, 0.05, 0.95]))
            for j in range(d.shape[1])]


def front_table(evaluator: PlanEvaluator, front: np.ndarray, reference: Model,
                reference_name: str) -> pd.DataFrame:
    """Each front plan on fresh replicates: its mean objectives and its paired differences
    against the reference plan (a built model, e.g. the rule plan; median and 90% interval)."""
    start, stop = FRESH_FIRST, FRESH_FIRST + evaluator.replicates
    ref = evaluator.model_values(reference, start, stop)
    rows = []
    for n, (x, vals) in enumerate(zip(front, evaluator.many(list(front), start, stop),
                                      strict=True)):
        row: dict = {"plan": f"front_{n}", "closures": int((x > 0).sum())}
        for (name, _), mean, (med, lo, hi) in zip(OBJECTIVES, np.nanmean(vals, axis=0),
                                                  paired(vals, ref), strict=True):
            row[name] = mean
            row[f"{name}_vs_{reference_name}"] = med
            row[f"{name}_vs_{reference_name}_p05"] = lo
            row[f"{name}_vs_{reference_name}_p95"] = hi
        row["actions"] = json.dumps(plan_of(evaluator.space, x))
        rows.append(row)
    ref_row = {"plan": reference_name, "closures": np.nan}
    for (name, _), mean in zip(OBJECTIVES, np.nanmean(ref, axis=0), strict=True):
        ref_row[name] = mean
    ref_row["actions"] = "the scenario's closure rules"
    return pd.DataFrame([ref_row, *rows])
