"""Closure kernels: what the plan does to schools this year, its named actions first, then its
threshold rules.

Named actions (sim/core/kernels/state.py `Actions`) act in the order open, expand, downgrade,
close. An opened school starts teaching; an expansion adds classes per grade, beds and canteen
places; a downgrade keeps a school for grades 1 to `hi` (a teaching point) and sends its upper
grades to the nearest open school teaching them; a named closure sends the school's pupils to
the named receiving school, or to the nearest as for rules.

A rule closes open schools of its levels with fewer than `below` pupils last year: all of them,
or enough to bring the share of the base year's under-`below` schools that are closed up to
`share`. Candidates are taken in ranking order (smallest first, or least added pupil-minutes),
and a school an action already handled this year is skipped. A school whose pupils would have
to travel further than the exemption limit is kept for the lower grades (a village primary
becomes a teaching point; a teaching point stays).

With the capacity check on, any closure (named or by rule) happens only when the receiving
school has free seats, canteen places (where known) and beds for its pupils; otherwise it is
deferred and the reasons are kept in S.events (EV_DEFER_*).
"""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels.state import (
    ACT_CLOSE,
    ACT_DOWNGRADE,
    ACT_EXPAND,
    ACT_OPEN,
    COUNT_CLOSED,
    COUNT_DEFERRED,
    COUNT_EXEMPTED,
    EV_BY_ACTION,
    EV_CLOSED,
    EV_DEFER_BEDS,
    EV_DEFER_CANTEEN,
    EV_DEFER_RECEIVER,
    EV_DEFER_SEATS,
    EV_DEFERRED,
    EV_DOWNGRADED,
    EV_EXEMPTED,
    EV_EXPANDED,
    EV_OPENED,
    EV_RECEIVED,
)

#: levels a village school merges out of: its receiving school is of another level
VILLAGE_LEVELS = (1 << dt.TEACHING_POINT) | (1 << dt.VILLAGE_PRIMARY)


@njit(cache=True)
def nearest_teaching(s, lo, hi, mask, P, W, S):
    """The nearest open school other than `s` teaching grades lo..hi whose level is not in the
    bit `mask`, and the one-way time to it from `s`'s village (minutes): by bus where bus lines
    will serve closed villages, else on foot. Returns (-1, inf) if there is none."""
    v = W.school_node[s]
    best, best_t = -1, np.inf
    for s2 in range(S.open.shape[0]):
        if s2 == s or not S.open[s2] or S.lo[s2] > lo or S.hi[s2] < hi:
            continue
        if (mask >> S.level[s2]) & 1:
            continue
        t = W.t_bus[v, s2] if P.bus_on > 0 else W.t_walk[v, s2]
        if t < best_t:
            best, best_t = s2, t
    return best, best_t


@njit(cache=True)
def alternative_time(s, mask, P, W, S):
    """Receiving school for all of school `s`'s grades (see `nearest_teaching`): village
    schools merge into schools of levels outside the rule's `mask`."""
    return nearest_teaching(s, S.lo[s], S.hi[s], mask, P, W, S)


@njit(cache=True)
def _free_seats(r, lo, hi, P, S, reserved):
    free = 0
    for g in range(lo, hi + 1):
        free += rules.grade_seats(g, S.classes[r], P.cap_primary, P.cap_junior) \
            - S.last_enrol_g[r, g]
    return free - reserved[r]


@njit(cache=True)
def try_close(s, rs, t, year, P, S, reserved, reserved_beds, reserved_canteen):
    """Close school `s` into receiving school `rs` (one-way time t, minutes) if the capacity
    check allows: free seats for its pupils in its grades, canteen places for them (skipped
    where the receiver's canteen places are not known), and beds for its boarding-age pupils
    when t is beyond the day-travel limit. Returns 0 when closed, else the EV_DEFER_* flags of
    what was missing (S.receiver then names the school that would have received). Seats,
    beds and canteen places taken are reserved for this year."""
    if rs < 0:
        return EV_DEFER_RECEIVER
    pupils = S.last_enrol[s]
    if P.capacity_check > 0:
        need_beds = 0
        if t > P.max_travel_min:
            for g in range(max(S.lo[s], int(P.board_min_grade)), S.hi[s] + 1):
                need_beds += S.last_enrol_g[s, g]
        new_beds = 0 if S.received[rs] else int(P.beds_per_receiver)
        free_beds = S.beds[rs] + new_beds - S.beds_used[rs] - reserved_beds[rs]
        missing = 0
        if _free_seats(rs, S.lo[s], S.hi[s], P, S, reserved) < pupils:
            missing |= EV_DEFER_SEATS
        if free_beds < need_beds:
            missing |= EV_DEFER_BEDS
        if S.canteen[rs] >= 0 and S.canteen[rs] - reserved_canteen[rs] < pupils:
            missing |= EV_DEFER_CANTEEN
        if missing:
            S.receiver[s] = rs  # the school that would have received its pupils
            return missing
        reserved_beds[rs] += need_beds
        reserved_canteen[rs] += pupils
    reserved[rs] += pupils
    S.open[s] = False
    S.closed_year[s] = year
    S.receiver[s] = rs
    S.events[s, year] = (S.events[s, year] & ~EV_DEFERRED) | EV_CLOSED
    S.events[rs, year] |= EV_RECEIVED
    if not S.received[rs]:
        S.received[rs] = True
        S.beds[rs] += int(P.beds_per_receiver)
    return 0


