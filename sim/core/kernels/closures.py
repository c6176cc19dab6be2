"""Closure kernels: which schools close this year under the plan's rules.

A rule closes open schools of its levels with fewer than `below` pupils last year: all of them,
or enough to bring the share of the base year's under-`below` schools that are closed up to
`share`. Candidates are taken in ranking order (smallest first, or least added pupil-minutes).
A school whose pupils would have to travel further than the exemption limit is kept for the
lower grades (a village primary becomes a teaching point; a teaching point stays). With the
capacity check on, a school closes only when the receiving school has seats, canteen places and
beds for its pupils; otherwise the closure is deferred and counted.
"""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels.state import COUNT_CLOSED, COUNT_DEFERRED, COUNT_EXEMPTED


@njit(cache=True)
def alternative_time(s, mask, P, W, S):
    """Receiving school for the pupils of school `s` and their one-way time from its village
    (minutes): the nearest open school teaching all of `s`'s grades whose level is not in the
    rule's level `mask` (village schools merge into township schools), by bus where bus lines
    will serve closed villages, else on foot. Returns (-1, inf) if there is none."""
    v = W.school_node[s]
    best, best_t = -1, np.inf
    for s2 in range(S.open.shape[0]):
        if s2 == s or not S.open[s2] or S.lo[s2] > S.lo[s] or S.hi[s2] < S.hi[s]:
            continue
        if (mask >> S.level[s2]) & 1:
            continue
        t = W.t_bus[v, s2] if P.bus_on > 0 else W.t_walk[v, s2]
        if t < best_t:
            best, best_t = s2, t
    return best, best_t


@njit(cache=True)
def _free_seats(r, lo, hi, P, W, S, reserved):
    free = 0
    for g in range(lo, hi + 1):
        cap = P.cap_primary if g <= rules.LAST_PRIMARY_GRADE else P.cap_junior
        free += int(cap) * W.school_classes[r] - S.last_enrol_g[r, g]
    return free - reserved[r]


@njit(cache=True)
def apply_closures(year, P, W, R, S, counts):
    """Close schools for `year`. counts[COUNT_CLOSED] += closures, counts[COUNT_DEFERRED] +=
    schools whose closure was deferred this year (no receiving school with room),
    counts[COUNT_EXEMPTED] += schools kept for the lower
    grades by the travel exemption. Records each closed or downgraded school's receiving school
    (S.receiver), and bumps S.version (choice sets are rebuilt) in a year with rules."""
    n_s = S.open.shape[0]
    reserved = np.zeros(n_s, np.int64)
    reserved_beds = np.zeros(n_s, np.int64)
    reserved_canteen = np.zeros(n_s, np.int64)
    deferred = np.zeros(n_s, np.bool_)  # a school is counted once a year however many rules
    for r in range(R.year.shape[0]):
        if R.year[r] != year:
            continue
        S.version[0] += 1
        mask = R.levels[r]
        below = R.below[r]
        cand = np.empty(n_s, np.int64)
        n_c = 0
        for s in range(n_s):
            if S.open[s] and (mask >> S.level[s]) & 1 and S.last_enrol[s] < below:
                cand[n_c] = s
                n_c += 1
        cand = cand[:n_c]
        if np.isnan(R.share[r]):
            target = n_c
        else:
            base, closed = 0, 0
            for s in range(n_s):
                if (mask >> W.school_level0[s]) & 1 and S.base_enrol[s] < below:
                    base += 1
                    if not S.open[s]:
                        closed += 1
            target = int(np.ceil(R.share[r] * base - 1e-9)) - closed
        if target <= 0 or n_c == 0:
            continue
        recv = np.empty(n_c, np.int64)
        alt = np.empty(n_c, np.float64)
        key = np.empty(n_c, np.float64)
        for i in range(n_c):
            recv[i], alt[i] = alternative_time(cand[i], mask, P, W, S)
            e = S.last_enrol[cand[i]]
            key[i] = e if R.ranking[r] == dt.SMALLEST_FIRST else e * alt[i]
        order = np.argsort(key, kind="mergesort")
        done = 0
        for k in order:
            if done >= target:
                break
            s, rs, t = cand[k], recv[k], alt[k]
            if not S.open[rs]:  # closed earlier in this loop: look again
                rs, t = alternative_time(s, mask, P, W, S)
            if rs < 0:
                deferred[s] = True
                continue
            if P.exempt_over_min >= 0 and t > P.exempt_over_min:
                if S.hi[s] > P.exempt_hi_grade:
                    S.hi[s] = P.exempt_hi_grade
                    S.receiver[s] = rs
                    S.level[s] = dt.TEACHING_POINT
                    counts[COUNT_EXEMPTED] += 1
                continue
            pupils = S.last_enrol[s]
            if P.capacity_check > 0:
                need_beds = 0
                if t > P.max_travel_min:
                    for g in range(max(S.lo[s], int(P.board_min_grade)), S.hi[s] + 1):
                        need_beds += S.last_enrol_g[s, g]
                new_beds = 0 if S.received[rs] else int(P.beds_per_receiver)
                free_beds = S.beds[rs] + new_beds - S.beds_used[rs] - reserved_beds[rs]
                free_canteen = W.school_canteen[rs] - reserved_canteen[rs]
                if (_free_seats(rs, S.lo[s], S.hi[s], P, W, S, reserved) < pupils
                        or free_beds < need_beds or free_canteen < pupils):
                    deferred[s] = True
                    continue
                reserved_beds[rs] += need_beds
                reserved_canteen[rs] += pupils
            reserved[rs] += pupils
            S.open[s] = False
            S.closed_year[s] = year
            S.receiver[s] = rs
            deferred[s] = False
            if not S.received[rs]:
                S.received[rs] = True
                S.beds[rs] += int(P.beds_per_receiver)
            counts[COUNT_CLOSED] += 1
            done += 1
    counts[COUNT_DEFERRED] += deferred.sum()
