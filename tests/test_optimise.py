"""`schoolflow optimise --objective travel`: the exact plan against brute force on problems
small enough to enumerate every plan, infeasible targets reported with the right largest
share, and the chosen plan carried out by the simulation within the scenario's constraints."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.experiments import closure_milp as cm
from sim.experiments.closure_problem import ClosureProblem, Quota


def random_problem(seed: int, n: int = 6, n_r: int = 2, years=(1, 2)) -> ClosureProblem:
    """A small problem with tight seats, beds and canteen places so that they bind."""
    rng = np.random.default_rng(seed)
    pupils_g = np.zeros((n, dt.N_GRADES + 1), np.int64)
    hi = np.where(rng.random(n) < 0.4, 3, 6)
    for i in range(n):
        pupils_g[i, 1:hi[i] + 1] = rng.integers(0, 9, hi[i])
    minutes = rng.uniform(5, 50, (n, n_r))
    minutes[rng.random((n, n_r)) < 0.15] = np.inf
    n_k = len(years)
    seats = np.zeros((n_r, n_k, dt.N_GRADES + 1), np.int64)
    seats[:, :, 1:7] = 45
    seats[:, 1:, 1:7] += 45 * (rng.random((n_r, 1, 1)) < 0.5)  # an expansion in year 2
    enrolled = np.zeros((n_r, dt.N_GRADES + 1), np.int64)
    enrolled[:, 1:7] = rng.integers(30, 44, (n_r, 6))
    canteen = np.where(rng.random((n_r, n_k)) < 0.5, rng.integers(20, 60, (n_r, n_k)), -1)
    quotas = [Quota(years[0], 31, None, np.array([0, 1]), 2),
              Quota(years[0], 101, 0.3, np.arange(n), n),
              Quota(years[-1], 101, 0.7, np.arange(n), n)]
    return ClosureProblem(
        names=[f"C{i}" for i in range(n)] + [f"R{j}" for j in range(n_r)],
        school=np.arange(n), receiver=np.arange(n, n + n_r), years=list(years),
        first_year=np.full(n, years[0]), pupils_g=pupils_g,
        boarding_age=pupils_g[:, 4:].sum(axis=1), grade_lo=np.ones(n, int), grade_hi=hi,
        minutes=minutes, teaches=np.ones((n, n_r), bool), exempt_over_min=40.0,
        max_travel_min=30.0, seats=seats, enrolled=enrolled,
        beds_free=rng.integers(0, 15, (n_r, n_k)), new_beds=5, canteen=canteen, quotas=quotas,
        horizon=years[-1] + 1, capacity_check=True, exempt_grades=3)


def feasible(p: ClosureProblem, plan: tuple) -> bool:
    """Whether a plan (per candidate None or (receiver j, year index k)) keeps every constraint,
    checked directly (not through the MILP's rows)."""
    free = p.seats - p.enrolled[:, None, :]
    for i, a in enumerate(plan):
        if a is not None:
            j, k = a
            if not (p.teaches[i, j] and p.minutes[i, j] <= p.exempt_over_min
                    and p.years[k] >= p.first_year[i]):
                return False
    for j in range(len(p.receiver)):
        for k in range(len(p.years)):
            upto = [i for i, a in enumerate(plan) if a is not None and a[0] == j and a[1] <= k]
            now = [i for i in upto if plan[i][1] == k]
            earlier = [i for i in upto if plan[i][1] < k]
            for g in range(1, dt.N_GRADES + 1):
                if sum(p.pupils_g[i, g] for i in upto) > max(0, free[j, k, g]):
                    return False
            for i in now:  # the simulation's check over the closing school's grades
                lo, hi = p.grade_lo[i], p.grade_hi[i]
                taken = sum(p.pupils[x] for x in now) + sum(
                    p.pupils_g[x, lo:hi + 1].sum() for x in earlier)
                if taken > free[j, k, lo:hi + 1].sum():
                    return False
            beds = sum(p.boarding_age[i] for i in upto if p.minutes[i, j] > p.max_travel_min)
            if beds > max(0, p.beds_free[j, k] + p.new_beds):
                return False
            if p.canteen[j, k] >= 0 and sum(p.pupils[i] for i in now) > p.canteen[j, k]:
                return False
    return True


def closed_by(p: ClosureProblem, plan: tuple, q: Quota) -> int:
    return sum(1 for i in q.covered if plan[i] is not None and p.years[plan[i][1]] <= q.year)


def all_plans(p: ClosureProblem) -> list[tuple]:
    options = [None] + [(j, k) for j in range(len(p.receiver)) for k in range(len(p.years))]
    return [plan for plan in itertools.product(options, repeat=len(p.school))
            if feasible(p, plan)]


def as_arrays(p: ClosureProblem, plan: tuple) -> tuple[np.ndarray, np.ndarray]:
    year = np.array([0 if a is None else p.years[a[1]] for a in plan])
    into = np.array([-1 if a is None else p.receiver[a[0]] for a in plan])
    return year, into


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_exact_plan_equals_brute_force(seed):
    p = random_problem(seed)
    plans = all_plans(p)
    # the largest closures, quota by quota, as the MILP defines them
    asked = [cm.required(p, q) for q in p.quotas]
    most, keep = [], plans
    for q, want in zip(p.quotas, asked, strict=True):
        best = max(closed_by(p, plan, q) for plan in keep)
        most.append(best)
        keep = [plan for plan in keep if closed_by(p, plan, q) >= min(want, best)]
    assert cm.largest_closures(p, asked) == most
    targets = [min(a, m) for a, m in zip(asked, most, strict=True)]
    ok = [plan for plan in plans
          if all(closed_by(p, plan, q) >= t for q, t in zip(p.quotas, targets, strict=True))]
    brute = min(cm.travel_cost(p, *as_arrays(p, plan)) for plan in ok)
    sol = cm.best_plan(p, targets)
    assert sol.status == "optimal"
    assert sol.cost == pytest.approx(brute, rel=1e-9, abs=1e-6)
    mine = tuple(None if sol.into[i] < 0 else (int(np.flatnonzero(p.receiver == sol.into[i])[0]),
                                              p.years.index(int(sol.year[i])))
                 for i in range(len(p.school)))
    assert feasible(p, mine)


def test_infeasible_target_reports_largest_share_and_the_binding_constraint():
    p = random_problem(5)
    # every candidate asked for in year 1, with room for few: seats bind
    p.seats[:] = 0
    p.seats[:, :, 1:7] = 45
    p.enrolled[:] = 0
    p.enrolled[:, 1:7] = 40  # 5 free seats a grade
    p.minutes[:] = 10.0
    p.canteen[:] = -1
    p.quotas = [Quota(1, 101, 1.0, np.arange(len(p.school)), len(p.school))]
    plans = all_plans(p)
    best = max(closed_by(p, plan, p.quotas[0]) for plan in plans)
    assert best < len(p.school)  # the test's premise: not every school fits
    most = cm.largest_closures(p, [len(p.school)])
    assert most == [best]
    binding = cm.binding_constraints(p, [len(p.school)], most)[0]
    assert binding["seats"] == len(p.school)  # seats relaxed: every school can close
    assert binding["exemption"] == best  # the exemption is not what binds here


def small_optimise_dict(small_dict: dict) -> dict:
    small_dict["years"] = 3
    small_dict["policies"]["exemptions"] = {"keep_teaching_points_if_travel_over_min": 60}
    small_dict["policies"]["closures"] = [
        {"year": 1, "at_most": 30, "levels": ["teaching_point", "village_primary"]},
        {"year": 1, "at_most": 100, "share": 0.6, "levels": ["teaching_point", "village_primary"]},
        {"year": 2, "at_most": 100, "share": 0.95,
         "levels": ["teaching_point", "village_primary"]}]
    return small_dict


@pytest.fixture(scope="module")
def optimised(tmp_path_factory):
    import copy

    from conftest import SMALL

    from sim.experiments.optimise import optimise

    tmp = tmp_path_factory.mktemp("optimise")
    path = tmp / "small.yaml"
    path.write_text(yaml.safe_dump(small_optimise_dict(copy.deepcopy(SMALL))))
    return optimise(path, tmp / "out"), tmp


def test_the_plan_is_carried_out_within_the_constraints(optimised):
    res, tmp = optimised
    p, sol = res.problem, res.solution
    out = tmp / "out"
    assert sol.status == "optimal" and sol.closed().sum() > 0
    # the simulation closes each school in its year into its receiver, nothing deferred
    assert (res.run.into == sol.into).all() and (res.run.year == sol.year).all()
    assert res.run.deferred == 0
    plan = pd.read_csv(out / "plan.csv")
    closed = plan[plan.action == "close"]
    assert len(closed) == sol.closed().sum()
    assert (closed.minutes <= p.exempt_over_min).all()  # the exemption
    targets = pd.read_csv(out / "targets.csv")
    # the 95% target cannot be met: its largest share is what the plan closes by its year
    last = targets.iloc[-1]
    assert not last.met and last.largest < last.asked
    assert last.largest == (closed.year <= last.year).sum()
    for _, t in targets.iterrows():
        q = next(q for q in p.quotas if q.year == t.year and q.below == t.below)
        done = sum(1 for i in q.covered if sol.closed()[i] and sol.year[i] <= q.year)
        assert done >= min(t.asked, t.largest)
    # seats by grade at every receiver after the last closure year
    free = p.seats[:, -1, :] - p.enrolled
    for j, r in enumerate(p.receiver):
        into = sol.into == r
        assert (p.pupils_g[into].sum(axis=0)[1:] <= np.maximum(free[j, 1:], 0)).all()
    # the scenario written runs as named actions: its closures are the plan's
    doc = yaml.safe_load((out / "optimised.yaml").read_text())
    named = sorted(s for a in doc["policies"]["actions"] for s in a["close"])
    assert named == sorted(closed.school_id)
    assert "closures" not in doc["policies"]  # the rules stay, behind the named closures


def test_comparison_and_map_show_the_plans(optimised):
    res, tmp = optimised
    comp = pd.read_csv(tmp / "out" / "comparison.csv")
    assert list(comp.plan) == ["exact (travel)", "smallest_first", "least_added_travel"]
    # at the same closures the exact plan is never worse than a rule plan
    rules = comp.iloc[1:]
    assert (rules.pupil_minute_years >= rules.exact_at_same_closures - 1e-6).all()
    assert comp.iloc[0].pupil_minute_years == pytest.approx(res.solution.cost, abs=0.05)
    from sim.experiments.optimise import plan_map
    from sim.model import scenario as sc
    from sim.model.build import build_model

    drawn = plan_map(res.problem, build_model(sc.load(tmp / "small.yaml")), res.solution,
                     tmp / "map.png")
    assert drawn["closures"] == int(res.solution.closed().sum())
    assert drawn["kept"] == int((~res.problem.closable()).sum())
    assert drawn["receivers"] == len(set(res.solution.into[res.solution.closed()].tolist()))


def test_same_plan_on_one_and_two_threads(optimised, tmp_path):
    from sim.experiments.optimise import optimise
    from sim.model import engine

    res, tmp = optimised
    engine.set_workers(1)
    try:
        again = optimise(tmp / "small.yaml", tmp_path / "one")
    finally:
        engine.set_workers(None)
    assert (again.solution.into == res.solution.into).all()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "one" / "comparison.csv"),
                                  pd.read_csv(tmp / "out" / "comparison.csv"))


