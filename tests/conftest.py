"""Shared fixtures: a small synthetic county so the suite stays fast on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

SMALL = {
    "name": "small",
    "seed": 11,
    "replicates": 6,
    "years": 4,
    "county": {"synthetic": {"townships": 3, "villages": 30, "terrain": "mountainous", "seed": 3,
                             "county_seat_population": 6000}},
    "policies": {
        "closures": [{"year": 1, "below": 30},
                     {"year": 1, "below": 100, "share": 0.6},
                     {"year": 2, "below": 100, "share": 0.8, "ranking": "least_added_travel"}],
    },
}


@pytest.fixture(autouse=True)
def _english_unless_asked(monkeypatch):
    """The suite reads SchoolFlow's English unless a test asks for another language: a
    machine whose locale is Chinese would otherwise print Chinese (sim/core/i18n.py)."""
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


@pytest.fixture
def small_dict() -> dict:
    import copy
    return copy.deepcopy(SMALL)


@pytest.fixture
def write_yaml(tmp_path):
    def write(data: dict, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return path
    return write


def simulate(scenario, replicate: int = 0):
    """Run one replicate and return (model, S, H, C, out) with the final state;
    out: (years + 1, indicators, 3)."""
    import numpy as np

    from sim.model import build, engine

    model = build.build_model(scenario)
    years = list(engine.trace_replicate(model, replicate))
    last = years[-1]
    return model, last.S, last.H, last.C, np.stack([y.indicators for y in years])


def write_county(folder: Path, villages: list[dict], schools: list[dict], roads: list[dict]) -> Path:
    import pandas as pd
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(villages).to_csv(folder / "villages.csv", index=False)
    pd.DataFrame(schools).to_csv(folder / "schools.csv", index=False)
    pd.DataFrame(roads).to_csv(folder / "roads.csv", index=False)
    return folder


KEYS = ["point", "replicate", "year", "indicator", "level"]  #: one row of a sweep's results


@pytest.fixture
def sweep_file(tmp_path, small_dict):
    """A small base scenario (2 years) and a writer of a 2-point grid sweep over it (5
    replicates unless given)."""
    small_dict["years"] = 2
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(small_dict))

    def write(**fields) -> Path:
        spec = {"base": "base.yaml", "replicates": 5,
                "parameters": {"policies.bus.parent_fare_share": [0.0, 0.6]}, **fields}
        path = tmp_path / "sweep.yaml"
        path.write_text(yaml.safe_dump(spec))
        return path
    return write


def read_results(out: Path):
    """A sweep folder's results, sorted by KEYS."""
    import pandas as pd

    df = pd.read_parquet(out / "results")
    return df.sort_values(KEYS).reset_index(drop=True)
