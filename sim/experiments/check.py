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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core import rules as rule_constants
from sim.core.indicators import ROW
from sim.core.kernels.closures import VILLAGE_LEVELS, alternative_time
from sim.model import build, engine
from sim.model.scenario import CloseAction, DowngradeAction, ExpandAction, OpenAction, Scenario

LEVEL_OF_CODE = {code: name for name, code in dt.LEVEL_NAMES.items()}


@dataclass
class CheckReport:
    """The profile as lines of text, and the per-school table behind it."""

    lines: list[str]
    schools: pd.DataFrame
    problems: int  #: over-full schools, unreachable villages, closures the check would defer


def base_pupils(model: build.Model) -> tuple[np.ndarray, str, float]:
    """(schools, 10) base-year pupils by grade, where they come from, and the pupils without a
    place in the base year."""
    world = model.world
    if world.school_roll is not None:
        first = next(engine.trace_replicate(model, 0))
        return world.school_roll.copy(), "the county's rolls", float(
            first.indicators[ROW["pupils_unplaced"], dt.LEVEL_ALL])
    first = next(engine.trace_replicate(model, 0))
    return (first.S.enrol.astype(np.int64).copy(),
            "no rolls given: the base year of replicate 0, synthesised from village populations",
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
        "school": w.school_name, "level": [LEVEL_OF_CODE[int(x)] for x in w.school_level],
        "village": [w.node_name[n] for n in w.school_node],
        "pupils": pupils.sum(axis=1), "seats": seats.sum(axis=1),
        "boarders": np.where(boarders >= 0, boarders, -1), "beds": w.school_beds,
        "canteen_places": w.school_canteen, "teachers": teachers,
        "opens_later": w.planned(),
        "flag": np.where(w.planned(), "opens later (plan)",
                         np.where(over, "OVER-FULL: more pupils than seats in a grade", "")),
        "worst_grade": np.where(over, worst, 0),
        "worst_grade_pupils": pupils[np.arange(len(worst)), worst],
        "worst_grade_seats": seats[np.arange(len(worst)), worst],
    })


def unreachable(model: build.Model, on_foot: bool = False) -> dict[str, list[str]]:
    """Per level (grades 1 and 4 for primary, 7 for junior): villages with residents and no
    base-year school teaching the grade within the day-travel limit by motorbike or car (on
    foot with `on_foot`: families without a vehicle, who must board, rent or stay without a
    place), nor (by vehicle) a boarding school within the boarding trip limit."""
    w, s = model.world, model.scenario
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in w.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in w.school_level])
    out = {}
    times = w.t_walk if on_foot else w.t_private
    for name, grade in (("grade 1", 1), ("grade 4", 4), ("junior", dt.FIRST_JUNIOR_GRADE)):
        teaches = (lo <= grade) & (grade <= hi) & ~w.planned()
        day = (times <= s.policies.max_travel_min) & teaches[None, :]
        board = ((w.t_private <= s.policies.boarding.max_trip_min) & (w.school_beds > 0)[None, :]
                 & teaches[None, :] & (grade >= s.policies.boarding.min_grade) & (not on_foot))
        none = ~(day | board).any(axis=1) & (w.node_population > 0)
        out[name] = [w.node_name[v] for v in np.flatnonzero(none)]
    return out


def _capacity(model: build.Model, pupils: np.ndarray, closing: list[int],
              receiver: int) -> list[str]:
    """What the capacity check would say about closing `closing` into `receiver` in year 1
    (base-year pupils, no other closure that year)."""
    w, p = model.world, model.P
    seats = seats_by_grade(model)
    moving = pupils[closing].sum(axis=0)
    lo, hi = dt.LEVEL_GRADES[int(w.school_level[receiver])]
    free = int((seats[receiver, lo:hi + 1] - pupils[receiver, lo:hi + 1]).sum())
    n = int(moving.sum())
    lines = [f"{n} pupils move; {w.school_name[receiver]} has {free} free seats in grades "
             f"{lo}-{hi}" + (" - too few: the closure would be DEFERRED" if free < n and
                              p.capacity_check > 0 else "")]
    canteen = int(w.school_canteen[receiver])
    if canteen < 0:
        lines.append(f"canteen places of {w.school_name[receiver]} not given: the canteen check "
                     "is skipped")
    elif canteen < n and p.capacity_check > 0:
        lines.append(f"{w.school_name[receiver]} has {canteen} canteen places for {n} pupils "
                     "moving in - too few: the closure would be DEFERRED")
    return lines


