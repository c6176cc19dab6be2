"""The county: villages (population nodes), schools, roads and travel times.

Two ways to get one: `synthetic_county` (seeded generator) and
`sim.model.county_files.load_county` (a user's own villages, schools and roads, with optional
rolls and births; columns documented in README.md). Travel times are one-way
minutes from every village to every school by mode, from shortest paths over the road graph
(`scipy.sparse.csgraph.dijkstra`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial.distance import cdist

from sim.core import dtypes as dt
from sim.model.scenario import SyntheticCounty, Travel

VILLAGE, TOWN, COUNTY_SEAT = 0, 1, 2
NODE_KIND_NAMES = {"village": VILLAGE, "town": TOWN, "county_seat": COUNTY_SEAT}
LOCAL_KM = 0.4  #: default distance (km) from a home to the school or road inside one village
#: mean distance (km) from a home to its village's centre, by terrain: villages are spread over
#: hamlets (assumption, see docs/parameters.md; a county's villages.csv gives `local_km`)
HAMLET_KM = {"flat": 0.4, "hilly": 0.7, "mountainous": 1.0}
#: side of a synthetic county (km) = this x sqrt(townships): 15 townships give 48 km, 2,307 km2,
#: the size of a mountainous county such as Xunwu (2,311 km2, 15 townships)
KM_PER_SQRT_TOWNSHIP = 12.4
SEAT_SCHOOL_PUPILS = 1800  #: county-seat schools are planned at most this large (pupils)
SEAT_MARGIN = 1.3  #: county-seat seats per pupil living there (pupils come from villages too)
TOWN_LOCAL_KM = 0.8  #: within a township centre (km)
SEAT_LOCAL_KM = 1.2  #: within the county seat (km)
TERRAIN_RANGE = {"flat": (1.0, 1.1), "hilly": (1.1, 1.45), "mountainous": (1.3, 2.0)}


@dataclass
class World:
    """A county. Node = village, township centre or county seat. Times in minutes, lengths in km."""

    node_name: list[str]
    node_kind: np.ndarray  # int8, VILLAGE / TOWN / COUNTY_SEAT
    node_township: np.ndarray  # int32
    node_x_km: np.ndarray
    node_y_km: np.ndarray
    node_population: np.ndarray  # persons
    node_terrain: np.ndarray  # >= 1; slows walking, lengthens roads
    township_names: list[str]
    road_from: np.ndarray
    road_to: np.ndarray
    road_km: np.ndarray
    road_class: np.ndarray  # dt.COUNTY_ROAD / TOWNSHIP_ROAD / VILLAGE_ROAD
    school_name: list[str]
    school_node: np.ndarray  # int32
    school_level: np.ndarray  # int8, dt level codes
    school_classes_per_grade: np.ndarray  # int32, classes each grade may hold
    school_beds: np.ndarray  # int32, boarding beds
    school_canteen: np.ndarray  # int32, canteen places
    school_quality: np.ndarray  # float64, 0-1
    #: optional data of a county's own files (None / -1 / NaN where not given)
    node_local_km: np.ndarray | None = None  # km from a home to the node's centre (hamlets)
    school_planned: np.ndarray | None = None  # bool: opens later by a plan action (not open in year 0)
    school_roll: np.ndarray | None = None  # int64 (schools, 10): base-year pupils by grade
    school_boarders: np.ndarray | None = None  # int64: base-year boarders, -1 not given
    school_teachers: np.ndarray | None = None  # float64: teachers, NaN not given
    births: dict[int, float] | None = None  # simulated year -> births projected (children)
    source: str = "synthetic county"  #: where it came from, for messages
    #: PROJ string of the projection of node_x_km / node_y_km when the county gave lon / lat
    #: (sim/model/coordinates.py); None: kilometres given or made
    projection: str | None = None
    t_walk: np.ndarray | None = None  # (nodes, schools) minutes
    t_bus: np.ndarray | None = None
    t_private: np.ndarray | None = None
    km: np.ndarray | None = None  # (nodes, schools) road km (fastest private route)

    @property
    def n_nodes(self) -> int:
        return len(self.node_kind)

    @property
    def n_schools(self) -> int:
        return len(self.school_level)

    def local_km(self) -> np.ndarray:
        """float64 (nodes): mean distance (km) from a home to its village's centre."""
        if self.node_local_km is None:
            return np.full(self.n_nodes, LOCAL_KM)
        return self.node_local_km

    def planned(self) -> np.ndarray:
        """bool (schools): schools a plan action opens later (not open in the base year)."""
        if self.school_planned is None:
            return np.zeros(self.n_schools, bool)
        return self.school_planned

    def centre_of_township(self) -> np.ndarray:
        """Node index of each township's centre (town or county seat), -1 if it has none."""
        out = np.full(len(self.township_names), -1, dt.INDEX)
        for kind in (TOWN, COUNTY_SEAT):
            for n in np.flatnonzero(self.node_kind == kind):
                if out[self.node_township[n]] < 0 or kind == TOWN:
                    out[self.node_township[n]] = n
        return out

    def seat_node(self) -> int:
        seats = np.flatnonzero(self.node_kind == COUNTY_SEAT)
        return int(seats[0]) if len(seats) else int(np.argmax(self.node_population))