def test_plan_check_agrees_with_the_direct_check():
    p = random_problem(2)
    options = [None] + [(j, k) for j in range(len(p.receiver)) for k in range(len(p.years))]
    rng = np.random.default_rng(0)
    verdicts = []
    for _ in range(60):
        plan = tuple(options[rng.integers(len(options))] for _ in p.school)
        verdicts.append(feasible(p, plan))
        assert cm.plan_is_feasible(p, *as_arrays(p, plan)) == verdicts[-1], plan
    assert any(verdicts) and not all(verdicts)  # both kinds were tried


def test_a_plan_on_a_built_county_runs_as_if_built_from_its_scenario(small_dict):
    from conftest import simulate

    from sim.model import scenario as sc
    from sim.model.build import build_model, with_plan
    from sim.model.engine import trace_replicate

    small_dict["years"] = 2
    plan = [{"year": 1, "close": ["V0000-primary"], "receiver": "T00-nine-year"},
            {"year": 2, "expand": "T02-central", "classes_per_grade": 1}]
    rules = [{"year": 2, "at_most": 30}]
    base = sc.validate(small_dict)
    replanned = with_plan(build_model(base), plan, rules)
    small_dict["policies"] |= {"actions": plan, "closures": rules}
    _, S, H, C, out = simulate(sc.validate(small_dict))
    states = list(trace_replicate(replanned, 0))
    assert (states[-1].S.closed_year == S.closed_year).all()
    assert (states[-1].S.closed_year > 0).sum() >= 1
    np.testing.assert_array_equal(np.stack([y.indicators for y in states]), out)
    n = int(C.n_used[0])  # records beyond those in use hold no child
    assert int(states[-1].C.n_used[0]) == n
    np.testing.assert_array_equal(states[-1].C.school[:n], C.school[:n])