def _action_lines(model: build.Model, pupils: np.ndarray) -> list[tuple[int, str]]:
    w, s = model.world, model.scenario
    index = {name: i for i, name in enumerate(w.school_name)}
    lines = []
    for i, a in enumerate(s.policies.actions):
        tag = f"  year {a.year} action {i}:"
        start = len(lines)
        if isinstance(a, CloseAction):
            ids = [index[x] for x in a.close]
            rolls = ", ".join(f"{w.school_name[x]} {int(pupils[x].sum())}" for x in ids)
            if a.receiver is not None:
                recv = index[a.receiver]
            else:  # the model's own rule (sim/core/kernels/closures.py), in the base year
                s0 = ids[0]
                mask = VILLAGE_LEVELS if (VILLAGE_LEVELS >> int(w.school_level[s0])) & 1 else 0
                recv = int(alternative_time(s0, mask, model.P, model.W, model.S0)[0])
            lines.append(f"{tag} close {', '.join(a.close)} (pupils: {rolls}) into "
                         + (w.school_name[recv] if recv >= 0 else "NO SCHOOL (none teaches "
                            "their grades): the closure would be DEFERRED")
                         + ("" if a.receiver else " (nearest)"))
            if recv >= 0:
                lines += [f"      {x}" for x in _capacity(model, pupils, ids, recv)]
        elif isinstance(a, ExpandAction):
            x = index[a.expand]
            lines.append(f"{tag} expand {a.expand} ({int(w.school_classes_per_grade[x])} classes "
                         f"per grade, {int(w.school_beds[x])} beds) by +{a.classes_per_grade} "
                         f"classes per grade, +{a.boarding_beds} beds, +{a.canteen_places} "
                         "canteen places")
        elif isinstance(a, DowngradeAction):
            for sid in a.downgrade:
                x = index[sid]
                upper = int(pupils[x, max(a.grades) + 1:].sum())
                lines.append(f"{tag} downgrade {sid} to grades 1-{max(a.grades)}: {upper} pupils "
                             f"of grades {max(a.grades) + 1} and up change school")
        elif isinstance(a, OpenAction):
            o = a.open
            lines.append(f"{tag} open {o.school_id} ({o.level}, {o.classes_per_grade} classes per "
                         f"grade) at {o.village_id}")
        lines[start:] = [(a.year, x) for x in lines[start:]]
    return lines


def _rule_lines(model: build.Model, pupils: np.ndarray) -> list[tuple[int, str]]:
    w, s = model.world, model.scenario
    total = pupils.sum(axis=1)
    lines = []
    for r in sorted(s.policies.closures, key=lambda r: r.year):
        levels = np.isin(w.school_level, [dt.LEVEL_NAMES[x] for x in r.levels]) & ~w.planned()
        under = np.flatnonzero(levels & (total < r.below))
        what = "all of them" if r.share is None else \
            f"{math.ceil(r.share * len(under) - 1e-9)} of them by this year ({r.share:.0%})"
        names = ", ".join(w.school_name[x] for x in under[:10]) + \
            (f" and {len(under) - 10} more" if len(under) > 10 else "")
        lines.append((r.year, f"  year {r.year} rule: close {', '.join(r.levels)} {r.size_words()} "
                     f"({r.ranking}): {len(under)} such schools in the base year"
                     + (f" ({names})" if len(under) else "") + f"; closes {what}"))
    return lines


def check(scenario: Scenario) -> CheckReport:
    """Build the scenario (every input validated) and profile its county and plan."""
    model = build.build_model(scenario)
    w = model.world
    pupils, source, unplaced = base_pupils(model)
    table = school_table(model, pupils)
    existing = table[~table["opens_later"]]
    towns = len(w.township_names)
    lines = [f"Scenario {scenario.name} ({scenario.file}): county {w.source}",
             f"  {w.n_nodes} villages and centres in {towns} townships, "
             f"{int(w.node_population.sum()):,} residents",
             "  schools by level: " + ", ".join(
                 f"{lv} {int((existing['level'] == lv).sum())}" for lv in dt.LEVEL_NAMES
                 if (existing["level"] == lv).any())
             + (f"; {int(table['opens_later'].sum())} more the plan opens"
                if table["opens_later"].any() else ""),
             f"  base-year pupils: {int(existing['pupils'].sum()):,} ({source})",
             f"  schools under 30 pupils: {int((existing['pupils'] < 30).sum())}; under 100: "
             f"{int((existing['pupils'] < 100).sum())}"]
    problems = 0
    over = existing[existing["flag"] != ""]
    if len(over):
        problems += len(over)
        lines.append(f"  OVER-FULL in the base year ({len(over)}): " + ", ".join(
            f"{r.school} grade {r.worst_grade}: {r.worst_grade_pupils} pupils / "
            f"{r.worst_grade_seats} seats" for r in over.itertuples()))
    for problem in model.problems:  # from the calibration to the rolls (sim/model/build.py)
        problems += 1
        lines.append(f"  BASE-YEAR PROBLEM: {problem}")
    for level, villages in unreachable(model).items():
        if villages:
            problems += 1
            lines.append(f"  NO SCHOOL TEACHING {level.upper()} IN REACH of {len(villages)} "
                         "village(s): " + ", ".join(villages[:15])
                         + (" ..." if len(villages) > 15 else ""))
    for level, villages in unreachable(model, on_foot=True).items():
        if villages:
            lines.append(f"  on foot (families without a motorbike or car: they board, rent or "
                         f"stay without a place), no school teaching {level} within "
                         f"{scenario.policies.max_travel_min:g} minutes: {len(villages)} village(s): "
                         + ", ".join(villages[:15]) + (" ..." if len(villages) > 15 else ""))
    if unplaced:
        lines.append(f"  pupils without a place in the base year: {unplaced:.0f} (those villages' "
                     "pupils, where boarding beds are full and the family cannot rent)")
    for note in model.notes:
        lines.append(f"  note: {note}")
    if w.births:
        years = sorted(w.births)
        lines.append(f"  births projection for years {years[0]}-{years[-1]}: "
                     + ", ".join(f"{y}: {w.births[y]:.0f}" for y in years[:6])
                     + (" ..." if len(years) > 6 else ""))
    else:
        lines.append("  births: the scenario's fertility parameters (no births table)")
    steps = _action_lines(model, pupils) + _rule_lines(model, pupils)
    plan = [line for _, line in sorted(steps, key=lambda x: x[0])]  # stable: actions first
    lines.append("Plan, in the order it acts (named actions before the rules of their year):")
    lines += plan or ["  no actions or closure rules"]
    problems += sum("DEFERRED" in x for x in plan)
    return CheckReport(lines, table, problems)
