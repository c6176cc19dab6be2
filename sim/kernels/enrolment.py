"""Enrolment kernels: who needs a school this year, and which school and travel mode each gets.

A pupil considers the nearest open schools teaching their grade (by private travel time) that
are feasible: reachable within the maximum day travel time by walking, a student bus (where a
line serves the village and the ride is within its limit) or the family's motorbike/car; or by
boarding (grade at least the boarding minimum, a free bed). Among feasible schools with a free
seat (class cap x classes) the pupil takes the nearest (catchment) or draws one from a
multinomial logit in travel time, quality and family cost (logit). If every feasible school is
full, the pupil goes to the nearest feasible one (its classes grow beyond the cap). With no
feasible school, a family not in hardship may rent a room near the nearest school; otherwise the
pupil is unplaced this year and tries again next year. Nobody is sent beyond the travel limit.
"""

import numpy as np
from numba import njit

from sim import dtypes as dt
from sim.kernels import counter_rng as rng


@njit(cache=True, inline="always")
def bus_cost_per_pupil(km, P):
    """Yearly operating cost of a bus seat for a pupil riding `km` one way (yuan per year):
    two return trips a day, cost shared among the seats in use."""
    return P.bus_km_cost * km * 4.0 * P.school_days / (P.bus_seats * P.bus_load)


@njit(cache=True, inline="always")
def family_cost(mode, km, hardship, P):
    """Family's yearly cost of schooling by travel mode (yuan per year)."""
    if mode == dt.BUS:
        return P.parent_fare_share * bus_cost_per_pupil(km, P)
    if mode == dt.PRIVATE:
        return P.private_per_km * km * 4.0 * P.school_days
    if mode == dt.BOARDING:
        c = P.boarding_family_share * P.boarder_cost - (P.hardship_subsidy if hardship else 0.0)
        return c if c > 0.0 else 0.0
    if mode == dt.RENTING:
        return P.rent
    return 0.0


@njit(cache=True, inline="always")
def seat_capacity(s, g, P, W):
    """Seats in grade g of school s (pupils): class cap x classes."""
    cap = P.cap_primary if g <= 6 else P.cap_junior
    return int(cap) * W.school_classes[s]


