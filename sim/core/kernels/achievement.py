"""Achievement kernel: each pupil's achievement relative to staying in the school it had (SD
units, either sign). A move the plan forces (its school closed or stopped teaching its grade)
changes it by an effect that depends on the grade at the move (younger pupils lose, older ones
may gain) and on the receiving school's quality against the old one (better resources help);
each year of boarding adds its cognitive effect, a long daily trip and boarding below grade 4
lower it; a share of the gap persists from year to year. Achievement lowers the dropout hazard
(sim/core/kernels/dropout.py) and raises the chance of entering senior high
(sim/core/kernels/demography.py). Parameters and sources: docs/parameters.md."""

from numba import njit

from sim.core import dtypes as dt
from sim.core import rules


@njit(cache=True)
def achievement_year(P, W, C):
    """This year's achievement of every placed pupil: last year's times the persistence, plus
    the forced-move effect if the plan moved it this year (C.moved_from: by grade, and the
    per-quality gain times the receiving school's quality less the old school's), plus the
    yearly boarding effect, less the per-10-minute toll of a day trip beyond
    `rules.LOWER_OVER_MIN` and the young-boarding toll. Clears C.moved_from."""
    for c in range(C.n_used[0]):
        old = C.moved_from[c]
        C.moved_from[c] = -1
        if C.status[c] != dt.ENROLLED or C.school[c] < 0:
            continue
        a = C.achievement[c] * P.ach_persistence
        if old >= 0:
            a += P.ach_move_young if C.grade[c] < rules.MOVED_YOUNG_BELOW_GRADE else P.ach_move_older
            a += P.ach_per_quality * (W.school_quality[C.school[c]] - W.school_quality[old])
        if rules.is_day_pupil(C.mode[c]) and C.travel[c] > rules.LOWER_OVER_MIN:
            a -= P.ach_per_10min * (C.travel[c] - rules.LOWER_OVER_MIN) / 10.0
        if C.mode[c] == dt.BOARDING:
            a += P.ach_boarding
            if C.grade[c] < rules.YOUNG_BOARDING_BELOW_GRADE:
                a -= P.ach_young_boarding
        C.achievement[c] = a
