"""Student bus service as a simulated school day (simpy): lines, ride times, fleet and cost.

When closures leave a village without its school, a dedicated student bus line takes its pupils
to the node of the receiving school (the township centre, usually). For one year's network this
module

1. finds the served villages and their destinations (`served_villages`), and the pupils the
   service is planned for (the Xunwu plan: lines for pupils moved to the receiving school):
   this year's pupils of the village (`rider_demand`: in school or waiting for a place, after
   the year's ageing and moves), of families without a motorbike or car, in the grades its
   school taught and no longer does, except pupils of boarding age where the trip (road
   estimate) is beyond the boarding threshold; only those grades ride. Lines are planned
   again every year from the plan's first year, so vehicles, cost and the ledger follow the
   pupils;
2. builds bus lines per destination (`plan_routes`): stops ordered along the shortest road path
   towards the school, farthest first; a line takes at most one bus of pupils, and stops are
   added only while the first pupil's ride stays within the maximum ride time and the first
   pick-up is no earlier than allowed; lines are merged while they fit; a single stop with more
   pupils than seats gets several buses;
3. simulates each line's morning and afternoon runs with simpy (`simulate_line`): buses with
   seats, one loading bay per stop (a bus waits while another loads), dwell time per stop and
   per boarding or alighting pupil, driving times from road lengths and speeds by road class;
   the schedule is set so the last bus arrives by the scenario's arrival time;
4. prices each line (per bus-km, per bus-day, insurance per pupil, safety staff per bus) and
   splits the cost between government and parents.

Results are cached: a network (which villages are served, where their line goes, which grades
ride, how many pupils each served village has) is simulated once per process and scenario
context, and a line once for its stops and pupils (`BusService`). The simulation has no
randomness, so a cached and a fresh result are equal.

Units: simulation clock in seconds; reported times in minutes (durations) or minutes after
midnight (times of day); distances in km; money in yuan per year.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
import simpy
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from sim.core import dtypes as dt
from sim.core.kernels.state import (  # network totals handed to the kernels: buses, bus-km
    N_TOTALS,  # per day, cost per year, planned riders, villages left
    TOTAL_BUS_KM,  # without a line (beyond the ride limits)
    TOTAL_BUSES,
    TOTAL_COST,
    TOTAL_RIDERS,
    TOTAL_UNSERVED,
)
from sim.model.scenario import clock_minutes as clock
from sim.model.world import World


def hhmm(minutes: float) -> str:
    """Minutes after midnight -> 'HH:MM:SS'."""
    s = int(round(minutes * 60.0))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class BusDay:
    """Parameters of the simulated school day and its costs (from `policies.bus`)."""

    seats: int                        #: seats per bus (pupils; one seat per pupil)
    cruise_kmh: float                 #: driving speed on county roads (km/h)
    road_speed_factor: tuple[float, float, float]  #: county / township / village road, x cruise
    dwell_stop_s: float               #: seconds per stop (doors, safety check)
    dwell_pupil_s: float              #: seconds per pupil boarding or alighting
    stop_margin_min: float            #: pupils are at the stop this long before the first bus
    max_ride_min: float               #: longest allowed ride, either run (minutes)
    earliest_pickup_min: float        #: first pick-up no earlier (minutes after midnight)
    arrive_by_min: float              #: last morning bus at school by (minutes after midnight)
    school_end_min: float             #: afternoon buses leave school (minutes after midnight)
    cost_per_bus_km: float            #: yuan per bus-km
    cost_per_bus_day: float           #: yuan per bus and school day (driver, depreciation)
    insurance_per_pupil: float        #: yuan per pupil carried and year
    safety_staff_per_bus: float       #: escorts per bus
    safety_staff_day_yuan: float      #: yuan per escort and school day
    school_days: int                  #: school days a year
    parent_fare_share: float          #: share of the cost paid by parents
    parent_fare_day: float | None     #: flat parent fare per pupil and school day (yuan), if set

    @classmethod
    def from_scenario(cls, scenario) -> BusDay:
        b = scenario.policies.bus
        return cls(
            seats=b.seats, cruise_kmh=b.cruise_kmh, road_speed_factor=tuple(b.road_speed_factor),
            dwell_stop_s=b.dwell_per_stop_s, dwell_pupil_s=b.dwell_per_pupil_s,
            stop_margin_min=b.stop_margin_min, max_ride_min=b.max_ride_min,
            earliest_pickup_min=clock(b.earliest_pickup), arrive_by_min=clock(b.arrive_by),
            school_end_min=clock(b.school_end), cost_per_bus_km=b.cost_per_bus_km_yuan,
            cost_per_bus_day=b.cost_per_bus_day_yuan, insurance_per_pupil=b.insurance_per_pupil_yuan,
            safety_staff_per_bus=b.safety_staff_per_bus,
            safety_staff_day_yuan=b.safety_staff_day_yuan,
            school_days=scenario.behaviour.costs.school_days,
            parent_fare_share=b.parent_fare_share, parent_fare_day=b.parent_fare_yuan_per_day)

    @property
    def ride_limit_s(self) -> float:
        """Longest allowed ride, either run (seconds)."""
        return 60.0 * self.max_ride_min

    @property
    def morning_limit_s(self) -> float:
        """Longest allowed morning run from the first pick-up to the last arrival (seconds): the
        maximum ride, and no pick-up before the earliest pick-up time."""
        return 60.0 * min(self.max_ride_min, self.arrive_by_min - self.earliest_pickup_min)


# --- the road graph as a bus sees it -----------------------------------------------------------
class BusRoads:
    """Shortest bus paths over the county's roads: driving seconds and km, one source at a time
    (cached), so a county of any size needs no all-pairs table."""

    def __init__(self, world: World, day: BusDay):
        n = world.n_nodes
        kmh = day.cruise_kmh * np.asarray(day.road_speed_factor)[world.road_class.astype(np.int64)]
        seconds = 3600.0 * world.road_km / kmh
        a, b = world.road_from, world.road_to
        self._time = coo_matrix((np.maximum(seconds, 1e-6), (a, b)), shape=(n, n)).tocsr()
        self._km = coo_matrix((world.road_km, (a, b)), shape=(n, n)).tocsr()
        self._edge_km = {}
        for u, v, k in zip(a.tolist(), b.tolist(), world.road_km.tolist(), strict=True):
            key = (min(u, v), max(u, v))
            self._edge_km[key] = min(k, self._edge_km.get(key, math.inf))
        self.paths = lru_cache(maxsize=4096)(self._paths)

    def _paths(self, source: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(seconds, km, predecessor) of the fastest bus path from `source` to every node."""
        sec, pred = dijkstra(self._time, directed=False, indices=source, return_predecessors=True)
        km = np.zeros_like(sec)
        order = np.argsort(sec)
        for v in order:  # km along the same (fastest) tree
            p = pred[v]
            if p >= 0:
                km[v] = km[p] + self._edge_km[(min(p, v), max(p, v))]
        return sec, km, pred

    def drive(self, u: int, v: int) -> tuple[float, float]:
        """(seconds, km) of the fastest path from node u to node v."""
        sec, km, _ = self.paths(u)
        return float(sec[v]), float(km[v])


