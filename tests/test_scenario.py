"""Scenario files: validation, `extends:`, and clear errors through the CLI (exit status 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim.cli import main
from sim.core.errors import InputError
from sim.model import scenario as sc


def test_bundled_scenarios_load():
    from tests.conftest import ROOT
    plan = sc.load(ROOT / "scenarios" / "default.yaml")
    ref = sc.load(ROOT / "scenarios" / "no_closure.yaml")
    assert plan.name == "default" and ref.name == "no_closure"
    assert [r.share for r in plan.policies.closures if r.at_most == 100] == [0.6, 0.7, 0.8]
    # "100人以下" includes 100: at_most 100 is kept as below 101
    assert {r.below for r in plan.policies.closures} == {31, 101}


@pytest.mark.parametrize("rule, words", [
    ({"year": 1}, "give the size limit"),
    ({"year": 1, "at_most": 30, "below": 30}, "not both"),
])
def test_a_closure_rule_needs_one_size_limit(rule, words):
    import copy

    from tests.conftest import SMALL
    data = copy.deepcopy(SMALL)
    data["policies"]["closures"] = [rule]
    with pytest.raises(sc.InputError, match=words):
        sc.validate(data)


def test_at_most_closes_a_school_of_exactly_that_size():
    """`at_most: N` closes a school of N pupils in the base year, `below: N` does not (the
    plans' "N人以下" includes N)."""
    import copy

    import numpy as np

    from sim.model import build, engine
    from tests.conftest import SMALL
    data = copy.deepcopy(SMALL) | {"years": 1, "replicates": 1}
    data["policies"] = {**data["policies"], "closures": [], "receiving_capacity_check": False,
                        "exemptions": {"keep_teaching_points_if_travel_over_min": None}}
    year0 = next(engine.trace_replicate(build.build_model(sc.validate(data)), 0))
    totals = year0.S.enrol.sum(axis=1)
    small = np.flatnonzero((year0.S.level == 0) & (totals > 0))  # teaching points with pupils
    s = int(small[np.argmax(totals[small])])  # the largest: no other of its size or smaller left
    n = int(totals[s])
    for limit, closes in (({"at_most": n}, True), ({"below": n}, False)):
        data["policies"]["closures"] = [{"year": 1, "levels": ["teaching_point"], **limit}]
        last = list(engine.trace_replicate(build.build_model(sc.validate(data)), 0))[-1]
        assert (not last.S.open[s]) == closes, (limit, n)


def test_every_bundled_scenario_and_sweep_validates():
    from sim.experiments.sweep import load_sweep
    from tests.conftest import ROOT
    scenarios = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
        (ROOT / "scenarios" / "plans").glob("*.yaml"))
    names = {sc.load(p).name for p in scenarios}
    assert {"xunwu_2024_2026", "xunwu_2024_2026_all_levels", "jiangyuan_keep_points",
            "qujing_concentrate", "town_no_transport", "nanle_2022_balance", "no_closure"} <= names
    for p in (ROOT / "scenarios" / "plans").glob("*.yaml"):
        s = sc.load(p)
        assert s.compare_to is None or s.compare_to.endswith("plans/no_closure.yaml")
    xunwu = sc.load(ROOT / "scenarios" / "plans" / "xunwu_2024_2026.yaml")
    assert [(r.year, r.at_most, r.share, r.levels) for r in xunwu.policies.closures] == [
        (y, n, share, ["teaching_point", "village_primary"])
        for y, n, share in ((1, 30, None), (1, 100, 0.6), (2, 30, None), (2, 100, 0.7),
                            (3, 30, None), (3, 100, 0.8))]
    assert xunwu.policies.exemptions.keep_teaching_points_if_travel_over_min == 30
    sweeps = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert sweeps and all(load_sweep(p).points for p in sweeps)


