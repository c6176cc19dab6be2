"""From a scenario to what the kernels need: the county with travel times (and the schools the
plan opens), the base-year population (from the rolls where the county gives them), the
kernels' arrays (world, base-year state, the plan's actions) and the bus service. Parameters
and closure rules: sim/model/params.py; actions: sim/model/plan.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from sim.core import dtypes as dt
from sim.core import rng, rules
from sim.core.errors import InputError
from sim.core.i18n import N_, _
from sim.core.kernels.enrolment import family_cost
from sim.core.kernels.state import (
    CHILD_FIELDS,
    HOUSEHOLD_FIELDS,
    Actions,
    Children,
    Households,
    Rules,
    Schools,
    WorldArrays,
)
from sim.model import plan
from sim.model.arrays import base_schools, fresh, world_arrays
from sim.model.births import birth_scale
from sim.model.county_files import load_county
from sim.model.params import Params, build_params, build_rules
from sim.model.population import Population, synthesise
from sim.model.posterior import Posterior, load_posterior
from sim.model.scenario import Scenario
from sim.model.transport import BusService, bus_service, rider_demand
from sim.model.world import World, compute_travel_times, synthetic_county

CHILD = {f.name: f for f in CHILD_FIELDS}
HOUSEHOLD = {f.name: f for f in HOUSEHOLD_FIELDS}


@dataclass
class Model:
    """Everything a run needs besides the replicate seeds."""

    scenario: Scenario
    world: World
    population: Population
    W: WorldArrays
    P: Params
    R: Rules
    S0: Schools
    H0: Households
    C0: Children
    capacity: int
    bus: BusService
    A: Actions  #: the plan's named actions
    notes: list[str]  #: what the data leave out or the model assumes, said before a run
    #: base-year problems of the rolls (boarders over beds, rolls larger than the children in
    #: reach, villages far from their population's children), said before a run and by `check`
    problems: list[str]
    #: the calibrated posterior each replicate draws its yearly-kernel parameters from (None:
    #: every replicate runs with P)
    posterior: Posterior | None = None

    def replicate_params(self, replicate: int) -> Params:
        """The kernel parameters replicate `replicate` runs with: P, or its posterior draw."""
        if self.posterior is None:
            return self.P
        return self.posterior.params[self.posterior.particle(self.scenario.seed, replicate)]

    def policy_years(self) -> set[int]:
        """Simulated years with closure rules or named actions."""
        return set(self.R.year.tolist()) | set(self.A.year.tolist())

    def bus_years(self) -> int:
        """The first simulated year of the plan: from it on, student bus lines are planned
        every year for that year's pupils (no plan: never, a year past the horizon)."""
        years = self.policy_years()
        return min(years) if years else self.scenario.years + 1


@lru_cache(maxsize=8)
def _synthetic(spec_json: str, travel_json: str) -> World:
    from sim.model.scenario import SyntheticCounty, Travel
    world = synthetic_county(SyntheticCounty.model_validate_json(spec_json))
    return compute_travel_times(world, Travel.model_validate_json(travel_json))


def build_world(scenario: Scenario) -> World:
    """The scenario's county with travel times, and the schools the plan opens (closed until
    their year). Synthetic counties are cached in-process."""
    travel = scenario.behaviour.travel
    if scenario.county.synthetic is not None:
        world = _synthetic(scenario.county.synthetic.model_dump_json(), travel.model_dump_json())
    else:
        world = compute_travel_times(load_county(scenario.county.data, scenario.county.crs,
                                                 scenario.county.roads,
                                                 scenario.county.osm_road_class), travel)
    planned = plan.with_planned_schools(world, scenario)
    return world if planned is world else compute_travel_times(planned, travel)


