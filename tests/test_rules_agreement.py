"""Engine agreement rule by rule: for each rule of the annual cycle, a small scenario in which the
rule fires (asserted), run on the numba core and on the Mesa reference model; both engines must
give the same replicate agent by agent, every year (every child's age, grade, status, school,
mode, travel and cost; every household's village, parents, away and far flags; every school's
open, level, grades, beds and pupils by grade; every indicator). Plus the default scenario's
first three years, replicate 0 (benchmarks/engines.py: all ten)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.core import dtypes as dt
from sim.core.indicators import ROW
from sim.model import build
from sim.model import scenario as sc
from sim.reference import agreement
from tests.conftest import ROOT, SMALL


def _scenario(name: str, behaviour: dict | None = None, policies: dict | None = None,
              **top) -> sc.Scenario:
    data = copy.deepcopy(SMALL)
    data["name"] = name
    data.setdefault("behaviour", {})
    for key, value in (behaviour or {}).items():
        data["behaviour"].setdefault(key, {}).update(value)
    data["policies"].update(policies or {})
    data.update(top)
    return sc.validate(data)


def _years(states, field):
    return [s[field] for s in states]


def _indicator(states, name, level=2):
    return np.array([s["indicators"][ROW[name], level] for s in states])


def _aged_out(states):
    return _indicator(states, "children_aged_out_unplaced").sum() > 0


def _renting(states):
    return any((m == dt.RENTING).any() for m in _years(states, "child.mode"))


def _young_boarders(states, min_grade=2):
    """Boarders below grade 4 exist (the young-boarding hazard applies), none below the minimum."""
    young = below = 0
    for s in states:
        boarding = s["child.mode"] == dt.BOARDING
        young += int((boarding & (s["child.grade"] < 4)).sum())
        below += int((boarding & (s["child.grade"] < min_grade)).sum())
    return young > 0 and below == 0


def _hardship_subsidy(states, cost=2000.0, subsidy=1500.0):
    """Boarders from hardship families pay the boarding cost less the subsidy (family share 1),
    the others pay it in full; both kinds of boarder occur."""
    hard = full = 0
    for s in states:
        boarding = s["child.mode"] == dt.BOARDING
        in_hardship = s["household.hardship"][s["child.hh"]]
        assert np.allclose(s["child.cost"][boarding & in_hardship], cost - subsidy)
        assert np.allclose(s["child.cost"][boarding & ~in_hardship], cost)
        hard += int((boarding & in_hardship).sum())
        full += int((boarding & ~in_hardship).sum())
    return hard > 0 and full > 0


def _exempted(states):
    return _indicator(states, "closures_exempted")[-1] > 0


def _deferred(states):
    return _indicator(states, "closures_deferred")[-1] > 0


def _deferred_for_beds(states):
    """A rule closure deferred because the receiver lacks beds (the capacity check's beds
    branch), not for seats or canteen."""
    from sim.core.kernels import state as ev
    events = np.stack([s["school.events"] for s in states])
    return bool(((events & ev.EV_DEFER_BEDS) != 0).any())


def _moved(states):
    return (states[-1]["household.node"] != states[0]["household.node"]).any()


def _bus_replaced(states):
    """A bus rider whose family stayed put and whose school is open and still teaches the grade
    is placed again (other school or mode): this year's line no longer serves it within the
    limits (sim/core/kernels/enrolment.py `recount`)."""
    for prev, cur in zip(states, states[1:], strict=False):
        n = len(prev["child.mode"])
        school = prev["child.school"]
        at = np.maximum(school, 0)
        stayed = cur["household.node"][cur["child.hh"][:n]] == prev["household.node"][prev["child.hh"]]
        kept_school = ((school >= 0) & cur["school.open"][at]
                       & (cur["child.grade"][:n] <= cur["school.hi"][at]))
        rode = (prev["child.mode"] == dt.BUS) & (cur["child.status"][:n] == dt.ENROLLED)
        changed = (cur["child.school"][:n] != school) | (cur["child.mode"][:n] != dt.BUS)
        if (rode & stayed & kept_school & changed).any():
            return True
    return False


def _catchment(states):
    """The choice rule is in force: the same county under the default logit choice sends some
    pupils to other schools."""
    logit = agreement.numba_states(build.build_model(_scenario("logit")), 0)
    return any((c["child.school"] != g["child.school"]).any()
               for c, g in zip(states, logit, strict=True))


def _stage_switches(states) -> int:
    """Pupils who changed school on moving up to grade 4 although the school they left is
    open and teaches grade 4 (their family chose again when boarding opened)."""
    n = 0
    for before, after in zip(states, states[1:], strict=False):
        k = len(before["child.school"])
        was = before["child.school"]
        now = after["child.school"][:k]
        up = (before["child.grade"] == 3) & (after["child.grade"][:k] == 4) & (was >= 0) & (now >= 0)
        stays = after["school.open"][np.maximum(was, 0)] & (after["school.hi"][np.maximum(was, 0)] >= 4)
        n += int((up & stays & (now != was)).sum())
    return n


def _chooses_again(states):
    """Families choose again at grade 4: many more pupils change an open school then than with
    the rule off (where only families that move house do)."""
    off = agreement.numba_states(build.build_model(_scenario(
        "no_stages", behaviour={"choice": {"choose_again_at_stages": False}}, years=3)), 0)
    return _stage_switches(states) > 2 * _stage_switches(off) + 20


def _move_effects(states, effect=0.3):
    """The plan's forced move is two-sided: in the closure year a pupil of grades 1-3 lost the
    younger pupils' effect (and maybe more for a long trip), and one of grade 4 or later gained
    the older pupils' effect (with the quality and boarding terms off)."""
    s, before = states[1], states[0]["child.school"]
    n = len(before)
    at = np.maximum(before, 0)
    moved = ((s["child.status"][:n] == dt.ENROLLED) & (before >= 0) & ~s["school.open"][at]
             & (s["child.grade"][:n] <= s["school.hi"][at]))
    s = {k: v[:n] for k, v in s.items() if k.startswith("child.")}
    young, older = moved & (s["child.grade"] < 4), moved & (s["child.grade"] >= 4)
    return (bool((s["child.achievement"][young] <= -effect + 1e-6).any())
            and bool((s["child.achievement"][older] >= effect - 1e-6).any()))


