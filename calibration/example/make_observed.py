"""Write observed.csv for the worked example: 18 observations simulated from the hidden true
parameters in truth.yaml (see sim/experiments/synthetic_targets.py for how values and sds are made): five
county indicators in years 1, 3 and 5, and the year-5 pupils of three receiving schools.

    python calibration/example/make_observed.py
"""

from __future__ import annotations

from pathlib import Path

from sim.experiments.calibrate import load_targets
from sim.experiments.synthetic_targets import synthetic_observations
from sim.model.scenario import read_yaml
from sim.outputs.store import atomic_path

HERE = Path(__file__).resolve().parent
TARGETS = [(name, level, year)
           for name, level in [("dropout_rate", "primary"), ("dropout_rate", "junior"),
                               ("boarding_share", "all"), ("left_behind_share", "all"),
                               ("children_migrated", "all")]
           for year in (1, 3, 5)]
TARGETS += [("pupils_enrolled", "all", 5, school)
            for school in ("T04-nine-year", "T01-central", "SEAT-primary-1")]


def main() -> None:
    truth = read_yaml(HERE / "truth.yaml")
    replicates = load_targets(HERE / "targets.yaml").replicates
    observed = synthetic_observations(HERE / "county.yaml", truth, TARGETS, replicates, seed=2026)
    with atomic_path(HERE / "observed.csv") as tmp:
        observed.to_csv(tmp, index=False, float_format="%.6g")
    print(observed.to_string(index=False))


if __name__ == "__main__":
    main()