# --- travel times -------------------------------------------------------------------------
def compute_travel_times(world: World, travel: Travel) -> World:
    """Fill the (node, school) travel-time matrices (minutes) and road distances (km)."""
    n = world.n_nodes
    a, b = world.road_from, world.road_to
    cls = world.road_class.astype(np.int64)
    terrain = segment_terrain(world.node_terrain, np.column_stack([a, b]))
    walk_min = 60.0 * world.road_km * terrain / travel.walk_kmh
    bus_min = 60.0 * world.road_km / np.asarray(travel.bus_kmh)[cls]
    private_min = 60.0 * world.road_km / np.asarray(travel.private_kmh)[cls]

    def all_pairs(weight: np.ndarray) -> np.ndarray:
        g = coo_matrix((np.maximum(weight, 1e-6), (a, b)), shape=(n, n)).tocsr()
        return dijkstra(g, directed=False, indices=world.school_node)  # (schools, nodes)

    local = world.local_km()
    node_walk = local * world.node_terrain * 60.0 / travel.walk_kmh  # within the village
    t_walk = all_pairs(walk_min).T + node_walk[:, None]
    t_bus = all_pairs(bus_min).T + travel.bus_wait_min
    t_private = all_pairs(private_min).T + (60.0 * local / travel.private_kmh[2])[:, None]
    # km along the fastest private route is close to km along the shortest route
    km = all_pairs(world.road_km).T + local[:, None]
    world.t_walk = t_walk.astype(dt.MINUTES)
    world.t_bus = t_bus.astype(dt.MINUTES)
    world.t_private = t_private.astype(dt.MINUTES)
    world.km = km.astype(dt.MINUTES)
    return world


# --- synthetic county ---------------------------------------------------------------------
BED_MARGIN = 2.2  #: beds per expected boarder: cohorts of boarding age are larger than average,
                  #: hardship families have fewer vehicles, and families choose among schools


