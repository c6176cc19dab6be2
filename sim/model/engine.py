"""Runs a built scenario (sim/model/build.py) on the numba kernels: replicates in parallel
batches, year by year, returning the indicators; or one replicate traced year by year."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np

from sim.core import dtypes as dt
from sim.core import rng
from sim.core.indicators import N_INDICATORS
from sim.core.kernels import annual
from sim.core.kernels.state import N_COUNTS, STATE_TABLES, Children, Field, Households, Schools
from sim.model.affected import Affected, ChildYear, SchoolTrack, SchoolYear, tally
from sim.model.arrays import school_pupils_by_level
from sim.model.build import Model
from sim.model.transport import rider_demand


@dataclass
class RunResult:
    """Indicators of replicates start..stop-1: values[replicate, year, indicator, level];
    bus_networks[replicate, year]: index of the year's bus network in `Model.bus.networks`;
    school_pupils[replicate, year, school, level]: pupils enrolled at the end of the year by
    school (World order) and level (primary, junior, all); school_events[replicate, school,
    year]: what the plan did to each school each year (EV_* flags of
    sim/core/kernels/state.py); affected: the pupils the plan moved (sim/model/affected.py);
    schools: each school's pupils by grade, classes, beds and canteen by replicate and year."""

    values: np.ndarray
    start: int
    child_year_steps: int
    seconds: float
    bus_networks: np.ndarray
    bus_stats: dict
    school_pupils: np.ndarray
    school_events: np.ndarray
    affected: Affected
    schools: SchoolTrack


def set_workers(workers: int | None) -> int:
    """Use `workers` threads in the numba core (default: all cores). Returns the count used."""
    limit = numba.config.NUMBA_NUM_THREADS
    n = limit if workers is None else max(1, min(int(workers), limit))
    numba.set_num_threads(n)
    return n


def batch_state(model: Model, n: int,
                reuse: tuple[Schools, Households, Children] | None = None,
                ) -> tuple[Schools, Households, Children]:
    """State of n replicates at the base year: every array with a leading replicate axis,
    children with room for `model.capacity` records. Fields that are never read before they
    are set (`Field.read_before_set`, sim/core/kernels/state.py) are allocated, not copied, and
    so are the child records not yet in use (a birth sets every field: `fresh_child`).
    `reuse`: an earlier batch state of at least n replicates, filled again in place (its first
    n rows): a run's batches share one allocation instead of faulting fresh pages each time."""
    def stack(a: np.ndarray, field: Field, old: np.ndarray | None) -> np.ndarray:
        length = model.capacity if field.axis == "child" else a.shape[0]
        out = np.empty((n, length, *a.shape[1:]), a.dtype) if old is None else old[:n]
        if field.read_before_set:
            out[:, : a.shape[0]] = a
        return out

    parts = reuse if reuse is not None else (None, None, None)
    return tuple(cls(*[stack(a, f, None if old is None else getattr(old, f.name))
                       for f, a in zip(fields, base, strict=True)])
                 for (cls, fields), base, old in zip(STATE_TABLES.values(),
                                                     (model.S0, model.H0, model.C0), parts,
                                                     strict=True))


def replicate(state: tuple, i: int) -> tuple:
    """Replicate i's (S, H, C) as views into a batch state."""
    return tuple(type(part)(*[a[i] for a in part]) for part in state)


def set_bus_network(model: Model, S: Schools, H: Households, C: Children,
                    previous: int) -> int:
    """Set up this year's student bus lines for one replicate after its closures, for this
    year's pupils (simulated, or from the cache): writes the bus arrays of S, and bumps
    S.bus_version of each village whose line changed (its choice sets are rebuilt).
    Called every year from the plan's first year (`Model.bus_years`). Returns the network's
    index in `model.bus.networks`."""
    n = C.n_used[0]
    hh = C.hh[:n]
    demand = rider_demand(H.node[hh], C.grade[:n], C.status[:n], H.access[hh],
                          model.world.n_nodes)
    idx = model.bus.network_id(S.open, S.lo, S.hi, S.receiver, demand)
    if idx == previous:
        return idx
    net = model.bus.networks[idx]
    door = net.door_min.astype(S.bus_door.dtype)
    S.bus_version[(S.bus_dest != net.dest) | (S.bus_grades != net.grades)
                  | (S.bus_door != door)] += 1
    S.bus_dest[:] = net.dest
    S.bus_grades[:] = net.grades
    S.bus_door[:] = door
    S.bus_ride[:] = net.ride_min
    S.bus_yuan[:] = net.yuan_per_rider
    S.bus_totals[:] = net.totals
    return idx


def child_year(S: Schools, H: Households, C: Children) -> tuple[ChildYear, SchoolYear]:
    """Copies of one replicate's children and schools as the affected-pupil tally reads them."""
    n = C.n_used[0]
    return (ChildYear.copy_of(C.school[:n], C.mode[:n], C.travel[:n], C.status[:n], C.grade[:n],
                              H.node[C.hh[:n]]),
            SchoolYear.copy_of(S.open, S.lo, S.hi))


