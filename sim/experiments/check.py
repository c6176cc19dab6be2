"""`schoolflow check SCENARIO`: validate a scenario and its county and say, before any run, what
the county looks like and what the plan would touch in the base year.

The profile: villages, population, schools by level, schools under 30 / under 100 pupils, each
school's seats against its roll (over-full schools flagged), villages with no school in reach
by level, births; then the plan's named actions and closure rules in the order they act, each
with the schools and pupils it would touch in the base year and, for closures, whether the
receiving school has the seats, canteen places and beds the capacity check asks for.

Base-year pupils are the rolls where the county gives them; otherwise the base year of
replicate 0 (synthesised from the villages' populations, the only simulated step here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core import rules as rule_constants
from sim.core.i18n import N_, _, term
from sim.core.indicators import ROW
from sim.core.kernels import state as ev
from sim.model import build, engine
from sim.model.scenario import Scenario
from sim.model.world import World


@dataclass
class CheckReport:
    """The profile as lines of text, and the per-school table behind it."""

    lines: list[str]
    schools: pd.DataFrame
    problems: int  #: over-full schools, unreachable villages, closures the check would defer
    world: World  #: the county as read (for `check`'s map)


def base_pupils(model: build.Model) -> tuple[np.ndarray, str, float]:
    """(schools, 10) base-year pupils by grade, where they come from, and the pupils without a
    place in the base year."""
    world = model.world
    if world.school_roll is not None:
        first = next(engine.trace_replicate(model, 0))
        return world.school_roll.copy(), _("the county's rolls"), float(
            first.indicators[ROW["pupils_unplaced"], dt.LEVEL_ALL])
    first = next(engine.trace_replicate(model, 0))
    return (first.S.enrol.astype(np.int64).copy(),
            _("no rolls given: the base year of replicate 0, synthesised from village "
              "populations"),
            float(first.indicators[ROW["pupils_unplaced"], dt.LEVEL_ALL]))


def seats_by_grade(model: build.Model) -> np.ndarray:
    """(schools, 10) seats: classes per grade x the class cap, in the grades each school teaches."""
    w, p = model.world, model.P
    seats = np.zeros((w.n_schools, dt.N_GRADES + 1), np.int64)
    for s in range(w.n_schools):
        lo, hi = dt.LEVEL_GRADES[int(w.school_level[s])]
        for g in range(lo, hi + 1):
            seats[s, g] = rule_constants.grade_seats(g, int(w.school_classes_per_grade[s]),
                                                     p.cap_primary, p.cap_junior)
    return seats


def school_table(model: build.Model, pupils: np.ndarray) -> pd.DataFrame:
    """Per school: level, village, base-year pupils, seats, boarders and beds, canteen places,
    teachers, and whether it is over-full (more pupils than seats in some grade)."""
    w = model.world
    seats = seats_by_grade(model)
    boarders = w.school_boarders if w.school_boarders is not None else np.full(w.n_schools, -1)
    teachers = w.school_teachers if w.school_teachers is not None else np.full(w.n_schools, np.nan)
    over = (pupils > seats).any(axis=1)
    excess = pupils - seats
    worst = np.argmax(excess, axis=1)
    return pd.DataFrame({
        "school": w.school_name, "level": [dt.LEVEL_OF_CODE[int(x)] for x in w.school_level],
        "village": [w.node_name[n] for n in w.school_node],
        "pupils": pupils.sum(axis=1), "seats": seats.sum(axis=1),
        "boarders": np.where(boarders >= 0, boarders, -1), "beds": w.school_beds,
        "canteen_places": np.where(w.school_canteen >= 0, w.school_canteen.astype(object),
                                   _("not given")),
        "teachers": np.where(np.isnan(teachers), _("not given"), teachers.astype(object)),
        "opens_later": w.planned(),
        "flag": np.where(w.planned(), _("opens later (plan)"),
                         np.where(over, _("OVER-FULL: more pupils than seats in a grade"), "")),
        "worst_grade": np.where(over, worst, 0),
        "worst_grade_pupils": pupils[np.arange(len(worst)), worst],
        "worst_grade_seats": seats[np.arange(len(worst)), worst],
    })


@dataclass
class YearPreview:
    """What the plan did in one year of replicate 0: schools' state at the end of the year
    before (pupils by grade, classes, beds, beds used, canteen places) and at the end of the
    plan's half of this year (events, receivers, classes and beds after the year's actions)."""

    year: int
    last_enrol_g: np.ndarray
    beds_used: np.ndarray
    events: np.ndarray
    receiver: np.ndarray
    classes: np.ndarray
    beds: np.ndarray
    canteen: np.ndarray
    hi: np.ndarray
    lo_before: np.ndarray
    hi_before: np.ndarray


def preview(model: build.Model) -> list[YearPreview]:
    """Replicate 0 run through the plan's years with the same kernels as `schoolflow run`
    (`engine.trace_replicate`): each plan year's events as the run records them."""
    years = sorted(model.policy_years())
    out: list[YearPreview] = []
    if not years:
        return out
    before = None
    for st in engine.trace_replicate(model, 0):
        S = st.S
        if st.year in years and before is not None:
            out.append(YearPreview(
                year=st.year, last_enrol_g=before["enrol"], beds_used=before["beds_used"],
                events=S.events[:, st.year].copy(), receiver=S.receiver.copy(),
                classes=S.classes.copy(), beds=S.beds.copy(), canteen=S.canteen.copy(),
                hi=S.hi.copy(), lo_before=before["lo"], hi_before=before["hi"]))
        if st.year >= years[-1]:
            break
        before = {"enrol": S.last_enrol_g.copy(), "beds_used": S.beds_used.copy(),
                  "lo": S.lo.copy(), "hi": S.hi.copy()}
    return out