def _size_beds(s_node, s_level, s_beds, kind, town, pop, graph, local_km, terrain, per_grade,
               edges, road_km) -> None:
    """Raise each township school's beds to BED_MARGIN x the pupils expected to board there:
    village pupils of grades 4-6 (without a village primary of their own) and 7-9 whose walk
    (families without a vehicle, 55%) or drive (the others) to the school is over the default
    boarding threshold. Defaults of `sim.model.scenario.Choice` / `Demography`."""
    from sim.model.scenario import Choice, Demography
    travel = Travel()
    over = Choice().board_if_day_travel_over_min
    access = Demography().transport_access_share
    a, b = edges[:, 0], edges[:, 1]
    drive_min = 60.0 * road_km / np.asarray(travel.private_kmh)[edges[:, 2]]
    drive = coo_matrix((drive_min, (a, b)), shape=graph.shape).tocsr()
    own_primary = {s_node[i] for i in range(len(s_node)) if s_level[i] == dt.VILLAGE_PRIMARY}
    # boarding-age cohorts against the average cohort (the base year's age structure)
    from sim.model.age_structure import cohort_weights, grade_weights
    upper = grade_weights(4, 6).mean() / cohort_weights().mean()
    junior = grade_weights(7, 9).mean() / cohort_weights().mean()
    villages = np.flatnonzero(kind == VILLAGE)
    for i in range(len(s_node)):
        if s_level[i] not in (dt.CENTRAL_PRIMARY, dt.JUNIOR, dt.NINE_YEAR) or \
                kind[s_node[i]] != TOWN:
            continue
        mine = villages[town[villages] == town[s_node[i]]]
        walk = dijkstra(graph, directed=False, indices=s_node[i])[mine] + \
            60.0 * local_km[mine] * terrain[mine] / travel.walk_kmh
        car = dijkstra(drive, directed=False, indices=s_node[i])[mine]
        far = (1 - access) * (walk > over) + access * (car > over)
        grades = []
        if s_level[i] in (dt.CENTRAL_PRIMARY, dt.NINE_YEAR):
            grades.append(np.array([0.0 if v in own_primary else 3.0 for v in mine]) * upper)
        if s_level[i] in (dt.JUNIOR, dt.NINE_YEAR):
            grades.append(np.full(len(mine), 3.0) * junior)
        expected = sum(float((per_grade * pop[mine] * g * far).sum()) for g in grades)
        s_beds[i] = max(s_beds[i], int(np.ceil(BED_MARGIN * expected)))



def _mst_edges(points: np.ndarray) -> list[tuple[int, int]]:
    d = cdist(points, points)
    tree = minimum_spanning_tree(d).tocoo()
    return list(zip(tree.row.tolist(), tree.col.tolist(), strict=True))