def base_state(world: World, pop: Population, years: int, W: WorldArrays,
               P: Params) -> tuple[Schools, Households, Children, int]:
    """Base-year state, and the number of child records to reserve (births included). Pupils
    from the rolls start at their school (with their travel mode, time and family cost);
    schools the plan opens start closed."""
    S0 = base_schools(world, years, W)
    n_h, n_c = pop.n_households, pop.n_children
    first = np.full(n_h, -1, dt.INDEX)
    nxt = np.full(n_c, -1, dt.INDEX)
    for c in range(n_c - 1, -1, -1):
        h = pop.child_hh[c]
        nxt[c] = first[h]
        first[h] = c
    H0 = Households(
        node=pop.hh_node.copy(), hardship=pop.hh_hardship.copy(), access=pop.hh_access.copy(),
        parents=pop.hh_parents.copy(), away=pop.hh_away.copy(), head_age=pop.hh_head_age.copy(),
        w_dist=pop.hh_w_dist.copy(), w_quality=pop.hh_w_quality.copy(), w_cost=pop.hh_w_cost.copy(),
        income=pop.hh_income.copy(), first_child=first, far=fresh(HOUSEHOLD["far"], n_h),
    )
    age = pop.child_age.astype(np.int8)
    status = np.where(age < dt.SCHOOL_ENTRY_AGE, dt.PRESCHOOL,
                      np.where(age <= rules.LAST_SCHOOL_AGE_AT_START, dt.ENROLLED,
                               dt.GRADUATED)).astype(np.int8)
    grade = np.where(status == dt.ENROLLED, age - (dt.SCHOOL_ENTRY_AGE - 1), 0).astype(np.int8)
    school, mode, travel, cost = base_pupils(world, pop, P)
    C0 = Children(
        hh=pop.child_hh.copy(), next_sibling=nxt, age=age, female=pop.child_female.copy(),
        grade=grade, school=school, mode=mode, status=status, travel=travel, cost=cost,
        achievement=fresh(CHILD["achievement"], n_c), schooling=base_schooling(age),
        moved_from=fresh(CHILD["moved_from"], n_c), n_used=np.array([n_c], np.int64),
    )
    last_fertile_age = rules.BIRTH_AGES_LOW[1]
    fertile_years = np.clip(last_fertile_age + 1 - pop.hh_head_age.astype(np.int64), 0, years).sum()
    return S0, H0, C0, int(n_c + fertile_years + 1)


def base_schooling(age: np.ndarray) -> np.ndarray:
    """Years of schooling completed by the base year's children (float32): a pupil aged a is in
    grade a - 5, so has completed a - 6 years; a 15-year-old has finished grade 9 (senior-high
    history before the base year is not known: none)."""
    return np.clip(age.astype(np.float32) - dt.SCHOOL_ENTRY_AGE, 0, dt.N_GRADES).astype(np.float32)