def _senior_entry(states):
    """Grade-9 finishers enter senior high, some (not all) of them, and complete years there."""
    entered = any((s["child.status"] == dt.SENIOR_HIGH).any() for s in states)
    rate = _indicator(states, "senior_high_entry_rate")
    return entered and np.nanmax(rate) < 1 and (states[-1]["child.schooling"] > 9).any()


def _returned(states):
    """Dropouts of compulsory age come back to school and are placed at the grade they left."""
    return _indicator(states, "dropouts_returned")[1:].sum() > 0


def _central_closed_into_central(states):
    """A rule closing central primaries sends their pupils to another central primary (its
    receiver_levels); by default a rule's own levels may not receive."""
    from sim.model import engine
    built = build.build_model(_scenario("rule_receiver_levels", **RULES["rule receiver levels"][0]))
    last = list(engine.trace_replicate(built, 0))[-1]
    central = built.world.school_level == dt.CENTRAL_PRIMARY
    closed = np.flatnonzero(central & ~last.S.open)
    return len(closed) > 0 and bool(central[last.S.receiver[closed]].all())


RULES = {
    "rule receiver levels": (
        dict(policies={"closures": [{"year": 1, "below": 100000, "share": 0.3,
                                     "levels": ["central_primary"],
                                     "receiver_levels": ["central_primary"]}],
                       "receiving_capacity_check": False}), _central_closed_into_central),
    "dropouts brought back to school": (
        dict(policies={"dropout_tracking": {"return_share": 0.5}},
             behaviour={"dropout": {"base_primary": 0.05, "base_junior": 0.1}}), _returned),
    "two-sided move effect on achievement": (
        dict(behaviour={"achievement": {"move_before_grade_4": -0.3, "move_from_grade_4": 0.3,
                                        "per_quality_gain": 0.0, "boarding": 0.0}},
             policies={"closures": [{"year": 1, "below": 200, "levels": ["village_primary"]}],
                       "receiving_capacity_check": False}, years=2),
        _move_effects),
    "senior high entry": (dict(behaviour={"senior_high": {"entry_prob": 0.6}}), _senior_entry),
    "unplaced children ageing out": (
        dict(behaviour={"choice": {"rent_prob": 0.0}},
             policies={"max_travel_min": 12, "boarding": {"min_grade": 9, "max_trip_min": 13}},
             years=5), _aged_out),
    "renting near school": (
        dict(behaviour={"choice": {"rent_prob": 1.0}},
             policies={"max_travel_min": 15, "boarding": {"min_grade": 9, "max_trip_min": 16}}),
        _renting),
    "boarding minimum grade": (
        dict(behaviour={"choice": {"board_if_day_travel_over_min": 5}},
             policies={"boarding": {"min_grade": 2}}), _young_boarders),
    "hardship boarding subsidy": (
        dict(behaviour={"choice": {"board_if_day_travel_over_min": 5}},
             policies={"boarding": {"family_share": 1.0, "cost_per_boarder_yuan": 2000,
                                    "hardship_subsidy_yuan": 1500}}), _hardship_subsidy),
    "teaching-point exemption": (
        dict(policies={"exemptions": {"keep_teaching_points_if_travel_over_min": 10,
                                      "grades": [1, 2, 3]}}), _exempted),
    "receiving capacity deferral": (
        dict(policies={"receiving_capacity_check": True, "class_caps": {"primary": 20}}),
        _deferred),
    "receiving capacity deferral for beds": (
        dict(policies={"exemptions": {"keep_teaching_points_if_travel_over_min": None},
                       "max_travel_min": 30, "boarding": {"beds_per_receiving_school": 0}}),
        _deferred_for_beds),
    "household moves": (
        dict(behaviour={"demography": {"move_to_town_prob": 0.2, "move_to_seat_prob": 0.1}}),
        _moved),
    "bus riders placed again": (
        dict(policies={"max_travel_min": 40}), _bus_replaced),
    "catchment choice": (
        dict(behaviour={"choice": {"mode": "catchment"}}), _catchment),
    "families choose again at grade 4": (dict(years=3), _chooses_again),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_fires_and_engines_are_identical(rule):
    spec, fires = RULES[rule]
    s = _scenario(rule.replace(" ", "_").replace("-", "_"), **spec)
    built = build.build_model(s)
    a = agreement.numba_states(built, 0)
    assert fires(a), f"{rule}: the rule does not fire in this scenario"
    b = agreement.mesa_states(built, 0)
    diff = agreement.state_differences(a, b)
    assert not diff, f"{rule}: engines differ:\n" + "\n".join(diff[:20])


def test_state_comparison_catches_a_difference():
    """The agent-level comparison is not blind: one changed pupil is reported."""
    first_year = [c for c in SMALL["policies"]["closures"] if c["year"] == 1]
    built = build.build_model(_scenario("tiny", years=1, policies={"closures": first_year}))
    a = agreement.numba_states(built, 0)
    b = copy.deepcopy(a)
    b[1]["child.school"][np.flatnonzero(b[1]["child.school"] >= 0)[0]] += 1
    diff = agreement.state_differences(a, b)
    assert len(diff) == 1 and diff[0].startswith("year 1: child.school (1 of")


def test_default_scenario_identical_in_both_engines():
    """The default scenario's first three years, its plan's closure years (benchmarks/engines.py
    checks all ten)."""
    s = sc.load(ROOT / "scenarios" / "default.yaml", {"years": 3})
    built = build.build_model(s)
    diff = agreement.state_differences(agreement.numba_states(built, 0),
                                       agreement.mesa_states(built, 0))
    assert not diff, "\n".join(diff[:20])


def test_a_family_choosing_again_among_unchanged_options_keeps_its_school():
    """The logit draw is a lasting taste per pupil and school (counter_rng.taste), not a new
    draw each year: every day pupil placed again a year later, with the same options and room
    for all, takes the same school (99.7%; with a new draw each year 58% would)."""
    from sim.core import rng
    from sim.core.kernels.enrolment import place_all, recount
    from sim.model import engine
    built = build.build_model(_scenario("taste", years=1, policies={
        "closures": [], "class_caps": {"primary": 200, "junior": 200}}))
    state = list(engine.trace_replicate(built, 0))[-1]
    S, H, C = (type(x)(*[np.copy(a) for a in x]) for x in (state.S, state.H, state.C))
    n = int(C.n_used[0])
    kids = np.flatnonzero((C.status[:n] == dt.ENROLLED) & (C.school[:n] >= 0)
                          & (C.mode[:n] != dt.RENTING))
    before = C.school[kids].copy()
    C.school[kids] = -1
    recount(built.P, built.W, S, H, C)
    place_all(7, rng.replicate_seeds(built.scenario.seed, 0, 1)[0], built.P, built.W, S, H, C)
    day = C.mode[kids] != dt.BOARDING  # boarders compete again for beds in a new order
    assert day.sum() > 1000
    assert (C.school[kids][day] == before[day]).mean() > 0.99
