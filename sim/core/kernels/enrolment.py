"""Enrolment kernels: who needs a school this year, and which school and travel mode each gets.

A pupil considers the nearest open schools teaching their grade (by private travel time) that
are feasible: reachable within the maximum day travel time by walking, a student bus (where the
village's line goes to the school) or the family's motorbike/car; or by
boarding (grade at least the boarding minimum, a free bed). Among feasible schools with a free
seat (class cap x classes) the pupil takes the nearest (catchment) or draws one from a
multinomial logit in travel time, quality, family cost and the school constants (logit): the
option of highest utility plus the pupil's lasting taste for the school (a Gumbel draw per
pupil and school, not per year), so a family choosing again among unchanged options keeps its
school. If every feasible school is full, the pupil goes to the nearest feasible one (its
classes grow beyond the cap). With no feasible school, a family not in hardship may rent a room
near the nearest school; otherwise the pupil is unplaced this year and tries again next year.
Nobody is sent beyond the travel limit.
"""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels import counter_rng as rng


@njit(cache=True, inline="always")
def family_cost(mode, km, bus_yuan, hardship, P):
    """Family's yearly cost of schooling by travel mode (yuan per year). `bus_yuan`: the bus
    service's yearly cost per rider of the village's line (yuan per year)."""
    if mode == dt.BUS:
        if P.parent_fare_day >= 0.0:
            return min(P.parent_fare_day * P.school_days, bus_yuan)
        return P.parent_fare_share * bus_yuan
    if mode == dt.PRIVATE:
        return P.private_per_km * km * rules.PRIVATE_TRIPS_PER_DAY * P.school_days
    if mode == dt.BOARDING:
        c = P.boarding_family_share * P.boarder_cost - (P.hardship_subsidy if hardship else 0.0)
        return c if c > 0.0 else 0.0
    if mode == dt.RENTING:
        return P.rent
    return 0.0


@njit(cache=True, inline="always")
def option(t, mode, can_board, hard, w_dist, w_quality, w_cost, km, bus_yuan, t_private,
           quality, const, board_const, P):
    """One school of a pupil's cached choice set, as the family sees it today: `t` is the
    fastest day time (one-way minutes) by `mode`. Returns (feasible, mode, burden, cost,
    utility): beyond the day-travel limit the school is feasible only as a boarding place (a
    bed free: `can_board`); beyond the boarding threshold with a bed free the pupil boards.
    Burden: day minutes, or the boarding equivalent (minutes); cost: the family's yuan per year;
    utility: burden, quality and cost weighted by the family's preferences, plus the school's
    constant for the grade's level `const` and, for a boarding place, its boarding constant
    `board_const` (W.school_const, W.school_board_const: calibrated to the base-year rolls and
    boarders, sim/model/choice_constants.py; 0 without rolls). The school as scalars: road
    `km` and `t_private` minutes from the village, the village line's `bus_yuan` per rider and
    year, its `quality` (0-1): scalars only, as a call that takes the state's named tuples
    costs more than the work (sim/core/kernels/__init__.py)."""
    m = np.int64(mode)
    if t > P.max_travel_min:
        if not can_board:
            return False, m, 0.0, 0.0, 0.0
        m = np.int64(dt.BOARDING)
    elif t > P.board_over_min and can_board:
        m = np.int64(dt.BOARDING)
    cost = family_cost(m, km, bus_yuan, hard, P)
    burden = (rules.boarding_burden(P.board_equiv_min, t_private)
              if m == dt.BOARDING else np.float64(t))
    u = w_dist * burden + w_quality * quality + w_cost * cost / 1000.0 + const
    if m == dt.BOARDING:
        u += board_const
    return True, m, burden, cost, u


N_CHOICE_SLOTS = 20  #: cache slots per node: grade 0-9 x transport access (no / yes)


@njit(cache=True, inline="always")
def choice_slot(v, g, access):
    """Cache slot of node v, grade g, family with (1) or without (0) motorbike/car."""
    return (v * 10 + g) * 2 + (1 if access else 0)


