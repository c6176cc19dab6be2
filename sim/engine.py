"""Runs a scenario on the numba kernels: builds the county, the base-year population and the
kernels' arrays from the scenario, runs replicates in parallel and returns the indicators."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from sim import dtypes as dt
from sim import rng
from sim.kernels import annual
from sim.kernels.annual import run_replicates
from sim.kernels.closures import apply_closures
from sim.kernels.demography import age_and_progress, households_year
from sim.kernels.dropout import apply_dropout
from sim.kernels.enrolment import N_CHOICE_SLOTS, place_all, recount
from sim.kernels.indicators import N_INDICATORS, record_year
from sim.kernels.state import Children, Households, Params, Rules, Schools, WorldArrays
from sim.population import Population, synthesise
from sim.scenario import Scenario
from sim.world import World, compute_travel_times, load_county_csv, synthetic_county


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


@lru_cache(maxsize=8)
def _synthetic(spec_json: str, travel_json: str) -> World:
    from sim.scenario import SyntheticCounty, Travel
    world = synthetic_county(SyntheticCounty.model_validate_json(spec_json))
    return compute_travel_times(world, Travel.model_validate_json(travel_json))


def build_world(scenario: Scenario) -> World:
    """The scenario's county with travel times (synthetic counties are cached in-process)."""
    travel = scenario.behaviour.travel
    if scenario.county.synthetic is not None:
        return _synthetic(scenario.county.synthetic.model_dump_json(), travel.model_dump_json())
    return compute_travel_times(load_county_csv(scenario.county.data), travel)


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def build_params(s: Scenario) -> Params:
    """Scalar parameters for the kernels, from the scenario (units as in sim/scenario.py)."""
    b, pol = s.behaviour, s.policies
    d, ch, do, tr, co = b.demography, b.choice, b.dropout, b.travel, b.costs
    ex = pol.exemptions
    values = dict(
        birth_20_34=d.birth_prob_20_34, birth_35_44=d.birth_prob_35_44,
        fertility_decline=d.fertility_decline_per_year, out_migration=d.out_migration_prob,
        take_children=d.take_children_prob, return_prob=d.return_prob,
        move_town=d.move_to_town_prob, move_seat=d.move_to_seat_prob,
        move_if_far=d.move_if_far_extra_prob,
        choice_mode=dt.CHOICE_NAMES[ch.mode], board_equiv_min=ch.boarding_travel_equivalent_min,
        board_over_min=ch.board_if_day_travel_over_min, rent_prob=ch.rent_prob,
        candidates=ch.candidates,
        logit_base_primary=_logit(do.base_primary), logit_base_junior=_logit(do.base_junior),
        b_travel_10min=do.per_10min_travel, b_female_travel_10min=do.female_extra_per_10min_travel,
        b_cost_share=do.cost_share, b_hardship=do.hardship, b_left_behind=do.left_behind,
        b_young_boarding=do.young_boarding, b_quality=do.quality,
        renting_min=tr.renting_travel_min,
        school_fixed=co.school_fixed_yuan, teacher=co.teacher_yuan,
        teachers_class_primary=co.teachers_per_class_primary,
        teachers_class_junior=co.teachers_per_class_junior,
        private_per_km=co.private_yuan_per_km, school_days=co.school_days, rent=co.rent_yuan,
        exempt_over_min=-1.0 if ex.keep_teaching_points_if_travel_over_min is None
        else ex.keep_teaching_points_if_travel_over_min,
        exempt_hi_grade=max(ex.grades), capacity_check=float(pol.receiving_capacity_check),
        bus_on=float(pol.bus.serve_closed_villages), bus_seats=pol.bus.seats,
        parent_fare_share=pol.bus.parent_fare_share, max_ride_min=pol.bus.max_ride_min,
        bus_km_cost=pol.bus.cost_per_bus_km_yuan, bus_load=pol.bus.load_factor,
        board_min_grade=pol.boarding.min_grade,
        beds_per_receiver=pol.boarding.beds_per_receiving_school,
        boarder_cost=pol.boarding.cost_per_boarder_yuan,
        boarding_family_share=pol.boarding.family_share,
        hardship_subsidy=pol.boarding.hardship_subsidy_yuan,
        cap_primary=pol.class_caps.primary, cap_junior=pol.class_caps.junior,
        max_travel_min=pol.max_travel_min, max_board_trip_min=pol.boarding.max_trip_min,
    )
    return Params(**{k: float(v) for k, v in values.items()})


