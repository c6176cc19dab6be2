"""A county's roads when it has no hand-made `roads.csv`: from an OpenStreetMap file, or
straight lines.

**OpenStreetMap** (`county.roads: my_county.osm.pbf` read with pyrosm, or an `.osm` XML file
read with osmnx's `graph_from_xml`; offline): every way a person can travel (`network_type
all`), each OSM highway class mapped onto the model's three road classes (`HIGHWAY_CLASS`,
whose speeds are the scenario's `behaviour.travel` speeds). Each village is joined to its
nearest OSM node, the access leg walked in a straight line and counted as village road. The
network is then reduced to what the travel-time computation needs: a segment from each village
to each of its `NEIGHBOURS` nearest villages along the roads, as long as the fastest road path
between them (found with the bus's relative speeds by class), of the class that carries most of
its length. Ways are taken as two-way (pupils walk them both ways; school buses on one-way
streets are rare in a rural county).

**Straight lines** (`county.roads: straight_line`): a segment from each village to its
`NEIGHBOURS` nearest and the minimum spanning tree (so the county is connected), as long as the
straight line times the winding of the terrain (`world.winding_km`, the rule of the synthetic
county); between two towns (or the county seat) a county road, from a town a township road, else
a village road. An assumption for counties with neither roads.csv nor map coverage: it says so
before a run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.core.i18n import _

#: nearest villages each village gets a segment to
NEIGHBOURS = 6
#: OSM highway tag -> the model's road class (unlisted tags: village roads); a scenario's
#: `county.osm_road_class` overrides it
HIGHWAY_CLASS = {
    **{k: dt.COUNTY_ROAD for k in ("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                                   "primary_link", "secondary", "secondary_link")},
    **{k: dt.TOWNSHIP_ROAD for k in ("tertiary", "tertiary_link")},
}
#: bus speed on each class relative to a county road (`Bus.road_speed_factor`'s default), used
#: only to choose the fastest path
RELATIVE_SPEED = np.array([1.0, 0.7, 0.4])


def _first_tag(value) -> str:
    """OSM highway values may come as lists (a simplified edge) or 'a;b' strings."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).split(";")[0]


def read_osm(path: Path, classes: dict[str, int] | None = None) -> tuple[np.ndarray, ...]:
    """(node lon, node lat, edge from, edge to, edge length km, edge class) of an OSM file's
    ways, the edges' ends as indices into the node arrays; edges of class by `HIGHWAY_CLASS`,
    with `classes` (highway tag -> class) overriding it."""
    mapping = HIGHWAY_CLASS | (classes or {})
    name = path.name.lower()
    if not path.exists():
        raise InputError(str(path), "county.roads", _(
            "file not found; give an .osm.pbf or .osm extract of the county (e.g. from "
            "Geofabrik), relative to the scenario"))
    try:
        if name.endswith(".pbf"):
            import pyrosm

            nodes, edges = pyrosm.OSM(str(path)).get_network(network_type="all", nodes=True)
            if edges is None or nodes is None:
                raise ValueError("no ways with a highway tag")
            ids, lon, lat = nodes["id"].to_numpy(), nodes["lon"].to_numpy(float), \
                nodes["lat"].to_numpy(float)
            u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
            length, highway = edges["length"].to_numpy(float), list(edges["highway"])
        elif name.endswith(".osm") or name.endswith(".xml"):
            import osmnx as ox

            g = ox.graph_from_xml(path, simplify=False, retain_all=True)
            ids = np.array(list(g.nodes))
            lon = np.array([g.nodes[n]["x"] for n in ids], float)
            lat = np.array([g.nodes[n]["y"] for n in ids], float)
            data = list(g.edges(data=True))
            u = np.array([a for a, _, _ in data])
            v = np.array([b for _, b, _ in data])
            length = np.array([d["length"] for _, _, d in data], float)
            highway = [d.get("highway", "") for _, _, d in data]
        else:
            raise InputError(str(path), "county.roads", _(
                "an OpenStreetMap file ends in .osm.pbf or .osm; or write roads: straight_line"))
    except InputError:
        raise
    except Exception as exc:  # the readers raise their own errors on a damaged file
        raise InputError(str(path), "county.roads", _(
            "cannot be read as OpenStreetMap: {error}").format(error=exc)) from None
    pos = {int(n): i for i, n in enumerate(ids)}
    keep = np.array([int(a) in pos and int(b) in pos for a, b in zip(u, v, strict=True)], bool)
    cls = np.array([mapping.get(_first_tag(h), dt.VILLAGE_ROAD) for h in highway], np.int64)
    a = np.array([pos[int(x)] for x in u[keep]], np.int64)
    b = np.array([pos[int(x)] for x in v[keep]], np.int64)
    return lon, lat, a, b, length[keep] / 1000.0, cls[keep]


