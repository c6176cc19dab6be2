"""A run back to GIS: `county.gpkg` in the results folder, for QGIS or ArcGIS.

Layers (replicate 0; "before" is the base year, "after" the final simulated year):

- `villages` (points): id, township, residents; the school most of its pupils attend, its
  pupils and their mean one-way travel (minutes), before and after;
- `schools` (points, at their place): id, level, open before / after, the year it closed,
  the school that received its pupils, and the plan's events by year (closed, deferred and why,
  downgraded, kept by the exemption, expanded, opened, received);
- `roads` (lines): class and length (km);
- `isochrones` (polygons): for each school open before / after, the area its 15, 30 and 60
  minutes on foot reach (the convex hull of the school and the villages within that time, at
  least 200 m around the school; walking is the national guidance's measure for primary
  pupils).

Coordinates are WGS84 (EPSG:4326) where the county gave lon / lat; otherwise the county's own
kilometres, with no coordinate system (QGIS shows them as they are).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels.state import EVENT_NAMES
from sim.model.build import Model
from sim.model.engine import trace_replicate

BANDS_MIN = (15, 30, 60)  #: isochrone limits (minutes on foot)


def _attended(world, S, H, C) -> pd.DataFrame:
    """Per village: the school most of its enrolled pupils attend, pupils, and the mean
    one-way travel of its day pupils (boarders' weekly trips left out)."""
    n = int(C.n_used[0])
    on = C.status[:n] == dt.ENROLLED
    day = np.array([rules.is_day_pupil(int(m)) for m in C.mode[:n][on]], bool)
    df = pd.DataFrame({"village": H.node[C.hh[:n][on]], "school": C.school[:n][on],
                       "travel": np.where(day, C.travel[:n][on], np.nan)})
    out = pd.DataFrame(index=pd.RangeIndex(len(world.node_name), name="village"))
    if df.empty:
        return out.assign(school="", pupils=0, travel_min=np.nan)
    top = df.groupby("village").school.agg(lambda s: s.value_counts().index[0])
    out["school"] = top.map(lambda s: world.school_name[int(s)]).reindex(out.index).fillna("")
    out["pupils"] = df.groupby("village").size().reindex(out.index).fillna(0).astype(int)
    out["travel_min"] = df.groupby("village").travel.mean().reindex(out.index).round(1)
    return out


def plan_events(flags: np.ndarray) -> str:
    """A school's plan events by year, e.g. "1: closed; 2: received" (EVENT_NAMES)."""
    return "; ".join(f"{y}: " + ", ".join(n for n, f in EVENT_NAMES.items() if flags[y] & f)
                     for y in range(len(flags)) if flags[y])


def layers(model: Model) -> dict[str, pd.DataFrame]:
    """The layers' attribute tables with x, y (km) or polygon vertices (module docstring)."""
    world = model.world
    for state in trace_replicate(model, 0):  # the state is live: read it as it passes
        if state.year == 0:
            before = _attended(world, state.S, state.H, state.C)
            open_before = state.S.open.copy()
        last = state
    after = _attended(world, last.S, last.H, last.C)
    x, y = world.node_x_km, world.node_y_km
    villages = pd.DataFrame({
        "village_id": world.node_name, "township": [world.township_names[t] for t in
                                                    world.node_township],
        "residents": world.node_population.astype(int),
        "school_before": before.school.to_numpy(), "pupils_before": before.pupils.to_numpy(),
        "travel_before_min": before.travel_min.to_numpy(),
        "school_after": after.school.to_numpy(), "pupils_after": after.pupils.to_numpy(),
        "travel_after_min": after.travel_min.to_numpy(), "x_km": x, "y_km": y})
    S = last.S
    node = world.school_node
    schools = pd.DataFrame({
        "school_id": world.school_name,
        "level": [dt.LEVEL_OF_CODE[int(v)] for v in world.school_level],
        "open_before": open_before, "open_after": S.open.copy(),
        "closed_year": np.where(S.closed_year > 0, S.closed_year, -1),
        "receiver": [world.school_name[r] if r >= 0 and not S.open[s] else ""
                     for s, r in enumerate(S.receiver)],
        "events": [plan_events(S.events[s]) for s in range(len(world.school_name))],
        "x_km": x[node], "y_km": y[node]})
    roads = pd.DataFrame({
        "road_class": [dt.ROAD_CLASS_OF_CODE[int(c)] for c in world.road_class],
        "length_km": np.round(world.road_km, 3),
        "x0": x[world.road_from], "y0": y[world.road_from],
        "x1": x[world.road_to], "y1": y[world.road_to]})
    rows = []
    for when, is_open in (("before", open_before), ("after", S.open)):
        for s in np.flatnonzero(is_open):
            for band in BANDS_MIN:
                near = np.flatnonzero(world.t_walk[:, s] <= band)
                pts = np.column_stack([np.append(x[near], x[node[s]]),
                                       np.append(y[near], y[node[s]])])
                rows.append({"school_id": world.school_name[s], "when": when, "minutes": band,
                             "villages": len(near), "points": pts})
    return {"villages": villages, "schools": schools, "roads": roads,
            "isochrones": pd.DataFrame(rows)}


def write_gis(model: Model, path: Path) -> dict[str, int]:
    """Write `county.gpkg` (module docstring) to `path`; the features written per layer."""
    import warnings

    import geopandas as gpd
    import shapely
    from shapely.geometry import LineString, MultiPoint, Point

    from sim.model.coordinates import unproject

    proj = model.world.projection

    def place(x, y):
        return unproject(np.asarray(x), np.asarray(y), proj) if proj else (x, y)

    def transform(geom):
        return shapely.transform(geom, lambda xy: np.column_stack(place(xy[:, 0], xy[:, 1])))

    crs = "EPSG:4326" if proj else None
    parts = layers(model)
    frames = {}
    for name in ("villages", "schools"):
        df = parts[name]
        lon, lat = place(df.x_km.to_numpy(), df.y_km.to_numpy())
        frames[name] = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=crs)
    r = parts["roads"]
    lines = [transform(LineString([(a, b), (c, d)]))
             for a, b, c, d in zip(r.x0, r.y0, r.x1, r.y1, strict=True)]
    frames["roads"] = gpd.GeoDataFrame(r[["road_class", "length_km"]], geometry=lines, crs=crs)
    iso = parts["isochrones"]
    shapes = []
    for pts in iso.points:
        hull = MultiPoint(pts).convex_hull
        hull = hull if hull.geom_type == "Polygon" else hull.union(Point(pts[-1]).buffer(0.2))
        shapes.append(transform(hull.convex_hull))
    frames["isochrones"] = gpd.GeoDataFrame(iso.drop(columns="points"), geometry=shapes, crs=crs)
    with warnings.catch_warnings():  # counties in their own km have no coordinate system
        warnings.filterwarnings("ignore", message=".*crs' was not provided")
        for name, gdf in frames.items():
            gdf.to_file(path, layer=name, driver="GPKG")
    return {name: len(gdf) for name, gdf in frames.items()}