# --- lines ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One line: its stops in pick-up order (farthest first), pupils planned at each stop, the
    destination node and the buses that run it."""

    dest: int
    stops: tuple[int, ...]
    pupils: tuple[int, ...]
    buses: int


def _stop_dwell(q: int, buses: int, day: BusDay) -> float:
    """Upper bound on the seconds a stop's loading bay is busy with `q` pupils on a line of
    `buses` buses: one stop time per bus that may load there, plus per-pupil time."""
    loading = min(buses, math.ceil(q / day.seats) + 1)
    return loading * day.dwell_stop_s + day.dwell_pupil_s * q


def route_ride_estimate(stops, pupils, dest, roads: BusRoads, day: BusDay) -> float:
    """Planning bound on the morning run (seconds from the first bus reaching the first stop to
    the last bus reaching the school): driving plus each stop's busy bay (buses share one bay,
    so a stop's dwell times add up). No simulated ride is longer; exact for a one-bus line."""
    buses = math.ceil(sum(pupils) / day.seats)
    t = 0.0
    for i, (s, q) in enumerate(zip(stops, pupils, strict=True)):
        t += _stop_dwell(q, buses, day)
        nxt = stops[i + 1] if i + 1 < len(stops) else dest
        t += roads.drive(s, nxt)[0]
    return t


