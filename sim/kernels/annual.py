"""The annual cycle, the map of the model. One step = one school year:

    year 0 (base year): place pupils, dropout, record
    each later year:    age and progress -> household events (migration, moves, births)
                        -> closures (from last year's enrolment) -> recount seats
                        -> place pupils who need a school -> dropout -> record

`run_replicates` runs many replicates in parallel (prange); each replicate has its own state and
seed, and every draw is keyed by (seed, year, agent, decision), so results do not depend on the
number of threads or on how replicates are split between calls.
"""

import numpy as np
from numba import njit, prange

from sim.kernels.closures import apply_closures
from sim.kernels.demography import age_and_progress, households_year
from sim.kernels.dropout import apply_dropout
from sim.kernels.enrolment import place_all, recount
from sim.kernels.indicators import N_INDICATORS, SHARE_UNDER100_CLOSED, record_year
from sim.kernels.state import Children, Households, Schools


@njit(cache=True)
def _grow(a, n0, capacity):
    b = np.empty(capacity, a.dtype)
    for i in range(n0):
        b[i] = a[i]
    return b


@njit(cache=True)
def fresh_state(S0, H0, C0, capacity):
    """Copies of the base-year state for one replicate, with room for `capacity` children."""
    S = Schools(S0.open.copy(), S0.level.copy(), S0.lo.copy(), S0.hi.copy(), S0.beds.copy(),
                S0.beds_used.copy(), S0.received.copy(), S0.closed_year.copy(), S0.enrol.copy(),
                S0.last_enrol.copy(), S0.last_enrol_g.copy(), S0.base_enrol.copy(),
                S0.bus_served.copy(), S0.version.copy(), S0.cand_school.copy(),
                S0.cand_time.copy(), S0.cand_mode.copy(), S0.cand_n.copy(),
                S0.cand_version.copy())
    H = Households(H0.node.copy(), H0.hardship.copy(), H0.access.copy(), H0.parents.copy(),
                   H0.away.copy(), H0.head_age.copy(), H0.w_dist.copy(), H0.w_quality.copy(),
                   H0.w_cost.copy(), H0.income.copy(), H0.first_child.copy(), H0.far.copy())
    n0 = C0.n_used[0]
    n_used = np.empty(1, np.int64)
    n_used[0] = n0
    C = Children(_grow(C0.hh, n0, capacity), _grow(C0.next_sibling, n0, capacity),
                 _grow(C0.age, n0, capacity), _grow(C0.female, n0, capacity),
                 _grow(C0.grade, n0, capacity), _grow(C0.school, n0, capacity),
                 _grow(C0.mode, n0, capacity), _grow(C0.status, n0, capacity),
                 _grow(C0.travel, n0, capacity), _grow(C0.cost, n0, capacity), n_used)
    return S, H, C


@njit(cache=True)
def end_base_year(S, out0):
    """After recording the base year: remember each school's base-year pupils (the closure
    targets' reference), and report no closed schools yet."""
    for s in range(S.base_enrol.shape[0]):
        S.base_enrol[s] = S.last_enrol[s]
    out0[SHARE_UNDER100_CLOSED, 2] = 0.0


@njit(cache=True, parallel=True)
def run_replicates(seeds, years, P, W, R, S0, H0, C0, capacity):
    """Run len(seeds) replicates in parallel, each from a fresh copy of the base-year state.
    Returns indicators (replicates, years + 1, N_INDICATORS, 3) and the child-year steps of each
    replicate. The year loop below is the annual cycle; `sim.engine.trace_replicate` drives the
    same kernels from Python, one year at a time, for inspection (a test keeps them equal)."""
    n = seeds.shape[0]
    out = np.empty((n, years + 1, N_INDICATORS, 3))
    steps = np.zeros((n, 1), np.int64)
    for i in prange(n):
        seed = seeds[i]
        S, H, C = fresh_state(S0, H0, C0, capacity)
        counts = np.zeros(3, np.int64)  # closed, deferred, exempted (cumulative)
        at_risk = np.zeros(10, np.int64)
        dropped = np.zeros(10, np.int64)
        for year in range(years + 1):
            if year > 0:
                age_and_progress(C, S)
                households_year(year, seed, P, W, H, C)
                apply_closures(year, P, W, R, S, counts)
            recount(S, C)
            place_all(year, seed, P, W, S, H, C)
            apply_dropout(year, seed, P, W, S, H, C, at_risk, dropped)
            record_year(out[i, year], P, W, S, H, C, at_risk, dropped, counts)
            if year == 0:
                end_base_year(S, out[i, 0])
            steps[i, 0] += C.n_used[0]
    return out, steps[:, 0]