def winding_km(xy: np.ndarray, terrain: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Road length of straight segments (km): the straight line times the mean terrain factor
    of its ends (a road winds as steeply as the paths it joins), at least 0.3 km. An
    assumption (docs/parameters.md), used where a county has no roads of its own."""
    straight = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1)
    return np.maximum(straight * segment_terrain(terrain, edges), 0.3)


def segment_terrain(terrain: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """A segment's terrain factor: the mean of its ends' (>= 1; 1 flat)."""
    return 0.5 * (terrain[edges[:, 0]] + terrain[edges[:, 1]])


def synthetic_county(spec: SyntheticCounty) -> World:
    """A seeded synthetic county: townships with a centre, villages around them, a county seat,
    a road tree per township joined by county roads, and schools of every level.

    Sizes follow a rural mountainous county: village populations lognormal around
    `village_population_median`, a village primary in most larger villages, teaching points in
    small remote ones, a central primary and a junior (or a nine-year school) in each centre.
    """
    rng = np.random.default_rng(spec.seed)
    n_t, n_v = spec.townships, spec.villages
    size = spec.size_km or KM_PER_SQRT_TOWNSHIP * np.sqrt(n_t)
    lo, hi = TERRAIN_RANGE[spec.terrain]

    # township centres on a jittered grid; the county seat next to the most central one
    cols = int(np.ceil(np.sqrt(n_t)))
    cell = size / cols
    idx = np.arange(n_t)
    centres = np.column_stack([(idx % cols + 0.5) * cell, (idx // cols + 0.5) * cell])
    centres += rng.uniform(-0.2, 0.2, centres.shape) * cell
    mid = np.argmin(((centres - size / 2) ** 2).sum(1))
    seat = centres[mid] + rng.uniform(-0.1, 0.1, 2) * cell

    # villages: each in a township, scattered around its centre
    v_town = np.sort(rng.integers(0, n_t, n_v))
    radius = cell * 0.55 * np.sqrt(rng.uniform(0.05, 1.0, n_v))
    angle = rng.uniform(0, 2 * np.pi, n_v)
    v_xy = centres[v_town] + np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]
    remoteness = radius / (cell * 0.55)
    v_terrain = lo + (hi - lo) * np.clip(remoteness + rng.normal(0, 0.15, n_v), 0, 1)
    v_pop = np.round(rng.lognormal(np.log(spec.village_population_median), 0.55, n_v))
    # homes spread over hamlets: mean distance to the village centre grows with its size
    rng_h = np.random.default_rng([spec.seed, 1])
    v_local = (HAMLET_KM[spec.terrain] * (v_pop / spec.village_population_median) ** 0.25
               * rng_h.lognormal(-0.045, 0.3, n_v))

    # nodes: villages, then township centres, then the county seat
    xy = np.vstack([v_xy, centres, seat[None, :]])
    kind = np.concatenate([np.full(n_v, VILLAGE), np.full(n_t, TOWN), [COUNTY_SEAT]]).astype(np.int8)
    town = np.concatenate([v_town, idx, [mid]]).astype(dt.INDEX)
    pop = np.concatenate([v_pop, np.full(n_t, spec.town_population), [spec.county_seat_population]])
    terrain = np.concatenate([v_terrain, np.full(n_t, lo), [lo]])
    names = [f"V{i:04d}" for i in range(n_v)] + [f"T{i:02d}" for i in range(n_t)] + ["SEAT"]
    local_km = np.concatenate([v_local, np.full(n_t, TOWN_LOCAL_KM), [SEAT_LOCAL_KM]])

    # roads: a tree inside each township (village roads, township road to the centre),
    # county roads as a tree over centres and the seat plus a few short cross links
    edges: list[tuple[int, int, int]] = []
    for t in range(n_t):
        members = np.concatenate([[n_v + t], np.flatnonzero(v_town == t)])
        for i, j in _mst_edges(xy[members]):
            a, b = members[i], members[j]
            cls = dt.TOWNSHIP_ROAD if n_v + t in (a, b) else dt.VILLAGE_ROAD
            edges.append((a, b, cls))
    hubs = np.concatenate([np.arange(n_v, n_v + n_t), [n_v + n_t]])
    for i, j in _mst_edges(xy[hubs]):
        edges.append((hubs[i], hubs[j], dt.COUNTY_ROAD))
    d = cdist(xy[hubs], xy[hubs]) + np.eye(len(hubs)) * 1e9
    for i in range(len(hubs)):
        j = int(np.argmin(d[i]))
        edges.append((hubs[i], hubs[j], dt.COUNTY_ROAD))
    e = np.array(sorted({(min(a, b), max(a, b), c) for a, b, c in edges}), dtype=np.int64)
    road_km = winding_km(xy, terrain, e)

    # schools
    s_name, s_node, s_level, s_classes, s_beds, s_canteen, s_quality = [], [], [], [], [], [], []

    def add(name, node, level, classes, beds, canteen, quality):
        s_name.append(name)
        s_node.append(node)
        s_level.append(level)
        s_classes.append(max(1, int(classes)))
        s_beds.append(int(beds))
        s_canteen.append(int(canteen))
        s_quality.append(float(np.clip(quality, 0.05, 1.0)))

    per_grade = 0.010  # children per grade per resident (rural age structure, about 16% aged 0-15)
    for v in range(n_v):
        if v_pop[v] >= spec.village_primary_min_population and rng.uniform() < 0.85:
            add(f"{names[v]}-primary", v, dt.VILLAGE_PRIMARY, 1, 0, 0, rng.uniform(0.3, 0.5))
    for t in range(n_t):
        node = n_v + t
        rural = v_pop[v_town == t].sum()
        # township schools are built for the centre and most of the township's rural pupils
        prim = per_grade * (spec.town_population + 0.9 * rural)
        jun = per_grade * (spec.town_population + 1.0 * rural)
        if rng.uniform() < 0.2:
            grade = max(prim, jun)
            cls = np.ceil(1.1 * grade / 45)
            add(f"{names[node]}-nine-year", node, dt.NINE_YEAR, cls, 0.65 * 3 * jun,
                cls * 9 * 40, rng.uniform(0.5, 0.65))
        else:
            cls = np.ceil(1.1 * prim / 45)
            add(f"{names[node]}-central", node, dt.CENTRAL_PRIMARY, cls, 0.08 * 6 * prim,
                cls * 6 * 40, rng.uniform(0.55, 0.75))
            cls = np.ceil(1.1 * jun / 50)
            add(f"{names[node]}-junior", node, dt.JUNIOR, cls, 0.65 * 3 * jun,
                cls * 3 * 45, rng.uniform(0.5, 0.7))
    # teaching points where grade-1 pupils would otherwise walk over 40 minutes
    n_nodes = len(kind)
    travel = Travel()
    walk_min = 60.0 * road_km * segment_terrain(terrain, e) / travel.walk_kmh
    graph = coo_matrix((walk_min, (e[:, 0], e[:, 1])), shape=(n_nodes, n_nodes)).tocsr()
    for v in np.argsort(-remoteness):
        grade1 = [s_node[i] for i in range(len(s_node)) if s_level[i] != dt.JUNIOR]
        inside = 60.0 * local_km[v] * terrain[v] / travel.walk_kmh  # from the hamlets
        nearest = dijkstra(graph, directed=False, indices=v, limit=40.0)[grade1].min() + inside
        if nearest > 40.0:
            add(f"{names[v]}-point", int(v), dt.TEACHING_POINT, 1, 0, 0, rng.uniform(0.2, 0.35))
    # township schools' beds: enough for the pupils expected to board there (grades 4-6 from
    # villages without a village primary, grades 7-9 from every village, whose day trip is over
    # the boarding threshold), so the status quo leaves no pupil without a place
    _size_beds(s_node, s_level, s_beds, kind, town, pop, graph, local_km, terrain, per_grade,
               e, road_km)
    seat_node = n_v + n_t
    grade = per_grade * spec.county_seat_population
    # enough county-seat schools that none is planned above SEAT_SCHOOL_PUPILS (the Nanle
    # plan's limit is 2000), at least two of each
    # seats for SEAT_MARGIN x the seat's own pupils: village families choose seat schools too
    n_prim = max(2, int(np.ceil(SEAT_MARGIN * grade * 6 / SEAT_SCHOOL_PUPILS)))
    n_jun = max(2, int(np.ceil(SEAT_MARGIN * grade * 3 / SEAT_SCHOOL_PUPILS)))
    for k in range(max(n_prim, n_jun)):
        if k < n_prim:
            cls = np.ceil(SEAT_MARGIN * grade / n_prim / 45)
            add(f"SEAT-primary-{k + 1}", seat_node, dt.CENTRAL_PRIMARY, cls, 0, cls * 6 * 30,
                rng.uniform(0.75, 0.9))
        if k < n_jun:
            cls = np.ceil(SEAT_MARGIN * grade / n_jun / 50)
            add(f"SEAT-junior-{k + 1}", seat_node, dt.JUNIOR, cls, 0.3 * 3 * grade / n_jun,
                cls * 3 * 40, rng.uniform(0.75, 0.9))

    world = World(
        node_local_km=local_km,
        node_name=names, node_kind=kind, node_township=town, node_x_km=xy[:, 0].copy(),
        node_y_km=xy[:, 1].copy(), node_population=pop.astype(np.float64),
        node_terrain=terrain.astype(np.float64), township_names=[f"T{i:02d}" for i in range(n_t)],
        road_from=e[:, 0].astype(dt.INDEX), road_to=e[:, 1].astype(dt.INDEX),
        road_km=road_km.astype(np.float64), road_class=e[:, 2].astype(np.int8),
        school_name=s_name, school_node=np.array(s_node, dt.INDEX),
        school_level=np.array(s_level, np.int8), school_classes_per_grade=np.array(s_classes, dt.INDEX),
        school_beds=np.array(s_beds, dt.INDEX), school_canteen=np.array(s_canteen, dt.INDEX),
        school_quality=np.array(s_quality, np.float64),
    )
    return world