def base_pupils(world: World, pop: Population,
                P: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each child's base-year school (-1: to be placed by the model), travel mode, one-way
    minutes and family cost (yuan per year): from the rolls where the county gives them."""
    n = pop.n_children
    if pop.child_school is None:
        return (np.full(n, -1, dt.INDEX), np.zeros(n, np.int8), np.zeros(n, np.float32),
                np.zeros(n, np.float32))
    school = pop.child_school.astype(dt.INDEX).copy()
    mode = pop.child_mode.astype(np.int8).copy()
    travel = pop.child_travel.astype(np.float32).copy()
    cost = np.zeros(n, np.float32)
    for c in np.flatnonzero(school >= 0):
        h = pop.child_hh[c]
        cost[c] = family_cost(int(mode[c]), float(world.km[pop.hh_node[h], school[c]]), 0.0,
                              bool(pop.hh_hardship[h]), P)
    return school, mode, travel, cost


def bus_demand(world: World, pop: Population) -> np.ndarray:
    """(nodes, 10) base-year pupils by node and grade whose family has no motorbike or car: the
    pupils student bus lines are planned for (`transport.rider_demand`; every base-year child
    of grades 1-9 counts as in school or waiting for a place)."""
    grade = pop.child_age.astype(np.int64) - (dt.SCHOOL_ENTRY_AGE - 1)
    status = np.full(len(grade), dt.ENROLLED, np.int8)
    return rider_demand(pop.hh_node[pop.child_hh], grade, status, pop.hh_access[pop.child_hh],
                        world.n_nodes)


def base_year_notes(world: World, pop: Population) -> list[str]:
    """What the county's data leave out or the model assumes for them, in words."""
    notes = []
    if pop.unserved:
        names = _(", ").join(_("{village} (grades {grades})").format(village=v, grades=_grades(g))
                             for v, g in sorted(pop.unserved.items()))
        notes.append(_("no school in reach of {n} village(s), whose children of those grades "
                       "start unplaced: {villages}").format(n=len(pop.unserved), villages=names))
    if pop.roll_fallback:
        notes.append(_("no village within reach of {schools}: their roll pupils were placed in "
                       "the nearest village with households").format(
            schools=_(", ").join(sorted(set(pop.roll_fallback)))))
    unknown = [world.school_name[s] for s in np.flatnonzero(world.school_canteen < 0)]
    if unknown:
        notes.append(_("canteen places not given for {n} school(s): the receiving capacity check "
                       "skips canteen places there").format(n=len(unknown)))
    return notes


def _grades(grades: list[int]) -> str:
    return f"{grades[0]}-{grades[-1]}" if grades == list(range(grades[0], grades[-1] + 1)) \
        else ",".join(map(str, grades))


def raise_beds(world: World, boarders: np.ndarray | None) -> tuple[World, list[str]]:
    """The county with each school's beds raised to its base-year boarders (pupils) where the
    rolls have more boarders than beds, and what was raised, as 'school boarders / beds'."""
    if boarders is None or not (boarders > world.school_beds).any():
        return world, []
    over = np.flatnonzero(boarders > world.school_beds)
    said = [f"{world.school_name[s]} {int(boarders[s])} / {int(world.school_beds[s])}"
            for s in over]
    beds = np.maximum(world.school_beds, boarders).astype(world.school_beds.dtype)
    return replace(world, school_beds=beds), said


def over_seats(world: World, scenario: Scenario) -> list[str]:
    """Schools whose base-year roll has more pupils in a grade than seats (classes per grade x
    the scenario's class cap, `rules.grade_seats`), as 'S34 grade 1: 60 pupils / 45 seats' (the
    worst grade of each)."""
    roll = world.school_roll
    if roll is None:
        return []
    caps = scenario.policies.class_caps
    out = []
    for s in range(roll.shape[0]):
        excess = [(int(roll[s, g]) - rules.grade_seats(g, int(world.school_classes_per_grade[s]),
                                                        caps.primary, caps.junior), g)
                  for g in range(1, dt.N_GRADES + 1) if roll[s, g] > 0]
        if excess and max(excess)[0] > 0:
            _most, g = max(excess)
            seats = rules.grade_seats(g, int(world.school_classes_per_grade[s]), caps.primary,
                                      caps.junior)
            out.append(f"{world.school_name[s]} grade {g}: {int(roll[s, g])} pupils / {seats} "
                       "seats")
    return out


def unreachable(world: World, scenario: Scenario, on_foot: bool = False) -> dict[str, list[str]]:
    """Per level (grades 1 and 4 for primary, 7 for junior): villages with residents and no
    base-year school teaching the grade within the day-travel limit by motorbike or car (on
    foot with `on_foot`: families without a vehicle, who must board, rent or stay without a
    place), nor (by vehicle) a boarding school within the boarding trip limit."""
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    out = {}
    times = world.t_walk if on_foot else world.t_private
    for name, grade in ((N_("grade 1"), 1), (N_("grade 4"), 4),
                        (N_("junior"), dt.FIRST_JUNIOR_GRADE)):
        teaches = (lo <= grade) & (grade <= hi) & ~world.planned()
        day = (times <= scenario.policies.max_travel_min) & teaches[None, :]
        board = ((world.t_private <= scenario.policies.boarding.max_trip_min)
                 & (world.school_beds > 0)[None, :] & teaches[None, :]
                 & (grade >= scenario.policies.boarding.min_grade) & (not on_foot))
        none = ~(day | board).any(axis=1) & (world.node_population > 0)
        out[name] = [world.node_name[v] for v in np.flatnonzero(none)]
    return out


def reach_notes(world: World, scenario: Scenario) -> tuple[list[str], list[str]]:
    """(notes, problems) on schools in reach, said by `run` and `check` alike: villages with no
    school teaching a level in reach at all (a problem), and on foot (a note)."""
    notes, problems = [], []
    for level, villages in unreachable(world, scenario).items():
        if villages:
            problems.append(_("no school teaching {level} in reach of {n} village(s): "
                              "{villages}").format(
                level=_(level), n=len(villages),
                villages=_(", ").join(villages[:15]) + (" ..." if len(villages) > 15 else "")))
    for level, villages in unreachable(world, scenario, on_foot=True).items():
        if villages:
            notes.append(_("on foot (families without a motorbike or car: they board, rent or "
                           "stay without a place), no school teaching {level} within {minutes:g} "
                           "minutes: {n} village(s): {villages}").format(
                level=_(level), minutes=scenario.policies.max_travel_min,
                n=len(villages),
                villages=_(", ").join(villages[:15]) + (" ..." if len(villages) > 15 else "")))
    return notes, problems


def roll_notes(world: World, pop: Population, raised: list[str],
               scenario: Scenario) -> tuple[list[str], list[str]]:
    """What the calibration of school choice to the rolls did, in words: (notes, problems);
    empty without rolls."""
    placed = pop.roll_placement
    if placed is None:
        return [], []
    notes, problems = [], []
    teachers = world.school_teachers
    if teachers is not None:
        pupils = world.school_roll.sum(axis=1)
        none = np.flatnonzero((pupils > 0) & (teachers == 0))
        if len(none):
            problems.append(_("no teachers at {n} school(s) with pupils: {schools}; give their "
                              "teachers in schools.csv, or leave the column empty if not "
                              "known").format(n=len(none), schools=_(", ").join(
                _("{school} ({n} pupils)").format(school=world.school_name[s], n=int(pupils[s]))
                for s in none[:12])))
    over = over_seats(world, scenario)
    if over:
        problems.append(_("more pupils than seats (classes per grade x the class cap) in a grade "
                          "at {n} school(s): {schools}").format(
            n=len(over), schools=_(", ").join(over[:12]) + (" ..." if len(over) > 12 else "")))
    if raised:
        problems.append(_("more base-year boarders than beds at {n} school(s) (boarders / "
                          "beds): {schools}; their beds were raised to the rolls' "
                          "boarders").format(n=len(raised), schools=_(", ").join(raised)))
    scale = placed.scale[1:]
    if np.any(np.abs(scale - 1) > 0.1):
        notes.append(_("the rolls hold from {low:+.0f}% to {high:+.0f}% pupils of a grade "
                       "against the children the villages' populations give; every village's "
                       "children of a grade were scaled to the rolls").format(
            low=100 * (scale.min() - 1), high=100 * (scale.max() - 1)))
    if placed.short:
        how = (_("the villages in reach were scaled up to supply them")
               if scenario.county.roll_shortfall == "scale_villages" else
               _("{n} of them live in villages beyond reach (county.roll_shortfall: "
                 "from_further)").format(n=placed.beyond_reach))
        problems.append(_("rolls larger than the children in reach at {n} school(s) (pupils "
                          "short): {schools}; {how}").format(
            n=len(placed.short), how=how,
            schools=_(", ").join(f"{k} {v}" for k, v in placed.short.items())))
    if placed.village_gaps:
        problems.append(_("{n} village(s) whose pupils on the rolls differ much from the "
                          "children their population gives (population -> rolls): "
                          "{villages}").format(
            n=len(placed.village_gaps),
            villages=_(", ").join(f"{v} {a} -> {b}" for v, a, b in placed.village_gaps[:12])
            + (" ..." if len(placed.village_gaps) > 12 else "")))
    if scenario.behaviour.choice.mode == "catchment":
        notes.append(_("choice mode catchment: pupils take the nearest school and the school "
                       "constants calibrated to the rolls are not used, so the status quo will "
                       "drift from the rolls (use mode: logit)"))
    return notes, problems


def with_plan(model: Model, actions: list | None = None, closures: list | None = None) -> Model:
    """The built model with another plan: its named actions and/or closure rules replaced
    (dicts as in a scenario file, or their models), the county, population, parameters and bus
    service kept, so that plans are evaluated without rebuilding the county. An `open` action
    changes the county and is refused here unless its school is already in the model (build
    the scenario instead). Runs give the same numbers as a model built from the scenario with
    that plan."""
    from pydantic import TypeAdapter, ValidationError

    from sim.model.scenario import Action, ClosureRule, format_error

    s = model.scenario
    update = {}
    for key, value, kind in (("actions", actions, Action), ("closures", closures, ClosureRule)):
        if value is None:
            continue
        try:
            update[key] = TypeAdapter(list[kind]).validate_python(
                [v.model_dump() if hasattr(v, "model_dump") else v for v in value])
        except ValidationError as exc:
            field, msg = format_error(exc.errors()[0])
            raise InputError(s.file, f"policies.{key}[{field}]", msg) from None
    new = s.model_copy(update={"policies": s.policies.model_copy(update=update)})
    for i, a in enumerate(new.policies.actions):
        if a.key == "open" and a.open.school_id not in model.world.school_name:
            raise InputError(s.file, f"policies.actions[{i}].open", _(
                "a plan that opens a new school changes the county; build its scenario with "
                "build_model"))
    for i, r in enumerate(new.policies.closures):
        if r.year > new.years:
            raise InputError(s.file, f"policies.closures[{i}].year", _(
                "year {year} is after the last simulated year ({years})").format(
                year=r.year, years=new.years))
    return replace(model, scenario=new, A=plan.build_actions(new, model.world),
                   R=build_rules(new))


def build_model(scenario: Scenario) -> Model:
    """Everything the kernels need for this scenario (county, population, arrays, the plan's
    actions, bus service). With rolls, the schools' choice constants are calibrated to them
    and beds are raised to the base-year boarders where the rolls have more."""
    world = build_world(scenario)
    A = plan.build_actions(scenario, world)
    world, raised = raise_beds(world, world.school_boarders if world.school_roll is not None
                               else None)
    pop = synthesise(world, scenario, rng.population_seed(scenario.seed))
    const = board = None
    if pop.roll_placement is not None:
        world, more = raise_beds(world, pop.roll_placement.boarders)
        raised += more
        const, board = pop.roll_placement.const, pop.roll_placement.board_const
    P = build_params(scenario)
    W = world_arrays(world, birth_scale(world, pop, scenario), const, board)
    S0, H0, C0, capacity = base_state(world, pop, scenario.years, W, P)
    bus = bus_service(world, scenario, bus_demand(world, pop), W.node_catchment)
    notes, problems = roll_notes(world, pop, raised, scenario)
    near_notes, near_problems = reach_notes(world, scenario)
    notes, problems = near_notes + notes, near_problems + problems
    if scenario.county.roads == "straight_line":
        notes.append(_("roads: straight lines between neighbouring villages, as long as the "
                       "straight line times the terrain's winding (county.roads: straight_line, "
                       "an assumption): travel times are rough; give roads.csv or an "
                       "OpenStreetMap extract where you have them"))
    posterior = (load_posterior(scenario.posterior, scenario) if scenario.posterior else None)
    return Model(scenario, world, pop, W, P, build_rules(scenario), S0, H0, C0, capacity, bus,
                 A, base_year_notes(world, pop) + notes, problems, posterior)
