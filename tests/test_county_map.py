"""`check`'s map of the county as read: what it draws matches the county."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.outputs.county_map import county_map, scale_bar_km

ROOT = Path(__file__).resolve().parents[1]


def test_scale_bar_is_a_round_fifth_of_the_width():
    assert scale_bar_km(40.0) == 5.0
    assert scale_bar_km(12.0) == 2.0
    assert scale_bar_km(3.3) == 0.5


def test_the_map_draws_every_village_school_and_road(tmp_path):
    from sim.model.county_files import load_county

    world = load_county(ROOT / "scenarios" / "counties" / "example_county")
    drawn = county_map(world, tmp_path / "map.png", "example")
    assert (tmp_path / "map.png").stat().st_size > 10_000
    assert drawn["villages"] == len(world.node_name)
    assert sum(drawn["roads"].values()) == len(world.road_from)
    assert drawn["roads"]["county road"] == int((world.road_class == 0).sum())
    assert sum(drawn["schools"].values()) == len(world.school_name)
    levels = np.asarray(world.school_level)
    assert drawn["schools"].get("central primary", 0) == int((levels == 2).sum())
    assert drawn["scale_bar_km"] == scale_bar_km(float(np.ptp(world.node_x_km)))


def test_check_writes_the_map(tmp_path):
    from sim.cli import main

    out = tmp_path / "county.png"
    assert main(["check", str(ROOT / "scenarios" / "counties" / "example_no_closure.yaml"),
                 "--map", str(out)]) == 0
    assert out.exists()