def test_extends_merges_nested_fields(write_yaml, small_dict):
    write_yaml(small_dict, "parent.yaml")
    child = write_yaml({"name": "child", "extends": "parent.yaml",
                        "policies": {"bus": {"parent_fare_share": 0.6}}}, "child.yaml")
    s = sc.load(child)
    assert s.name == "child"
    assert s.policies.bus.parent_fare_share == 0.6
    assert s.policies.bus.seats == 35  # default kept
    assert len(s.policies.closures) == 3  # inherited
    assert s.county.synthetic.villages == 30


def test_hash_is_stable_and_sensitive(small_dict):
    a = sc.validate(small_dict)
    b = sc.validate(small_dict)
    assert sc.scenario_hash(a) == sc.scenario_hash(b)
    small_dict["policies"]["bus"] = {"parent_fare_share": 0.5}
    assert sc.scenario_hash(sc.validate(small_dict)) != sc.scenario_hash(a)


@pytest.mark.parametrize("patch, field, hint", [
    ({"policies": {"clossures": []}}, "policies.clossures", "unknown field"),
    ({"policies": {"class_caps": {"primary": -5}}}, "policies.class_caps.primary",
     "greater than or equal to 1"),
    ({"policies": {"closures": [{"year": 1, "below": 100, "ranking": "biggest_first"}]}},
     "policies.closures.0.ranking", "smallest_first"),
    ({"policies": {"boarding": {"beds_per_receiving_school": -1}}},
     "policies.boarding.beds_per_receiving_school", "greater than or equal to 0"),
    ({"years": "ten"}, "years", "valid integer"),
])
def test_bad_scenarios_name_file_field_and_fix(write_yaml, small_dict, patch, field, hint):
    path = write_yaml(sc._deep_merge(small_dict, patch))
    with pytest.raises(InputError) as err:
        sc.load(path)
    assert err.value.file == str(path)
    assert err.value.field == field
    assert hint in err.value.message


def test_cli_bad_scenario_exits_2_without_traceback(write_yaml, small_dict, capsys):
    small_dict["policies"]["clossures"] = []
    path = write_yaml(small_dict)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "policies.clossures" in err and "unknown field" in err
    assert "Traceback" not in err


def test_cli_subprocess_exit_status(write_yaml, small_dict):
    small_dict["policies"]["closures"] = [{"year": 1, "below": 100, "ranking": "random"}]
    path = write_yaml(small_dict)
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "policies.closures.0.ranking" in proc.stderr
    assert "least_added_travel" in proc.stderr  # what is allowed
    assert "Traceback" not in proc.stderr


def test_missing_file_and_circular_extends(tmp_path, write_yaml):
    with pytest.raises(InputError, match="file not found"):
        sc.load(tmp_path / "nope.yaml")
    write_yaml({"name": "a", "extends": "b.yaml"}, "a.yaml")
    write_yaml({"name": "b", "extends": "a.yaml"}, "b.yaml")
    with pytest.raises(InputError, match="circular"):
        sc.load(tmp_path / "a.yaml")


def test_generated_docs_are_current():
    """docs/scenario.md (scenario models) and docs/indicators.md (indicator registry)."""
    from sim.outputs.docs import PAGES
    from tests.conftest import ROOT
    for name, render in PAGES.items():
        assert (ROOT / "docs" / name).read_text(encoding="utf-8") == render(), \
            f"docs/{name} is stale: run python -m sim.outputs.docs"


def test_child_can_switch_to_county_data(write_yaml, small_dict, tmp_path):
    write_yaml(small_dict, "parent.yaml")
    child = write_yaml({"name": "mine", "extends": "parent.yaml", "county": {"data": "county"}},
                       "child.yaml")
    s = sc.load(child)
    assert s.county.synthetic is None and s.county.data == str(tmp_path / "county")
    tweak = write_yaml({"name": "t", "extends": "parent.yaml",
                        "county": {"synthetic": {"seed": 99}}}, "tweak.yaml")
    assert sc.load(tweak).county.synthetic.villages == 30  # same source: fields merge
    assert sc.load(tweak).county.synthetic.seed == 99


