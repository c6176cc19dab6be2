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
import pandas as pd

from sim.core import dtypes as dt
from sim.core import rng
from sim.core.kernels import annual
from sim.core.kernels.enrolment import N_CHOICE_SLOTS
from sim.core.kernels.record import N_INDICATORS
from sim.core.kernels.state import Children, Households, Params, Rules, Schools, WorldArrays
from sim.model.population import Population, synthesise
from sim.model.scenario import Scenario
from sim.model.transport import N_TOTALS, BusService, bus_service
from sim.model.world import World, compute_travel_times, load_county_csv, synthetic_county


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


@lru_cache(maxsize=8)
def _synthetic(spec_json: str, travel_json: str) -> World:
    from sim.model.scenario import SyntheticCounty, Travel
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
        bus_on=float(pol.bus.serve_closed_villages), parent_fare_share=pol.bus.parent_fare_share,
        parent_fare_day=-1.0 if pol.bus.parent_fare_yuan_per_day is None
        else pol.bus.parent_fare_yuan_per_day,
        board_min_grade=pol.boarding.min_grade,
        beds_per_receiver=pol.boarding.beds_per_receiving_school,
        boarder_cost=pol.boarding.cost_per_boarder_yuan, bed_cost=pol.boarding.cost_per_bed_yuan,
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


def bus_demand(world: World, pop: Population) -> np.ndarray:
    """(nodes, 10) base-year pupils by node and grade whose family has no motorbike or car: the
    pupils student bus lines are planned for (sim/transport.py)."""
    age = pop.child_age.astype(np.int64)
    grade = age - (dt.SCHOOL_ENTRY_AGE - 1)
    pupil = (grade >= 1) & (grade <= dt.N_GRADES) & ~pop.hh_access[pop.child_hh]
    demand = np.zeros((world.n_nodes, dt.N_GRADES + 1), np.int64)
    np.add.at(demand, (pop.hh_node[pop.child_hh[pupil]], grade[pupil]), 1)
    return demand


def build_model(scenario: Scenario) -> Model:
    """Everything the kernels need for this scenario (county, population, arrays, bus service)."""
    world = build_world(scenario)
    pop = synthesise(world, scenario, rng.population_seed(scenario.seed))
    W = world_arrays(world)
    S0, H0, C0, capacity = base_state(world, pop, scenario.years, W)
    bus = bus_service(world, scenario, bus_demand(world, pop), W.node_catchment)
    return Model(scenario, world, pop, W, build_params(scenario),
                 build_rules(scenario), S0, H0, C0, capacity, bus)


@dataclass
class RunResult:
    """Indicators of replicates start..stop-1: values[replicate, year, indicator, level];
    bus_networks[replicate, year]: index of the year's bus network in `Model.bus.networks`;
    school_pupils[replicate, year, school, level]: pupils enrolled at the end of the year by
    school (World order) and level (primary, junior, all)."""

    values: np.ndarray
    start: int
    child_year_steps: int
    seconds: float
    bus_networks: np.ndarray
    bus_stats: dict
    school_pupils: np.ndarray


def set_workers(workers: int | None) -> int:
    """Use `workers` threads in the numba core (default: all cores). Returns the count used."""
    limit = numba.config.NUMBA_NUM_THREADS
    n = limit if workers is None else max(1, min(int(workers), limit))
    numba.set_num_threads(n)
    return n


#: fields of the choice-set cache: never read before a slot is built (cand_version = -1 says
#: "not built"), so a batch allocates them without copying the base-year state
_UNREAD = {"cand_school", "cand_time", "cand_mode", "cand_n"}


def batch_state(model: Model, n: int) -> tuple[Schools, Households, Children]:
    """State of n replicates at the base year: every array with a leading replicate axis,
    children with room for `model.capacity` records."""
    def stack(a: np.ndarray, length: int | None = None, copy: bool = True) -> np.ndarray:
        shape = (n, length if length is not None else a.shape[0], *a.shape[1:])
        if not copy:
            return np.empty(shape, a.dtype)
        out = np.empty(shape, a.dtype)
        out[:, : a.shape[0]] = a
        if shape[1] > a.shape[0]:
            out[:, a.shape[0]:] = 0
        return out

    C0, cap = model.C0, model.capacity
    SB = Schools(*[stack(a, copy=f not in _UNREAD) for f, a in zip(Schools._fields, model.S0,
                                                                 strict=True)])
    HB = Households(*[stack(a) for a in model.H0])
    CB = Children(*[stack(a) if f == "n_used" else stack(a, cap)
                    for f, a in zip(Children._fields, C0, strict=True)])
    return SB, HB, CB