def _room(model: build.Model, y: YearPreview, s: int, r: int) -> str:
    """The receiving school's room for school s's pupils in year y: free seats in the grades
    that move, by grade (`rules.grade_seats` after the year's expansions, less last year's
    pupils), beds and canteen places, as the capacity check reads them."""
    w, p = model.world, model.P
    lo, hi = int(y.lo_before[s]), int(y.hi_before[s])
    kept = y.events[s] & (ev.EV_DOWNGRADED | ev.EV_EXEMPTED) and not y.events[s] & ev.EV_CLOSED
    grades = range(int(y.hi[s]) + 1 if kept else lo, hi + 1)  # the grades that move
    moving = int(sum(y.last_enrol_g[s, g] for g in grades))
    free = [rule_constants.grade_seats(g, int(y.classes[r]), p.cap_primary, p.cap_junior)
            - int(y.last_enrol_g[r, g]) for g in grades]
    tight = [_("grade {g} {free}").format(g=g, free=f)
             for g, f in zip(grades, free, strict=True) if f < y.last_enrol_g[s, g]]
    canteen = int(y.canteen[r])
    return (_("{n} pupils of grades {lo}-{hi} move to {school}: {free} free seats in those "
              "grades").format(n=moving, lo=grades.start, hi=grades.stop - 1,
                               school=w.school_name[r], free=sum(free))
            + (_(" (short in {grades})").format(grades=_(", ").join(tight)) if tight else "")
            + _("; {free} free beds of {beds}; ").format(
                free=int(y.beds[r]) - int(y.beds_used[r]), beds=int(y.beds[r]))
            + (_("canteen places not given") if canteen < 0
               else _("{n} canteen places").format(n=canteen)))


DEFER_WORDS = {ev.EV_DEFER_RECEIVER: N_("no open school teaching its grades to receive"),
               ev.EV_DEFER_SEATS: N_("too few free seats"), ev.EV_DEFER_CANTEEN:
               N_("too few canteen places"), ev.EV_DEFER_BEDS: N_("too few boarding beds")}


