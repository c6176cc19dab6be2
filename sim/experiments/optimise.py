"""`schoolflow optimise`: which schools the plan should close, when, and into which receiver.

Objective `travel` (sim/experiments/closure_milp.py): the exact plan of least pupil-minutes
that meets the scenario's closure targets under its constraints (sim/experiments/
closure_problem.py), or, where a target cannot be met, the largest share that can and the
constraint that binds. The plan is written as a scenario whose named actions
(`policies.actions`) close each school into its receiver in its year, before the rules, which
act only where a target is left unmet (`optimised_scenario`).
The rule plans (the scenario's rules ranked smallest first and least added travel) are
simulated for replicate 0 and their closures costed the same way, beside the exact plan at the
same number of closures each year. The exact plan is then run for replicate 0 to see that the
simulation carries it out (no deferred closure, the targets reached).

Results folder (written whole or not at all): optimised.yaml, plan.csv, targets.csv,
comparison.csv, plan_map.png, metadata.json; README "Which schools should close" says what
each holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import __version__
from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.core.i18n import N_, _, term
from sim.core.kernels.state import EV_DEFERRED
from sim.experiments import closure_milp as cm
from sim.experiments.closure_problem import ClosureProblem, closure_problem
from sim.experiments.run import check_out
from sim.experiments.sweep_run import optional_client
from sim.model import scenario as sc
from sim.model.build import Model, build_model, with_plan
from sim.model.engine import trace_replicate
from sim.outputs import store
from sim.outputs.thresholds import status_word

RANKINGS = tuple(dt.RANKING_NAMES)  #: the rule plans compared with the exact one
BINDING_WORDS = {"exemption": N_("the travel exemption"), "seats": N_("receivers' seats"),
                 "beds": N_("receivers' beds"), "canteen": N_("receivers' canteen places")}


@dataclass
class SimulatedPlan:
    """What a plan did to the candidates in replicate 0 (school indices; -1: stayed open)."""

    name: str
    year: np.ndarray
    into: np.ndarray
    others_closed: int  #: closures of schools that are not base-year candidates
    deferred: int  #: schools whose closure was deferred at least once (no room)


def simulate_plan(model: Model, p: ClosureProblem, name: str) -> SimulatedPlan:
    """Run replicate 0 up to the last closure year and read which candidates closed, when and
    into which school."""
    last = max(p.years)
    for state in trace_replicate(model, 0):
        if state.year == last:
            S = state.S
            break
    pos = {int(s): i for i, s in enumerate(p.school)}
    year = np.zeros(len(p.school), np.int64)
    into = np.full(len(p.school), -1, np.int64)
    others = 0
    for s in np.flatnonzero(~S.open & (S.closed_year > 0)):
        if int(s) in pos:
            year[pos[int(s)]] = S.closed_year[s]
            into[pos[int(s)]] = S.receiver[s]
        else:
            others += 1
    deferred = int(((S.events[:, 1:last + 1] & EV_DEFERRED) > 0).any(axis=1).sum())
    return SimulatedPlan(name, year, into, others, deferred)


def plan_actions(p: ClosureProblem, sol: cm.Solution) -> list[dict]:
    """The plan's closures as scenario actions: one `close` per (year, receiver), its schools
    in county order."""
    acts: list[dict] = []
    for y in p.years:
        for r in sorted({int(x) for x in sol.into[(sol.year == y) & sol.closed()]}):
            schools = [p.names[p.school[i]] for i in np.flatnonzero((sol.year == y)
                                                                   & (sol.into == r))]
            acts.append({"year": int(y), "close": schools, "receiver": p.names[r]})
    return acts


def optimised_scenario(path: Path, out: Path, base: sc.Scenario, actions: list[dict],
                       objective: str = "travel") -> dict:
    """The scenario file of a chosen plan: the given scenario with the plan's named closures
    added. Its closure rules stay, and act only where the named closures leave a target unmet
    (a rule closes the difference between its target and the schools already closed): in the
    base year's terms the plan meets every target it can, so the rules then only keep the
    schools the exemption protects for the lower grades, try schools that could not fit, and
    in later years close schools that have shrunk under their limit since the base year (the
    plans' standing "dynamic adjustment")."""
    what = {"travel": "the closures of least pupil-minutes that meet its targets",
            "children": "the closures meeting its targets with the fewest children out of "
                        "school on the searched front"}[objective]
    return {"name": f"{base.name}_optimised_{objective}",
            "description": f"{base.name}: {what} (schoolflow optimise --objective {objective})",
            "extends": os.path.relpath(Path(path).resolve(), Path(out).resolve()),
            "policies": {"actions": actions}}


def _targets_table(p: ClosureProblem, asked: list[int], most: list[int],
                   binding: list[dict[str, int]]) -> pd.DataFrame:
    rows = []
    for q, a, m, b in zip(p.quotas, asked, most, binding, strict=True):
        row = {"year": q.year, "below": q.below,
               "share": "all" if q.share is None else q.share, "base_schools": q.base_count,
               "asked": a, "largest": m, "largest_share": m / q.base_count if q.base_count
               else np.nan, "met": m >= a,
               "binding": "; ".join(BINDING_WORDS[f] for f in cm.FAMILIES
                                    if b.get(f, m) > m)}
        for f in cm.FAMILIES + ("all",):
            row[f"largest_without_{f}"] = b.get(f, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _plan_table(p: ClosureProblem, model: Model, sol: cm.Solution) -> pd.DataFrame:
    j_of = {int(s): j for j, s in enumerate(p.receiver)}
    kept = ~p.closable()
    rows = []
    for i, s in enumerate(p.school):
        closed = sol.into[i] >= 0
        rows.append({
            "school_id": p.names[s], "level": dt.LEVEL_OF_CODE[int(model.W.school_level0[s])],
            "pupils": int(p.pupils[i]),
            "action": "close" if closed else ("kept by exemption" if kept[i] else "stays open"),
            "year": int(sol.year[i]) if closed else None,
            "receiver": p.names[sol.into[i]] if closed else None,
            "minutes": round(float(p.minutes[i, j_of[int(sol.into[i])]]), 1) if closed else None,
            "nearest_receiver_min": round(float(np.min(np.where(p.teaches[i], p.minutes[i],
                                                                np.inf))), 1)})
    return pd.DataFrame(rows)


def _counts_by_year(p: ClosureProblem, year: np.ndarray, into: np.ndarray) -> dict[int, int]:
    return {y: int(((into >= 0) & (year <= y)).sum()) for y in p.years}


def _plan_row(p: ClosureProblem, name: str, year: np.ndarray, into: np.ndarray) -> dict:
    row: dict = {"plan": name}
    for y, n in _counts_by_year(p, year, into).items():
        row[f"closed_by_year_{y}"] = n
    row["pupil_minutes_per_day"] = round(cm.daily_minutes(p, into), 1)
    row["pupil_minute_years"] = round(cm.travel_cost(p, year, into), 1)
    return row


def comparison(p: ClosureProblem, sol: cm.Solution, rule_plans: list[SimulatedPlan],
               run: SimulatedPlan) -> pd.DataFrame:
    """One row per plan: closures by year, pupil-minutes, the exact plan at the same closures
    and the rule plan's gap to it (percent), closures outside the candidates, deferrals."""
    rows = [_plan_row(p, "exact (travel)", sol.year, sol.into)
            | {"deferred_when_run": run.deferred, "others_closed": run.others_closed}]
    for rp in rule_plans:
        row = _plan_row(p, rp.name, rp.year, rp.into)
        same = cm.best_plan(p, counts_by_year=_counts_by_year(p, rp.year, rp.into))
        row["exact_at_same_closures"] = round(same.cost, 1)
        row["gap_percent"] = (round(100 * (row["pupil_minute_years"] - same.cost) / same.cost, 2)
                              + 0.0 if same.cost > 0 else 0.0)  # + 0.0: no "-0.0"
        row["rule_plan_keeps_constraints"] = cm.plan_is_feasible(p, rp.year, rp.into)
        row |= {"deferred_when_run": rp.deferred, "others_closed": rp.others_closed}
        rows.append(row)
    return pd.DataFrame(rows)


def plan_map(p: ClosureProblem, model: Model, sol: cm.Solution, path: Path) -> dict:
    """Map of the plan: villages, receiving schools, each closure as a line from the closed
    school to its receiver, and the schools the exemption keeps. Returns what it drew."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.outputs.county_map import draw_scale_bar
    from sim.outputs.style import figure_style

    w = model.world
    x, y = w.node_x_km, w.node_y_km
    node = model.W.school_node
    drawn = {"closures": 0, "kept": 0, "receivers": 0}
    with figure_style():
        fig, ax = plt.subplots(figsize=(9.5, 7), layout="constrained")
        ax.scatter(x, y, s=4, color="0.75", label=_("village"))
        used = sorted({int(r) for r in sol.into[sol.closed()]})
        for i in np.flatnonzero(sol.closed()):
            a, b = node[p.school[i]], node[sol.into[i]]
            ax.plot([x[a], x[b]], [y[a], y[b]], color="tab:red", lw=0.8, alpha=0.7)
            drawn["closures"] += 1
        closed = node[p.school[sol.closed()]]
        ax.scatter(x[closed], y[closed], marker="x", s=18, color="tab:red",
                   label=_("closed ({n})").format(n=len(closed)))
        kept = node[p.school[~p.closable()]]
        drawn["kept"] = len(kept)
        ax.scatter(x[kept], y[kept], marker="^", s=18, color="tab:orange",
                   label=_("kept by the {minutes:.0f}-minute exemption ({n})").format(
                       minutes=p.exempt_over_min, n=len(kept)))
        rx = node[np.array(used, np.int64)] if used else np.zeros(0, np.int64)
        drawn["receivers"] = len(used)
        ax.scatter(x[rx], y[rx], marker="s", s=30, color="tab:blue",
                   label=_("receiving school ({n})").format(n=len(used)))
        draw_scale_bar(ax, x, y)
        ax.set_xlabel(_("x (km)"))
        ax.set_ylabel(_("y (km)"))
        ax.set_aspect("equal")
        ax.set_title(_("{name}: closures of least pupil-minutes").format(
            name=model.scenario.name))
        fig.legend(loc="outside right upper", fontsize=8)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
    return drawn


@dataclass
class Optimised:
    """What `optimise` found (the console summary's numbers)."""

    problem: ClosureProblem
    solution: cm.Solution
    targets: pd.DataFrame
    plan: pd.DataFrame
    comparison: pd.DataFrame
    run: SimulatedPlan
    scenario_file: Path
    seconds: float
    #: objective children: the final front and the rule plan on fresh replicates (None: travel)
    front: pd.DataFrame | None = None
    evaluations: int = 0


@dataclass(frozen=True)
class ChildrenSearch:
    """Settings of the `children` objective's search (sim/experiments/optimise_children.py)."""

    population: int = 12  #: plans per NSGA-II generation
    generations: int = 5
    replicates: int = 8  #: replicates per plan (the same for every plan)
    seed: int = 1  #: pymoo's seed (the replicates' seeds come from the scenario's)


def search_cache(out: Path) -> tuple[Path, Path]:
    """The children search's evaluations (CSV) and what they belong to (JSON), kept beside the
    results folder until the search has finished."""
    return (out.parent / f".{out.name}.search.csv", out.parent / f".{out.name}.search.json")


def _open_cache(out: Path, key: dict, resume: bool) -> Path:
    cache, meta = search_cache(out)
    if resume:
        if not meta.exists():
            raise InputError(str(out), "--resume", _("no interrupted search for this folder; "
                                                     "leave out --resume to start one"))
        if json.loads(meta.read_text()) != key:
            raise InputError(str(meta), "--resume", _(
                "the interrupted search had another scenario or other settings; start a new one "
                "(remove this file and {cache}, or give another --out)").format(cache=cache.name))
        return cache
    if meta.exists() or cache.exists():
        raise InputError(str(out), "--out", _(
            "an interrupted search is kept beside it ({file}); add --resume to continue it, or "
            "remove it to start again").format(file=meta.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps(key))
    return cache


def optimise(path: str | Path, out: str | Path, overrides: dict | None = None,
             objective: str = "travel", children: ChildrenSearch | None = None,
             workers: int | None = None, scheduler: str | None = None,
             resume: bool = False) -> Optimised:
    """The exact `travel` plan of the scenario at `path` (module docstring), and with objective
    `children` the front of plans searched by simulation (on `workers` local Dask processes or
    the cluster at `scheduler`; `resume` continues an interrupted search from its kept
    evaluations), written to `out`."""
    import time

    from scipy import __version__ as scipy_version

    t0 = time.perf_counter()
    path, out = Path(path), Path(out)
    check_out(out)
    overrides = overrides or {}
    base = sc.load(path, overrides)
    model = build_model(base)
    p = closure_problem(model)
    asked = [cm.required(p, q) for q in p.quotas]
    most = cm.largest_closures(p, asked)
    binding = cm.binding_constraints(p, asked, most)
    sol = cm.best_plan(p, [min(a, m) for a, m in zip(asked, most, strict=True)])
    actions = plan_actions(p, sol)
    doc = optimised_scenario(path, out, base, actions)
    rule_plans = [simulate_plan(with_plan(model, closures=[
        r.model_copy(update={"ranking": ranking}) for r in base.policies.closures]), p, ranking)
        for ranking in RANKINGS]
    run_exact = simulate_plan(with_plan(model, actions), p, "exact (travel)")
    front = None
    evaluations = 0
    if objective == "children":
        settings = children or ChildrenSearch()
        key = {"scenario": sc.scenario_hash(base), "overrides": overrides, "search": vars(settings),
               "schoolflow": __version__}
        cache = _open_cache(out, key, resume)
        with optional_client(workers, scheduler) as (client, threads):
            front, evaluations, chosen = _children(
                model, p, sol, rule_plans, settings,
                dict(source=(path.resolve(), overrides), client=client, threads=threads,
                     cache=cache))
        travel_doc, doc = doc, optimised_scenario(path, out, base, chosen, "children")
    with store.atomic_dir(out) as tmp:
        if front is not None:
            (tmp / "travel.yaml").write_text(
                "# written by schoolflow optimise: the exact travel plan\n"
                + yaml.safe_dump(travel_doc, sort_keys=False, allow_unicode=True,
                                 default_flow_style=None, width=100), encoding="utf-8")
            front.to_csv(tmp / "pareto.csv", index=False)
            pareto_figure(front, tmp / "pareto.png")
        scen_file = tmp / "optimised.yaml"
        scen_file.write_text("# written by schoolflow optimise; run it with schoolflow run\n"
                             + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                                default_flow_style=None, width=100),
                             encoding="utf-8")
        raw = sc.load_raw(scen_file)
        for dotted, value in overrides.items():
            sc.set_dotted(raw, dotted, value)
        run = simulate_plan(build_model(sc.validate(raw, str(out / "optimised.yaml"))), p,
                            f"chosen ({objective})")
        targets = _targets_table(p, asked, most, binding)
        plan = _plan_table(p, model, sol)
        comp = comparison(p, sol, rule_plans, run_exact)
        targets.to_csv(tmp / "targets.csv", index=False)
        plan.to_csv(tmp / "plan.csv", index=False)
        comp.to_csv(tmp / "comparison.csv", index=False)
        plan_map(p, model, sol, tmp / "plan_map.png")
        seconds = time.perf_counter() - t0
        meta = {"command": "optimise", "objective": objective, "scenario": str(path.resolve()),
                "children_search": vars(children or ChildrenSearch()) if front is not None
                else None, "evaluations": evaluations,
                "overrides": overrides, "schoolflow_version": __version__,
                "git_commit": store.git_commit(), "solver": f"HiGHS (scipy {scipy_version})",
                "status": sol.status, "base_year": "replicate 0, year 0",
                "seconds": round(seconds, 1)}
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
    if objective == "children":
        for f in search_cache(out):
            f.unlink(missing_ok=True)
    return Optimised(p, sol, targets, plan, comp, run, out / "optimised.yaml", seconds, front,
                     evaluations)


def _children(model: Model, p: ClosureProblem, sol: cm.Solution,
              rule_plans: list[SimulatedPlan], settings: ChildrenSearch, where: dict
              ) -> tuple[pd.DataFrame, int, list[dict]]:
    """The children objective's front (re-evaluated on fresh replicates against the first rule
    plan), the plans simulated, and the chosen plan's actions: the front plan with the fewest
    children out of school, then the fewest grades 1-3 over 30 minutes, then the least cost."""
    from sim.experiments import optimise_children as oc

    targets = [sum(1 for i in q.covered if sol.into[i] >= 0 and sol.year[i] <= q.year)
               for q in p.quotas]
    space = oc.search_space(p, targets)
    evaluator = oc.PlanEvaluator(model, space, settings.replicates, **where)
    starts = [oc.genes_of(space, rp.year, rp.into) for rp in rule_plans]
    starts.append(oc.genes_of(space, sol.year, sol.into))
    res = oc.search(evaluator, starts, settings.population, settings.generations, settings.seed)
    X = np.atleast_2d(res.X).astype(np.int64)
    order = np.lexsort(np.atleast_2d(res.F).T[::-1])
    X = X[order]
    reference = with_plan(model, closures=[r.model_copy(update={"ranking": rule_plans[0].name})
                                           for r in model.scenario.policies.closures])
    front = oc.front_table(evaluator, X, reference, rule_plans[0].name)
    names = [n for n, _w in oc.OBJECTIVES]
    chosen = front.iloc[1:].sort_values(names, kind="stable").index[0] - 1
    front.insert(1, "chosen", [False] + [k == chosen for k in range(len(X))])
    return front, evaluator.evaluations, oc.plan_of(space, X[chosen])


def pareto_figure(front: pd.DataFrame, path: Path) -> dict:
    """Children out of school against cost per pupil for the front plans (colour: grades 1-3
    over 30 minutes, in %), the rule plan marked. Returns what it drew."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.outputs.style import figure_style

    plans, ref = front.iloc[1:], front.iloc[0]
    with figure_style():
        fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
        sc_ = ax.scatter(plans.cost_per_pupil_yuan, plans.children_out_of_school,
                         c=100 * plans.share_lower_primary_over_30min, cmap="viridis", s=40,
                         label=_("front plans ({n})").format(n=len(plans)))
        ax.scatter([ref.cost_per_pupil_yuan], [ref.children_out_of_school], marker="*", s=160,
                   color="tab:red", label=_("rule plan {name}").format(name=ref.plan))
        fig.colorbar(sc_, ax=ax, label=_("grades 1-3 over 30 minutes (%)"))
        ax.set_xlabel(_("cost per pupil (yuan per year)"))
        ax.set_ylabel(_("children out of school"))
        ax.set_title(_("Closure plans on fresh replicates (final year, mean)"))
        ax.legend(loc="best", fontsize=8)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return {"plans": len(plans), "reference": str(ref.plan)}


def children_lines(res: Optimised) -> list[str]:
    """The `children` objective's part of the summary: the front, and the chosen plan's paired
    differences against the rule plan on fresh replicates."""
    from sim.experiments.optimise_children import FRESH_FIRST, OBJECTIVES

    f = res.front
    ref = f.iloc[0].plan
    n = int((f.plan != ref).sum())
    chosen = f[f.chosen].iloc[0]
    lines = [_("Children: {n_plans} plans simulated; a front of {n} plans (pareto.csv, "
               "pareto.png). The chosen plan ({closures} closures, the fewest children out of "
               "school) against {ref}, paired, on fresh replicates (replicates {first}-; median "
               "[90% interval]):").format(n_plans=res.evaluations, n=n,
                                          closures=int(chosen.closures), ref=ref,
                                          first=FRESH_FIRST)]
    for name, words in OBJECTIVES:
        med, lo, hi = (chosen[f"{name}_vs_{ref}{s}"] for s in ("", "_p05", "_p95"))
        scale, unit = (100, _(" pp")) if name.startswith("share") else (1, "")
        lines.append(f"  {_(words)}: {scale * med:+,.2f}{unit} [{scale * lo:+,.2f}, "
                     f"{scale * hi:+,.2f}]")
    return lines


def summary_lines(res: Optimised) -> list[str]:
    """The console summary of an `optimise` run."""
    p, t = res.problem, res.targets
    lines = [_("Targets (base year, replicate 0):")]
    for _i, r in t.iterrows():
        verdict = status_word("met" if r.met else "missed")
        if r.share == "all":
            line = _("  year {year}: every school under {below} pupils ({n}): {asked} can close "
                     "within the exemption's {minutes:.0f} minutes, the other {kept} are kept for "
                     "the lower grades; largest possible {largest} - {verdict}").format(
                year=r.year, below=r.below, n=r.base_schools, asked=r.asked,
                minutes=p.exempt_over_min, kept=r.base_schools - r.asked, largest=r.largest,
                verdict=verdict)
        else:
            line = _("  year {year}: {share:.0%} of the {n} schools under {below} pupils: asked "
                     "{asked}, largest possible {largest} ({largest_share:.1%}) - "
                     "{verdict}").format(year=r.year, share=float(r.share), n=r.base_schools,
                                         below=r.below, asked=r.asked, largest=r.largest,
                                         largest_share=r.largest_share, verdict=verdict)
        if not r.met:
            why = _("; ").join(_(x) for x in r.binding.split("; ") if x) \
                or _("several constraints together")
            relaxed = _(", ").join(
                _("{n:.0f} without {what}").format(n=r[f"largest_without_{f}"],
                                                   what=_(BINDING_WORDS[f]))
                for f in cm.FAMILIES if r[f"largest_without_{f}"] > r.largest)
            line += _("; binding: {why}").format(why=why) + (
                _(" ({what})").format(what=relaxed) if relaxed else "")
        lines.append(line)
    c = res.comparison
    exact = c.iloc[0]
    by_year = _(", ").join(_("year {year}: {n}").format(year=y, n=int(exact[f"closed_by_year_{y}"]))
                           for y in p.years)
    lines.append(_("Exact plan: {n} closures (by {by_year}); {per_day:,.0f} pupil-minutes one "
                   "way a school day after the last closure ({years:,.0f} pupil-minute-years "
                   "over the years); solver: {status}").format(
        n=int(res.solution.closed().sum()), by_year=by_year,
        per_day=exact.pupil_minutes_per_day, years=exact.pupil_minute_years,
        status=res.solution.status))
    lines.append(_("Rule plans, simulated (replicate 0), against the exact plan at the same "
                   "closures each year:"))
    for _i, r in c.iloc[1:].iterrows():
        n = int(r[f"closed_by_year_{max(p.years)}"])
        by = ", ".join(str(int(r[f"closed_by_year_{y}"])) for y in p.years)
        kept = "" if r.rule_plan_keeps_constraints else _(
            " (the rule plan itself breaks a constraint the exact plan keeps: seats by grade, "
            "beds or canteen)")
        lines.append(_("  {plan}: {n} closures (by year: {by}), {pmy:,.0f} pupil-minute-years vs "
                       "{exact:,.0f} exact: gap {gap:+.1f}%").format(
            plan=term("ranking", r.plan), n=n, by=by, pmy=r.pupil_minute_years,
            exact=r.exact_at_same_closures, gap=r.gap_percent) + kept)
    if res.front is not None:
        lines += children_lines(res)
    planned = int(res.solution.closed().sum()) if res.front is None else int(
        res.front[res.front.chosen].closures.iloc[0])
    done = int((res.run.into >= 0).sum())
    lines.append(_("The chosen plan run (replicate 0): {done} of {planned} closures carried out, "
                   "{deferred} school(s) deferred for want of room.").format(
        done=done, planned=planned, deferred=res.run.deferred))
    lines.append(_("Scenario: {file} (schoolflow run / compare it)").format(
        file=res.scenario_file))
    return lines
