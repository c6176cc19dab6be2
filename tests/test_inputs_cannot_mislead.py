"""Inputs and results folders that cannot mislead: conflicting plan actions, thresholds after
the horizon, impossible rolls, observed data at a level its indicator lacks, sweeps resumed
over an edited county, a rerun into the same folder, an interrupted run, and command-line
paths checked before any work. Each case is one a new user met; each must end in one clear line
(exit 2, or 130 for Ctrl-C) or in a results folder that is a complete run."""

from __future__ import annotations

import copy
import shutil

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.core.errors import InputError
from sim.model import build
from sim.model import scenario as sc
from tests.conftest import ROOT, SMALL, write_county

EXAMPLE = ROOT / "scenarios" / "counties"
COUNTY = EXAMPLE / "example_county"


def _example(tmp_path, actions=None, targets=None, folder=None, **top) -> dict:
    data = {"name": "case", "extends": str(EXAMPLE / "example_no_closure.yaml"), "years": 2,
            "replicates": 2, **top}
    data["policies"] = {"actions": actions or []}
    if targets is not None:
        data["targets"] = targets
    if folder is not None:
        data["county"] = {"data": str(folder)}
    return data


def _write(tmp_path, data: dict, name: str = "case.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("actions", "field", "words"), [
    ([{"year": 1, "close": ["S12"]}, {"year": 1, "downgrade": ["S12"], "grades": [1, 2, 3]}],
     "policies.actions[1].downgrade", "already to be closed in year 1"),
    ([{"year": 1, "downgrade": ["S12"], "grades": [1, 2, 3]}, {"year": 1, "close": ["S12"]}],
     "policies.actions[1].close", "already to be downgraded in year 1"),
    ([{"year": 1, "close": ["S12"]}, {"year": 1, "expand": "S12", "boarding_beds": 50}],
     "policies.actions[1].expand", "already to be closed in year 1"),
])
def test_same_year_conflicting_actions_are_refused(tmp_path, actions, field, words):
    with pytest.raises(InputError) as err:
        build.build_model(sc.load(_write(tmp_path, _example(tmp_path, actions))))
    assert err.value.field == field and words in err.value.message


def test_two_expansions_of_one_school_in_a_year_add_up(tmp_path):
    actions = [{"year": 1, "expand": "S25", "boarding_beds": 50},
               {"year": 1, "expand": "S25", "classes_per_grade": 1}]
    build.build_model(sc.load(_write(tmp_path, _example(tmp_path, actions))))


def test_a_threshold_after_the_last_year_is_refused(tmp_path):
    targets = [{"name": "late", "indicator": "dropout_rate", "at_most": 0.01, "year": 5}]
    path = _write(tmp_path, _example(tmp_path, targets=targets, years=3))
    assert main(["check", str(path)]) == 2
    with pytest.raises(InputError) as err:
        sc.load(path)
    assert err.value.field == "targets[0].year" and "after the last simulated year" in \
        err.value.message


def _county(tmp_path, edit) -> object:
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    schools = pd.read_csv(folder / "schools.csv")
    edit(schools)
    schools.to_csv(folder / "schools.csv", index=False)
    return folder


def _refused(tmp_path, school: str, column: str, value: int):
    """(the InputError, the scenario) of the example county with one cell of schools.csv set."""
    def edit(df):
        df.loc[df.school_id == school, column] = value
    path = _write(tmp_path, _example(tmp_path, folder=_county(tmp_path, edit)))
    with pytest.raises(InputError) as err:
        build.build_model(sc.load(path))
    return err.value, path


def test_more_boarders_than_pupils_is_refused(tmp_path):
    err, path = _refused(tmp_path, "S12", "boarders", 500)
    assert err.field == "boarders" and "500 boarders but" in err.message
    assert main(["run", str(path), "--no-compare", "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_a_roll_no_school_could_hold_is_refused_and_over_seats_is_said_by_run_and_check(
        tmp_path, capsys):
    err, _ = _refused(tmp_path, "S01", "pupils_g2", 5000)
    assert err.field == "pupils_g2" and "5000 pupils in grade 2" in err.message

    def full(df):
        df.loc[df.school_id == "S34", "pupils_g1"] = 60  # 1 class: 45 seats
    folder = _county(tmp_path / "b", full)
    path = _write(tmp_path, _example(tmp_path, folder=folder), "full.yaml")
    said = "S34 grade 1: 60 pupils / 45 seats"
    assert any(said in p for p in build.build_model(sc.load(path)).problems)
    assert main(["check", str(path)]) == 0
    assert said in capsys.readouterr().out
    assert main(["run", str(path), "--no-compare", "--quiet", "--out",
                 str(tmp_path / "out")]) == 0
    shown = capsys.readouterr()
    assert "Base-year problem: more pupils than seats" in shown.out + shown.err
    assert said in shown.out + shown.err  # run prints the same base-year problem


def test_observed_data_at_a_level_its_indicator_lacks_is_refused(tmp_path):
    from sim.experiments.calibrate import _read_observed
    path = tmp_path / "observed.csv"
    pd.DataFrame([{"indicator": "young_boarders", "level": "junior", "year": 1, "value": 3,
                   "sd": 1}]).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        _read_observed(path, 5)
    assert err.value.field == "level" and "young_boarders has no level 'junior'" in \
        err.value.message


def test_the_scenario_hash_covers_the_county_files_content(tmp_path):
    """A resumed sweep or a reused compare folder must not mix counties: the hash (and the
    sweep's fingerprint) changes when a county file is edited, not only when it is renamed."""
    folder = _county(tmp_path, lambda df: None)
    path = _write(tmp_path, _example(tmp_path, folder=folder))
    before = sc.scenario_hash(sc.load(path))
    villages = pd.read_csv(folder / "villages.csv")
    villages.loc[0, "population"] += 100
    villages.to_csv(folder / "villages.csv", index=False)
    assert sc.scenario_hash(sc.load(path)) != before


def test_sweep_resume_refuses_an_edited_county(tmp_path):
    """On a county of two villages made here (the sweep itself is quick)."""
    folder = write_county(
        tmp_path / "tiny",
        [{"village_id": "C", "township": "T", "x_km": 0, "y_km": 0, "population": 3000,
          "kind": "town"}, {"village_id": "V", "township": "T", "x_km": 4, "y_km": 0,
                           "population": 600}],
        [{"school_id": "centre", "village_id": "C", "level": "nine_year", "classes_per_grade": 3},
         {"school_id": "village", "village_id": "V", "level": "village_primary",
          "classes_per_grade": 1}],
        [{"from_village": "V", "to_village": "C", "length_km": 4.0, "road_class": "village"}])
    base = _write(tmp_path, {"name": "tiny", "years": 1, "replicates": 2,
                             "county": {"data": str(folder)}}, "base.yaml")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": "base.yaml", "replicates": 2, "chunk_replicates": 2,
                                     "design": "grid",
                                     "parameters": {"policies.max_travel_min": [60, 90]}}))
    out = tmp_path / "sw"
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0
    villages = pd.read_csv(folder / "villages.csv")
    villages.loc[0, "population"] += 100
    villages.to_csv(folder / "villages.csv", index=False)
    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--quiet"]) == 2
    assert base.exists()