def replicate(state: tuple, i: int) -> tuple:
    """Replicate i's (S, H, C) as views into a batch state."""
    return tuple(type(part)(*[a[i] for a in part]) for part in state)


def set_bus_network(model: Model, S: Schools) -> int:
    """Set up this year's student bus lines for one replicate after its closures (simulated, or
    from the cache): writes the bus arrays of S. Called in years with closure rules only, where
    `apply_closures` has already bumped S.version, so choice sets are rebuilt with the new
    lines. Returns the network's index in `model.bus.networks`."""
    idx = model.bus.network_id(S.open, S.lo, S.hi, S.receiver)
    net = model.bus.networks[idx]
    S.bus_dest[:] = net.dest
    S.bus_grades[:] = net.grades
    S.bus_door[:] = net.door_min
    S.bus_ride[:] = net.ride_min
    S.bus_yuan[:] = net.yuan_per_rider
    S.bus_totals[:] = net.totals
    return idx


def run_model(model: Model, start: int, stop: int, batch: int | None = None,
              progress=None) -> RunResult:
    """Run replicates start..stop-1. `batch` replicates step through the years together (results
    do not depend on it); `progress(n)` is called after each batch."""
    seeds = rng.replicate_seeds(model.scenario.seed, start, stop)
    batch = batch or max(8, 4 * numba.get_num_threads())
    years = model.scenario.years
    rule_years = set(model.R.year.tolist())
    P, W, R = model.P, model.W, model.R
    values = np.empty((len(seeds), years + 1, N_INDICATORS, 3))
    networks = np.full((len(seeds), years + 1), -1, np.int64)
    pupils = np.empty((len(seeds), years + 1, model.S0.enrol.shape[0], 3), np.int32)
    before = model.bus.stats()
    steps = 0
    t0 = time.perf_counter()
    for i in range(0, len(seeds), batch):
        sd = seeds[i:i + batch]
        n = len(sd)
        state = batch_state(model, n)
        SB, HB, CB = state
        counts = np.zeros((n, 3), np.int64)
        at_risk = np.zeros((n, dt.N_GRADES + 1), np.int64)
        dropped = np.zeros((n, dt.N_GRADES + 1), np.int64)
        st = np.zeros(n, np.int64)
        out = np.empty((n, N_INDICATORS, 3))
        net = np.full(n, -1, np.int64)
        for year in range(years + 1):
            if year > 0:
                annual.year_batch(annual.POLICY, year, sd, P, W, R, SB, HB, CB, counts, at_risk,
                                  dropped, out, st)
                if year in rule_years:
                    for k in range(n):
                        net[k] = set_bus_network(model, replicate(state, k)[0])
            annual.year_batch(annual.SCHOOLING, year, sd, P, W, R, SB, HB, CB, counts, at_risk,
                              dropped, out, st)
            values[i:i + n, year] = out
            networks[i:i + n, year] = net
            school_pupils_by_level(SB.enrol, pupils[i:i + n, year])
        steps += int(st.sum())
        if progress is not None:
            progress(n)
    after = model.bus.stats()
    stats = {k: round(after[k] - before[k], 3) for k in after}
    return RunResult(values, start, steps, time.perf_counter() - t0, networks, stats, pupils)