def build_rules(s: Scenario) -> Rules:
    rules = sorted(s.policies.closures, key=lambda r: r.year)
    return Rules(
        year=np.array([r.year for r in rules], np.int32),
        below=np.array([r.below for r in rules], np.int32),
        share=np.array([np.nan if r.share is None else r.share for r in rules], np.float64),
        ranking=np.array([dt.RANKING_NAMES[r.ranking] for r in rules], np.int32),
        levels=np.array([sum(1 << dt.LEVEL_NAMES[x] for x in r.levels) for r in rules], np.int32),
    )


def _sorted_schools(world: World, which: np.ndarray) -> np.ndarray:
    """(nodes, k) indices of the schools in `which`, nearest first by private time; -1 pads."""
    idx = np.flatnonzero(which)
    out = np.full((world.n_nodes, max(len(idx), 1)), -1, dt.INDEX)
    if len(idx):
        order = np.argsort(world.t_private[:, idx], axis=1, kind="stable")
        out[:, : len(idx)] = idx[order]
    return out


def world_arrays(world: World) -> WorldArrays:
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level])
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level])
    teaches_1 = np.array([dt.LEVEL_GRADES[int(x)][0] == 1 for x in world.school_level])
    walk = np.where(teaches_1[None, :], world.t_walk, np.inf)
    catchment = np.where(teaches_1.any(), np.argmin(walk, axis=1), -1).astype(dt.INDEX)
    return WorldArrays(
        node_kind=world.node_kind.astype(np.int8), node_township=world.node_township.astype(dt.INDEX),
        school_node=world.school_node.astype(dt.INDEX),
        school_level0=world.school_level.astype(np.int8),
        school_classes=world.school_classes_per_grade.astype(dt.INDEX),
        school_canteen=world.school_canteen.astype(dt.INDEX),
        school_quality=world.school_quality.astype(np.float64),
        t_walk=world.t_walk, t_bus=world.t_bus, t_private=world.t_private, km=world.km,
        sorted_primary=_sorted_schools(world, lo == 1),
        sorted_junior=_sorted_schools(world, hi >= dt.FIRST_JUNIOR_GRADE),
        node_catchment=catchment, township_centre=world.centre_of_township(),
        seat_node=np.array([world.seat_node()], dt.INDEX),
    )


def base_state(world: World, pop: Population, years: int,
               W: WorldArrays) -> tuple[Schools, Households, Children, int]:
    """Base-year state, and the number of child records to reserve (births included)."""
    n_s = world.n_schools
    slots = world.n_nodes * N_CHOICE_SLOTS
    width = max(W.sorted_primary.shape[1], W.sorted_junior.shape[1])
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level], np.int8)
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level], np.int8)
    S0 = Schools(
        open=np.ones(n_s, bool), level=world.school_level.astype(np.int8).copy(), lo=lo, hi=hi,
        beds=world.school_beds.astype(dt.INDEX).copy(), beds_used=np.zeros(n_s, dt.INDEX),
        received=np.zeros(n_s, bool), closed_year=np.full(n_s, -1, np.int32),
        enrol=np.zeros((n_s, 10), np.int32), last_enrol=np.zeros(n_s, np.int32),
        last_enrol_g=np.zeros((n_s, 10), np.int32), base_enrol=np.full(n_s, -1, np.int32),
        bus_served=np.zeros(world.n_nodes, bool), version=np.zeros(1, np.int64),
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
                      np.where(age <= 14, dt.ENROLLED, dt.GRADUATED)).astype(np.int8)
    grade = np.where(status == dt.ENROLLED, age - 5, 0).astype(np.int8)
    C0 = Children(
        hh=pop.child_hh.copy(), next_sibling=nxt, age=age, female=pop.child_female.copy(),
        grade=grade, school=np.full(n_c, -1, dt.INDEX), mode=np.zeros(n_c, np.int8),
        status=status, travel=np.zeros(n_c, np.float32), cost=np.zeros(n_c, np.float32),
        n_used=np.array([n_c], np.int64),
    )
    fertile_years = np.clip(45 - pop.hh_head_age.astype(np.int64), 0, years).sum()
    return S0, H0, C0, int(n_c + fertile_years + 1)


