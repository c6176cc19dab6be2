"""Indicator kernel: one year's indicators from the simulated state, per level
(0 primary, 1 junior, 2 all), in the rows of the indicator registry (sim/core/indicators.py).
NaN where an indicator does not apply to a level. Recording reads the state and changes
nothing: what next year's rules need is kept by `sim.core.kernels.year_end`."""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.indicators import (
    AGED_OUT_UNPLACED,
    BOARDING_SHARE,
    BUS_COST,
    BUS_RIDE_P95,
    BUS_SHARE,
    BUSES_NEEDED,
    CHILDREN_MIGRATED,
    CLOSURES_DEFERRED,
    CLOSURES_EXEMPTED,
    COST_PER_PUPIL,
    DROPOUT_RATE,
    DROPOUTS,
    FAMILY_COST,
    GRADE1_INTAKE,
    JUNIOR_RETENTION_3YR,
    LEFT_BEHIND_SHARE,
    MEAN_CLASS_SIZE,
    NINE_YEAR_COMPLETION,
    OUT_OF_SCHOOL,
    OUT_OF_SCHOOL_RATE,
    PARENT_COST,
    PUPILS_ENROLLED,
    PUPILS_RENTING,
    RETURNED,
    SCHOOLS_CLOSED,
    SCHOOLS_OPEN,
    SCHOOLS_OVER_2000,
    SENIOR_ENTRY_RATE,
    SHARE_LOWER_OVER_30,
    SHARE_OVER_51,
    SHARE_OVER_60,
    SHARE_OVER_STANDARD,
    SHARE_SUPER_LARGE,
    SHARE_UNDER100_CLOSED,
    SHARE_VERY_LARGE,
    TEACHERS_CV,
    TRAVEL_MEAN,
    TRAVEL_P95,
    UNPLACED,
    VILLAGES_WITHOUT_BUS,
    YEARS_BOYS,
    YEARS_GIRLS,
    YOUNG_BOARDERS,
)
from sim.core.kernels.state import (
    COUNT_AGED_OUT,
    COUNT_CLOSED,
    COUNT_DEFERRED,
    COUNT_EXEMPTED,
    COUNT_GRADUATES,
    COUNT_RETURNED,
    COUNT_SENIOR_ENTRY,
    TOTAL_BUSES,
    TOTAL_COST,
    TOTAL_UNSERVED,
)

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
    """Write one year's indicators into out[indicator, level] (rows: sim/core/indicators.py).
    Reads the state only; `year_end.remember_year` has already stored what next year needs."""
    for i in range(out.shape[0]):
        for lv in range(out.shape[1]):
            out[i, lv] = np.nan
    pupils = np.zeros(3)
    boarders = np.zeros(3)
    bus = np.zeros(3)
    unplaced = np.zeros(3)
    out_of_school = np.zeros(3)
    young_boarders = 0.0
    intake = 0.0
    years17 = np.zeros(2)  # sum of years of schooling of 17-year-olds: boys, girls
    n17 = np.zeros(2)
    renting = np.zeros(3)
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
    for c in range(C.n_used[0]):
        st = C.status[c]
        if st == dt.MIGRATED:
            migrated += 1
            continue
        if C.age[c] == rules.SCHOOLING_MEASURED_AT_AGE:
            k = 1 if C.female[c] else 0
            years17[k] += C.schooling[c]
            n17[k] += 1
        if C.age[c] == dt.SCHOOL_ENTRY_AGE and (st == dt.ENROLLED or st == dt.UNPLACED
                                                 or st == dt.DROPPED_OUT):
            intake += 1
        if st == dt.UNPLACED or (st == dt.DROPPED_OUT
                                 and C.age[c] <= rules.COMPULSORY_AGE_LIMIT):
            lv = rules.level_of_grade(C.grade[c])
            out_of_school[lv] += 1
            out_of_school[2] += 1
            if st == dt.UNPLACED:
                unplaced[lv] += 1
                unplaced[2] += 1
            continue
        if st != dt.ENROLLED or C.school[c] < 0:
            continue
        h = C.hh[c]
        g = C.grade[c]
        lv = rules.level_of_grade(g)
        m = C.mode[c]
        t = C.travel[c]
        for L in (lv, 2):
            pupils[L] += 1
            family[L] += C.cost[c]
            if H.parents[h] < 2:
                left[L] += 1
            if m == dt.RENTING:
                renting[L] += 1
            if not rules.is_day_pupil(m):
                boarders[L] += 1
            else:
                day[L] += 1
                t_sum[L] += t
                if t > rules.OVER_60_MIN:
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
            if g < rules.YOUNG_BOARDING_BELOW_GRADE:
                young_boarders += 1
        if g <= rules.LOWER_GRADES_LAST and rules.is_day_pupil(m):
            lower += 1
            if t > rules.LOWER_OVER_MIN:
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
        if S.base_enrol[s] >= 0 and S.base_enrol[s] < rules.SMALL_SCHOOL:
            under100 += 1
            if not S.open[s]:
                under100_closed += 1
        if not S.open[s]:
            continue
        n_open[2] += 1
        beds += S.beds[s]
        if S.lo[s] <= rules.LAST_PRIMARY_GRADE:
            n_open[0] += 1
        if S.hi[s] > rules.LAST_PRIMARY_GRADE:
            n_open[1] += 1
        if S.enrol[s].sum() > rules.school_size_limit(S.level[s]):
            over_2000 += 1
        for L in range(3):
            s_pupils[L] = 0.0
            s_teachers[L] = 0.0
        for g in range(S.lo[s], S.hi[s] + 1):
            n = S.enrol[s, g]
            if n == 0:
                continue
            lv = rules.level_of_grade(g)
            primary = lv == dt.LEVEL_PRIMARY
            cap = rules.class_cap(g, P.cap_primary, P.cap_junior)
            very_at = rules.very_large_at(g)
            nc, q, r = rules.class_split(n, cap, S.classes[s])  # r of q + 1, nc - r of q
            tg = rules.grade_teachers(n, nc, P.teachers_class_primary if primary
                                      else P.teachers_class_junior,
                                      P.pupils_teacher_primary if primary
                                      else P.pupils_teacher_junior)
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
                    if size >= rules.SUPER_LARGE:
                        superl[L] += k
                    if size > rules.OVER_51:
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
        out[OUT_OF_SCHOOL, L] = out_of_school[L]
        if out_of_school[L] + pupils[L] > 0:
            out[OUT_OF_SCHOOL_RATE, L] = out_of_school[L] / (out_of_school[L] + pupils[L])
        out[PUPILS_RENTING, L] = renting[L]
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
            out[TEACHERS_CV, L] = rules.coefficient_of_variation(mean, var)
        if classes[L] > 0:
            out[MEAN_CLASS_SIZE, L] = class_pupils[L] / classes[L]
            out[SHARE_OVER_STANDARD, L] = over_std[L] / classes[L]
            out[SHARE_VERY_LARGE, L] = very[L] / classes[L]
            out[SHARE_SUPER_LARGE, L] = superl[L] / classes[L]
            out[SHARE_OVER_51, L] = over51[L] / classes[L]
    risk = np.zeros(3)
    drop = np.zeros(3)
    retention = 1.0
    completion = 1.0
    for g in range(1, dt.N_GRADES + 1):
        lv = rules.level_of_grade(g)
        risk[lv] += at_risk_g[g]
        drop[lv] += dropped_g[g]
        risk[2] += at_risk_g[g]
        drop[2] += dropped_g[g]
        if at_risk_g[g] > 0:
            completion *= 1.0 - dropped_g[g] / at_risk_g[g]
            if g > rules.LAST_PRIMARY_GRADE:
                retention *= 1.0 - dropped_g[g] / at_risk_g[g]
    for L in range(3):
        out[DROPOUTS, L] = drop[L]
        if risk[L] > 0:
            out[DROPOUT_RATE, L] = drop[L] / risk[L]
    out[JUNIOR_RETENTION_3YR, 1] = retention
    out[NINE_YEAR_COMPLETION, 2] = completion
    if lower > 0:
        out[SHARE_LOWER_OVER_30, 0] = lower30 / lower
        out[SHARE_LOWER_OVER_30, 2] = lower30 / lower
    if under100 > 0:
        out[SHARE_UNDER100_CLOSED, 2] = under100_closed / under100
    board_cost += beds * P.bed_cost
    total = (n_open[2] * P.school_fixed + teachers * P.teacher + S.bus_totals[TOTAL_COST]
             + board_cost + counts[COUNT_RETURNED] * P.return_cost)
    out[RETURNED, 2] = counts[COUNT_RETURNED]
    if pupils[2] > 0:
        out[COST_PER_PUPIL, 2] = total / pupils[2]
    out[SCHOOLS_CLOSED, 2] = counts[COUNT_CLOSED]
    out[CLOSURES_DEFERRED, 2] = counts[COUNT_DEFERRED]
    out[CLOSURES_EXEMPTED, 2] = counts[COUNT_EXEMPTED]
    out[AGED_OUT_UNPLACED, 2] = counts[COUNT_AGED_OUT]
    if counts[COUNT_GRADUATES] > 0:
        out[SENIOR_ENTRY_RATE, 2] = counts[COUNT_SENIOR_ENTRY] / counts[COUNT_GRADUATES]
    if n17[0] > 0:
        out[YEARS_BOYS, 2] = years17[0] / n17[0]
    if n17[1] > 0:
        out[YEARS_GIRLS, 2] = years17[1] / n17[1]
    out[GRADE1_INTAKE, 0] = intake
    out[GRADE1_INTAKE, 2] = intake
    out[YOUNG_BOARDERS, 0] = young_boarders
    out[YOUNG_BOARDERS, 2] = young_boarders
    out[SCHOOLS_OVER_2000, 2] = over_2000
    out[CHILDREN_MIGRATED, 2] = migrated
    out[BUSES_NEEDED, 2] = S.bus_totals[TOTAL_BUSES]
    out[BUS_COST, 2] = S.bus_totals[TOTAL_COST]
    out[VILLAGES_WITHOUT_BUS, 2] = S.bus_totals[TOTAL_UNSERVED]
    if paying > 0:
        out[PARENT_COST, 2] = parent_pay / paying
