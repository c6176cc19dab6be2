"""Achievement kernel: each pupil's achievement relative to an undisturbed schooling (SD units,
0 or below). A closure that makes the pupil change school, a long daily trip and boarding
below grade 4 lower it; a share of the deficit persists from year to year. The deficit raises
the dropout hazard (sim/core/kernels/dropout.py) and lowers the chance of entering senior high
(sim/core/kernels/demography.py). Parameters and sources: docs/parameters.md."""

from numba import njit

from sim.core import dtypes as dt
from sim.core import rules


@njit(cache=True)
def achievement_year(P, C):
    """This year's achievement of every placed pupil: last year's deficit times the
    persistence, less the closure shock if its school closed (C.moved), less the per-10-minute
    toll of a day trip beyond `rules.LOWER_OVER_MIN`, less the young-boarding toll. Clears
    C.moved."""
    for c in range(C.n_used[0]):
        if C.status[c] != dt.ENROLLED or C.school[c] < 0:
            C.moved[c] = False
            continue
        a = C.achievement[c] * P.ach_persistence
        if C.moved[c]:
            a -= P.ach_closure_shock
            C.moved[c] = False
        if rules.is_day_pupil(C.mode[c]) and C.travel[c] > rules.LOWER_OVER_MIN:
            a -= P.ach_per_10min * (C.travel[c] - rules.LOWER_OVER_MIN) / 10.0
        if C.mode[c] == dt.BOARDING and C.grade[c] < rules.YOUNG_BOARDING_BELOW_GRADE:
            a -= P.ach_young_boarding
        C.achievement[c] = a