@njit(cache=True, inline="always")
def place_pupil(c, year, seed, P, W, S, H, C, buf_s, buf_m, buf_t, buf_b, buf_c, buf_u, buf_free):
    """Choose school and mode for pupil c (grade already set). Updates S.enrol and beds.

    The burden of a school is its one-way day travel time, or for a boarding place the
    scenario's boarding travel equivalent (minutes); catchment assignment takes the least
    burden, as the logit does when its distance weight dominates."""
    h = C.hh[c]
    v = H.node[h]
    g = C.grade[c]
    hard = H.hardship[h]
    n = 0
    k_max = int(P.candidates)
    ranked = W.sorted_primary if g <= 6 else W.sorted_junior
    for k in range(ranked.shape[1]):
        s = ranked[v, k]
        if s < 0:
            break
        tp = W.t_private[v, s]
        # sorted by private time, which no other mode beats: nothing further is reachable
        if tp > P.max_board_trip_min or (tp > P.max_travel_min and g < P.board_min_grade):
            break
        if not S.open[s] or g < S.lo[s] or g > S.hi[s]:
            continue
        can_board = g >= P.board_min_grade and S.beds_used[s] < S.beds[s]
        t = W.t_walk[v, s]
        mode = dt.WALK
        if S.bus_served[v] and W.t_bus[v, s] <= P.max_ride_min and W.t_bus[v, s] < t:
            t = W.t_bus[v, s]
            mode = dt.BUS
        if H.access[h] and tp < t:
            t = tp
            mode = dt.PRIVATE
        if t > P.max_travel_min:
            if not can_board:
                continue
            mode = dt.BOARDING
        elif t > P.board_over_min and can_board:
            mode = dt.BOARDING
        cost = family_cost(mode, W.km[v, s], hard, P)
        t_eff = P.board_equiv_min if mode == dt.BOARDING else t
        buf_s[n] = s
        buf_m[n] = mode
        buf_t[n] = t
        buf_b[n] = t_eff
        buf_c[n] = cost
        buf_u[n] = (H.w_dist[h] * t_eff + H.w_quality[h] * W.school_quality[s]
                    + H.w_cost[h] * cost / 1000.0)
        buf_free[n] = S.enrol[s, g] < seat_capacity(s, g, P, W)
        n += 1
        if n >= k_max:
            break
    pick = -1
    if n > 0:
        n_free = 0
        for i in range(n):
            n_free += buf_free[i]
        if P.choice_mode == dt.LOGIT and n_free > 0:
            u_max = -np.inf
            for i in range(n):
                if buf_free[i] and buf_u[i] > u_max:
                    u_max = buf_u[i]
            total = 0.0
            for i in range(n):
                if buf_free[i]:
                    total += np.exp(buf_u[i] - u_max)
            x = rng.uniform(seed, year, c, rng.CHOICE) * total
            acc = 0.0
            for i in range(n):
                if buf_free[i]:
                    acc += np.exp(buf_u[i] - u_max)
                    pick = i
                    if x < acc:
                        break
        else:
            best, best_t = np.inf, np.inf
            for i in range(n):  # least burden with a seat, else least burden (classes overflow)
                if (buf_free[i] or n_free == 0) and (
                        buf_b[i] < best or (buf_b[i] == best and buf_t[i] < best_t)):
                    best, best_t = buf_b[i], buf_t[i]
                    pick = i
    if pick >= 0:
        s = buf_s[pick]
        C.school[c] = s
        C.mode[c] = buf_m[pick]
        C.travel[c] = buf_t[pick]
        C.cost[c] = buf_c[pick]
        C.status[c] = dt.ENROLLED
        S.enrol[s, g] += 1
        if buf_m[pick] == dt.BOARDING:
            S.beds_used[s] += 1
        return
    # no feasible school: rent near the nearest school teaching the grade, or stay unplaced
    if not hard and rng.uniform(seed, year, c, rng.RENT) < P.rent_prob:
        for k in range(ranked.shape[1]):
            s = ranked[v, k]
            if s >= 0 and S.open[s] and S.lo[s] <= g <= S.hi[s]:
                C.school[c] = s
                C.mode[c] = dt.RENTING
                C.travel[c] = P.renting_min
                C.cost[c] = P.rent
                C.status[c] = dt.ENROLLED
                S.enrol[s, g] += 1
                return
    C.school[c] = -1
    C.mode[c] = dt.MODE_NONE
    C.travel[c] = 0.0
    C.cost[c] = 0.0
    C.status[c] = dt.UNPLACED


@njit(cache=True)
def recount(S, C):
    """Pupils keep their school if it is open and teaches their grade; count seats and beds
    in use. Others are marked to be placed (school = -1)."""
    S.enrol[:] = 0
    S.beds_used[:] = 0
    for c in range(C.n_used[0]):
        if C.status[c] != dt.ENROLLED:
            continue
        s = C.school[c]
        if s < 0:
            continue
        g = C.grade[c]
        if not S.open[s] or g < S.lo[s] or g > S.hi[s]:
            C.school[c] = -1
            continue
        S.enrol[s, g] += 1
        if C.mode[c] == dt.BOARDING:
            S.beds_used[s] += 1


@njit(cache=True)
def place_all(year, seed, P, W, S, H, C):
    """Place every pupil without a school (new entrants, movers, pupils of closed schools,
    returning migrants, last year's unplaced) in a random order drawn per pupil."""
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
    order = np.argsort(prio)
    k = int(P.candidates)
    buf_s = np.empty(k, np.int64)
    buf_m = np.empty(k, np.int64)
    buf_t = np.empty(k, np.float64)
    buf_b = np.empty(k, np.float64)
    buf_c = np.empty(k, np.float64)
    buf_u = np.empty(k, np.float64)
    buf_free = np.empty(k, np.int64)
    for i in order:
        place_pupil(todo[i], year, seed, P, W, S, H, C, buf_s, buf_m, buf_t, buf_b, buf_c,
                    buf_u, buf_free)