@njit(cache=True)
def build_choice_slot(slot, v, g, access, P, W, S):
    """Fill one slot of the choice-set cache: every school a pupil of grade g at node v could
    attend, nearest first by private time (which no mode beats), with the fastest day travel
    (one-way minutes) and its mode: walking; the student bus where the village's line goes to the
    school's node and carries grade g (door-to-school time from the simulated bus day,
    sim/model/transport.py); the
    family's motorbike or car with `access`. A school is kept
    if it is open, teaches grade g, and is within the day travel limit or (grade and beds
    permitting) a boarding option. The slot is rebuilt when closures bump `S.version` or its
    village's bus line changes (`S.bus_version`), not per
    pupil; whether a bed or a seat is free is checked per pupil."""
    ranked = W.sorted_primary if g <= rules.LAST_PRIMARY_GRADE else W.sorted_junior
    n = 0
    for k in range(ranked.shape[1]):
        s = ranked[v, k]
        if s < 0:
            break
        tp = W.t_private[v, s]
        if tp > P.max_board_trip_min or (tp > P.max_travel_min and g < P.board_min_grade):
            break  # nothing further is reachable
        if not S.open[s] or g < S.lo[s] or g > S.hi[s]:
            continue
        t = W.t_walk[v, s]
        mode = dt.WALK
        if (S.bus_dest[v] == W.school_node[s] and (S.bus_grades[v] >> g) & 1
                and S.bus_door[v] < t):
            t = S.bus_door[v]
            mode = dt.BUS
        if access and tp < t:
            t = tp
            mode = dt.PRIVATE
        if t > P.max_travel_min and (g < P.board_min_grade or S.beds[s] == 0):
            continue
        S.cand_school[slot, n] = s
        S.cand_time[slot, n] = t
        S.cand_mode[slot, n] = mode
        n += 1
    S.cand_n[slot] = n
    S.cand_version[slot] = S.version[0]
    S.cand_bus_version[slot] = S.bus_version[v]


