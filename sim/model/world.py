"""The county: villages (population nodes), schools, roads and travel times.

Two ways to get one: `synthetic_county` (seeded generator) and `load_county_csv` (a user's own
villages.csv, schools.csv, roads.csv; columns documented in README.md). Travel times are one-way
minutes from every village to every school by mode, from shortest paths over the road graph
(`scipy.sparse.csgraph.dijkstra`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial.distance import cdist

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.model.scenario import SyntheticCounty, Travel

VILLAGE, TOWN, COUNTY_SEAT = 0, 1, 2
NODE_KIND_NAMES = {"village": VILLAGE, "town": TOWN, "county_seat": COUNTY_SEAT}
LOCAL_KM = 0.4  #: distance (km) from a home to the school or road inside one village
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
    terrain = 0.5 * (world.node_terrain[a] + world.node_terrain[b])
    walk_min = 60.0 * world.road_km * terrain / travel.walk_kmh
    bus_min = 60.0 * world.road_km / np.asarray(travel.bus_kmh)[cls]
    private_min = 60.0 * world.road_km / np.asarray(travel.private_kmh)[cls]

    def all_pairs(weight: np.ndarray) -> np.ndarray:
        g = coo_matrix((np.maximum(weight, 1e-6), (a, b)), shape=(n, n)).tocsr()
        return dijkstra(g, directed=False, indices=world.school_node)  # (schools, nodes)

    node_walk = LOCAL_KM * world.node_terrain * 60.0 / travel.walk_kmh
    t_walk = all_pairs(walk_min).T + node_walk[:, None]
    t_bus = all_pairs(bus_min).T + travel.bus_wait_min
    t_private = all_pairs(private_min).T + 60.0 * LOCAL_KM / travel.private_kmh[2]
    # km along the fastest private route is close to km along the shortest route
    km = all_pairs(world.road_km).T + LOCAL_KM
    world.t_walk = t_walk.astype(dt.MINUTES)
    world.t_bus = t_bus.astype(dt.MINUTES)
    world.t_private = t_private.astype(dt.MINUTES)
    world.km = km.astype(dt.MINUTES)
    return world


# --- synthetic county ---------------------------------------------------------------------
def _mst_edges(points: np.ndarray) -> list[tuple[int, int]]:
    d = cdist(points, points)
    tree = minimum_spanning_tree(d).tocoo()
    return list(zip(tree.row.tolist(), tree.col.tolist(), strict=True))


def synthetic_county(spec: SyntheticCounty) -> World:
    """A seeded synthetic county: townships with a centre, villages around them, a county seat,
    a road tree per township joined by county roads, and schools of every level.

    Sizes follow a rural mountainous county: village populations lognormal around
    `village_population_median`, a village primary in most larger villages, teaching points in
    small remote ones, a central primary and a junior (or a nine-year school) in each centre.
    """
    rng = np.random.default_rng(spec.seed)
    n_t, n_v = spec.townships, spec.villages
    size = spec.size_km or 16.0 * np.sqrt(n_t)
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

    # nodes: villages, then township centres, then the county seat
    xy = np.vstack([v_xy, centres, seat[None, :]])
    kind = np.concatenate([np.full(n_v, VILLAGE), np.full(n_t, TOWN), [COUNTY_SEAT]]).astype(np.int8)
    town = np.concatenate([v_town, idx, [mid]]).astype(dt.INDEX)
    pop = np.concatenate([v_pop, np.full(n_t, spec.town_population), [spec.county_seat_population]])
    terrain = np.concatenate([v_terrain, np.full(n_t, lo), [lo]])
    names = [f"V{i:04d}" for i in range(n_v)] + [f"T{i:02d}" for i in range(n_t)] + ["SEAT"]

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
    straight = np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1)
    winding = 0.5 * (terrain[e[:, 0]] + terrain[e[:, 1]])
    road_km = np.maximum(straight * winding, 0.3)

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
        if v_pop[v] >= 450 and rng.uniform() < 0.85:
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
    walk_min = 60.0 * road_km * winding / Travel().walk_kmh
    graph = coo_matrix((walk_min, (e[:, 0], e[:, 1])), shape=(n_nodes, n_nodes)).tocsr()
    for v in np.argsort(-remoteness):
        grade1 = [s_node[i] for i in range(len(s_node)) if s_level[i] != dt.JUNIOR]
        nearest = dijkstra(graph, directed=False, indices=v, limit=40.0)[grade1].min()
        if nearest > 40.0:
            add(f"{names[v]}-point", int(v), dt.TEACHING_POINT, 1, 0, 0, rng.uniform(0.2, 0.35))
    seat_node = n_v + n_t
    grade = per_grade * spec.county_seat_population
    for k in range(2):
        cls = np.ceil(1.05 * grade / 2 / 45)
        add(f"SEAT-primary-{k + 1}", seat_node, dt.CENTRAL_PRIMARY, cls, 0, cls * 6 * 30,
            rng.uniform(0.75, 0.9))
        cls = np.ceil(1.2 * grade / 2 / 50)
        add(f"SEAT-junior-{k + 1}", seat_node, dt.JUNIOR, cls, 0.3 * 3 * grade / 2, cls * 3 * 40,
            rng.uniform(0.75, 0.9))

    world = World(
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


# --- CSV loader ---------------------------------------------------------------------------
VILLAGE_COLUMNS = {"village_id": "unique id", "township": "township name",
                   "x_km": "east coordinate (km)", "y_km": "north coordinate (km)",
                   "population": "registered residents (persons)"}
VILLAGE_OPTIONAL = {"terrain_factor": 1.0, "kind": "village"}
SCHOOL_COLUMNS = {"school_id": "unique id", "village_id": "village where it stands",
                  "level": "teaching_point | village_primary | central_primary | junior | nine_year",
                  "classes_per_grade": "classes each grade may hold (>= 1)"}
SCHOOL_OPTIONAL = {"boarding_beds": 0, "canteen_places": 0, "quality": 0.5}
ROAD_COLUMNS = {"from_village": "village id", "to_village": "village id",
                "length_km": "road length (km, > 0)", "road_class": "county | township | village"}


def _read_csv(path: Path, required: dict, optional: dict) -> pd.DataFrame:
    if not path.exists():
        raise InputError(str(path), "(file)", "file not found; a county folder needs "
                         "villages.csv, schools.csv and roads.csv (see README.md)")
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except Exception as exc:  # pandas raises several parser errors
        raise InputError(str(path), "(csv)", f"cannot be read as CSV: {exc}") from None
    df.columns = [c.strip() for c in df.columns]
    for col, meaning in required.items():
        if col not in df.columns:
            raise InputError(str(path), col, f"missing column ({meaning}); required columns: "
                             + ", ".join(required))
    for col, default in optional.items():
        if col not in df.columns:
            df[col] = str(default)
        else:  # empty cells of optional columns take the default
            df[col] = df[col].fillna(str(default))
    unknown = set(df.columns) - set(required) - set(optional) - {"name"}
    if unknown:
        raise InputError(str(path), sorted(unknown)[0], "unknown column; allowed: "
                         + ", ".join([*required, *optional, "name"]))
    return df


def _numbers(df: pd.DataFrame, col: str, path: Path, low: float, strict: bool = False) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() | ((values <= low) if strict else (values < low))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        op = ">" if strict else ">="
        raise InputError(str(path), col, f"row {row + 2}: {df[col].iloc[row]!r} must be a number "
                         f"{op} {low}")
    return values.to_numpy(np.float64)


def _codes(df: pd.DataFrame, col: str, path: Path, names: dict) -> np.ndarray:
    raw = df[col].str.strip()
    bad = ~raw.isin(list(names))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(str(path), col, f"row {row + 2}: {raw.iloc[row]!r} is not allowed; "
                         f"use one of: {', '.join(names)}")
    return raw.map(names).to_numpy(np.int8)


def load_county_csv(folder: str | Path) -> World:
    """Load a county from `folder/villages.csv`, `schools.csv`, `roads.csv` with validation."""
    folder = Path(folder)
    vpath, spath, rpath = folder / "villages.csv", folder / "schools.csv", folder / "roads.csv"
    v = _read_csv(vpath, VILLAGE_COLUMNS, VILLAGE_OPTIONAL)
    s = _read_csv(spath, SCHOOL_COLUMNS, SCHOOL_OPTIONAL)
    r = _read_csv(rpath, ROAD_COLUMNS, {})

    ids = v["village_id"].str.strip()
    dup = ids.duplicated()
    if dup.any():
        raise InputError(str(vpath), "village_id", f"duplicate id {ids[dup].iloc[0]!r}; ids must be unique")
    index = {vid: i for i, vid in enumerate(ids)}
    towns = v["township"].str.strip()
    township_names = list(dict.fromkeys(towns))
    kind = _codes(v, "kind", vpath, NODE_KIND_NAMES)

    def lookup(df, col, path):
        raw = df[col].str.strip()
        missing = ~raw.isin(index)
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise InputError(str(path), col, f"row {row + 2}: village {raw.iloc[row]!r} is not in "
                             f"{vpath.name}; add it there or correct the id")
        return raw.map(index).to_numpy(dt.INDEX)

    a, b = lookup(r, "from_village", rpath), lookup(r, "to_village", rpath)
    road_km = _numbers(r, "length_km", rpath, 0.0, strict=True)
    n = len(ids)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    if n_comp > 1:
        seat = np.flatnonzero(kind == COUNTY_SEAT)
        main = label[seat[0]] if len(seat) else np.bincount(label).argmax()
        cut = int(np.flatnonzero(label != main)[0])
        raise InputError(str(rpath), "from_village/to_village",
                         f"village {ids.iloc[cut]!r} is not reachable by road from the rest of the "
                         "county; add a row to roads.csv that connects it")
    level = _codes(s, "level", spath, dt.LEVEL_NAMES)
    quality = _numbers(s, "quality", spath, 0.0)
    if (quality > 1).any():
        raise InputError(str(spath), "quality", "must lie between 0 and 1")
    sid = s["school_id"].str.strip()
    return World(
        node_name=list(ids), node_kind=kind,
        node_township=towns.map({t: i for i, t in enumerate(township_names)}).to_numpy(dt.INDEX),
        node_x_km=_numbers(v, "x_km", vpath, -np.inf), node_y_km=_numbers(v, "y_km", vpath, -np.inf),
        node_population=_numbers(v, "population", vpath, 0.0),
        node_terrain=_numbers(v, "terrain_factor", vpath, 1.0),
        township_names=township_names,
        road_from=a, road_to=b, road_km=road_km, road_class=_codes(r, "road_class", rpath,
                                                                    dt.ROAD_CLASS_NAMES),
        school_name=list(sid), school_node=lookup(s, "village_id", spath), school_level=level,
        school_classes_per_grade=_numbers(s, "classes_per_grade", spath, 1.0).astype(dt.INDEX),
        school_beds=_numbers(s, "boarding_beds", spath, 0.0).astype(dt.INDEX),
        school_canteen=_numbers(s, "canteen_places", spath, 0.0).astype(dt.INDEX),
        school_quality=quality,
    )


def save_county_csv(world: World, folder: str | Path) -> None:
    """Write a county in the CSV format `load_county_csv` reads (e.g. a synthetic one to edit)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind_name = {v: k for k, v in NODE_KIND_NAMES.items()}
    level_name = {v: k for k, v in dt.LEVEL_NAMES.items()}
    road_name = {v: k for k, v in dt.ROAD_CLASS_NAMES.items()}
    pd.DataFrame({
        "village_id": world.node_name,
        "township": [world.township_names[t] for t in world.node_township],
        "x_km": world.node_x_km.round(3), "y_km": world.node_y_km.round(3),
        "population": world.node_population.astype(int),
        "terrain_factor": world.node_terrain.round(3),
        "kind": [kind_name[k] for k in world.node_kind],
    }).to_csv(folder / "villages.csv", index=False)
    pd.DataFrame({
        "school_id": world.school_name,
        "village_id": [world.node_name[n] for n in world.school_node],
        "level": [level_name[x] for x in world.school_level],
        "classes_per_grade": world.school_classes_per_grade,
        "boarding_beds": world.school_beds, "canteen_places": world.school_canteen,
        "quality": world.school_quality.round(3),
    }).to_csv(folder / "schools.csv", index=False)
    pd.DataFrame({
        "from_village": [world.node_name[i] for i in world.road_from],
        "to_village": [world.node_name[i] for i in world.road_to],
        "length_km": world.road_km.round(3),
        "road_class": [road_name[c] for c in world.road_class],
    }).to_csv(folder / "roads.csv", index=False)