def afternoon_ride_estimate(stops, pupils, dest, roads: BusRoads, day: BusDay) -> float:
    """Planning bound on the afternoon run (seconds from the end of school to the last drop-off),
    built as `route_ride_estimate`; exact for a one-bus line."""
    total = sum(pupils)
    buses = math.ceil(total / day.seats)
    t = buses * day.dwell_stop_s + day.dwell_pupil_s * total
    prev = dest
    for i in reversed(range(len(stops))):
        t += roads.drive(prev, stops[i])[0]
        if i > 0:
            t += _stop_dwell(pupils[i], buses, day)
        prev = stops[i]
    return t


def plan_routes(dest: int, villages: list[int], pupils: list[int], roads: BusRoads,
                day: BusDay) -> tuple[list[Route], list[int]]:
    """Bus lines from `villages` (with `pupils` planned riders each) to node `dest`.

    Farthest village first, a line follows the fastest road path towards `dest` and takes each
    served village on the way while the planned longest rides (`route_ride_estimate`,
    `afternoon_ride_estimate`) stay within the morning and ride limits; a line runs as many
    buses as its pupils need seats. Lines are then merged, farthest first, where the merged
    line keeps within the limits and needs fewer buses than the two apart. Returns (routes,
    villages that cannot be served within the limits even by a line of their own)."""
    sec, _, pred = roads.paths(dest)
    need = {v: q for v, q in zip(villages, pupils, strict=True) if q > 0 and v != dest}
    order = sorted(need, key=lambda v: (-sec[v], v))

    def fits(stops, qs):
        return (route_ride_estimate(stops, qs, dest, roads, day) <= day.morning_limit_s
                and afternoon_ride_estimate(stops, qs, dest, roads, day) <= day.ride_limit_s)

    def buses(qs) -> int:
        return math.ceil(sum(qs) / day.seats)

    lines: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    unserved: list[int] = []
    done: set[int] = set()
    for u in order:
        if u in done:
            continue
        done.add(u)
        if not fits((u,), (need[u],)):
            unserved.append(u)
            continue
        stops, qs = (u,), (need[u],)
        w = pred[u]
        while w >= 0 and w != dest:
            if w in need and w not in done and fits((*stops, w), (*qs, need[w])):
                stops, qs = (*stops, w), (*qs, need[w])
                done.add(w)
            w = pred[w]
        lines.append((stops, qs))
    # merge lines: the far line's stops, then the near line's
    merged = True
    while merged:
        merged = False
        for a in lines:
            for b in lines:
                if a is b or sec[a[0][0]] < sec[b[0][0]]:
                    continue
                stops, qs = a[0] + b[0], a[1] + b[1]
                if buses(qs) <= buses(a[1]) + buses(b[1]) - 1 and fits(stops, qs):
                    lines = [x for x in lines if x is not a and x is not b] + [(stops, qs)]
                    merged = True
                    break
            if merged:
                break
    routes = [Route(dest, stops, qs, buses(qs)) for stops, qs in lines]
    routes.sort(key=lambda r: (-sec[r.stops[0]], r.stops))
    return routes, sorted(unserved)


@dataclass
class LineResult:
    """A simulated line. Times of day in minutes after midnight, durations in minutes."""

    route: Route
    pickup: list[float]       #: per stop: the first bus's arrival (time of day)
    wait_min: list[float]     #: per stop: mean wait at the stop, margin included
    ride_min: list[float]     #: per stop: mean morning ride
    ride_max_min: list[float]  #: per stop: longest ride, morning or afternoon
    arrival: float            #: last morning bus at school (time of day)
    last_dropoff: float       #: last afternoon drop-off (time of day)
    bus_km_day: float         #: bus-km per school day, empty runs included
    cost_year: float          #: yuan per year
    peak_load: int = 0        #: most pupils on one bus (pupils)

    @property
    def riders(self) -> int:
        return int(sum(self.route.pupils))


