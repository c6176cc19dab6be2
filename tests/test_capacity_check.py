"""The receiving-capacity check and the closure thresholds, branch by branch on the kernel
(`closures.try_close`, `closures.apply_closures`), with hand-set schools: each missing seat,
bed, canteen place or receiver defers a closure, and one more of it lets the closure happen;
`below: N` keeps a school of exactly N pupils, `at_most: N` closes it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels import closures
from sim.core.kernels import state as ev
from sim.model import build, engine
from sim.model import scenario as sc
from tests.conftest import SMALL


def _model(years: int = 1, **policies) -> build.Model:
    data = copy.deepcopy(SMALL)
    data["years"] = years
    data["policies"] = {"closures": [], **policies}
    return build.build_model(sc.validate(data))


def _state(model):
    S, _, _ = engine.replicate(engine.batch_state(model, 1), 0)
    return S


def _pair(model, S):
    """A village primary s and a central primary r, r with every seat free and no beds."""
    s = int(np.flatnonzero(S.level == dt.VILLAGE_PRIMARY)[0])
    r = int(np.flatnonzero(S.level == dt.CENTRAL_PRIMARY)[0])
    S.last_enrol_g[:] = 0
    S.last_enrol[:] = 0
    S.beds[r] = 0
    S.beds_used[r] = 0
    S.received[r] = True  # no beds added for a first receipt
    S.canteen[r] = -1
    return s, r


def _try(model, S, s, r, t):
    n = S.open.shape[0]
    zeros = [np.zeros(n, np.int64) for _ in range(3)]
    return closures.try_close(s, r, t, 1, model.P, S, *zeros)


def _give(S, s, grade, pupils):
    S.last_enrol_g[s, grade] = pupils
    S.last_enrol[s] = int(S.last_enrol_g[s].sum())


def test_beds_branch_by_hand():
    """Beyond the day-travel limit the boarding-age pupils (grade >= the boarding minimum) need
    beds: 6 of them and 5 free beds defer the closure for beds; 6 free beds let it close."""
    model = _model()
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, 2, 4)
    _give(S, s, int(model.P.board_min_grade), 6)
    far = model.P.max_travel_min + 1
    S.beds[r] = 5
    assert _try(model, S, s, r, far) == ev.EV_DEFER_BEDS and S.open[s]
    assert S.receiver[s] == r  # the school that would have received
    S.beds[r] = 6
    assert _try(model, S, s, r, far) == 0 and not S.open[s]


def test_beds_are_not_needed_within_the_day_limit():
    model = _model()
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, int(model.P.board_min_grade), 6)
    assert _try(model, S, s, r, model.P.max_travel_min) == 0  # exactly at the limit: by day


def test_seats_branch_by_hand():
    """Free seats in the closing school's grades: one short defers, exactly enough closes."""
    model = _model()
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, 1, 10)
    seats = sum(rules.grade_seats(g, int(S.classes[r]), model.P.cap_primary, model.P.cap_junior)
                for g in range(S.lo[s], S.hi[s] + 1))
    S.last_enrol_g[r, 1] = seats - 9  # 9 free seats for 10 pupils
    assert _try(model, S, s, r, 1.0) == ev.EV_DEFER_SEATS
    S.last_enrol_g[r, 1] = seats - 10
    assert _try(model, S, s, r, 1.0) == 0


def test_canteen_branch_by_hand():
    """Canteen places where known: one short defers; not known (-1) skips the check."""
    model = _model()
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, 1, 10)
    S.canteen[r] = 9
    assert _try(model, S, s, r, 1.0) == ev.EV_DEFER_CANTEEN
    S.canteen[r] = -1
    assert _try(model, S, s, r, 1.0) == 0


def test_no_receiver_and_all_reasons_together():
    model = _model()
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, int(model.P.board_min_grade), 6)
    assert _try(model, S, s, -1, 1.0) == ev.EV_DEFER_RECEIVER
    S.canteen[r] = 0
    S.classes[r] = 0  # no seats at all
    missing = _try(model, S, s, r, model.P.max_travel_min + 1)
    assert missing == ev.EV_DEFER_SEATS | ev.EV_DEFER_BEDS | ev.EV_DEFER_CANTEEN


def test_capacity_check_off_closes_whatever_is_missing():
    model = _model(receiving_capacity_check=False)
    S = _state(model)
    s, r = _pair(model, S)
    _give(S, s, int(model.P.board_min_grade), 6)
    S.canteen[r] = 0
    assert _try(model, S, s, r, model.P.max_travel_min + 1) == 0


@pytest.mark.parametrize(("rule", "closed_at_n"), [({"below": 25}, False),
                                                    ({"at_most": 25}, True)])
def test_closure_threshold_boundary(rule, closed_at_n):
    """A school of exactly 25 pupils: `below: 25` (fewer than 25) keeps it, `at_most: 25`
    (25 or fewer: the plans' 25人以下) closes it; one of 24 is closed by both, one of 26 by
    neither."""
    model = _model(closures=[{"year": 1, **rule, "levels": ["village_primary"]}],
                   exemptions={"keep_teaching_points_if_travel_over_min": None},
                   receiving_capacity_check=False)
    S = _state(model)
    village = np.flatnonzero(S.level == dt.VILLAGE_PRIMARY)
    a, b, c = (int(x) for x in village[:3])
    S.last_enrol[village] = 500  # every other village primary is far above the threshold
    for school, n in ((a, 24), (b, 25), (c, 26)):
        S.last_enrol[school] = n
    counts = np.zeros(ev.N_COUNTS, np.int64)
    closures.apply_closures(1, model.P, model.W, model.R, model.A, S, counts)
    assert not S.open[a] and S.open[c]
    assert (not S.open[b]) == closed_at_n
    assert counts[ev.COUNT_CLOSED] == 1 + closed_at_n


def test_a_teaching_point_the_exemption_leaves_open_has_an_event_every_year_counted_once():
    """A rule that would close teaching points beyond the exemption's minutes keeps them: each
    gets EV_EXEMPTED in every year a rule keeps it, and `closures_exempted` counts it once."""
    rule = {"below": 1000, "levels": ["teaching_point"]}
    model = _model(years=2, closures=[{"year": 1, **rule}, {"year": 2, **rule}],
                   exemptions={"keep_teaching_points_if_travel_over_min": 0},
                   receiving_capacity_check=False)
    S = _state(model)
    points = np.flatnonzero((S.level == dt.TEACHING_POINT) & S.open)
    assert len(points) >= 2
    S.last_enrol[:] = 500
    S.last_enrol[points] = 10
    counts = np.zeros(ev.N_COUNTS, np.int64)
    for year in (1, 2):
        closures.apply_closures(year, model.P, model.W, model.R, model.A, S, counts)
        assert (S.events[points, year] & ev.EV_EXEMPTED != 0).all() and S.open[points].all()
        assert counts[ev.COUNT_EXEMPTED] == len(points)  # not again in year 2
        assert (S.receiver[points] >= 0).all()  # where their pupils would have gone