def build_model(scenario: Scenario) -> Model:
    """Everything the kernels need for this scenario (county, population, arrays)."""
    world = build_world(scenario)
    pop = synthesise(world, scenario, rng.population_seed(scenario.seed))
    W = world_arrays(world)
    S0, H0, C0, capacity = base_state(world, pop, scenario.years, W)
    return Model(scenario, world, pop, W, build_params(scenario),
                 build_rules(scenario), S0, H0, C0, capacity)


@dataclass
class RunResult:
    """Indicators of replicates start..stop-1: values[replicate, year, indicator, level]."""

    values: np.ndarray
    start: int
    child_year_steps: int
    seconds: float


def set_workers(workers: int | None) -> int:
    """Use `workers` threads in the numba core (default: all cores). Returns the count used."""
    limit = numba.config.NUMBA_NUM_THREADS
    n = limit if workers is None else max(1, min(int(workers), limit))
    numba.set_num_threads(n)
    return n


def run_model(model: Model, start: int, stop: int, batch: int | None = None,
              progress=None) -> RunResult:
    """Run replicates start..stop-1. `batch` replicates go to the kernel per call (results do not
    depend on it); `progress(n)` is called after each batch."""
    seeds = rng.replicate_seeds(model.scenario.seed, start, stop)
    batch = batch or max(8, 4 * numba.get_num_threads())
    parts, steps = [], 0
    t0 = time.perf_counter()
    for i in range(0, len(seeds), batch):
        out, st = run_replicates(seeds[i:i + batch], model.scenario.years, model.P, model.W,
                                 model.R, model.S0, model.H0, model.C0, model.capacity)
        parts.append(out)
        steps += int(st.sum())
        if progress is not None:
            progress(len(out))
    values = np.concatenate(parts) if parts else np.zeros((0, model.scenario.years + 1, 0, 3))
    return RunResult(values, start, steps, time.perf_counter() - t0)


@dataclass
class YearState:
    """One replicate's state after a simulated year (arrays are live: copy to keep them)."""

    year: int
    S: Schools
    H: Households
    C: Children
    indicators: np.ndarray  #: (N_INDICATORS, 3): this year's indicators by level


def trace_replicate(model: Model, replicate: int = 0) -> Iterator[YearState]:
    """Run one replicate year by year from Python, yielding the state after each year: the same
    kernels in the same order as the parallel core (`run_replicates`), with identical results,
    for inspecting agents and schools between years."""
    seed = rng.replicate_seeds(model.scenario.seed, replicate, replicate + 1)[0]
    P, W, R = model.P, model.W, model.R
    S, H, C = annual.fresh_state(model.S0, model.H0, model.C0, model.capacity)
    counts = np.zeros(3, np.int64)
    at_risk = np.zeros(10, np.int64)
    dropped = np.zeros(10, np.int64)
    for year in range(model.scenario.years + 1):
        if year > 0:
            age_and_progress(C, S)
            households_year(year, seed, P, W, H, C)
            apply_closures(year, P, W, R, S, counts)
        recount(S, C)
        place_all(year, seed, P, W, S, H, C)
        apply_dropout(year, seed, P, W, S, H, C, at_risk, dropped)
        out = np.empty((N_INDICATORS, 3))
        record_year(out, P, W, S, H, C, at_risk, dropped, counts)
        if year == 0:
            annual.end_base_year(S, out)
        yield YearState(year, S, H, C, out)
