"""Calibration targets: the file format is checked with clear errors, and the distance between
simulated and observed indicators is zero at the truth and grows away from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.core.errors import InputError
from sim.experiments.calibrate import load_targets
from sim.model import build, engine
from sim.model import scenario as sc
from tests.conftest import SMALL


def write_targets(tmp_path, observed: pd.DataFrame, **spec) -> object:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**SMALL, "years": 2}))
    observed.to_csv(tmp_path / "observed.csv", index=False)
    data = {"scenario": "base.yaml", "observed": "observed.csv", "replicates": 4,
            "parameters": {"behaviour.dropout.base_junior": {"low": 0.004, "high": 0.05}}}
    data.update(spec)
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


ROWS = [("dropout_rate", "junior", 2), ("boarding_share", "all", 2), ("pupils_enrolled", "all", 1)]


def test_distance_is_zero_at_the_truth_and_grows_away(tmp_path):
    truth = sc.validate({**SMALL, "years": 2})
    values = engine.run_model(build.build_model(truth), 0, 4).values
    from sim.experiments.calibrate import INDICATOR_NAMES, LEVELS
    obs = pd.DataFrame([{"indicator": i, "level": lv, "year": y,
                         "value": values[:, y, INDICATOR_NAMES.index(i), LEVELS[lv]].mean(),
                         "sd": 0.1 * abs(values[:, y, INDICATOR_NAMES.index(i), LEVELS[lv]].mean())}
                        for i, lv, y in ROWS])
    targets = load_targets(write_targets(tmp_path, obs))
    assert targets.distance(targets.simulated(values)) == pytest.approx(0.0, abs=1e-12)
    far = sc.validate({**SMALL, "years": 2, "behaviour": {"dropout": {"base_junior": 0.05}}})
    far_values = engine.run_model(build.build_model(far), 0, 4).values
    assert targets.distance(targets.simulated(far_values)) > 3.0


@pytest.mark.parametrize("change, field", [
    ({"parameters": {"behaviour.dropout.nope": {"low": 0, "high": 1}}}, "parameters.behaviour"),
    ({"parameters": {"behaviour.dropout.base_junior": {"low": 0.2, "high": 0.1}}}, "parameters"),
    ({"parameters": {"behaviour.dropout.base_junior": {"low": 0.5, "high": 1.5}}}, "parameters"),
    ({"replicates": 0}, "replicates"),
    ({"extra": 1}, "extra"),
])
def test_bad_targets_files_are_refused(tmp_path, change, field):
    obs = pd.DataFrame([{"indicator": "dropout_rate", "level": "all", "year": 1, "value": 0.01,
                         "sd": 0.002}])
    with pytest.raises(InputError) as err:
        load_targets(write_targets(tmp_path, obs, **change))
    assert err.value.field.startswith(field)


@pytest.mark.parametrize("row, field", [
    ({"indicator": "dropouts_rate", "level": "all", "year": 1, "value": 0.01, "sd": 0.1}, "indicator"),
    ({"indicator": "dropout_rate", "level": "town", "year": 1, "value": 0.01, "sd": 0.1}, "level"),
    ({"indicator": "dropout_rate", "level": "all", "year": 9, "value": 0.01, "sd": 0.1}, "year"),
    ({"indicator": "dropout_rate", "level": "all", "year": 1, "value": 0.01, "sd": 0.0}, "sd"),
])
def test_bad_observations_name_the_column(tmp_path, row, field):
    with pytest.raises(InputError) as err:
        load_targets(write_targets(tmp_path, pd.DataFrame([row])))
    assert err.value.field == field and "observed.csv" in err.value.file
    assert np.isfinite(row["value"])


def test_a_school_row_is_that_schools_pupils(tmp_path):
    """Per-school enrolment targets: observed at the truth they are met exactly, and a school
    that gains pupils under a changed parameter moves the distance."""
    truth = sc.validate({**SMALL, "years": 2})
    model = build.build_model(truth)
    run = engine.run_model(model, 0, 4)
    mean = run.school_pupils.mean(axis=0)  # (year, school, level)
    biggest = int(np.argmax(mean[2, :, 2]))
    name = model.world.school_name[biggest]
    obs = pd.DataFrame([
        {"indicator": "pupils_enrolled", "level": "all", "year": 2, "school": name,
         "value": mean[2, biggest, 2], "sd": 5.0},
        {"indicator": "pupils_enrolled", "level": "primary", "year": 1, "school": name,
         "value": mean[1, biggest, 0], "sd": 5.0},
        {"indicator": "dropout_rate", "level": "all", "year": 2, "school": None,
         "value": np.nanmean(run.values[:, 2, 2, 2]), "sd": 0.002}])
    targets = load_targets(write_targets(tmp_path, obs))
    assert targets.index[0][3] == biggest and targets.index[2][3] == -1
    assert targets.distance(targets.simulated(run.values, run.school_pupils)) < 1e-9
    moved = sc.validate({**SMALL, "years": 2, "behaviour": {"choice": {"quality_weight": 6.0}}})
    moved_run = engine.run_model(build.build_model(moved), 0, 4)
    assert targets.distance(targets.simulated(moved_run.values, moved_run.school_pupils)) > 1.0


@pytest.mark.parametrize("row, message", [
    ({"indicator": "pupils_enrolled", "school": "NO-SUCH-SCHOOL"}, "no school 'NO-SUCH-SCHOOL'"),
    ({"indicator": "dropout_rate", "school": "V0000-primary"}, "must be pupils_enrolled"),
])
def test_bad_school_rows_are_refused(tmp_path, row, message):
    obs = pd.DataFrame([{"level": "all", "year": 1, "value": 100.0, "sd": 5.0, **row}])
    with pytest.raises(InputError) as err:
        load_targets(write_targets(tmp_path, obs))
    assert err.value.field == "school" and message in err.value.message


def _cohort_files(tmp_path, **entry):
    """A small county with 2000s-style closures (plan) and without (reference), 7 years so
    that children aged 11 at the closure (grade 5 or 6: the parameter is the effect of a move
    from grade 4) reach 17, and a targets file with cohort entries."""
    from tests.conftest import SMALL
    plan = {**SMALL, "name": "plan", "years": 7, "replicates": 2,
            "policies": {"closures": [{"year": 1, "below": 100000}],
                         "exemptions": {"keep_teaching_points_if_travel_over_min": None},
                         "bus": {"serve_closed_villages": False}}}
    ref = {**plan, "name": "reference", "policies": {"closures": []}}
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    (tmp_path / "ref.yaml").write_text(yaml.safe_dump(ref))
    cohort = [{"statistic": "girls_years_at_17", "scenario": "plan.yaml", "reference": "ref.yaml",
               "value": -0.6, "sd": 0.3},
              {"statistic": "senior_entry_relative", "scenario": "plan.yaml",
               "reference": "ref.yaml", "value": -0.18, "sd": 0.08},
              {"statistic": "nine_year_completion", "scenario": "ref.yaml", "value": 0.957,
               "sd": 0.02}]
    if entry:
        cohort = [entry]
    spec = {"scenario": "ref.yaml", "replicates": 2, "cohort": cohort,
            "parameters": {"behaviour.achievement.move_from_grade_4": {"low": -1.0, "high": 0.0}}}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_cohort_targets_are_the_exposure_statistics_of_their_scenarios(tmp_path):
    """A `cohort:` target is simulated as sim.experiments.exposure computes it: the paired
    statistic of plan against reference (the same children) and a baseline of one scenario,
    with the calibrated parameter set in every scenario."""
    from sim.experiments import exposure
    from sim.experiments.calibrate_run import simulator
    targets = load_targets(_cohort_files(tmp_path))
    assert list(targets.table["indicator"]) == ["girls_years_at_17", "senior_entry_relative",
                                                "nine_year_completion"]
    assert list(targets.table["value"]) == [-0.6, -0.18, 0.957]
    y = simulator(targets, threads=1)({"behaviour.achievement.move_from_grade_4": -0.9})["y"]
    over = {"behaviour.achievement.move_from_grade_4": -0.9, "replicates": 2}
    direct = exposure.statistics(sc.load(tmp_path / "plan.yaml", over),
                                 sc.load(tmp_path / "ref.yaml", over), 2)
    expected = [np.nanmean(direct[k]) for k in targets.table["indicator"]]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert y[0] < 0 and 0.5 < y[2] < 1  # exposed girls lose schooling; completion is a share
    assert np.isfinite(targets.distance(y))
    # a bigger loss at a move from grade 4 lowers exposed pupils' senior-high entry more
    y0 = simulator(targets, threads=1)({"behaviour.achievement.move_from_grade_4": 0.0})["y"]
    assert y[1] < y0[1]


def test_cohort_target_errors_name_the_file_and_field(tmp_path):
    bad = [({"statistic": "girls_years_at_17", "scenario": "plan.yaml", "value": -0.6, "sd": 0.3},
            r"cohort.0.*add `reference:`"),
           ({"statistic": "nine_year_completion", "scenario": "plan.yaml", "reference": "ref.yaml",
             "value": 0.9, "sd": 0.02}, r"cohort.0.*remove `reference:`"),
           ({"statistic": "happiness", "scenario": "plan.yaml", "value": 1, "sd": 1},
            r"cohort.0.*not one of girls_years_at_17"),
           ({"statistic": "nine_year_completion", "scenario": "nowhere.yaml", "value": 0.9,
             "sd": 0.02}, r"cohort\[0\].scenario: no file"),
           ({"statistic": "nine_year_completion", "scenario": "ref.yaml", "value": 0.9, "sd": 0},
            r"cohort.0.sd")]
    for entry, message in bad:
        with pytest.raises(InputError, match=message):
            load_targets(_cohort_files(tmp_path, **entry))
