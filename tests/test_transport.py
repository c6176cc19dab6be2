"""The simulated bus day against hand-worked lines: times to the second, buses for the seats,
the ride limit splitting a line, costs adding up, and the network cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import build, engine
from sim.model import scenario as sc
from sim.model import transport as tr
from sim.model.county_files import load_county as load_county_csv
from sim.outputs import tables
from tests.conftest import SMALL, write_county

BUS = {  # 36 km/h on every road class: 10 m/s, easy to add up by hand
    "cruise_kmh": 36.0, "road_speed_factor": [1.0, 1.0, 1.0], "dwell_per_stop_s": 30.0,
    "dwell_per_pupil_s": 4.0, "stop_margin_min": 5.0, "arrive_by": "07:50", "school_end": "16:30",
    "earliest_pickup": "06:00", "seats": 35, "max_ride_min": 60.0,
    "cost_per_bus_km_yuan": 2.0, "cost_per_bus_day_yuan": 300.0, "insurance_per_pupil_yuan": 40.0,
    "safety_staff_per_bus": 1.0, "safety_staff_day_yuan": 90.0,
}


def line_county(tmp_path, bus: dict | None = None):
    """A - B - S in a row: A to B 3 km, B to S (the school's node) 6 km, township roads."""
    villages = [
        {"village_id": "S", "township": "T", "x_km": 0, "y_km": 0, "population": 3000, "kind": "town"},
        {"village_id": "B", "township": "T", "x_km": 6, "y_km": 0, "population": 300},
        {"village_id": "A", "township": "T", "x_km": 9, "y_km": 0, "population": 300},
    ]
    schools = [{"school_id": "central", "village_id": "S", "level": "central_primary",
                "classes_per_grade": 4}]
    roads = [{"from_village": "A", "to_village": "B", "length_km": 3.0, "road_class": "township"},
             {"from_village": "B", "to_village": "S", "length_km": 6.0, "road_class": "township"}]
    folder = write_county(tmp_path / "line", villages, schools, roads)
    scenario = sc.validate({"name": "line", "county": {"data": str(folder)}, "years": 1,
                            "policies": {"bus": {**BUS, **(bus or {})}}})
    world = load_county_csv(folder)
    day = tr.BusDay.from_scenario(scenario)
    return world, day, tr.BusRoads(world, day)


A, B, S = 2, 1, 0  # node indices in line_county


def test_two_stop_line_matches_hand_computation_to_the_second(tmp_path):
    world, day, roads = line_county(tmp_path)
    routes, unserved = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert unserved == [] and routes == [tr.Route(S, (A, B), (10, 5), 1)]
    res = tr.simulate_line(routes[0], roads, day)
    # morning: at A 0 s, dwell 30 + 10 x 4 = 70 s; 3 km = 300 s to B (370 s);
    # dwell 30 + 5 x 4 = 50 s; 6 km = 600 s to school: 1020 s
    assert res.ride_min[0] * 60 == pytest.approx(1020.0)
    assert res.ride_min[1] * 60 == pytest.approx(1020.0 - 370.0)
    assert tr.hhmm(res.arrival) == "07:50:00"
    assert tr.hhmm(res.pickup[0]) == "07:33:00"  # 07:50:00 - 1020 s
    assert tr.hhmm(res.pickup[1]) == "07:39:10"  # + 370 s
    assert res.wait_min == [5.0, 5.0]  # one bus: pupils wait only the margin
    # afternoon: board 30 + 15 x 4 = 90 s, 600 s to B (690 s), alight 30 + 5 x 4 = 50 s,
    # 300 s to A: 1040 s after 16:30
    assert tr.hhmm(res.last_dropoff) == "16:47:20"
    assert res.ride_max_min[0] * 60 == pytest.approx(1040.0)
    assert res.ride_max_min[1] * 60 == pytest.approx(690.0)
    # the planning estimate is exact for one bus
    assert tr.route_ride_estimate((A, B), (10, 5), S, roads, day) == pytest.approx(1020.0)
    assert tr.afternoon_ride_estimate((A, B), (10, 5), S, roads, day) == pytest.approx(1040.0)
    # 2 x (9 km of line + 9 km empty to the first stop) a day
    assert res.bus_km_day == pytest.approx(36.0)
    assert res.cost_year == pytest.approx(36.0 * 190 * 2.0 + 190 * 300.0 + 15 * 40.0 + 190 * 90.0)


def test_pupils_beyond_the_seats_add_a_bus(tmp_path):
    world, day, roads = line_county(tmp_path)
    one, _ = tr.plan_routes(S, [A, B], [20, 15], roads, day)
    two, _ = tr.plan_routes(S, [A, B], [40, 5], roads, day)
    assert sum(r.buses for r in one) == 1 and sum(r.buses for r in two) == 2
    res = tr.simulate_line(two[0], roads, day)
    assert res.riders == 45
    # bus 1 loads 35 at A (30 + 140 s), passes B full, reaches school at 170 + 300 + 600 = 1070 s;
    # bus 2 waits for A's loading bay until 170 s, loads 5 (50 s), 300 s to B (520 s), loads 5
    # (50 s), 600 s to school: 1170 s, the last arrival
    assert tr.hhmm(res.pickup[0]) == "07:30:30"  # 07:50:00 - 1170 s
    assert res.wait_min[0] * 60 == pytest.approx(day.stop_margin_min * 60 + 5 * 170 / 40)
    assert res.ride_min[0] * 60 == pytest.approx((35 * 1070 + 5 * 1000) / 40)
    assert res.ride_min[1] * 60 == pytest.approx(1170 - 520)
    # afternoon: bus 1 boards 35 (170 s), drives through B to A (1070 s); bus 2 waits for the
    # school's bay, boards 10 (70 s, leaves at 240 s), B at 840 s, alights 5 (50 s), A at 1190 s
    assert res.ride_max_min[0] * 60 == pytest.approx(1190)
    assert tr.hhmm(res.last_dropoff) == "16:49:50"
    one_bus = tr.simulate_line(one[0], roads, day)
    assert res.cost_year > one_bus.cost_year + 190 * 300.0  # a second bus-day every day


def test_ride_limit_splits_a_long_line(tmp_path):
    # together: 1020 s morning, 1040 s afternoon; A alone 970 s, B alone 650 s
    world, day, roads = line_county(tmp_path, {"max_ride_min": 1026 / 60})
    routes, unserved = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert unserved == [] and sorted(r.stops for r in routes) == sorted([(A,), (B,)])
    for r in routes:
        res = tr.simulate_line(r, roads, day)
        assert max(res.ride_max_min) * 60 <= day.ride_limit_s
    world, day, roads = line_county(tmp_path, {"max_ride_min": 1041 / 60})
    routes, _ = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert [r.stops for r in routes] == [(A, B)]
    # the earliest pick-up limits the morning run: 07:33 leaves exactly the 1020 s it needs;
    # from 07:34 (960 s) A is too far even alone (970 s)
    world, day, roads = line_county(tmp_path, {"earliest_pickup": "07:33"})
    routes, _ = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert [r.stops for r in routes] == [(A, B)]
    assert tr.hhmm(tr.simulate_line(routes[0], roads, day).pickup[0]) == "07:33:00"
    world, day, roads = line_county(tmp_path, {"earliest_pickup": "07:34"})
    routes, unserved = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert unserved == [A] and [r.stops for r in routes] == [(B,)]
    # a village too far even alone is left unserved (and reported)
    world, day, roads = line_county(tmp_path, {"max_ride_min": 12.0})
    routes, unserved = tr.plan_routes(S, [A, B], [10, 5], roads, day)
    assert unserved == [A] and [r.stops for r in routes] == [(B,)]


@pytest.fixture(scope="module")
def small_run():
    model = build.build_model(sc.validate(SMALL))
    return model, engine.run_model(model, 0, 6)


def test_cost_totals_are_the_sum_of_line_costs(small_run):
    model, result = small_run
    from sim.core.indicators import INDICATOR_NAMES
    used = {int(k) for k in np.unique(result.bus_networks) if k >= 0}
    assert used
    for k in used:
        net = model.bus.networks[k]
        assert net.lines
        assert net.totals[tr.TOTAL_COST] == pytest.approx(sum(x.cost_year for x in net.lines))
        assert net.totals[tr.TOTAL_BUSES] == sum(x.route.buses for x in net.lines)
        assert net.totals[tr.TOTAL_RIDERS] == sum(x.riders for x in net.lines)
        # each line's cost from its parts
        for x in net.lines:
            b, d = x.route.buses, model.bus.day
            parts = (x.bus_km_day * d.school_days * d.cost_per_bus_km
                     + b * d.school_days * (d.cost_per_bus_day + d.safety_staff_per_bus
                                            * d.safety_staff_day_yuan)
                     + x.riders * d.insurance_per_pupil)
            assert x.cost_year == pytest.approx(parts)
            assert max(x.ride_max_min) <= d.max_ride_min + 1e-9
    # the indicators report the network of each replicate and year
    i = INDICATOR_NAMES.index
    for r in range(result.values.shape[0]):
        for y in range(1, result.values.shape[1]):
            net = model.bus.networks[result.bus_networks[r, y]]
            assert result.values[r, y, i("bus_cost_yuan_per_year"), 2] == net.totals[tr.TOTAL_COST]
            assert result.values[r, y, i("buses_needed"), 2] == net.totals[tr.TOTAL_BUSES]
    # the ledger's government and parent shares add up to the cost
    ledger = tables.safety_ledger(model, result)
    np.testing.assert_allclose(ledger.government_yuan_per_year + ledger.parents_yuan_per_year,
                               ledger.cost_yuan_per_year, atol=1.0)


def test_cached_networks_equal_fresh_simulations(small_run):
    model, result = small_run
    again = engine.run_model(model, 0, 6)
    np.testing.assert_array_equal(again.values, result.values)
    assert again.bus_stats["networks_built"] == 0  # every network came from the cache
    assert again.bus_stats["network_hits"] == again.bus_stats["network_lookups"] > 0
    # a service with empty caches builds the same networks
    fresh = tr.BusService(model.world, model.scenario, model.bus.demand, model.W.node_catchment)
    S, *_ = engine.replicate(engine.batch_state(model, 1), 0)
    for net in model.bus.networks[:3]:
        k = fresh.network_id(S.open, S.lo, S.hi, S.receiver)  # base year: no lines
        assert not fresh.networks[k].lines
        route = net.lines[0].route
        a, b = tr.simulate_line(route, fresh.roads, fresh.day), net.lines[0]
        assert (a.ride_min, a.cost_year, a.pickup) == (b.ride_min, b.cost_year, b.pickup)


def test_released_caches_rebuild_the_same_results(small_run):
    """A sweep's worker releases the bus caches after each chunk (flat memory in long sweeps):
    the next chunk builds its networks again, with the same results."""
    model, result = small_run
    built = model.bus.stats()["networks_built"]
    model.bus.release()
    assert not model.bus.networks and not model.bus._lines
    again = engine.run_model(model, 0, 6)
    np.testing.assert_array_equal(again.values, result.values)
    assert again.bus_stats["networks_built"] > 0
    assert model.bus.stats()["networks_built"] == built + again.bus_stats["networks_built"]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(q_a=st.integers(1, 28), q_b=st.integers(1, 28), both=st.booleans(),
       dwell=st.floats(0.0, 90.0), per_pupil=st.floats(0.0, 9.0))
def test_one_bus_walk_equals_the_simpy_simulation(tmp_path_factory, q_a, q_b, both, dwell,
                                                  per_pupil):
    """A line of one bus is not simulated with simpy (nothing waits): its plain walk along the
    stops gives the simulation's numbers exactly."""
    world, day, roads = line_county(tmp_path_factory.mktemp("c"),
                                    {"seats": 56, "dwell_per_stop_s": dwell,
                                     "dwell_per_pupil_s": per_pupil})
    stops, pupils = ((A, B), (q_a, q_b)) if both else ((A,), (q_a,))
    route = tr.Route(S, stops, pupils, 1)
    legs = [roads.drive(stops[i], stops[i + 1] if i + 1 < len(stops) else S)
            for i in range(len(stops))]
    assert tr._one_bus_runs(route, legs, roads, day) == tr._bus_runs(route, legs, roads, day)


def test_bus_settings_are_validated(small_dict, write_yaml):
    from sim.core.errors import InputError
    small_dict["policies"]["bus"] = {"arrive_by": "7:50"}
    with pytest.raises(InputError, match="arrive_by"):
        sc.load(write_yaml(small_dict))
    small_dict["policies"]["bus"] = {"arrive_by": "06:00", "earliest_pickup": "06:30"}
    with pytest.raises(InputError, match="later than earliest_pickup"):
        sc.load(write_yaml(small_dict))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(q_a=st.integers(1, 120), q_b=st.integers(0, 120), seats=st.integers(10, 56))
def test_simulated_rides_never_exceed_the_planning_bound(tmp_path_factory, q_a, q_b, seats):
    world, day, roads = line_county(tmp_path_factory.mktemp("c"), {"seats": seats})
    stops, qs = ((A, B), (q_a, q_b)) if q_b else ((A,), (q_a,))
    route = tr.Route(S, stops, qs, -(-sum(qs) // seats))
    res = tr.simulate_line(route, roads, day)
    bound = max(tr.route_ride_estimate(stops, qs, S, roads, day),
                tr.afternoon_ride_estimate(stops, qs, S, roads, day))
    assert max(res.ride_max_min) * 60 <= bound + 1e-6
    assert res.riders == sum(qs)
    if route.buses == 1:
        assert max(res.ride_max_min) * 60 == pytest.approx(bound)


def test_flat_parent_fare_is_capped_at_the_cost(small_dict):
    from sim.core import dtypes as dt
    from tests.conftest import simulate
    small_dict["policies"]["bus"] = {"parent_fare_yuan_per_day": 2.0}
    model, S, H, C, _ = simulate(sc.validate(small_dict))
    n = C.n_used[0]
    bus = (C.status[:n] == dt.ENROLLED) & (C.mode[:n] == dt.BUS)
    assert bus.any()
    v = H.node[C.hh[:n][bus]]
    np.testing.assert_allclose(C.cost[:n][bus], np.minimum(2.0 * 190, S.bus_yuan[v]), rtol=1e-6)
    net = model.bus.networks[model.bus.network_id(S.open, S.lo, S.hi, S.receiver)]
    for line in net.lines:
        assert model.bus.parent_payment(line) == pytest.approx(
            min(line.riders * 2.0 * 190, line.cost_year))


def test_cache_off_simulates_again_with_the_same_result(small_run, monkeypatch):
    model, result = small_run
    monkeypatch.setenv("SCHOOLFLOW_BUS_CACHE", "off")
    svc = tr.BusService(model.world, model.scenario, model.bus.demand, model.W.node_catchment)
    S = list(engine.trace_replicate(model, 0))[-1].S  # a state after the closures
    a = svc.network_id(S.open, S.lo, S.hi, S.receiver)
    b = svc.network_id(S.open, S.lo, S.hi, S.receiver)
    assert a != b and svc.network_hits == 0 and svc.line_hits == 0
    assert svc.networks[a].lines and svc.lines_simulated == 2 * len(svc.networks[a].lines)
    np.testing.assert_array_equal(svc.networks[a].door_min, svc.networks[b].door_min)
    np.testing.assert_array_equal(svc.networks[a].totals, svc.networks[b].totals)


def test_rider_demand_counts_this_years_pupils_without_a_vehicle():
    node = np.array([0, 0, 1, 1, 1, 2])
    grade = np.array([1, 1, 4, 0, 9, 3])
    status = np.array([1, 5, 1, 0, 2, 1])  # enrolled, unplaced, enrolled, preschool, dropout
    access = np.array([False, False, False, False, False, True])
    d = tr.rider_demand(node, grade, status, access, 3)
    assert d.shape == (3, 10) and d[0, 1] == 2 and d[1, 4] == 1 and d.sum() == 3


def test_bus_lines_are_planned_each_year_for_that_years_pupils(monkeypatch):
    """The network of every year from the plan's first carries the pupils of that year (the
    demand handed to the service then), not the base year's: riders and costs change with the
    rolls, and the ledger shows each year."""
    model = build.build_model(sc.validate({**SMALL, "years": 6}))
    seen = []
    original = tr.BusService.network_id

    def spy(self, open_, lo, hi, receiver, demand=None):
        idx = original(self, open_, lo, hi, receiver, demand)
        seen.append((demand.copy(), idx))
        return idx
    monkeypatch.setattr(tr.BusService, "network_id", spy)
    states = list(engine.trace_replicate(model, 0))
    assert len(seen) == 6  # every year from year 1 (the plan's first), not only rule years
    riders = []
    for demand, idx in seen:
        net = model.bus.networks[idx]
        planned = sum(int(demand[v, (int(net.grades[v]) >> np.arange(10)) & 1 == 1].sum())
                      for line in net.lines for v in line.route.stops)
        assert net.totals[tr.TOTAL_RIDERS] == planned
        riders.append(planned)
    assert len(set(riders)) > 1, riders  # not frozen at year 1
    assert states[-1].bus_network == seen[-1][1]
    result = engine.run_model(model, 0, 1)
    ledger = tables.safety_ledger(model, result)
    by_year = ledger.groupby("year").pupils_carried.sum()
    assert by_year.to_dict() == {y: r for y, r in enumerate(riders, start=1) if r}


def test_villages_losing_their_school_without_a_line_are_counted(small_dict):
    """With no bus lines in the plan, every village that lost its school and has pupils
    without a vehicle is counted in `villages_without_bus` and listed with why."""
    from sim.core.indicators import INDICATOR_NAMES
    small_dict["policies"]["bus"] = {"serve_closed_villages": False}
    model = build.build_model(sc.validate(small_dict))
    result = engine.run_model(model, 0, 1)
    net = model.bus.networks[result.bus_networks[0, 1]]
    assert not net.lines and net.unserved
    assert {why for why, _ in net.unserved.values()} == {tr.NOT_SERVED_NO_BUS}
    assert all(pupils > 0 for _, pupils in net.unserved.values())
    i = INDICATOR_NAMES.index("villages_without_bus")
    assert result.values[0, 1, i, 2] == len(net.unserved)
    stops = tables.bus_stops(model, result)
    first = stops[stops.year == 1]
    assert (first.pickup == f"not served: {tr.NOT_SERVED_NO_BUS}").sum() == len(net.unserved)
