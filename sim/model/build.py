"""From a scenario to what the kernels need: the county with travel times (and the schools the
plan opens), the base-year population (from the rolls where the county gives them), the
kernels' arrays (world, base-year state, the plan's actions) and the bus service. Parameters
and closure rules: sim/model/params.py; actions: sim/model/plan.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.core import dtypes as dt
from sim.core import rng, rules
from sim.core.kernels.enrolment import N_CHOICE_SLOTS, family_cost
from sim.core.kernels.state import (
    N_TOTALS,
    Actions,
    Children,
    Households,
    Rules,
    Schools,
    WorldArrays,
)
from sim.model import plan
from sim.model.births import birth_scale
from sim.model.county_files import load_county
from sim.model.params import Params, build_params, build_rules
from sim.model.population import Population, synthesise
from sim.model.scenario import Scenario
from sim.model.transport import BusService, bus_service
from sim.model.world import World, compute_travel_times, synthetic_county


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

    def policy_years(self) -> set[int]:
        """Simulated years with closure rules or named actions (bus lines are re-planned)."""
        return set(self.R.year.tolist()) | set(self.A.year.tolist())


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
        world = compute_travel_times(load_county(scenario.county.data), travel)
    planned = plan.with_planned_schools(world, scenario)
    return world if planned is world else compute_travel_times(planned, travel)


def _sorted_schools(world: World, which: np.ndarray) -> np.ndarray:
    """(nodes, k) indices of the schools in `which`, nearest first by private time; -1 pads."""
    idx = np.flatnonzero(which)
    out = np.full((world.n_nodes, max(len(idx), 1)), -1, dt.INDEX)
    if len(idx):
        order = np.argsort(world.t_private[:, idx], axis=1, kind="stable")
        out[:, : len(idx)] = idx[order]
    return out


def world_arrays(world: World, birth_factor: np.ndarray) -> WorldArrays:
    """The county as the kernels see it; `birth_factor` (years + 1): sim/model/births.py."""
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    teaches_1 = (lo == 1) & ~world.planned()
    walk = np.where(teaches_1[None, :], world.t_walk, np.inf)
    catchment = np.where(teaches_1.any(), np.argmin(walk, axis=1), -1).astype(dt.INDEX)
    return WorldArrays(
        node_kind=world.node_kind.astype(np.int8), node_township=world.node_township.astype(dt.INDEX),
        school_node=world.school_node.astype(dt.INDEX),
        school_level0=world.school_level.astype(np.int8),
        school_quality=world.school_quality.astype(np.float64),
        t_walk=world.t_walk, t_bus=world.t_bus, t_private=world.t_private, km=world.km,
        sorted_primary=_sorted_schools(world, lo == 1),
        sorted_junior=_sorted_schools(world, hi >= dt.FIRST_JUNIOR_GRADE),
        node_catchment=catchment, township_centre=world.centre_of_township(),
        seat_node=np.array([world.seat_node()], dt.INDEX),
        seat_min=seat_minutes(world),
        birth_scale=np.asarray(birth_factor, np.float64),
        rolls_given=np.array([world.school_roll is not None]),
    )


def base_state(world: World, pop: Population, years: int, W: WorldArrays,
               P: Params) -> tuple[Schools, Households, Children, int]:
    """Base-year state, and the number of child records to reserve (births included). Pupils
    from the rolls start at their school (with their travel mode, time and family cost);
    schools the plan opens start closed."""
    n_s = world.n_schools
    slots = world.n_nodes * N_CHOICE_SLOTS
    width = max(W.sorted_primary.shape[1], W.sorted_junior.shape[1])
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level], np.int8)
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level], np.int8)
    S0 = Schools(
        open=~world.planned(), level=world.school_level.astype(np.int8).copy(), lo=lo, hi=hi,
        classes=world.school_classes_per_grade.astype(dt.INDEX).copy(),
        canteen=world.school_canteen.astype(dt.INDEX).copy(),
        beds=world.school_beds.astype(dt.INDEX).copy(), beds_used=np.zeros(n_s, dt.INDEX),
        received=np.zeros(n_s, bool), closed_year=np.full(n_s, -1, np.int32),
        enrol=np.zeros((n_s, 10), np.int32), last_enrol=np.zeros(n_s, np.int32),
        last_enrol_g=np.zeros((n_s, 10), np.int32), base_enrol=np.full(n_s, -1, np.int32),
        events=np.zeros((n_s, years + 1), np.int32),
        receiver=np.full(n_s, -1, dt.INDEX), bus_dest=np.full(world.n_nodes, -1, dt.INDEX),
        bus_grades=np.zeros(world.n_nodes, dt.INDEX),
        bus_door=np.zeros(world.n_nodes, np.float32), bus_ride=np.zeros(world.n_nodes, np.float32),
        bus_yuan=np.zeros(world.n_nodes, np.float32), bus_totals=np.zeros(N_TOTALS),
        version=np.zeros(1, np.int64),
        cand_school=np.full((slots, width), -1, dt.INDEX),
        cand_time=np.zeros((slots, width), np.float32), cand_mode=np.zeros((slots, width), np.int8),
        cand_n=np.zeros(slots, dt.INDEX),
        cand_version=np.full(slots, -1, np.int64),
    )
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
        income=pop.hh_income.copy(), first_child=first, far=np.zeros(n_h, bool),
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
        achievement=np.zeros(n_c, np.float32), schooling=base_schooling(age),
        moved=np.zeros(n_c, bool), n_used=np.array([n_c], np.int64),
    )
    last_fertile_age = rules.BIRTH_AGES_LOW[1]
    fertile_years = np.clip(last_fertile_age + 1 - pop.hh_head_age.astype(np.int64), 0, years).sum()
    return S0, H0, C0, int(n_c + fertile_years + 1)


def base_schooling(age: np.ndarray) -> np.ndarray:
    """Years of schooling completed by the base year's children (float32): a pupil aged a is in
    grade a - 5, so has completed a - 6 years; a 15-year-old has finished grade 9 (senior-high
    history before the base year is not known: none)."""
    return np.clip(age.astype(np.float32) - dt.SCHOOL_ENTRY_AGE, 0, dt.N_GRADES).astype(np.float32)


def seat_minutes(world: World) -> np.ndarray:
    """float32 (nodes): one-way minutes by motorbike or car from each node to the county seat
    (its nearest school there; the seat node's own local trip where it has none)."""
    at_seat = np.flatnonzero(world.school_node == world.seat_node())
    if len(at_seat):
        return world.t_private[:, at_seat].min(axis=1).astype(np.float32)
    nearest = np.argmin(world.t_private, axis=1)
    return world.t_private[np.arange(world.n_nodes), nearest].astype(np.float32)


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
    pupils student bus lines are planned for (sim/model/transport.py)."""
    age = pop.child_age.astype(np.int64)
    grade = age - (dt.SCHOOL_ENTRY_AGE - 1)
    pupil = (grade >= 1) & (grade <= dt.N_GRADES) & ~pop.hh_access[pop.child_hh]
    demand = np.zeros((world.n_nodes, dt.N_GRADES + 1), np.int64)
    np.add.at(demand, (pop.hh_node[pop.child_hh[pupil]], grade[pupil]), 1)
    return demand


def base_year_notes(world: World, pop: Population) -> list[str]:
    """What the county's data leave out or the model assumes for them, in words."""
    notes = []
    if pop.unserved:
        names = ", ".join(f"{v} (grades {_grades(g)})" for v, g in sorted(pop.unserved.items()))
        notes.append(f"no school in reach of {len(pop.unserved)} village(s), whose children of "
                     f"those grades start unplaced: {names}")
    if pop.roll_fallback:
        notes.append("no village within reach of " + ", ".join(sorted(set(pop.roll_fallback)))
                     + ": their roll pupils were placed in the nearest village with households")
    unknown = [world.school_name[s] for s in np.flatnonzero(world.school_canteen < 0)]
    if unknown:
        notes.append(f"canteen places not given for {len(unknown)} school(s): the receiving "
                     "capacity check skips canteen places there")
    return notes


def _grades(grades: list[int]) -> str:
    return f"{grades[0]}-{grades[-1]}" if grades == list(range(grades[0], grades[-1] + 1)) \
        else ",".join(map(str, grades))


def build_model(scenario: Scenario) -> Model:
    """Everything the kernels need for this scenario (county, population, arrays, the plan's
    actions, bus service)."""
    world = build_world(scenario)
    A = plan.build_actions(scenario, world)
    pop = synthesise(world, scenario, rng.population_seed(scenario.seed))
    P = build_params(scenario)
    W = world_arrays(world, birth_scale(world, pop, scenario))
    S0, H0, C0, capacity = base_state(world, pop, scenario.years, W, P)
    bus = bus_service(world, scenario, bus_demand(world, pop), W.node_catchment)
    return Model(scenario, world, pop, W, P, build_rules(scenario), S0, H0, C0, capacity, bus,
                 A, base_year_notes(world, pop))