@njit(cache=True)
def apply_actions(year, P, W, A, S, counts, reserved, reserved_beds, reserved_canteen):
    """The plan's named actions of `year`, in the order open, expand, downgrade, close (within
    a kind, in the file's order). Returns True if any acted."""
    any_action = False
    for kind in (ACT_OPEN, ACT_EXPAND, ACT_DOWNGRADE, ACT_CLOSE):
        for a in range(A.year.shape[0]):
            if A.year[a] != year or A.kind[a] != kind:
                continue
            any_action = True
            s = A.school[a]
            if kind == ACT_OPEN:
                S.open[s] = True
                S.events[s, year] |= EV_OPENED | EV_BY_ACTION
            elif kind == ACT_EXPAND:
                S.classes[s] += A.classes[a]
                S.beds[s] += A.beds[a]
                if A.canteen[a] > 0:
                    S.canteen[s] = max(S.canteen[s], 0) + A.canteen[a]
                S.events[s, year] |= EV_EXPANDED
            elif not S.open[s]:
                continue  # closed in an earlier year
            elif kind == ACT_DOWNGRADE:
                if S.hi[s] > A.hi[a]:
                    rs, _ = nearest_teaching(s, A.hi[a] + 1, S.hi[s], 0, P, W, S)
                    S.hi[s] = A.hi[a]
                    S.level[s] = dt.TEACHING_POINT
                    S.receiver[s] = rs
                S.events[s, year] |= EV_DOWNGRADED | EV_BY_ACTION
            else:
                rs = A.receiver[a]
                if rs >= 0:
                    t = W.t_bus[W.school_node[s], rs] if P.bus_on > 0 else \
                        W.t_walk[W.school_node[s], rs]
                    if not S.open[rs] or S.lo[rs] > S.lo[s] or S.hi[rs] < S.hi[s]:
                        rs = -1
                else:
                    mask = VILLAGE_LEVELS if (VILLAGE_LEVELS >> S.level[s]) & 1 else 0
                    rs, t = alternative_time(s, mask, P, W, S)
                missing = try_close(s, rs, t, year, P, S, reserved, reserved_beds,
                                    reserved_canteen)
                S.events[s, year] |= missing | EV_BY_ACTION
                if missing == 0:
                    counts[COUNT_CLOSED] += 1
    return any_action


@njit(cache=True)
def _exempted_before(s, year, S):
    """Whether a rule's travel exemption kept school `s` in an earlier year or this one."""
    for y in range(year + 1):
        if S.events[s, y] & EV_EXEMPTED:
            return True
    return False


@njit(cache=True)
def apply_closures(year, P, W, R, A, S, counts):
    """The plan for `year`: named actions, then the closure rules. counts[COUNT_CLOSED] +=
    closures, counts[COUNT_DEFERRED] += schools whose closure was deferred this year (no
    receiving school with room; a school counted once a year however many rules),
    counts[COUNT_EXEMPTED] += schools kept for the lower grades by the travel exemption (a
    teaching point left open by it too; each school counted once).
    Records what happened to each school in S.events[:, year] and each closed or downgraded
    school's receiving school (S.receiver), and bumps S.version (choice sets are rebuilt) in a
    year with actions or rules."""
    n_s = S.open.shape[0]
    reserved = np.zeros(n_s, np.int64)
    reserved_beds = np.zeros(n_s, np.int64)
    reserved_canteen = np.zeros(n_s, np.int64)
    if apply_actions(year, P, W, A, S, counts, reserved, reserved_beds, reserved_canteen):
        S.version[0] += 1
    for r in range(R.year.shape[0]):
        if R.year[r] != year:
            continue
        S.version[0] += 1
        mask = R.levels[r]
        below = R.below[r]
        cand = np.empty(n_s, np.int64)
        n_c = 0
        for s in range(n_s):
            if (S.open[s] and (mask >> S.level[s]) & 1 and S.last_enrol[s] < below
                    and not S.events[s, year] & EV_BY_ACTION):
                cand[n_c] = s
                n_c += 1
        cand = cand[:n_c]
        if np.isnan(R.share[r]):
            target = n_c
        else:
            base, closed = 0, 0
            for s in range(n_s):
                if (mask >> W.school_level0[s]) & 1 and 0 <= S.base_enrol[s] < below:
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
            recv[i], alt[i] = alternative_time(cand[i], R.excluded[r], P, W, S)
            e = S.last_enrol[cand[i]]
            key[i] = e if R.ranking[r] == dt.SMALLEST_FIRST else e * alt[i]
        order = np.argsort(key, kind="mergesort")
        done = 0
        for k in order:
            if done >= target:
                break
            s, rs, t = cand[k], recv[k], alt[k]
            if rs >= 0 and not S.open[rs]:  # closed earlier in this loop: look again
                rs, t = alternative_time(s, R.excluded[r], P, W, S)
            if rs >= 0 and P.exempt_over_min >= 0 and t > P.exempt_over_min:
                S.receiver[s] = rs  # where its pupils would have gone (upper grades go)
                if S.hi[s] > P.exempt_hi_grade:
                    S.hi[s] = P.exempt_hi_grade
                    S.level[s] = dt.TEACHING_POINT
                # kept for the lower grades (or a teaching point left open): an event every
                # year a rule keeps it, counted once
                if not _exempted_before(s, year, S):
                    counts[COUNT_EXEMPTED] += 1
                S.events[s, year] |= EV_EXEMPTED
                continue
            missing = try_close(s, rs, t, year, P, S, reserved, reserved_beds, reserved_canteen)
            if missing:
                S.events[s, year] |= missing
                continue
            counts[COUNT_CLOSED] += 1
            done += 1
    for s in range(n_s):
        if S.events[s, year] & EV_DEFERRED:
            counts[COUNT_DEFERRED] += 1