def replicate_param_rows(model: Model, start: int, stop: int) -> np.ndarray:
    """float64 (stop - start, parameters): the kernel parameters each replicate runs with, one
    row per replicate in `Params` order (`Model.replicate_params`: its posterior particle, or
    the scenario's own parameters)."""
    if model.posterior is None:
        return np.tile(np.asarray(model.P, np.float64), (stop - start, 1))
    return np.array([model.replicate_params(r) for r in range(start, stop)], np.float64)


def run_model(model: Model, start: int, stop: int, batch: int | None = None,
              progress=None) -> RunResult:
    """Run replicates start..stop-1. `batch` replicates step through the years together, each
    with its own parameters (a posterior's particles mix in a batch); results do not depend on
    the batch size, nor on which replicates share a batch. `progress(n)` is called after each
    batch."""
    seeds = rng.replicate_seeds(model.scenario.seed, start, stop)
    batch = batch or max(8, 4 * numba.get_num_threads())
    years = model.scenario.years
    bus_from = model.bus_years()
    W, R, A = model.W, model.R, model.A
    values = np.empty((len(seeds), years + 1, N_INDICATORS, 3))
    events = np.empty((len(seeds), *model.S0.events.shape), np.int32)
    networks = np.full((len(seeds), years + 1), -1, np.int64)
    pupils = np.empty((len(seeds), years + 1, model.S0.enrol.shape[0], 3), np.int32)
    track = SchoolTrack.empty(len(seeds), years, model.S0.enrol.shape[0])
    affected = Affected()
    moving_years = model.policy_years()
    before = model.bus.stats()
    steps = 0
    t0 = time.perf_counter()
    rows = replicate_param_rows(model, start, stop)
    pool = batch_state(model, min(batch, len(seeds))) if len(seeds) else None
    for i in range(0, len(seeds), batch):
        pos = np.arange(i, min(i + batch, len(seeds)))
        sd = seeds[pos]
        PB = rows[pos]
        n = len(sd)
        state = batch_state(model, n, reuse=pool)
        SB, HB, CB = state
        counts = np.zeros((n, N_COUNTS), np.int64)
        at_risk = np.zeros((n, dt.N_GRADES + 1), np.int64)
        dropped = np.zeros((n, dt.N_GRADES + 1), np.int64)
        st = np.zeros(n, np.int64)
        out = np.empty((n, N_INDICATORS, 3))
        net = np.full(n, -1, np.int64)
        by_level = np.empty((n, *pupils.shape[2:]), np.int32)
        for year in range(years + 1):
            if year in moving_years:
                last = [child_year(*replicate(state, k)) for k in range(n)]
            if year > 0:
                annual.year_batch(annual.POLICY, year, sd, PB, W, R, A, SB, HB, CB, counts,
                                  at_risk, dropped, out, st)
                if year >= bus_from:
                    for k in range(n):
                        net[k] = set_bus_network(model, *replicate(state, k), net[k])
            annual.year_batch(annual.SCHOOLING, year, sd, PB, W, R, A, SB, HB, CB, counts,
                              at_risk, dropped, out, st)
            values[pos, year] = out
            networks[pos, year] = net
            school_pupils_by_level(SB.enrol, by_level)
            pupils[pos, year] = by_level
            for k in range(n):
                track.put(pos[k], year, SB.enrol[k], SB.classes[k], SB.beds[k],
                          SB.beds_used[k], SB.canteen[k], SB.open[k])
                if year in moving_years:
                    affected.add(tally(start + int(pos[k]), year, *last[k],
                                       *child_year(*replicate(state, k)),
                                       SB.events[k][:, year]))
        events[pos] = SB.events
        steps += int(st.sum())
        if progress is not None:
            progress(n)
    after = model.bus.stats()
    stats = {k: round(after[k] - before[k], 3) for k in after}
    return RunResult(values, start, steps, time.perf_counter() - t0, networks, stats, pupils,
                     events, affected, track)


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
    P, W, R, A = model.replicate_params(replicate_index), model.W, model.R, model.A
    S, H, C = replicate(batch_state(model, 1), 0)
    counts = np.zeros(N_COUNTS, np.int64)
    at_risk = np.zeros(dt.N_GRADES + 1, np.int64)
    dropped = np.zeros(dt.N_GRADES + 1, np.int64)
    bus_from = model.bus_years()
    net = -1
    for year in range(model.scenario.years + 1):
        if year > 0:
            annual.year_policy(year, seed, P, W, R, A, S, H, C, counts)
            if year >= bus_from:
                net = set_bus_network(model, S, H, C, net)
        out = np.empty((N_INDICATORS, 3))
        annual.year_schooling(year, seed, P, W, S, H, C, counts, at_risk, dropped, out)
        yield YearState(year, S, H, C, out, net)
