"""County generator, CSV loader with validation, travel times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.core import dtypes as dt
from sim.core.errors import InputError
from sim.model.county_files import load_county as load_county_csv
from sim.model.county_files import save_county_csv
from sim.model.scenario import SyntheticCounty, Travel
from sim.model.world import compute_travel_times, synthetic_county


@pytest.fixture(scope="module")
def county():
    return compute_travel_times(synthetic_county(SyntheticCounty(townships=4, villages=40, seed=5)),
                                Travel())


def test_generator_is_seeded(county):
    again = synthetic_county(SyntheticCounty(townships=4, villages=40, seed=5))
    assert np.array_equal(again.node_x_km, county.node_x_km)
    other = synthetic_county(SyntheticCounty(townships=4, villages=40, seed=6))
    assert not np.array_equal(other.node_x_km, county.node_x_km)


def test_generator_has_every_level_and_connected_roads(county):
    levels = set(county.school_level.tolist())
    assert {dt.VILLAGE_PRIMARY, dt.CENTRAL_PRIMARY, dt.JUNIOR} <= levels
    assert np.isfinite(county.t_walk).all() and np.isfinite(county.t_bus).all()
    assert (county.t_private <= county.t_walk + 1e-3).all()  # a motorbike beats walking


def test_travel_time_of_a_single_road():
    """One 6 km township road: walk at 3.6 km/h on flat ground = 100 min + local access."""
    from sim.model.world import LOCAL_KM, World
    w = World(
        node_name=["A", "B"], node_kind=np.array([1, 0], np.int8),
        node_township=np.zeros(2, np.int32), node_x_km=np.array([0.0, 6.0]),
        node_y_km=np.zeros(2), node_population=np.array([1000.0, 500.0]),
        node_terrain=np.ones(2), township_names=["T"], road_from=np.array([0], np.int32),
        road_to=np.array([1], np.int32), road_km=np.array([6.0]),
        road_class=np.array([dt.TOWNSHIP_ROAD], np.int8), school_name=["S"],
        school_node=np.array([0], np.int32), school_level=np.array([dt.CENTRAL_PRIMARY], np.int8),
        school_classes_per_grade=np.array([1], np.int32), school_beds=np.zeros(1, np.int32),
        school_canteen=np.zeros(1, np.int32), school_quality=np.array([0.5]))
    travel = Travel()
    compute_travel_times(w, travel)
    access = LOCAL_KM * 60 / travel.walk_kmh
    assert w.t_walk[1, 0] == pytest.approx(100.0 + access, rel=1e-5)
    assert w.t_bus[1, 0] == pytest.approx(6 / 28 * 60 + travel.bus_wait_min, rel=1e-5)
    assert w.km[1, 0] == pytest.approx(6.0 + LOCAL_KM, rel=1e-5)


def test_csv_round_trip(county, tmp_path):
    save_county_csv(county, tmp_path)
    back = load_county_csv(tmp_path)
    assert back.node_name == county.node_name
    assert np.array_equal(back.school_level, county.school_level)
    assert np.allclose(back.road_km, county.road_km, atol=1e-3)


def test_csv_missing_column(county, tmp_path):
    save_county_csv(county, tmp_path)
    df = pd.read_csv(tmp_path / "schools.csv").drop(columns=["classes_per_grade"])
    df.to_csv(tmp_path / "schools.csv", index=False)
    with pytest.raises(InputError) as err:
        load_county_csv(tmp_path)
    assert err.value.file.endswith("schools.csv")
    assert err.value.field == "classes_per_grade"
    assert "required columns" in err.value.message


def test_csv_unreachable_village(county, tmp_path):
    save_county_csv(county, tmp_path)
    roads = pd.read_csv(tmp_path / "roads.csv")
    villages = pd.read_csv(tmp_path / "villages.csv")
    lonely = villages.village_id.iloc[0]
    roads = roads[(roads.from_village != lonely) & (roads.to_village != lonely)]
    roads.to_csv(tmp_path / "roads.csv", index=False)
    with pytest.raises(InputError) as err:
        load_county_csv(tmp_path)
    assert err.value.file.endswith("roads.csv")
    assert "not reachable" in err.value.message and "add a row" in err.value.message


def test_csv_bad_values(county, tmp_path):
    save_county_csv(county, tmp_path)
    s = pd.read_csv(tmp_path / "schools.csv")
    s.loc[0, "level"] = "university"
    s.to_csv(tmp_path / "schools.csv", index=False)
    with pytest.raises(InputError, match="teaching_point"):
        load_county_csv(tmp_path)
    s.loc[0, "level"] = "junior"
    s.loc[1, "boarding_beds"] = -3
    s.to_csv(tmp_path / "schools.csv", index=False)
    with pytest.raises(InputError) as err:
        load_county_csv(tmp_path)
    assert err.value.field == "boarding_beds" and "row 3" in err.value.message
