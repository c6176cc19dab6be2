"""Indicator kernel: one year's indicators from the simulated state, per level
(0 primary, 1 junior, 2 all). Names and order: sim/metrics.py INDICATORS (kept in step by a
test). NaN where an indicator does not apply to a level."""

import numpy as np
from numba import njit

from sim.core import dtypes as dt

# indicator row numbers (must match sim.outputs.metrics.INDICATORS)
SCHOOLS_OPEN = 0
PUPILS_ENROLLED = 1
DROPOUT_RATE = 2
DROPOUTS = 3
JUNIOR_RETENTION_3YR = 4
MEAN_CLASS_SIZE = 5
SHARE_OVER_STANDARD = 6
SHARE_VERY_LARGE = 7
SHARE_SUPER_LARGE = 8
SHARE_OVER_51 = 9
TRAVEL_MEAN = 10
TRAVEL_P95 = 11
SHARE_OVER_60 = 12
SHARE_LOWER_OVER_30 = 13
UNPLACED = 14
BOARDING_SHARE = 15
BUS_SHARE = 16
SHARE_UNDER100_CLOSED = 17
COST_PER_PUPIL = 18
FAMILY_COST = 19
LEFT_BEHIND_SHARE = 20
SCHOOLS_CLOSED = 21
CLOSURES_DEFERRED = 22
CHILDREN_MIGRATED = 23
CLOSURES_EXEMPTED = 24
TEACHERS_CV = 25
SCHOOLS_OVER_2000 = 26
BUS_RIDE_P95 = 27
BUSES_NEEDED = 28
BUS_COST = 29
PARENT_COST = 30
VILLAGES_WITHOUT_BUS = 31
N_INDICATORS = 32
#: entries of S.bus_totals (sim/transport.py)
TOTAL_BUSES, TOTAL_BUS_KM, TOTAL_COST, TOTAL_RIDERS, TOTAL_UNSERVED = 0, 1, 2, 3, 4
N_BINS = 301  #: travel-time histogram, 1-minute bins, last bin = 300+


@njit(cache=True)
def _p95(hist):
    total = hist.sum()
    if total == 0:
        return np.nan
    target = 0.95 * total
    acc = 0
    for b in range(hist.shape[0]):
        acc += hist[b]
        if acc >= target:
            return float(b)
    return float(hist.shape[0] - 1)