def test_repair_keeps_every_year_on_its_quota():
    from sim.experiments import optimise_children as oc

    p = random_problem(7, n=12, n_r=3, years=(1, 2, 3))
    p.minutes[:] = 10.0  # every candidate closable
    p.quotas = [Quota(1, 31, None, np.array([0, 1, 2]), 3),
                Quota(1, 101, 0.4, np.arange(12), 12),
                Quota(2, 101, 0.6, np.arange(12), 12),
                Quota(3, 101, 0.75, np.arange(12), 12)]
    space = oc.search_space(p, [3, 5, 8, 9])
    rng = np.random.default_rng(3)
    for _ in range(200):
        x = oc.repair(space, rng.integers(0, 4, 12).astype(float) + rng.random(12) - 0.5, rng)
        assert ((x[[0, 1, 2]] >= 1) & (x[[0, 1, 2]] <= 1)).all()  # forced: closed in year 1
        for k, covered, target in space.targets:
            assert ((x[covered] > 0) & (x[covered] <= k)).sum() == target


@pytest.fixture(scope="module")
def children_run(optimised, tmp_path_factory):
    from sim.experiments.optimise import ChildrenSearch, optimise

    _, tmp = optimised
    out = tmp_path_factory.mktemp("children") / "out"
    search = ChildrenSearch(population=6, generations=2, replicates=3, seed=4)
    return optimise(tmp / "small.yaml", out, objective="children", children=search), out, search


