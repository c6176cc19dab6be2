"""Dropout kernel: an annual per-pupil hazard, logistic in a day pupil's travel time (steeper
for girls) or boarding (its own term, more below grade 4), family cost share of income,
hardship, left-behind status, junior level and school quality. Coefficients and their sources:
docs/parameters.md."""

import numpy as np
from numba import njit

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels import counter_rng as rng


@njit(cache=True, inline="always")
def hazard(grade, female, travel, mode, cost_share, hardship, left_behind, quality,
           achievement, P):
    """Annual dropout probability of one pupil (0-1). travel: one-way minutes."""
    z = P.logit_base_primary if grade <= rules.LAST_PRIMARY_GRADE else P.logit_base_junior
    if mode == dt.BOARDING:
        z += P.b_boarding  # boarding's own term; no daily trip
    else:
        z += (P.b_travel_10min + (P.b_female_travel_10min if female else 0.0)) * travel / 10.0
    z += P.b_cost_share * cost_share
    if hardship:
        z += P.b_hardship
    if left_behind:
        z += P.b_left_behind
    if mode == dt.BOARDING and grade < rules.YOUNG_BOARDING_BELOW_GRADE:
        z += P.b_young_boarding
    z += P.b_quality * (quality - rules.REFERENCE_QUALITY)
    z -= P.b_achievement * achievement  # a deficit (achievement below 0) raises the hazard
    return 1.0 / (1.0 + np.exp(-z))


@njit(cache=True)
def apply_dropout(year, seed, P, W, S, H, C, at_risk_g, dropped_g):
    """Pupils drop out with their annual hazard, freeing their seat (and bed). Counts this
    year's pupils at risk and dropouts by grade into at_risk_g and dropped_g (reset here).
    Not in the base year of a county with rolls: the rolls are the year as observed."""
    for g in range(at_risk_g.shape[0]):
        at_risk_g[g] = 0
        dropped_g[g] = 0
    if year == 0 and W.rolls_given[0]:
        return  # the base year is the county's rolls as observed
    for c in range(C.n_used[0]):
        if C.status[c] != dt.ENROLLED or C.school[c] < 0:
            continue
        h = C.hh[c]
        g = C.grade[c]
        p = hazard(g, C.female[c], C.travel[c], C.mode[c], C.cost[c] / H.income[h],
                   H.hardship[h], H.parents[h] < 2, W.school_quality[C.school[c]],
                   C.achievement[c], P)
        at_risk_g[g] += 1
        if rng.uniform(seed, year, c, rng.DROPOUT) < p:
            dropped_g[g] += 1
            S.enrol[C.school[c], g] -= 1
            if C.mode[c] == dt.BOARDING:
                S.beds_used[C.school[c]] -= 1
            C.status[c] = dt.DROPPED_OUT
            C.school[c] = -1
            C.mode[c] = dt.MODE_NONE