def _small(tmp_path, name="small.yaml", **top):
    data = copy.deepcopy(SMALL)
    data.update({"replicates": 2, "years": 2, **top})
    return _write(tmp_path, data, name)


def _plan_with_reference(tmp_path, replicates: int = 2, years: int = 2):
    """SMALL with a `compare_to` reference without closures (same replicates and years)."""
    ref = _write(tmp_path, {**copy.deepcopy(SMALL), "name": "ref", "policies": {"closures": []},
                            "replicates": replicates, "years": years}, "ref.yaml")
    return _small(tmp_path, replicates=replicates, years=years, compare_to=str(ref))


def test_a_second_run_into_the_same_folder_leaves_nothing_of_the_first(tmp_path):
    plan = _plan_with_reference(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(plan), "--out", str(out), "--quiet"]) == 0
    assert (out / "paired_difference.csv").exists() and (out / "reference").is_dir()
    assert main(["run", str(plan), "--out", str(out), "--quiet", "--no-compare",
                 "--seed", "5"]) == 0
    assert not (out / "paired_difference.csv").exists() and not (out / "reference").exists()
    assert yaml.safe_load((out / "scenario.yaml").read_text())["seed"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".partial-", ".old-"))]


def test_an_interrupted_run_leaves_the_earlier_folder_whole_and_exits_130(tmp_path, capsys,
                                                                          monkeypatch):
    from sim.experiments import run as run_module
    plan = _small(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(plan), "--out", str(out), "--quiet", "--no-compare"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real = run_module.write_run_folder

    def interrupted(run, out_dir, *args, **kwargs):
        real(run, out_dir, *args, **kwargs)  # the new run's files are written ...
        raise KeyboardInterrupt  # ... and Ctrl-C comes before the run is complete
    monkeypatch.setattr(run_module, "write_run_folder", interrupted)
    assert main(["run", str(plan), "--out", str(out), "--quiet", "--no-compare",
                 "--seed", "9"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "schoolflow: interrupted; nothing was written for the unfinished run"
    assert "Traceback" not in "\n".join(err)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial-")]


def test_out_naming_a_file_and_a_scenario_folder_are_refused_before_any_work(tmp_path, capsys):
    plan = _small(tmp_path)
    afile = tmp_path / "taken.txt"
    afile.write_text("mine")
    assert main(["run", str(plan), "--out", str(afile), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is an existing file, not a folder" in err and "simulating" not in err
    assert afile.read_text() == "mine"
    assert main(["run", str(tmp_path), "--quiet"]) == 2
    assert "is a folder, not a scenario file" in capsys.readouterr().err
    assert main(["check", str(tmp_path)]) == 2


def test_a_school_with_pupils_and_no_teachers_is_a_problem_and_unknown_is_not(tmp_path, capsys):
    def none(df):
        df["teachers"] = ""
        df.loc[df.school_id == "S12", "teachers"] = "0"
    path = _write(tmp_path, _example(tmp_path, folder=_county(tmp_path, none)))
    problems = build.build_model(sc.load(path)).problems
    assert [p for p in problems if p.startswith("no teachers at 1 school(s) with pupils: S12 (")]
    assert main(["check", str(path), "--schools"]) == 0
    out = capsys.readouterr().out
    assert "BASE-YEAR PROBLEM: no teachers at 1 school(s)" in out
    assert "not given" in out and "NaN" not in out


def test_kill_9_during_the_reference_of_a_rerun_leaves_the_first_run_whole(tmp_path):
    """SIGKILL while the rerun writes its reference: the results folder is still the first run
    (plan and reference from one run), and the unfinished one is a hidden .partial folder."""
    import os
    import signal
    import subprocess
    import sys
    import time
    plan = _plan_with_reference(tmp_path, replicates=24, years=4)
    out = tmp_path / "out"
    assert main(["run", str(plan), "--out", str(out), "--quiet"]) == 0
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(plan), "--out",
                             str(out), "--quiet", "--seed", "77"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    killed = False
    while time.time() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.glob(".partial-out-*") if (p / "metadata.json").exists()]
        if partial:  # the plan is written; the reference is being simulated
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert killed, "the rerun finished before it could be killed; make it longer"
    now = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert now == first
    assert [p for p in tmp_path.glob(".partial-out-*")]  # says it is not a run
