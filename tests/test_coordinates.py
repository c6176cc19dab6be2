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