@njit(cache=True)
def record_year(out, P, W, S, H, C, at_risk_g, dropped_g, counts):
    """Write one year's indicators into out[indicator, level]; also stores each school's
    enrolment (last_enrol) for next year's closure rules and flags households with a far child."""
    for i in range(out.shape[0]):
        for lv in range(out.shape[1]):
            out[i, lv] = np.nan
    pupils = np.zeros(3)
    boarders = np.zeros(3)
    bus = np.zeros(3)
    unplaced = np.zeros(3)
    left = np.zeros(3)
    day = np.zeros(3)
    t_sum = np.zeros(3)
    over60 = np.zeros(3)
    family = np.zeros(3)
    lower, lower30 = 0.0, 0.0
    migrated = 0.0
    board_cost = 0.0
    parent_pay, paying = 0.0, 0.0  # parents' bus fares and boarding fees, riders and boarders
    hist = np.zeros((3, N_BINS), np.int64)
    ride_hist = np.zeros((3, N_BINS), np.int64)
    for h in range(H.far.shape[0]):
        H.far[h] = False
    for s in range(S.enrol.shape[0]):
        for g in range(S.enrol.shape[1]):
            S.last_enrol_g[s, g] = S.enrol[s, g]
    for c in range(C.n_used[0]):
        st = C.status[c]
        if st == dt.MIGRATED:
            migrated += 1
            continue
        if st == dt.UNPLACED:
            lv = 0 if C.grade[c] <= 6 else 1
            unplaced[lv] += 1
            unplaced[2] += 1
            continue
        if st != dt.ENROLLED or C.school[c] < 0:
            continue
        h = C.hh[c]
        g = C.grade[c]
        lv = 0 if g <= 6 else 1
        m = C.mode[c]
        t = C.travel[c]
        for L in (lv, 2):
            pupils[L] += 1
            family[L] += C.cost[c]
            if H.parents[h] < 2:
                left[L] += 1
            if m == dt.BOARDING:
                boarders[L] += 1
            else:
                day[L] += 1
                t_sum[L] += t
                if t > 60.0:
                    over60[L] += 1
                b = int(t)
                hist[L, b if b < N_BINS else N_BINS - 1] += 1
            if m == dt.BUS:
                bus[L] += 1
                b = int(S.bus_ride[H.node[h]])
                ride_hist[L, b if b < N_BINS else N_BINS - 1] += 1
        if m == dt.BOARDING or m == dt.BUS:
            parent_pay += C.cost[c]
            paying += 1
        if m == dt.BOARDING:
            board_cost += P.boarder_cost + (P.hardship_subsidy if H.hardship[h] else 0.0)
        elif m == dt.BUS:
            if t > 45.0:
                H.far[h] = True
        elif t > 45.0:
            H.far[h] = True
        if g <= 3 and m != dt.BOARDING:
            lower += 1
            if t > 30.0:
                lower30 += 1

    # schools and classes
    n_open = np.zeros(3)
    classes = np.zeros(3)
    class_pupils = np.zeros(3)
    over_std = np.zeros(3)
    very = np.zeros(3)
    superl = np.zeros(3)
    over51 = np.zeros(3)
    teachers = 0.0
    under100, under100_closed = 0.0, 0.0
    # inter-school spread of teachers per 100 pupils (sums of x and x^2 over schools, by level)
    cv_n = np.zeros(3)
    cv_sum = np.zeros(3)
    cv_sq = np.zeros(3)
    over_2000 = 0.0
    beds = 0.0
    s_pupils = np.zeros(3)  # this school's pupils and teachers by level
    s_teachers = np.zeros(3)
    for s in range(S.open.shape[0]):
        S.last_enrol[s] = S.enrol[s].sum()
        if S.base_enrol[s] >= 0 and S.base_enrol[s] < 100:
            under100 += 1
            if not S.open[s]:
                under100_closed += 1
        if not S.open[s]:
            continue
        n_open[2] += 1
        beds += S.beds[s]
        if S.lo[s] <= 6:
            n_open[0] += 1
        if S.hi[s] >= 7:
            n_open[1] += 1
        if S.last_enrol[s] > (2500 if S.level[s] == dt.NINE_YEAR else 2000):
            over_2000 += 1
        for L in range(3):
            s_pupils[L] = 0.0
            s_teachers[L] = 0.0
        for g in range(S.lo[s], S.hi[s] + 1):
            n = S.enrol[s, g]
            if n == 0:
                continue
            lv = 0 if g <= 6 else 1
            cap = P.cap_primary if g <= 6 else P.cap_junior
            very_at = 56 if g <= 6 else 61
            nc = int(np.ceil(n / cap))
            if nc > W.school_classes[s]:
                nc = W.school_classes[s]
            q = n // nc
            r = n - q * nc  # r classes of q + 1 pupils, nc - r of q
            tg = nc * (P.teachers_class_primary if g <= 6 else P.teachers_class_junior)
            teachers += tg
            for L in (lv, 2):
                s_pupils[L] += n
                s_teachers[L] += tg
                classes[L] += nc
                class_pupils[L] += n
                for size, k in ((q + 1, r), (q, nc - r)):
                    if k == 0:
                        continue
                    if size > cap:
                        over_std[L] += k
                    if size >= very_at:
                        very[L] += k
                    if size >= 66:
                        superl[L] += k
                    if size > 51:
                        over51[L] += k
        for L in range(3):
            if s_pupils[L] > 0:
                x = 100.0 * s_teachers[L] / s_pupils[L]
                cv_n[L] += 1
                cv_sum[L] += x
                cv_sq[L] += x * x

    for L in range(3):
        out[SCHOOLS_OPEN, L] = n_open[L]
        out[PUPILS_ENROLLED, L] = pupils[L]
        out[UNPLACED, L] = unplaced[L]
        if pupils[L] > 0:
            out[BOARDING_SHARE, L] = boarders[L] / pupils[L]
            out[BUS_SHARE, L] = bus[L] / pupils[L]
            out[LEFT_BEHIND_SHARE, L] = left[L] / pupils[L]
            out[FAMILY_COST, L] = family[L] / pupils[L]
        if day[L] > 0:
            out[TRAVEL_MEAN, L] = t_sum[L] / day[L]
            out[SHARE_OVER_60, L] = over60[L] / day[L]
            out[TRAVEL_P95, L] = _p95(hist[L])
        if bus[L] > 0:
            out[BUS_RIDE_P95, L] = _p95(ride_hist[L])
        if cv_n[L] > 1:
            mean = cv_sum[L] / cv_n[L]
            var = max(cv_sq[L] / cv_n[L] - mean * mean, 0.0)
            out[TEACHERS_CV, L] = np.sqrt(var) / mean
        if classes[L] > 0:
            out[MEAN_CLASS_SIZE, L] = class_pupils[L] / classes[L]
            out[SHARE_OVER_STANDARD, L] = over_std[L] / classes[L]
            out[SHARE_VERY_LARGE, L] = very[L] / classes[L]
            out[SHARE_SUPER_LARGE, L] = superl[L] / classes[L]
            out[SHARE_OVER_51, L] = over51[L] / classes[L]
    risk = np.zeros(3)
    drop = np.zeros(3)
    retention = 1.0
    for g in range(1, dt.N_GRADES + 1):
        lv = 0 if g <= 6 else 1
        risk[lv] += at_risk_g[g]
        drop[lv] += dropped_g[g]
        risk[2] += at_risk_g[g]
        drop[2] += dropped_g[g]
        if g >= 7 and at_risk_g[g] > 0:
            retention *= 1.0 - dropped_g[g] / at_risk_g[g]
    for L in range(3):
        out[DROPOUTS, L] = drop[L]
        if risk[L] > 0:
            out[DROPOUT_RATE, L] = drop[L] / risk[L]
    out[JUNIOR_RETENTION_3YR, 1] = retention
    if lower > 0:
        out[SHARE_LOWER_OVER_30, 0] = lower30 / lower
        out[SHARE_LOWER_OVER_30, 2] = lower30 / lower
    if under100 > 0:
        out[SHARE_UNDER100_CLOSED, 2] = under100_closed / under100
    board_cost += beds * P.bed_cost
    total = (n_open[2] * P.school_fixed + teachers * P.teacher + S.bus_totals[TOTAL_COST]
             + board_cost)
    if pupils[2] > 0:
        out[COST_PER_PUPIL, 2] = total / pupils[2]
    out[SCHOOLS_CLOSED, 2] = counts[0]
    out[CLOSURES_DEFERRED, 2] = counts[1]
    out[CLOSURES_EXEMPTED, 2] = counts[2]
    out[SCHOOLS_OVER_2000, 2] = over_2000
    out[CHILDREN_MIGRATED, 2] = migrated
    out[BUSES_NEEDED, 2] = S.bus_totals[TOTAL_BUSES]
    out[BUS_COST, 2] = S.bus_totals[TOTAL_COST]
    out[VILLAGES_WITHOUT_BUS, 2] = S.bus_totals[TOTAL_UNSERVED]
    if paying > 0:
        out[PARENT_COST, 2] = parent_pay / paying