def test_children_front_keeps_the_quotas_and_reports_paired_differences(children_run, optimised):
    from sim.experiments import optimise_children as oc
    from sim.model import scenario as sc
    from sim.model.build import build_model, with_plan

    res, out, search = children_run
    _, tmp = optimised
    front = pd.read_csv(out / "pareto.csv")
    ref_name = front.plan.iloc[0]
    assert ref_name == "smallest_first" and front.chosen.sum() == 1
    plans = front.iloc[1:]
    assert len(plans) >= 1
    p = res.problem
    targets = {q.year: sum(1 for i in q.covered if res.solution.into[i] >= 0
                           and res.solution.year[i] <= q.year) for q in p.quotas if q.share}
    for actions in plans.actions:
        closed = {s: a["year"] for a in json.loads(actions) for s in a["close"]}
        for q in p.quotas:
            if q.share is not None:
                n = sum(1 for i in q.covered if closed.get(p.names[p.school[i]], 99) <= q.year)
                assert n == targets[q.year]
    # the chosen plan's paired difference, recomputed on the fresh replicates
    chosen = front[front.chosen].iloc[0]
    model = build_model(sc.load(tmp / "small.yaml"))
    mine = with_plan(model, json.loads(chosen.actions))
    ref = with_plan(model, closures=model.scenario.policies.closures)
    from sim.model.engine import run_model

    start, stop = oc.FRESH_FIRST, oc.FRESH_FIRST + search.replicates
    row = oc.ind.ROW["children_out_of_school"]
    d = (run_model(mine, start, stop).values[:, -1, row, oc.ALL]
         - run_model(ref, start, stop).values[:, -1, row, oc.ALL])
    assert chosen[f"children_out_of_school_vs_{ref_name}"] == pytest.approx(np.median(d))
    assert chosen.children_out_of_school == plans.children_out_of_school.min()
    # the figure shows every front plan and the rule plan
    from sim.experiments.optimise import pareto_figure

    drawn = pareto_figure(front, out.parent / "p.png")
    assert drawn == {"plans": len(plans), "reference": "smallest_first"}


def test_children_search_is_the_same_on_two_dask_workers(children_run, optimised, tmp_path):
    from sim.experiments.optimise import optimise

    res, out, search = children_run
    _, tmp = optimised
    again = optimise(tmp / "small.yaml", tmp_path / "two", objective="children",
                     children=search, workers=2)
    pd.testing.assert_frame_equal(again.front, res.front)


def test_an_interrupted_search_resumes_to_the_same_front(children_run, optimised, tmp_path,
                                                         monkeypatch):
    from sim.experiments import optimise as op
    from sim.experiments import optimise_children as oc

    res, out, search = children_run
    _, tmp = optimised
    target = tmp_path / "resumed"
    real = oc.front_table

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(oc, "front_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        op.optimise(tmp / "small.yaml", target, objective="children", children=search)
    cache, meta = op.search_cache(target)
    assert cache.exists() and meta.exists() and not target.exists()
    kept = len(pd.read_csv(cache))
    with pytest.raises(InputError, match="--resume"):  # not started again by mistake
        op.optimise(tmp / "small.yaml", target, objective="children", children=search)
    monkeypatch.setattr(oc, "front_table", real)
    runs = []
    original = oc.PlanEvaluator.many

    def counting(self, X, *args, **kwargs):
        runs.append(len(X))
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(oc.PlanEvaluator, "many", counting)
    again = op.optimise(tmp / "small.yaml", target, objective="children", children=search,
                        resume=True)
    pd.testing.assert_frame_equal(again.front, res.front)
    assert kept > 0 and sum(runs) == len(res.front) - 1  # only the fresh front runs again
    assert not cache.exists() and not meta.exists()  # finished: the kept runs are removed