def _plan_lines(model: build.Model) -> tuple[list[str], int]:
    """The plan year by year as replicate 0 carries it out (see `preview`): the actions as
    written, then each school the plan or its rules closed, downgraded, kept by the travel
    exemption or deferred, with its receiving school's room and why; and the number of
    deferred closures."""
    w, s = model.world, model.scenario
    t_plan = w.t_bus if model.P.bus_on > 0 else w.t_walk
    lines, deferred = [], 0
    for y in preview(model):
        lines.append(_("  year {year}:").format(year=y.year))
        for i, a in enumerate(s.policies.actions):
            if a.year == y.year:
                lines.append(_("    action {i}: {words}").format(i=i, words=a.words()))
        for r in sorted(s.policies.closures, key=lambda r: r.year):
            if r.year == y.year:
                what = _("all of them") if r.share is None else \
                    _("up to {share:.0%} of the base year's such schools").format(share=r.share)
                lines.append(_("    rule: close {levels} {size} ({ranking}), {what}").format(
                    levels=_(", ").join(term("school_level", x) for x in r.levels),
                    size=r.size_words(), ranking=term("ranking", r.ranking), what=what))
        for x in np.flatnonzero(y.events):
            e, name = int(y.events[x]), w.school_name[x]
            by_action = bool(e & ev.EV_BY_ACTION)
            rec = int(y.receiver[x])
            if e & ev.EV_CLOSED:
                lines.append((_("    closed (action): {school} into {receiver}; ") if by_action
                              else _("    closed (rule): {school} into {receiver}; ")).format(
                    school=name, receiver=w.school_name[rec]) + _room(model, y, x, rec))
            elif e & (ev.EV_DOWNGRADED | ev.EV_EXEMPTED):
                how = _("downgraded (action)") if e & ev.EV_DOWNGRADED else \
                    _("kept for the lower grades by the travel exemption (rule)")
                why = "" if e & ev.EV_DOWNGRADED or rec < 0 else \
                    _(", {minutes:.0f} min to {receiver} > {limit:g} min").format(
                        minutes=t_plan[w.school_node[x], rec], receiver=w.school_name[rec],
                        limit=model.P.exempt_over_min)
                lines.append(_("    {how}: {school} keeps grades 1-{top}{why}").format(
                    how=how, school=name, top=int(y.hi[x]), why=why)
                    + (_("; ") + _room(model, y, x, rec) if rec >= 0 and
                       y.hi_before[x] > y.hi[x] else ""))
            if e & ev.EV_DEFERRED:
                reasons = _(", ").join(_(v) for k, v in DEFER_WORDS.items() if e & k)
                near = "" if rec < 0 else _("; ") + _room(model, y, x, rec)
                lines.append((_("    DEFERRED (action): {school}: {why}") if by_action else
                              _("    DEFERRED (rule): {school}: {why}")).format(
                    school=name, why=reasons) + near)
                deferred += 1
            if e & ev.EV_EXPANDED:
                lines.append(_("    expanded: {school} now {classes} classes per grade, {beds} "
                               "beds, ").format(school=name, classes=int(y.classes[x]),
                                                beds=int(y.beds[x]))
                             + (_("canteen places not given") if y.canteen[x] < 0
                                else _("{n} canteen places").format(n=int(y.canteen[x]))))
            if e & ev.EV_OPENED:
                lines.append(_("    opened: {school}").format(school=name))
    return lines, deferred


def check(scenario: Scenario) -> CheckReport:
    """Build the scenario (every input validated) and profile its county and plan."""
    model = build.build_model(scenario)
    w = model.world
    pupils, source, unplaced = base_pupils(model)
    table = school_table(model, pupils)
    existing = table[~table["opens_later"]]
    towns = len(w.township_names)
    lines = [_("Scenario {name} ({file}): county {county}").format(
                 name=scenario.name, file=scenario.file, county=w.source),
             _("  {n} villages and centres in {towns} townships, {residents:,} residents").format(
                 n=w.n_nodes, towns=towns, residents=int(w.node_population.sum())),
             _("  schools by level: ") + _(", ").join(
                 f"{term('school_level', lv)} {int((existing['level'] == lv).sum())}"
                 for lv in dt.LEVEL_NAMES if (existing["level"] == lv).any())
             + (_("; {n} more the plan opens").format(n=int(table["opens_later"].sum()))
                if table["opens_later"].any() else ""),
             _("  base-year pupils: {n:,} ({source})").format(n=int(existing["pupils"].sum()),
                                                               source=source),
             _("  schools under 30 pupils: {under30}; under 100: {under100}").format(
                 under30=int((existing["pupils"] < 30).sum()),
                 under100=int((existing["pupils"] < 100).sum()))]
    problems = 0
    # the base-year problems `run` prints too (sim/model/build.py: over-full grades, schools
    # with pupils and no teachers, boarders over beds, rolls larger than the children in reach,
    # villages far from their population, villages with no school in reach)
    for problem in model.problems:
        problems += 1
        lines.append(_("  BASE-YEAR PROBLEM: {problem}").format(problem=problem))
    if unplaced:
        lines.append(_("  pupils without a place in the base year: {n:.0f} (those villages' "
                       "pupils, where boarding beds are full and the family cannot "
                       "rent)").format(n=unplaced))
    for note in model.notes:
        lines.append(_("  note: {note}").format(note=note))
    if w.births:
        years = sorted(w.births)
        lines.append(_("  births projection for years {first}-{last}: ").format(
            first=years[0], last=years[-1])
                     + _(", ").join(f"{y}: {w.births[y]:.0f}" for y in years[:6])
                     + (" ..." if len(years) > 6 else ""))
    else:
        lines.append(_("  births: the scenario's fertility parameters (no births table)"))
    plan, deferred = _plan_lines(model)
    lines.append(_("Plan, year by year, as replicate 0 of `schoolflow run` carries it out (the "
                   "same kernels: named actions, then the rules; rooms after the year's "
                   "expansions):"))
    lines += plan or [_("  no actions or closure rules")]
    problems += deferred
    return CheckReport(lines, table, problems, model.world)
