"""The worked calibration example (calibration/example/) is true of today's model: its
observed.csv is what the model makes from truth.yaml, regenerated here in full (64 replicates of
a 60-village county over 5 years), and observed.made.json records the files that made it."""

from __future__ import annotations

import hashlib
import importlib.util
import json

from tests.conftest import ROOT

EXAMPLE = ROOT / "calibration" / "example"


def _make_observed():
    spec = importlib.util.spec_from_file_location("make_observed", EXAMPLE / "make_observed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_observed_is_what_todays_model_makes_from_the_truth():
    make = _make_observed()
    shipped = (EXAMPLE / "observed.csv").read_text(encoding="utf-8")
    assert make.as_csv(make.observations()) == shipped, (
        "calibration/example/observed.csv is stale: today's model makes other observations from "
        "truth.yaml; run python calibration/example/make_observed.py")


def test_the_record_names_the_files_that_made_it():
    made = json.loads((EXAMPLE / "observed.made.json").read_text(encoding="utf-8"))
    assert made["made_by"] == "calibration/example/make_observed.py"
    for name, digest in made["sha256"].items():
        assert hashlib.sha256((EXAMPLE / name).read_bytes()).hexdigest() == digest, (
            f"calibration/example/{name} changed after observed.csv was made: rerun "
            "python calibration/example/make_observed.py")
    assert set(made["sha256"]) == {"truth.yaml", "targets.yaml", "county.yaml"}
