"""Write observed.csv for the worked example: 18 observations simulated from the hidden true
parameters in truth.yaml (see sim/experiments/synthetic_targets.py for how values and sds are made): five
county indicators in years 1, 3 and 5, and the year-5 pupils of three receiving schools.
Beside it, observed.made.json records what made it (this script, the sha256 of truth.yaml,
targets.yaml and county.yaml, the replicates and seed, the SchoolFlow version and the date).

    python calibration/example/make_observed.py           # rewrite observed.csv
    python calibration/example/make_observed.py --check   # exit 1 if today's model makes
                                                          # other numbers (stale example)

tests/test_calibration_example.py regenerates the observations and fails when they differ from
the shipped file: a model change that moves them must regenerate the example.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from sim.experiments.calibrate import load_targets
from sim.experiments.synthetic_targets import synthetic_observations
from sim.model.scenario import read_yaml
from sim.outputs.store import atomic_path

HERE = Path(__file__).resolve().parent
OBSERVED = HERE / "observed.csv"
MADE = HERE / "observed.made.json"
SEED = 2026  #: seed of the reporting errors
TARGETS = [(name, level, year)
           for name, level in [("dropout_rate", "primary"), ("dropout_rate", "junior"),
                               ("boarding_share", "all"), ("left_behind_share", "all"),
                               ("children_migrated", "all")]
           for year in (1, 3, 5)]
TARGETS += [("pupils_enrolled", "all", 5, school)
            for school in ("T04-nine-year", "T01-central", "SEAT-primary-1")]


def observations() -> pd.DataFrame:
    """The observations today's model makes from truth.yaml."""
    truth = read_yaml(HERE / "truth.yaml")
    replicates = load_targets(HERE / "targets.yaml").replicates
    return synthetic_observations(HERE / "county.yaml", truth, TARGETS, replicates, seed=SEED)


def as_csv(observed: pd.DataFrame) -> str:
    """The CSV text of the observations as shipped (10 significant digits)."""
    buffer = io.StringIO()
    observed.to_csv(buffer, index=False, float_format="%.10g")
    return buffer.getvalue()


def _sha256(name: str) -> str:
    return hashlib.sha256((HERE / name).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if observed.csv is not what today's model makes")
    args = ap.parse_args(argv)
    text = as_csv(observations())
    if args.check:
        if OBSERVED.read_text(encoding="utf-8") != text:
            print(f"{OBSERVED} is stale: today's model makes other observations from truth.yaml; "
                  "run python calibration/example/make_observed.py")
            return 1
        return 0
    with atomic_path(OBSERVED) as tmp:
        tmp.write_text(text, encoding="utf-8")
    made = {"made_by": "calibration/example/make_observed.py",
            "schoolflow": version("schoolflow"), "date": datetime.date.today().isoformat(),
            "truth_replicates": 64, "first_replicate": 1000, "reporting_error_seed": SEED,
            "sha256": {name: _sha256(name) for name in ("truth.yaml", "targets.yaml",
                                                        "county.yaml")}}
    with atomic_path(MADE) as tmp:
        tmp.write_text(json.dumps(made, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