def test_read_yaml_gives_fresh_copies_and_sees_edits(tmp_path):
    """YAML is parsed once per file content: callers may change what they get without changing
    the next read, and an edited file is read anew."""
    path = tmp_path / "s.yaml"
    path.write_text("name: a\nbehaviour: {dropout: {base_junior: 0.01}}\n")
    first = sc.read_yaml(path)
    first["behaviour"]["dropout"]["base_junior"] = 0.5
    assert sc.read_yaml(path)["behaviour"]["dropout"]["base_junior"] == 0.01
    path.write_text("name: b\n")
    assert sc.read_yaml(path) == {"name": "b"}


def test_the_cases_new_users_found_are_exit_2_naming_file_and_field(tmp_path, capsys):
    """Issue 18's list: each is exit 2 with the file, the field and the fix, not a traceback."""
    import shutil

    import yaml

    from tests.conftest import ROOT, SMALL

    def run(args: list[str]) -> str:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    path = tmp_path / "s.yaml"
    for bad in ("many", 0):  # an override must not hide an invalid file value
        path.write_text(yaml.safe_dump({**SMALL, "replicates": bad}))
        assert "s.yaml: replicates:" in run(["run", str(path), "--replicates", "2"])
    path.write_text(yaml.safe_dump({**SMALL, "years": 3, "policies": {
        "closures": [{"year": 1, "below": 30}, {"year": 7, "below": 30}]}}))
    err = run(["run", str(path)])
    assert "s.yaml: policies.closures[1].year: year 7 is after the last simulated year (3)" in err
    path.write_text("name: x\nextends: does_not_exist.yaml\n")
    err = run(["run", str(path)])
    assert "s.yaml: extends: 'does_not_exist.yaml' not found" in err
    county = tmp_path / "county"
    shutil.copytree(ROOT / "scenarios" / "counties" / "example_county", county)
    schools = (county / "schools.csv").read_text(encoding="utf-8").splitlines()
    (county / "schools.csv").write_text(schools[0] + "\n", encoding="utf-8")
    path.write_text(yaml.safe_dump({"name": "c", "county": {"data": str(county)}}))
    for command in ("check", "run"):
        assert "schools.csv: (rows): no rows" in run([command, str(path)])
    (county / "schools.csv").write_text("\n".join(schools) + "\n", encoding="utf-8")
    villages = (county / "villages.csv").read_text(encoding="utf-8").splitlines()
    cells = villages[3].split(",")
    cells[villages[0].split(",").index("x_km")] = ""
    villages[3] = ",".join(cells)
    (county / "villages.csv").write_text("\n".join(villages) + "\n", encoding="utf-8")
    err = run(["check", str(path)])
    assert "villages.csv: x_km: row 4, column x_km: expected a number, got an empty cell" in err


def test_numbers_beyond_what_the_core_or_a_county_holds_are_refused(tmp_path):
    """Found by the fuzz tests: whole numbers beyond 32 bits overflowed the core's arrays, and
    a county of a billion people hung the build. Both are now exit-2 errors naming the field."""
    import shutil

    from sim.model.county_files import load_county
    from tests.conftest import ROOT

    plan = ROOT / "scenarios" / "counties" / "example_plan.yaml"
    with pytest.raises(InputError, match=r"policies.closures.0.*below = 1000000000000 is out "
                                         r"of range"):
        sc.load(plan, {"policies.closures[0].below": 10**12})
    assert sc.load(plan, {"seed": 2**40}).seed == 2**40  # seeds may be wide
    county = tmp_path / "county"
    shutil.copytree(ROOT / "scenarios" / "counties" / "example_county", county)
    rows = (county / "villages.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index("population")] = "1e9"
    rows[2] = ",".join(cells)
    (county / "villages.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"population: row 3, column population: '1e9' is "
                                         r"larger than any county has \(at most 5,000,000\)"):
        load_county(county)