def _bus_runs(route: Route, legs: list, roads: BusRoads, day: BusDay):
    """A line's morning and afternoon runs with simpy: (per bus and stop: time it reached the
    stop, pupils it took there; per bus: arrival at school; per bus and stop: time it set
    them down in the afternoon), clock in seconds from the first bus's start."""
    stops, dest, seats = route.stops, route.dest, day.seats
    # morning: buses start together at the first stop; each stop has one loading bay
    env = simpy.Environment()
    bays = [simpy.Resource(env, capacity=1) for _ in stops]
    waiting = list(route.pupils)
    carried: list[list[int]] = [[0] * len(stops) for _ in range(route.buses)]
    reached: list[list[float]] = [[0.0] * len(stops) for _ in range(route.buses)]
    arrive = [0.0] * route.buses

    def morning(j: int):
        load = 0
        for i in range(len(stops)):
            if waiting[i] > 0 and load < seats:  # a full bus, or an empty stop, is passed
                with bays[i].request() as req:
                    yield req
                    n = min(waiting[i], seats - load)  # others may have taken them meanwhile
                    if n > 0:
                        reached[j][i] = env.now
                        waiting[i] -= n
                        load += n
                        carried[j][i] = n
                        yield env.timeout(day.dwell_stop_s + day.dwell_pupil_s * n)
            yield env.timeout(legs[i][0])
        arrive[j] = env.now

    for j in range(route.buses):
        env.process(morning(j))
    env.run()

    # afternoon: the same buses take the same pupils home, nearest stop first
    env = simpy.Environment()
    school_bay = simpy.Resource(env, capacity=1)
    bays = [simpy.Resource(env, capacity=1) for _ in stops]
    home: list[list[float]] = [[0.0] * len(stops) for _ in range(route.buses)]

    def afternoon(j: int):
        with school_bay.request() as req:
            yield req
            yield env.timeout(day.dwell_stop_s + day.dwell_pupil_s * sum(carried[j]))
        prev = dest
        last = min(i for i in range(len(stops)) if carried[j][i] > 0)
        for i in reversed(range(last, len(stops))):
            yield env.timeout(roads.drive(prev, stops[i])[0])
            prev = stops[i]
            home[j][i] = env.now
            if i == last or carried[j][i] == 0:
                continue
            with bays[i].request() as req:
                yield req
                yield env.timeout(day.dwell_stop_s + day.dwell_pupil_s * carried[j][i])

    for j in range(route.buses):
        env.process(afternoon(j))
    env.run()

    return reached, carried, arrive, home


def _one_bus_runs(route: Route, legs: list, roads: BusRoads, day: BusDay):
    """`_bus_runs` for a line of one bus: it takes every stop's pupils (they fit its seats)
    and never waits for a loading bay, so its clock is the sum of its dwell and driving times,
    added in the order the simulation adds them."""
    stops, dest = route.stops, route.dest
    n = len(stops)
    reached, carried = [[0.0] * n], [[0] * n]
    now = 0.0
    for i in range(n):
        q = route.pupils[i]
        if q > 0:
            reached[0][i] = now
            carried[0][i] = q
            now = now + (day.dwell_stop_s + day.dwell_pupil_s * q)
        now = now + legs[i][0]
    arrive = [now]
    home = [[0.0] * n]
    now = 0.0 + (day.dwell_stop_s + day.dwell_pupil_s * sum(carried[0]))
    prev = dest
    last = min(i for i in range(n) if carried[0][i] > 0)
    for i in reversed(range(last, n)):
        now = now + roads.drive(prev, stops[i])[0]
        prev = stops[i]
        home[0][i] = now
        if i == last or carried[0][i] == 0:
            continue
        now = now + (day.dwell_stop_s + day.dwell_pupil_s * carried[0][i])
    return reached, carried, arrive, home