@njit(cache=True)
def place_all(year, seed, P, W, S, H, C):
    """Place every pupil without a school (new entrants, movers, pupils of closed schools,
    returning migrants, last year's unplaced) in a random order drawn per pupil.

    A pupil's choice set is the first `candidates` schools of its cached list (see
    `build_choice_slot`) that it can attend today: by day, or by boarding where the day trip is
    over the limit (or over `board_over_min`) and a bed is free. Among those with a free seat the
    pupil takes the least burden (catchment) or draws from the logit; the burden of a school is
    its one-way day travel time, or for a boarding place the scenario's boarding travel
    equivalent (minutes). With no seat free anywhere, the least burden (classes overflow).

    Performance notes: the per-pupil work is written out here rather than in helpers, because
    numba passes named tuples and arrays to a call with reference counting that costs more than
    the work itself (measured: 20-60 times slower in this loop); and what a pupil's choice
    reads is gathered, and its outcome written back, in record order, as the random visiting
    order made every field read a cache miss (benchmarks/kernel_profile.py)."""
    n = C.n_used[0]
    todo = np.empty(n, np.int64)
    m = 0
    for c in range(n):
        st = C.status[c]
        if (st == dt.ENROLLED and C.school[c] < 0) or st == dt.UNPLACED:
            todo[m] = c
            m += 1
    todo = todo[:m]
    prio = np.empty(m, np.float64)
    for i in range(m):
        prio[i] = rng.uniform(seed, year, todo[i], rng.ORDER)
    order = np.argsort(prio, kind="mergesort")
    # what the choice reads of each pupil and its household, gathered in record order (the
    # loop below visits pupils in random order: reading the state's arrays there cost a cache
    # miss per field), and the outcome, written back in record order at the end
    hh_of = np.empty(m, np.int64)
    node = np.empty(m, np.int64)
    grade = np.empty(m, np.int64)
    access = np.empty(m, np.bool_)
    hardship = np.empty(m, np.bool_)
    w = np.empty((m, 3), np.float64)  # the household's w_dist, w_quality, w_cost
    for i in range(m):
        c = todo[i]
        h = C.hh[c]
        hh_of[i] = h
        node[i] = H.node[h]
        grade[i] = C.grade[c]
        access[i] = H.access[h]
        hardship[i] = H.hardship[h]
        w[i, 0] = H.w_dist[h]
        w[i, 1] = H.w_quality[h]
        w[i, 2] = H.w_cost[h]
    school = np.full(m, -1, np.int32)
    mode_of = np.full(m, dt.MODE_NONE, np.int8)
    travel = np.zeros(m, np.float32)
    cost_of = np.zeros(m, np.float32)
    k_max = int(P.candidates)
    buf_s = np.empty(k_max, np.int64)
    buf_m = np.empty(k_max, np.int64)
    buf_t = np.empty(k_max, np.float64)
    buf_b = np.empty(k_max, np.float64)
    buf_c = np.empty(k_max, np.float64)
    buf_u = np.empty(k_max, np.float64)
    buf_free = np.empty(k_max, np.bool_)
    for i in order:
        c = todo[i]
        v = node[i]
        g = grade[i]
        hard = hardship[i]
        lv = rules.level_of_grade(g)
        slot = choice_slot(v, g, access[i])
        if S.cand_version[slot] != S.version[0] or S.cand_bus_version[slot] != S.bus_version[v]:
            build_choice_slot(slot, v, g, access[i], P, W, S)
        # the choice set: feasible today, nearest first
        k = 0
        n_free = 0
        for j in range(S.cand_n[slot]):
            s = S.cand_school[slot, j]
            t = S.cand_time[slot, j]
            mode = S.cand_mode[slot, j]
            can_board = g >= P.board_min_grade and S.beds_used[s] < S.beds[s]
            ok, mode, burden, cost, u = option(t, mode, can_board, hard, w[i, 0], w[i, 1],
                                               w[i, 2], W.km[v, s], S.bus_yuan[v],
                                               W.t_private[v, s], W.school_quality[s],
                                               W.school_const[s, lv], W.school_board_const[s], P)
            if not ok:
                continue
            seats = rules.grade_seats(g, S.classes[s], P.cap_primary, P.cap_junior)
            buf_s[k] = s
            buf_m[k] = mode
            buf_t[k] = t
            buf_b[k] = burden
            buf_c[k] = cost
            buf_u[k] = u
            buf_free[k] = S.enrol[s, g] < seats
            n_free += buf_free[k]
            k += 1
            if k >= k_max:
                break
        # the choice
        pick = -1
        if P.choice_mode == dt.LOGIT and n_free > 0:
            best = -np.inf  # utility + the pupil's lasting taste (Gumbel): a logit draw
            for j in range(k):
                if buf_free[j]:
                    x = buf_u[j] + rng.taste(seed, c, buf_s[j])
                    if x > best:
                        best = x
                        pick = j
        else:
            best, best_t = np.inf, np.inf
            for j in range(k):  # least burden with a seat, else least burden (classes overflow)
                if (buf_free[j] or n_free == 0) and (
                        buf_b[j] < best or (buf_b[j] == best and buf_t[j] < best_t)):
                    best, best_t = buf_b[j], buf_t[j]
                    pick = j
        if pick >= 0:
            s = buf_s[pick]
            school[i] = s
            mode_of[i] = buf_m[pick]
            travel[i] = buf_t[pick]
            cost_of[i] = buf_c[pick]
            S.enrol[s, g] += 1
            if buf_m[pick] == dt.BOARDING:
                S.beds_used[s] += 1
            continue
        # no feasible school: rent near the nearest school teaching the grade, or stay unplaced
        if not hard and rng.uniform(seed, year, c, rng.RENT) < P.rent_prob:
            ranked = W.sorted_primary if g <= rules.LAST_PRIMARY_GRADE else W.sorted_junior
            for j in range(ranked.shape[1]):
                s = ranked[v, j]
                if s >= 0 and S.open[s] and S.lo[s] <= g <= S.hi[s]:
                    school[i] = s
                    mode_of[i] = dt.RENTING
                    travel[i] = P.renting_min
                    cost_of[i] = P.rent
                    S.enrol[s, g] += 1
                    break
    for i in range(m):  # the outcomes, in record order
        c = todo[i]
        C.school[c] = school[i]
        C.mode[c] = mode_of[i]
        C.travel[c] = travel[i]
        C.cost[c] = cost_of[i]
        C.status[c] = dt.ENROLLED if school[i] >= 0 else dt.UNPLACED


@njit(cache=True)
def recount(P, W, S, H, C):
    """Pupils keep their school if it is open and teaches their grade; count seats and beds
    in use. Others are marked to be placed (school = -1). Bus riders take this year's ride time
    and fare of their village's line, or are placed again if no line goes to their school or
    the line's new time is beyond the day-travel limit."""
    for s in range(S.enrol.shape[0]):
        S.beds_used[s] = 0
        for g in range(S.enrol.shape[1]):
            S.enrol[s, g] = 0
    for c in range(C.n_used[0]):
        if C.status[c] != dt.ENROLLED:
            continue
        s = C.school[c]
        if s < 0:
            continue
        g = C.grade[c]
        if not S.open[s] or g < S.lo[s] or g > S.hi[s]:
            C.school[c] = -1
            C.moved_from[c] = s  # the plan closed or downgraded the pupil's school
            continue
        if C.mode[c] == dt.BUS:
            h = C.hh[c]
            v = H.node[h]
            if (S.bus_dest[v] != W.school_node[s] or not (S.bus_grades[v] >> g) & 1
                    or S.bus_door[v] > P.max_travel_min):
                C.school[c] = -1
                continue
            C.travel[c] = S.bus_door[v]
            C.cost[c] = family_cost(dt.BUS, W.km[v, s], S.bus_yuan[v], H.hardship[h], P)
        S.enrol[s, g] += 1
        if C.mode[c] == dt.BOARDING:
            S.beds_used[s] += 1