def school_pupils_by_level(enrol: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Pupils per school by level from enrol[..., school, grade] (grade column 0 unused):
    out[..., school, 0] grades 1-6, [..., 1] grades 7-9, [..., 2] all."""
    out[..., dt.LEVEL_PRIMARY] = enrol[..., 1:dt.FIRST_JUNIOR_GRADE].sum(-1)
    out[..., dt.LEVEL_JUNIOR] = enrol[..., dt.FIRST_JUNIOR_GRADE:dt.N_GRADES + 1].sum(-1)
    out[..., dt.LEVEL_ALL] = out[..., dt.LEVEL_PRIMARY] + out[..., dt.LEVEL_JUNIOR]
    return out


def safety_ledger(model: Model, result: RunResult, replicate_index: int = 0) -> pd.DataFrame:
    """The bus safety ledger of one replicate of a run (by default its first): per year and
    line, vehicles, drivers, pupils carried, first pick-up, longest ride (sim/transport.py)."""
    return model.bus.ledger(_ids_by_year(result, replicate_index))


def bus_stops(model: Model, result: RunResult, replicate_index: int = 0) -> pd.DataFrame:
    """Per year, line and served village of one replicate: pick-up, wait, ride and door-to-school
    times (sim/transport.py)."""
    return model.bus.stops_table(_ids_by_year(result, replicate_index))


def bus_tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The CSV tables of the bus day a run's folder holds (replicate 0 of the run)."""
    return {"safety_ledger.csv": safety_ledger(model, result),
            "bus_stops.csv": bus_stops(model, result)}


def run_tables(model: Model, result: RunResult) -> dict[str, pd.DataFrame]:
    """The CSV tables a run's folder holds besides its indicators: the bus day of replicate 0
    and every school's pupils over all replicates."""
    return {**bus_tables(model, result), "school_pupils.csv": school_table(model, result)}


def school_table(model: Model, result: RunResult) -> pd.DataFrame:
    """Pupils by school, year and level over a run's replicates (pupils at the end of the
    year): mean, 5% and 95% quantiles, and the share of replicates with no pupils (closed, or
    empty). One row per school, year and level the school teaches (primary, junior), and `all`
    for a nine-year school."""
    pupils = result.school_pupils  # (replicate, year, school, level)
    level_name = {v: k for k, v in dt.LEVEL_NAMES.items()}
    mean = pupils.mean(axis=0)
    q05, q95 = np.quantile(pupils, [0.05, 0.95], axis=0)
    empty = (pupils == 0).mean(axis=0)
    rows = []
    for s, name in enumerate(model.world.school_name):
        lo, hi = dt.LEVEL_GRADES[int(model.world.school_level[s])]
        levels = [(0, "primary")] * (lo <= 6) + [(1, "junior")] * (hi >= 7)
        if len(levels) > 1:
            levels.append((2, "all"))
        for lev, lev_name in levels:
            for year in range(pupils.shape[1]):
                rows.append((name, level_name[int(model.world.school_level[s])], year, lev_name,
                             mean[year, s, lev], q05[year, s, lev], q95[year, s, lev],
                             empty[year, s, lev]))
    return pd.DataFrame(rows, columns=["school", "school_level", "year", "level", "pupils_mean",
                                       "pupils_p05", "pupils_p95", "share_without_pupils"])


def _ids_by_year(result: RunResult, replicate_index: int) -> dict[int, int]:
    return {y: int(k) for y, k in enumerate(result.bus_networks[replicate_index]) if k >= 0}


@dataclass
class YearState:
    """One replicate's state after a simulated year (arrays are live: copy to keep them)."""

    year: int
    S: Schools
    H: Households
    C: Children
    indicators: np.ndarray  #: (N_INDICATORS, 3): this year's indicators by level
    bus_network: int  #: index of the year's bus network in `Model.bus.networks` (-1: none)


def trace_replicate(model: Model, replicate_index: int = 0) -> Iterator[YearState]:
    """Run one replicate year by year from Python, yielding the state after each year: the same
    kernels in the same order as `run_model`, with identical results, for inspecting agents and
    schools between years."""
    seed = rng.replicate_seeds(model.scenario.seed, replicate_index, replicate_index + 1)[0]
    P, W, R = model.P, model.W, model.R
    S, H, C = replicate(batch_state(model, 1), 0)
    counts = np.zeros(3, np.int64)
    at_risk = np.zeros(dt.N_GRADES + 1, np.int64)
    dropped = np.zeros(dt.N_GRADES + 1, np.int64)
    rule_years = set(R.year.tolist())
    net = -1
    for year in range(model.scenario.years + 1):
        if year > 0:
            annual.year_policy(year, seed, P, W, R, S, H, C, counts)
            if year in rule_years:
                net = set_bus_network(model, S)
        out = np.empty((N_INDICATORS, 3))
        annual.year_schooling(year, seed, P, W, S, H, C, counts, at_risk, dropped, out)
        yield YearState(year, S, H, C, out, net)