def osm_segments(path: Path, village_xy: np.ndarray, project,
                 classes: dict[str, int] | None = None) -> tuple[np.ndarray, ...]:
    """(from village, to village, km, class) segments of the county from an OSM file (module
    docstring). `project(lon, lat) -> (x_km, y_km)` is the county's projection; `classes`
    overrides `HIGHWAY_CLASS` (scenario `county.osm_road_class`)."""
    lon, lat, a, b, km, cls = read_osm(path, classes)
    x, y = project(lon, lat)
    xy = np.column_stack([x, y])
    access, node = cKDTree(xy).query(village_xy)
    n = len(xy)
    cost = km / RELATIVE_SPEED[cls]
    graph = coo_matrix((np.concatenate([cost, cost]), (np.concatenate([a, b]),
                                                      np.concatenate([b, a]))), shape=(n, n)).tocsr()
    edge_of = {}
    for k, (p, q) in enumerate(zip(a, b, strict=True)):
        for e in ((p, q), (q, p)):
            if e not in edge_of or cost[edge_of[e]] > cost[k]:
                edge_of[e] = k
    sources = np.unique(node)
    dist, pred = dijkstra(graph, indices=sources, return_predecessors=True)
    row = {int(s): i for i, s in enumerate(sources)}
    segments = []
    for i, src in enumerate(node):
        d = dist[row[int(src)]][node]
        d[i] = np.inf
        for j in np.argsort(d)[:NEIGHBOURS]:
            if not np.isfinite(d[j]):
                break
            by_class = np.zeros(3)
            t = int(node[j])
            while t != int(src):
                p = int(pred[row[int(src)], t])
                k = edge_of[(p, t)]
                by_class[cls[k]] += km[k]
                t = p
            length = by_class.sum() + access[i] + access[j]
            by_class[dt.VILLAGE_ROAD] += access[i] + access[j]
            segments.append((min(i, j), max(i, j), max(length, 0.01), int(np.argmax(by_class))))
    if not segments:
        raise InputError(str(path), "county.roads", _(
            "no village is connected to another by the file's roads; check that the extract "
            "covers the county"))
    seg = np.array(sorted(set(segments)), dtype=object)
    return (seg[:, 0].astype(np.int64), seg[:, 1].astype(np.int64), seg[:, 2].astype(float),
            seg[:, 3].astype(np.int64))


def straight_segments(xy: np.ndarray, terrain: np.ndarray, kind: np.ndarray,
                      winding_km) -> tuple[np.ndarray, ...]:
    """(from, to, km, class) straight-line segments (module docstring); `winding_km(xy,
    terrain, edges)` is the synthetic county's length rule."""
    from sim.model.world import COUNTY_SEAT, TOWN

    n = len(xy)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    pairs = set()
    mst = minimum_spanning_tree(coo_matrix(np.triu(d + 1e-9, 1))).tocoo()
    pairs |= {(min(i, j), max(i, j)) for i, j in zip(mst.row, mst.col, strict=True)}
    for i in range(n):
        for j in np.argsort(d[i])[1:NEIGHBOURS + 1]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    hub = np.isin(kind, [TOWN, COUNTY_SEAT])
    e = np.array(sorted(pairs), np.int64).reshape(-1, 2)
    cls = np.where(hub[e[:, 0]] & hub[e[:, 1]], dt.COUNTY_ROAD,
                   np.where(hub[e[:, 0]] | hub[e[:, 1]], dt.TOWNSHIP_ROAD, dt.VILLAGE_ROAD))
    return e[:, 0], e[:, 1], winding_km(xy, terrain, e), cls
