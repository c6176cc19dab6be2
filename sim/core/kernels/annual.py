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
from sim.core.kernels.generated import params_of, replicate_view
from sim.core.kernels.record import record_year
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


POLICY, SCHOOLING = 0, 1  #: the two halves of a year, for `year_batch`


@njit(cache=True, parallel=True)
def year_batch(half, year, seeds, PB, W, R, A, SB, HB, CB, counts, at_risk, dropped, out, steps):
    """One half of a year (POLICY: `year_policy`; SCHOOLING: `year_schooling`) for every
    replicate of the batch, in parallel; PB[i]: replicate i's parameters (a float64 row in
    `Params` order: replicates drawing different posterior particles share a batch); out[i]:
    replicate i's indicators this year; steps[i] += child records stepped. One parallel kernel
    for both halves: each parallel wrapper costs seconds of compile time."""
    for i in prange(seeds.shape[0]):
        P = params_of(PB[i])
        S, H, C = replicate_view(SB, HB, CB, i)
        if half == POLICY:
            year_policy(year, seeds[i], P, W, R, A, S, H, C, counts[i])
        else:
            steps[i] += year_schooling(year, seeds[i], P, W, S, H, C, counts[i], at_risk[i],
                                       dropped[i], out[i])
