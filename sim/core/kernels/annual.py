"""The annual cycle, the map of the model. One step = one school year:

    year 0 (base year): place pupils, dropout, remember the year, record
    each later year:    age and progress -> household events (migration, moves, births)
                        -> named plan actions, closure rules (from last
                           year's enrolment)                          [year_policy]
                        -> student bus lines for the new network (sim/model/transport.py,
                           simpy, in Python between the two kernels)
                        -> recount seats -> place pupils who need a school
                        -> achievement -> dropout -> remember the year
                        -> record                                         [year_schooling]

`year_batch` steps a batch of replicates through one half of a year in parallel (prange);
each replicate has its own state and seed, and every draw is keyed by (seed, year, agent,
decision), so results do not depend on the number of threads or on how replicates are split
into batches. Batch state holds every replicate's arrays with a leading replicate axis.
"""

from numba import njit, prange

from sim.core.kernels.achievement import achievement_year
from sim.core.kernels.closures import apply_closures
from sim.core.kernels.demography import age_and_progress, households_year
from sim.core.kernels.dropout import apply_dropout
from sim.core.kernels.enrolment import place_all, recount
from sim.core.kernels.record import record_year
from sim.core.kernels.state import Children, Households, Schools
from sim.core.kernels.year_end import remember_year


@njit(cache=True)
def year_policy(year, seed, P, W, R, A, S, H, C, counts):
    """First half of a later year: ageing and grade progression, household events, the plan's
    named actions and closure rules. counts: the event counters of
    sim/core/kernels/state.py (COUNT_*)."""
    age_and_progress(year, seed, P, W, H, C, S, counts)
    households_year(year, seed, P, W, H, C)
    apply_closures(year, P, W, R, A, S, counts)


@njit(cache=True)
def year_schooling(year, seed, P, W, S, H, C, counts, at_risk, dropped, out):
    """Second half of a year, once the bus service is set: recount, placement, dropout, what
    next year's rules need, and the year's indicators into out[indicator, level] (a pure read).
    Returns the child records stepped."""
    recount(P, W, S, H, C)
    place_all(year, seed, P, W, S, H, C)
    achievement_year(P, W, C)
    apply_dropout(year, seed, P, W, S, H, C, at_risk, dropped)
    remember_year(year, S, H, C)
    record_year(out, P, W, S, H, C, at_risk, dropped, counts)
    return C.n_used[0]


@njit(cache=True)
def replicate_view(SB, HB, CB, i):
    """Replicate i's state as views into the batch state (no copies)."""
    S = Schools(SB.open[i], SB.level[i], SB.lo[i], SB.hi[i], SB.classes[i], SB.canteen[i],
                SB.beds[i], SB.beds_used[i], SB.received[i], SB.closed_year[i], SB.enrol[i],
                SB.last_enrol[i], SB.last_enrol_g[i], SB.base_enrol[i], SB.events[i],
                SB.receiver[i], SB.bus_dest[i],
                SB.bus_grades[i], SB.bus_door[i], SB.bus_ride[i], SB.bus_yuan[i], SB.bus_totals[i],
                SB.version[i], SB.cand_school[i], SB.cand_time[i], SB.cand_mode[i], SB.cand_n[i],
                SB.cand_version[i])
    H = Households(HB.node[i], HB.hardship[i], HB.access[i], HB.parents[i], HB.away[i],
                   HB.head_age[i], HB.w_dist[i], HB.w_quality[i], HB.w_cost[i], HB.income[i],
                   HB.first_child[i], HB.far[i])
    C = Children(CB.hh[i], CB.next_sibling[i], CB.age[i], CB.female[i], CB.grade[i], CB.school[i],
                 CB.mode[i], CB.status[i], CB.travel[i], CB.cost[i], CB.achievement[i],
                 CB.schooling[i], CB.moved_from[i], CB.n_used[i])
    return S, H, C


POLICY, SCHOOLING = 0, 1  #: the two halves of a year, for `year_batch`


@njit(cache=True, parallel=True)
def year_batch(half, year, seeds, P, W, R, A, SB, HB, CB, counts, at_risk, dropped, out, steps):
    """One half of a year (POLICY: `year_policy`; SCHOOLING: `year_schooling`) for every
    replicate of the batch, in parallel; out[i]: replicate i's indicators this year; steps[i] +=
    child records stepped. One parallel kernel for both halves: each parallel wrapper costs
    seconds of compile time."""
    for i in prange(seeds.shape[0]):
        S, H, C = replicate_view(SB, HB, CB, i)
        if half == POLICY:
            year_policy(year, seeds[i], P, W, R, A, S, H, C, counts[i])
        else:
            steps[i] += year_schooling(year, seeds[i], P, W, S, H, C, counts[i], at_risk[i],
                                       dropped[i], out[i])