def simulate_line(route: Route, roads: BusRoads, day: BusDay) -> LineResult:
    """Simulate one line's morning and afternoon runs (clock in seconds): with simpy where
    several buses share the stops' loading bays (`_bus_runs`), as a plain walk along the stops
    for a line of one bus, where nothing waits for anything (`_one_bus_runs`: the same
    additions in the same order, so the same numbers; tests/test_transport.py compares them)."""
    stops, dest = route.stops, route.dest
    legs = [roads.drive(stops[i], stops[i + 1] if i + 1 < len(stops) else dest)
            for i in range(len(stops))]
    runs = _one_bus_runs if route.buses == 1 else _bus_runs
    reached, carried, arrive, home = runs(route, legs, roads, day)
    shift = 60.0 * day.arrive_by_min - max(arrive)  # clock -> seconds after midnight

    pickup, wait, ride, ride_max = [], [], [], []
    for i in range(len(stops)):
        first = min(reached[j][i] for j in range(route.buses) if carried[j][i] > 0)
        pickup.append((shift + first) / 60.0)
        n_tot = sum(carried[j][i] for j in range(route.buses)) or 1
        w = r = 0.0
        longest = 0.0
        for j in range(route.buses):
            n = carried[j][i]
            if n == 0:
                continue
            w += n * (reached[j][i] - first)
            r += n * (arrive[j] - reached[j][i])
            longest = max(longest, arrive[j] - reached[j][i], home[j][i])
        wait.append(day.stop_margin_min + w / n_tot / 60.0)
        ride.append(r / n_tot / 60.0)
        ride_max.append(longest / 60.0)
    route_km = sum(km for _, km in legs)
    deadhead_km = roads.drive(dest, stops[0])[1]
    bus_km_day = route.buses * 2.0 * (route_km + deadhead_km)
    staff = route.buses * day.safety_staff_per_bus
    cost = (bus_km_day * day.school_days * day.cost_per_bus_km
            + route.buses * day.school_days * day.cost_per_bus_day
            + sum(route.pupils) * day.insurance_per_pupil
            + staff * day.school_days * day.safety_staff_day_yuan)
    return LineResult(route, pickup, wait, ride, ride_max, arrival=day.arrive_by_min,
                      last_dropoff=day.school_end_min + max(max(h) for h in home) / 60.0,
                      bus_km_day=bus_km_day, cost_year=cost,
                      peak_load=max(sum(c) for c in carried))


#: entries the line and route-plan caches keep before they start again (bounds the memory of a
#: long run)
MAX_CACHED_ENTRIES = 50_000


# --- a year's network ----------------------------------------------------------------------------
@dataclass
class Network:
    """The bus service of one network state. Per node arrays (nodes,): destination node (-1: no
    line), grades that ride (bit mask), door-to-school minutes (walk to the stop, wait, ride),
    ride minutes, full yearly cost per planned rider (yuan); `totals` (N_TOTALS,) and the lines."""

    dest: np.ndarray
    grades: np.ndarray
    door_min: np.ndarray
    ride_min: np.ndarray
    yuan_per_rider: np.ndarray
    totals: np.ndarray
    lines: list[LineResult] = field(default_factory=list)
    #: villages that lost their school's grades and have pupils for a line but no line:
    #: node -> (why, NOT_SERVED_*; pupils planned for); their count is the indicator
    #: `villages_without_bus`
    unserved: dict[int, tuple[str, int]] = field(default_factory=dict)


def grade_mask(lo: int, hi: int) -> int:
    """Bit g set for each grade g in lo..hi."""
    return sum(1 << g for g in range(lo, hi + 1))


def served_villages(open_, lo, hi, receiver, lo0, hi0, catchment, school_node, n_nodes,
                    boarding_grades: int = 0, board_far=None):
    """(dest node per node or -1, riding grades per node as a bit mask, lost grades per node as
    a bit mask) of one replicate's network.

    A village is served when its base-year catchment school is closed or no longer teaches all
    its base-year grades: a dedicated line takes the pupils it lost to the node of the school
    that received them (followed on if that school closed in turn). The grades that ride are the
    catchment school's base-year grades that no open school at the village teaches and one at
    the destination does; where `board_far[v, r]` says the trip to receiving school r is beyond
    the boarding threshold, the `boarding_grades` (bit mask) board instead. The lost grades are
    those the village's pupils would need a line for (boarding grades excepted where they
    board), whether or not a receiving school was found."""
    dest = np.full(n_nodes, -1, np.int32)
    mask = np.zeros(n_nodes, np.int32)
    lost = np.zeros(n_nodes, np.int32)
    taught = np.zeros(n_nodes, np.int32)
    for s in np.flatnonzero(open_):
        taught[school_node[s]] |= grade_mask(int(lo[s]), int(hi[s]))
    for v in np.flatnonzero(catchment >= 0):
        c = catchment[v]
        if open_[c] and hi[c] >= hi0[c]:
            continue
        r = receiver[c]
        seen = 0
        while r >= 0 and not open_[r] and seen < len(receiver):
            r = receiver[r]
            seen += 1
        gone = grade_mask(int(lo0[c]), int(hi0[c])) & ~taught[v]
        if r >= 0 and open_[r] and board_far is not None and board_far[v, r]:
            gone &= ~boarding_grades
        lost[v] = gone
        if r < 0 or not open_[r] or school_node[r] == v:
            continue
        m = gone & taught[school_node[r]]
        if m:
            dest[v] = school_node[r]
            mask[v] = m
    return dest, mask, lost


