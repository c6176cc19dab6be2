"""End of a school year: what next year's rules read, kept by the model step (not by the
indicator recorder): each school's pupils by grade and in all (the closure rules' "last year"),
in the base year also the closure targets' reference count, and which households have a child
travelling far (a move to town becomes likelier)."""

from numba import njit

from sim.core import dtypes as dt
from sim.core import rules


@njit(cache=True)
def remember_year(year, S, H, C):
    """Store this year's enrolment as last year's for the next year's closures (and as the
    base-year count in year 0), and flag households with a day pupil over `rules.FAR_MIN`."""
    for s in range(S.enrol.shape[0]):
        total = 0
        for g in range(S.enrol.shape[1]):
            S.last_enrol_g[s, g] = S.enrol[s, g]
            total += S.enrol[s, g]
        S.last_enrol[s] = total
        if year == 0:  # a school the plan opens later has no base-year count (-1)
            S.base_enrol[s] = total if S.open[s] else -1
    for h in range(H.far.shape[0]):
        H.far[h] = False
    for c in range(C.n_used[0]):
        if (C.status[c] == dt.ENROLLED and C.school[c] >= 0 and rules.is_day_pupil(C.mode[c])
                and C.travel[c] > rules.FAR_MIN):
            H.far[C.hh[c]] = True
