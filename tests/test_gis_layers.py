"""A run back to GIS: county.gpkg's layers say what the plan did, where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest

from sim.model import scenario as sc
from sim.model.build import build_model
from sim.outputs.gis_layers import BANDS_MIN, write_gis

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "scenarios" / "counties" / "example_plan.yaml"


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    path = tmp_path_factory.mktemp("gis") / "county.gpkg"
    model = build_model(sc.load(PLAN, {"years": 2, "posterior": None}))
    return write_gis(model, path), path, model


def test_layers_hold_the_county_and_the_plan(gpkg):
    written, path, model = gpkg
    w = model.world
    assert {name for name, _ in pyogrio.list_layers(path)} == {"villages", "schools", "roads",
                                                              "isochrones"}
    assert written["villages"] == len(w.node_name) and written["roads"] == len(w.road_from)
    schools = pyogrio.read_dataframe(path, layer="schools").set_index("school_id")
    assert len(schools) == len(w.school_name)
    for closed in ("S12", "S13"):  # example_plan: close S12 and S13 into S25 in year 1
        assert schools.loc[closed, "open_before"] and not schools.loc[closed, "open_after"]
        assert schools.loc[closed, "closed_year"] == 1
        assert schools.loc[closed, "receiver"] == "S25"
        assert "1: closed" in schools.loc[closed, "events"]
    villages = pyogrio.read_dataframe(path, layer="villages")
    shut = set(schools.index[~schools.open_after.astype(bool)])
    assert not set(villages.school_after) & shut  # nobody attends a closed school
    assert villages.pupils_before.sum() > 0


def test_isochrones_grow_with_the_minutes(gpkg):
    written, path, model = gpkg
    iso = pyogrio.read_dataframe(path, layer="isochrones")
    schools = pyogrio.read_dataframe(path, layer="schools")
    n_open = int(schools.open_before.sum()) + int(schools.open_after.sum())
    assert written["isochrones"] == len(iso) == n_open * len(BANDS_MIN)
    assert (iso.geometry.geom_type == "Polygon").all()
    for (_, _), g in iso.groupby(["school_id", "when"]):
        area = g.sort_values("minutes").geometry.area.to_numpy()
        assert (np.diff(area) >= -1e-12).all()
        inside = g.sort_values("minutes").villages.to_numpy()
        assert (np.diff(inside) >= 0).all()


def test_a_lon_lat_county_is_written_in_wgs84(tmp_path):
    import pandas as pd
    from test_coordinates import _example_with_degrees

    folder = _example_with_degrees(tmp_path / "c")
    model = build_model(sc.load(PLAN, {"years": 2, "posterior": None,
                                       "county.data": str(folder)}))
    write_gis(model, tmp_path / "county.gpkg")
    villages = pyogrio.read_dataframe(tmp_path / "county.gpkg", layer="villages")
    assert villages.crs.to_epsg() == 4326
    given = pd.read_csv(folder / "villages.csv").set_index("village_id")
    got = villages.set_index("village_id").loc[given.index]
    assert np.abs(got.geometry.x.to_numpy() - given.lon.to_numpy()).max() < 1e-7
    assert np.abs(got.geometry.y.to_numpy() - given.lat.to_numpy()).max() < 1e-7
