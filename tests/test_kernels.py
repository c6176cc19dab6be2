"""Kernels against hand-worked cases and theory: a three-village county whose closure outcome is
known, capacity deferral, the travel exemption, the counter-based RNG, and plain-Python twins."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import dtypes as dt
from sim.core.indicators import INDICATOR_NAMES
from sim.core.kernels import counter_rng
from sim.core.kernels.dropout import hazard
from sim.model import scenario as sc
from tests.conftest import simulate, write_county

QUIET = {  # no demography, so pupils stay where they are
    "birth_prob_20_34": 0.0, "birth_prob_35_44": 0.0, "out_migration_prob": 0.0,
    "return_prob": 0.0, "move_to_town_prob": 0.0, "move_to_seat_prob": 0.0,
    "move_if_far_extra_prob": 0.0, "initial_one_parent_away": 0.0,
    "initial_both_parents_away": 0.0,
}


def three_villages(tmp_path, b_pop=400, c_km=5.0, central_classes=4):
    """TOWN (central primary + junior), B 4 km away and C `c_km` away, each with a village
    primary. Roads: TOWN-B and TOWN-C township roads."""
    villages = [
        {"village_id": "TOWN", "township": "T", "x_km": 0, "y_km": 0, "population": 3000,
         "kind": "town"},
        {"village_id": "B", "township": "T", "x_km": 4, "y_km": 0, "population": b_pop},
        {"village_id": "C", "township": "T", "x_km": -c_km, "y_km": 0, "population": 400},
    ]
    schools = [
        {"school_id": "central", "village_id": "TOWN", "level": "central_primary",
         "classes_per_grade": central_classes, "canteen_places": 5000, "quality": 0.7},
        {"school_id": "junior", "village_id": "TOWN", "level": "junior", "classes_per_grade": 4,
         "boarding_beds": 300, "canteen_places": 1000, "quality": 0.6},
        {"school_id": "b", "village_id": "B", "level": "village_primary", "classes_per_grade": 1,
         "quality": 0.4},
        {"school_id": "c", "village_id": "C", "level": "village_primary", "classes_per_grade": 1,
         "quality": 0.4},
    ]
    roads = [
        {"from_village": "TOWN", "to_village": "B", "length_km": 4.0, "road_class": "township"},
        {"from_village": "TOWN", "to_village": "C", "length_km": c_km, "road_class": "township"},
    ]
    folder = write_county(tmp_path / "county", villages, schools, roads)
    return sc.validate({
        "name": "three", "seed": 5, "replicates": 1, "years": 1,
        "county": {"data": str(folder)},
        "behaviour": {"demography": QUIET, "choice": {"mode": "catchment"}},
        "policies": {"closures": [{"year": 1, "below": 10000, "levels": ["village_primary"]}]},
    })


def pupils_of(model, C, node_name):
    node = model.world.node_name.index(node_name)
    n = C.n_used[0]
    hh_node = model.H0.node  # no moves in these scenarios
    return np.flatnonzero((hh_node[C.hh[:n]] == node) & (C.status[:n] == dt.ENROLLED))


def test_three_villages_close_and_reassign(tmp_path):
    model, S, H, C, out = simulate(three_villages(tmp_path))
    central, b, c = 0, 2, 3
    assert not S.open[b] and not S.open[c] and S.open[central]
    assert S.closed_year[b] == 1 and S.closed_year[c] == 1
    for name in ("B", "C"):
        kids = pupils_of(model, C, name)
        primary = kids[C.grade[kids] <= 6]
        assert len(primary) > 0
        assert (C.school[primary] == central).all()
        # 4-5 km by township road: the new bus (or the family motorbike) beats an hour's walk
        assert set(C.mode[primary].tolist()) <= {dt.BUS, dt.PRIVATE}
    node = model.world.node_name.index
    town, b_node = node("TOWN"), node("B")
    assert S.bus_dest[b_node] == town and S.bus_dest[node("C")] == town
    assert S.bus_dest[town] == -1
    # the line carries the grades the village school taught (1-6), not junior pupils
    assert S.bus_grades[b_node] == sum(1 << g for g in range(1, 7))
    # bus riders travel the simulated door-to-school time of their village's line
    net = model.bus.networks[model.bus.network_id(S.open, S.lo, S.hi, S.receiver)]
    line = next(x for x in net.lines if b_node in x.route.stops)
    k = line.route.stops.index(b_node)
    door = model.bus.walk_to_stop[b_node] + line.wait_min[k] + line.ride_min[k]
    kids = pupils_of(model, C, "B")
    riders = kids[C.mode[kids] == dt.BUS]
    assert len(riders) > 0 and (C.grade[riders] <= 6).all()
    np.testing.assert_allclose(C.travel[riders], door, rtol=1e-6)
    i = INDICATOR_NAMES.index
    assert out[1, i("schools_closed"), 2] == 2
    assert out[1, i("closures_deferred"), 2] == 0
    assert out[0, i("schools_open"), 0] == 3 and out[1, i("schools_open"), 0] == 1


def test_capacity_check_defers_closure(tmp_path):
    # one class per grade at the central school cannot take a large village's pupils
    model, S, H, C, out = simulate(three_villages(tmp_path, b_pop=3000, central_classes=1))
    assert S.open[2]  # b stays open
    assert out[1, INDICATOR_NAMES.index("closures_deferred"), 2] >= 1
    unchecked = three_villages(tmp_path, b_pop=3000, central_classes=1)
    unchecked.policies.receiving_capacity_check = False
    _, S2, _, _, out2 = simulate(unchecked)
    assert not S2.open[2]  # without the check it closes, and classes overflow the cap
    assert out2[1, INDICATOR_NAMES.index("share_classes_over_standard"), 0] > 0


def test_remote_school_kept_for_lower_grades(tmp_path):
    # C is 30 km away on a township road: 64 + 8 minutes by bus, beyond the 40-minute limit
    model, S, H, C, out = simulate(three_villages(tmp_path, c_km=30.0))
    c = 3
    assert S.open[c] and S.level[c] == dt.TEACHING_POINT and S.hi[c] == 3
    kids = pupils_of(model, C, "C")
    assert (C.school[kids[C.grade[kids] <= 3]] == c).all()
    assert (C.school[kids[C.grade[kids] >= 4]] != c).all()
    assert out[1, INDICATOR_NAMES.index("closures_exempted"), 2] == 1


def test_choice_set_cache_is_current(small_dict):
    """Every cache slot in use at the end of a run equals a fresh build from the final state:
    the cache never serves choice sets from before a closure, or from before its village's bus
    line changed (a slot is in use when both its versions are current)."""
    from sim.core.kernels.enrolment import N_CHOICE_SLOTS, build_choice_slot
    model, S, H, C, out = simulate(sc.validate(small_dict))
    assert S.version[0] > 0  # closures happened, so slots were rebuilt
    assert S.bus_version.sum() > 0  # and bus lines changed
    village = np.arange(len(S.cand_version)) // N_CHOICE_SLOTS
    current = S.cand_version == S.version[0]
    used = np.flatnonzero(current & (S.cand_bus_version == S.bus_version[village]))
    assert len(used) > 20
    assert (current & (S.cand_bus_version != S.bus_version[village])).any()  # stale by bus
    for slot in used:
        v, rest = divmod(int(slot), 20)
        g, access = divmod(rest, 2)
        before = S.cand_school[slot, : S.cand_n[slot]].copy(), S.cand_time[slot, : S.cand_n[slot]].copy()
        build_choice_slot(slot, v, g, bool(access), model.P, model.W, S)
        assert np.array_equal(before[0], S.cand_school[slot, : S.cand_n[slot]])
        assert np.array_equal(before[1], S.cand_time[slot, : S.cand_n[slot]])
    # a cached school is open and teaches the grade
    for slot in used:
        g = (slot % 20) // 2
        for s in S.cand_school[slot, : S.cand_n[slot]]:
            assert S.open[s] and S.lo[s] <= g <= S.hi[s]


def test_counter_rng_uniform_and_keyed():
    seed = np.uint64(987654321)
    u = np.array([counter_rng.uniform(seed, 3, a, counter_rng.DROPOUT) for a in range(20000)])
    assert ((u >= 0) & (u < 1)).all()
    assert abs(u.mean() - 0.5) < 0.01  # 4.5 standard errors at n = 20000
    assert abs((u < 0.1).mean() - 0.1) < 0.01
    assert counter_rng.uniform(seed, 3, 7, 9) == counter_rng.uniform(seed, 3, 7, 9)
    others = {counter_rng.uniform(seed, 4, 7, 9), counter_rng.uniform(seed, 3, 8, 9),
              counter_rng.uniform(seed, 3, 7, 8), counter_rng.uniform(np.uint64(1), 3, 7, 9)}
    assert counter_rng.uniform(seed, 3, 7, 9) not in others


def test_hazard_matches_plain_formula(small_dict):
    from sim.model.params import build_params
    P = build_params(sc.validate(small_dict))
    d = sc.validate(small_dict).behaviour.dropout
    z = (np.log(d.base_junior / (1 - d.base_junior)) + (d.per_10min_travel
         + d.female_extra_per_10min_travel) * 3.5 + d.cost_share * 0.1 + d.hardship
         + d.left_behind + d.quality * (0.3 - 0.5) + d.achievement * 0.8)
    got = hazard(8, True, 35.0, dt.BUS, 0.1, True, True, 0.3, -0.8, P)
    assert got == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-12)
    # a boarder has boarding's own term (no daily trip), more below grade 4
    young = hazard(2, False, 80.0, dt.BOARDING, 0.0, False, False, 0.5, 0.0, P)
    z2 = np.log(d.base_primary / (1 - d.base_primary)) + d.boarding + d.young_boarding
    assert young == pytest.approx(1 / (1 + np.exp(-z2)), rel=1e-12)