#: why a village that lost its school's grades has no bus line (`Network.unserved`)
NOT_SERVED_LIMITS = "beyond the ride limits"
NOT_SERVED_NO_BUS = "the plan runs no student bus lines"
NOT_SERVED_NO_RECEIVER = "no receiving school teaches its grades"


def rider_demand(node: np.ndarray, grade: np.ndarray, status: np.ndarray,
                 access: np.ndarray, n_nodes: int) -> np.ndarray:
    """(n_nodes, 10) pupils a bus line is planned for, by node and grade: children of grades
    1-9 in school or waiting for a place (ENROLLED or UNPLACED) whose family has no motorbike
    or car. Arguments are per child: home node, grade, status, family's vehicle access."""
    pick = ((grade >= 1) & (grade <= dt.N_GRADES) & ~access.astype(bool)
            & ((status == dt.ENROLLED) | (status == dt.UNPLACED)))
    flat = node[pick].astype(np.int64) * (dt.N_GRADES + 1) + grade[pick].astype(np.int64)
    return np.bincount(flat, minlength=n_nodes * (dt.N_GRADES + 1)).reshape(
        n_nodes, dt.N_GRADES + 1)


class BusService:
    """Builds, simulates and caches a scenario's bus networks. `demand[v, g]`: base-year pupils
    of grade g at node v whose family has no motorbike or car (`rider_demand`; a year's own
    demand is passed to `network_id`)."""

    def __init__(self, world: World, scenario, demand: np.ndarray, catchment: np.ndarray):
        self.world = world
        self.day = BusDay.from_scenario(scenario)
        self.on = scenario.policies.bus.serve_closed_villages
        self.demand = demand.astype(np.int64)
        travel = scenario.behaviour.travel
        self.walk_to_stop = (world.local_km() * world.node_terrain * 60.0
                             / travel.walk_kmh).astype(np.float64)
        self.catchment = catchment  # base-year catchment school per node
        self.lo0, self.hi0 = world_grades(world)
        # pupils of boarding age board rather than ride where the planned trip is that long
        board = scenario.policies.boarding.min_grade
        self.boarding_grades = grade_mask(board, dt.N_GRADES)
        self.board_far = world.t_bus > scenario.behaviour.choice.board_if_day_travel_over_min
        self.networks: list[Network] = []
        self._index: dict[bytes, int] = {}
        self._lines: dict[Route, LineResult] = {}
        self._plans: dict[tuple, tuple[list[Route], list[int]]] = {}
        self.lookups = self.network_hits = self.lines_simulated = self.line_hits = 0
        self.built = 0  #: networks built since the service was made (release() keeps counting)
        #: SCHOOLFLOW_BUS_CACHE=off simulates every network and line afresh (for benchmarks)
        self.cache = os.environ.get("SCHOOLFLOW_BUS_CACHE", "on") != "off"
        self.seconds = 0.0
        self.context = context_key(repr((self.day, self.on, self.boarding_grades)), world.road_from,
                                   world.road_to, world.road_km, world.road_class,
                                   world.school_node, world.school_level, self.demand,
                                   self.walk_to_stop, self.catchment, self.board_far)

    @cached_property
    def roads(self) -> BusRoads:
        return BusRoads(self.world, self.day)

    def empty(self) -> Network:
        n = self.world.n_nodes
        return Network(np.full(n, -1, np.int32), np.zeros(n, np.int32), np.zeros(n), np.zeros(n),
                       np.zeros(n), np.zeros(N_TOTALS))

    def network_id(self, open_, lo, hi, receiver, demand: np.ndarray | None = None) -> int:
        """Index in `self.networks` of the network for this school state and this year's
        `demand` (`rider_demand`; default: the base year's), built if new."""
        t0 = time.perf_counter()
        self.lookups += 1
        dest, mask, lost = served_villages(open_, lo, hi, receiver, self.lo0, self.hi0,
                                           self.catchment, self.world.school_node,
                                           self.world.n_nodes, self.boarding_grades,
                                           self.board_far)
        demand = self.demand if demand is None else demand
        need = self.riders(demand, lost)
        if not self.on:
            dest[:] = -1
            mask[:] = 0
        riders = self.riders(demand, mask)
        why = np.zeros(len(dest), np.int8)  # 1: no receiving school, 2: no bus lines planned
        why[(need > 0) & (dest < 0)] = 1 if self.on else 2
        key = dest.tobytes() + mask.tobytes() + riders.tobytes() + why.tobytes()
        idx = self._index.get(key) if self.cache else None
        if idx is None:
            idx = len(self.networks)
            self.networks.append(self._build(dest, mask, riders, why, need))
            self._index[key] = idx
            self.built += 1
        else:
            self.network_hits += 1
        self.seconds += time.perf_counter() - t0
        return idx

    def plan(self, dest: int, villages: list[int], pupils: list[int]):
        """`plan_routes` for one destination, from the cache when the same villages with the
        same riders were planned before (in another replicate or year)."""
        key = (dest, tuple(villages), tuple(pupils))
        hit = self._plans.get(key) if self.cache else None
        if hit is None:
            hit = plan_routes(dest, villages, pupils, self.roads, self.day)
            if len(self._plans) >= MAX_CACHED_ENTRIES:
                self._plans.clear()
            self._plans[key] = hit
        return hit

    def release(self) -> None:
        """Forget the networks and lines simulated so far: a process that runs one chunk of
        replicates after another (a sweep's worker) keeps its memory flat. Network indices of
        earlier runs (`RunResult.bus_networks`) no longer apply."""
        self.networks.clear()
        self._index.clear()
        self._lines.clear()
        self._plans.clear()

    def line(self, route: Route) -> LineResult:
        res = self._lines.get(route) if self.cache else None
        if res is None:
            res = simulate_line(route, self.roads, self.day)
            if len(self._lines) >= MAX_CACHED_ENTRIES:  # a long run: start the cache again
                self._lines.clear()
            self._lines[route] = res
            self.lines_simulated += 1
        else:
            self.line_hits += 1
        return res

    @staticmethod
    def riders(demand: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Planned riders per node: its demand in the grades that ride (bit mask per node)."""
        grades = np.arange(demand.shape[1])
        rides = (mask[:, None] >> grades[None, :]) & 1 == 1
        return (demand * rides).sum(axis=1).astype(np.int64)

    def _build(self, dest: np.ndarray, mask: np.ndarray, riders: np.ndarray,
               why: np.ndarray, need: np.ndarray) -> Network:
        """The network of these destinations, riding grades and riders per node; `why` and
        `need`: per node, why a village that lost grades has no line (1: no receiving school,
        2: no bus lines) and its pupils planned for."""
        net = self.empty()
        for v in np.flatnonzero(why):
            net.unserved[int(v)] = (NOT_SERVED_NO_RECEIVER if why[v] == 1 else NOT_SERVED_NO_BUS,
                                    int(need[v]))
        for d in sorted(set(dest[dest >= 0].tolist())):
            vs = np.flatnonzero(dest == d).tolist()
            routes, unserved = self.plan(d, vs, riders[vs].tolist())
            net.unserved.update({v: (NOT_SERVED_LIMITS, int(riders[v])) for v in unserved})
            for route in routes:
                res = self.line(route)
                net.lines.append(res)
                per_rider = res.cost_year / max(res.riders, 1)
                for i, v in enumerate(route.stops):
                    net.dest[v] = d
                    net.grades[v] = mask[v]
                    net.ride_min[v] = res.ride_min[i]
                    net.door_min[v] = self.walk_to_stop[v] + res.wait_min[i] + res.ride_min[i]
                    net.yuan_per_rider[v] = per_rider
                net.totals[TOTAL_BUSES] += route.buses
                net.totals[TOTAL_BUS_KM] += res.bus_km_day
                net.totals[TOTAL_COST] += res.cost_year
                net.totals[TOTAL_RIDERS] += res.riders
        net.totals[TOTAL_UNSERVED] = len(net.unserved)
        return net

    def stats(self) -> dict:
        return {"network_lookups": self.lookups, "network_hits": self.network_hits,
                "networks_built": self.built, "lines_simulated": self.lines_simulated,
                "line_hits": self.line_hits, "seconds": round(self.seconds, 3)}

    def ledger(self, ids_by_year: dict[int, int]) -> pd.DataFrame:
        """The safety ledger: one row per line and year (the years given), as the plans ask the
        bureau to keep (vehicles, drivers, pupils carried, first pick-up, longest ride)."""
        rows = []
        names = self.world.node_name
        for year, idx in sorted(ids_by_year.items()):
            for k, res in enumerate(self.networks[idx].lines):
                r = res.route
                parents = self.parent_payment(res)
                rows.append({
                    "year": year, "line": f"L{k + 1:03d}", "destination": names[r.dest],
                    "stops": " > ".join(names[v] for v in r.stops),
                    "vehicles": r.buses, "drivers": r.buses,
                    "safety_staff": r.buses * self.day.safety_staff_per_bus,
                    "seats": r.buses * self.day.seats, "pupils_carried": res.riders,
                    "peak_load": res.peak_load,
                    "first_pickup": hhmm(min(res.pickup)), "arrival_at_school": hhmm(res.arrival),
                    "last_dropoff": hhmm(res.last_dropoff),
                    "longest_ride_min": round(max(res.ride_max_min), 1),
                    "bus_km_per_day": round(res.bus_km_day, 2),
                    "cost_yuan_per_year": round(res.cost_year, 0),
                    "government_yuan_per_year": round(res.cost_year - parents, 0),
                    "parents_yuan_per_year": round(parents, 0),
                })
        return pd.DataFrame(rows, columns=LEDGER_COLUMNS)

    def stops_table(self, ids_by_year: dict[int, int]) -> pd.DataFrame:
        """Per year, line and stop (village): pupils planned, pick-up time, mean wait and ride,
        longest ride, walk to the stop and door-to-school minutes, and the school's arrival."""
        rows = []
        names = self.world.node_name
        for year, idx in sorted(ids_by_year.items()):
            for k, res in enumerate(self.networks[idx].lines):
                r = res.route
                for i, v in enumerate(r.stops):
                    rows.append({
                        "year": year, "line": f"L{k + 1:03d}", "village": names[v],
                        "destination": names[r.dest], "pupils": r.pupils[i],
                        "pickup": hhmm(res.pickup[i]), "arrival_at_school": hhmm(res.arrival),
                        "walk_to_stop_min": round(self.walk_to_stop[v], 2),
                        "wait_min": round(res.wait_min[i], 2), "ride_min": round(res.ride_min[i], 2),
                        "longest_ride_min": round(res.ride_max_min[i], 2),
                        "door_to_school_min": round(self.walk_to_stop[v] + res.wait_min[i]
                                                    + res.ride_min[i], 2),
                    })
            for v, (why, pupils) in sorted(self.networks[idx].unserved.items()):
                rows.append({"year": year, "line": "", "village": names[v], "destination": "",
                             "pupils": pupils, "pickup": f"not served: {why}"})
        return pd.DataFrame(rows)

    def parent_payment(self, res: LineResult) -> float:
        """Yuan a year the line's planned riders' parents pay."""
        if self.day.parent_fare_day is not None:
            return min(res.riders * self.day.parent_fare_day * self.day.school_days, res.cost_year)
        return self.day.parent_fare_share * res.cost_year


LEDGER_COLUMNS = ["year", "line", "destination", "stops", "vehicles", "drivers", "safety_staff",
                  "seats", "pupils_carried", "peak_load", "first_pickup", "arrival_at_school", "last_dropoff",
                  "longest_ride_min", "bus_km_per_day", "cost_yuan_per_year",
                  "government_yuan_per_year", "parents_yuan_per_year"]


def world_grades(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest grade each school teaches in the base year."""
    lo = np.array([dt.LEVEL_GRADES[int(x)][0] for x in world.school_level], np.int8)
    hi = np.array([dt.LEVEL_GRADES[int(x)][1] for x in world.school_level], np.int8)
    return lo, hi


def context_key(params: str, *arrays: np.ndarray) -> str:
    """Fingerprint of everything besides the network state that a bus network depends on: the
    bus-day parameters and the arrays the service reads."""
    h = hashlib.sha256(params.encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


_SERVICES: dict[str, BusService] = {}


def bus_service(world: World, scenario, demand: np.ndarray, catchment: np.ndarray) -> BusService:
    """The process-wide bus service for this context: scenarios (and sweep points) that share
    county, demand and every bus-day input share its cache of simulated networks and lines."""
    svc = BusService(world, scenario, demand, catchment)
    if svc.context not in _SERVICES:
        if len(_SERVICES) > 32:
            _SERVICES.clear()
        _SERVICES[svc.context] = svc
    return _SERVICES[svc.context]