@njit(cache=True)
def choice_options(hh_node, hh_access, hh_hardship, w_dist, w_quality, w_cost, P, W, S,
                   cand, util, mode, n_opt):
    """Every household's choice set for each grade 1-9 as `place_all` builds it, with every seat
    and bed free (the base year before anyone is placed): cand[h, g, :n_opt[h, g]] the schools,
    util the utilities (with W.school_const), mode the travel mode each would be attended by.
    Used to calibrate the school constants to the rolls (sim/model/choice_constants.py)."""
    k_max = cand.shape[2]
    for h in range(hh_node.shape[0]):
        v = hh_node[h]
        access = hh_access[h]
        for g in range(1, dt.N_GRADES + 1):
            lv = rules.level_of_grade(g)
            slot = choice_slot(v, g, access)
            if (S.cand_version[slot] != S.version[0]
                    or S.cand_bus_version[slot] != S.bus_version[v]):
                build_choice_slot(slot, v, g, access, P, W, S)
            k = 0
            for j in range(S.cand_n[slot]):
                s = S.cand_school[slot, j]
                can_board = g >= P.board_min_grade and S.beds_used[s] < S.beds[s]
                ok, m, _, _, u = option(S.cand_time[slot, j], S.cand_mode[slot, j], can_board,
                                        hh_hardship[h], w_dist[h], w_quality[h], w_cost[h],
                                        W.km[v, s], S.bus_yuan[v], W.t_private[v, s],
                                        W.school_quality[s], W.school_const[s, lv],
                                        W.school_board_const[s], P)
                if not ok:
                    continue
                cand[h, g, k] = s
                util[h, g, k] = u
                mode[h, g, k] = m
                k += 1
                if k >= k_max:
                    break
            n_opt[h, g] = k


@njit(cache=True, inline="always")
def logit_shares(cand, util, mode, const, board, lv, out):
    """One household's logit probabilities over its options for one grade: cand, util, mode
    (k,) as `choice_options` fills them, the school constants `const` (schools, 2) of level
    `lv` and the boarding constants `board` (schools,). Writes out[:n], returns n options."""
    top = -np.inf
    n = 0
    for k in range(cand.shape[0]):
        s = cand[k]
        if s < 0:
            break
        x = util[k] + const[s, lv]
        if mode[k] == dt.BOARDING:
            x += board[s]
        out[k] = x
        n += 1
        if x > top:
            top = x
    total = 0.0
    for k in range(n):
        out[k] = np.exp(out[k] - top)
        total += out[k]
    for k in range(n):
        out[k] /= total
    return n


@njit(cache=True)
def choice_probabilities(cand, util, mode, const, board, prob):
    """prob[h, g, k]: every household's logit probabilities over its options (`logit_shares`)."""
    prob[:] = 0.0
    for h in range(cand.shape[0]):
        for g in range(1, cand.shape[1]):
            logit_shares(cand[h, g], util[h, g], mode[h, g], const, board,
                         rules.level_of_grade(g), prob[h, g])


@njit(cache=True)
def expected_choices(cand, util, mode, weight, const, board, pupils, boarders):
    """The households' expected choices with school constants `const` (schools, 2) and
    boarding constants `board` (schools,): pupils (schools, 2) by level and boarders (schools,)
    from each household's `weight[h, g]` children of grade g spread over its options
    (`choice_options`) by the logit (`logit_shares`). Used by the calibration's contraction."""
    pupils[:] = 0.0
    boarders[:] = 0.0
    p = np.empty(cand.shape[2])
    for h in range(cand.shape[0]):
        for g in range(1, cand.shape[1]):
            w = weight[h, g]
            if w == 0.0:
                continue
            lv = rules.level_of_grade(g)
            n = logit_shares(cand[h, g], util[h, g], mode[h, g], const, board, lv, p)
            for k in range(n):
                s = cand[h, g, k]
                pupils[s, lv] += w * p[k]
                if mode[h, g, k] == dt.BOARDING:
                    boarders[s] += w * p[k]
