"""Fuzzing the scenario loader and the county loader with hypothesis: whatever a user writes, the
answer is a scenario, a county and a first simulated year, or an InputError that names the file,
the field and what to do (the CLI prints it and exits with status 2), never a traceback.

Examples are derandomized (the same on every run) and their numbers are set here: SCENARIO_RUNS
and COUNTY_RUNS, or SCHOOLFLOW_FUZZ_EXAMPLES for a longer search
(`SCHOOLFLOW_FUZZ_EXAMPLES=3000 pytest tests/test_fuzz_inputs.py`).
"""

from __future__ import annotations

import copy
import csv
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.errors import InputError
from sim.model import build, engine
from sim.model import scenario as sc
from tests.conftest import ROOT, SMALL

EXAMPLES = int(os.environ.get("SCHOOLFLOW_FUZZ_EXAMPLES", "0"))
SCENARIO_RUNS = EXAMPLES or 100
COUNTY_RUNS = EXAMPLES or 30
PLAN_RUNS = EXAMPLES or 30  #: named actions and targets on the example county
FILE_RUNS = EXAMPLES or 20  #: sweep files, calibration targets and observed data
ROLL_RUNS = EXAMPLES or 10  #: rolls in CSV and workbook counties (each builds the county)
COUNTY = ROOT / "scenarios" / "counties" / "example_county"


def fuzz(examples: int) -> settings:
    """Derandomized settings: the same examples on every run, no deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


SEEN: dict[str, dict[str, int]] = {"scenario": {}, "county": {}, "plan": {}, "rolls": {},
                                   "workbook": {}, "sweep": {}, "calibration": {}}


def record(kind: str, outcome: str) -> None:
    SEEN[kind][outcome] = SEEN[kind].get(outcome, 0) + 1


def assert_names_file_field_fix(err: InputError, files: list[Path]) -> None:
    assert err.file and err.field and len(err.message) > 10, err
    assert any(Path(err.file).name in (f.name, f.parent.name) or str(f) in err.file
               for f in files), err


# --- the scenario loader --------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["", "many", "nan", "inf", "-1", "0", "1e308", "07:50", "25:99", "logit",
                     "catchment", "village_primary", "../base.yaml", "no_such.yaml", "S01"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(node, prefix=()):
    """Every (path to a value) in nested dicts and lists."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutate(doc: dict, data) -> dict:
    """Replace, delete or add one value somewhere in a valid scenario."""
    doc = copy.deepcopy(doc)
    paths = [p for p in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["perturb", "perturb", "replace", "delete", "add"]),
                       label="action")
    old = parent[path[-1]]
    if action == "perturb" and isinstance(old, bool):
        parent[path[-1]] = not old
    elif action == "perturb" and isinstance(old, int | float):  # same type, any size or sign
        parent[path[-1]] = data.draw(st.one_of(
            st.integers(-5, 5), st.integers(-10**9, 10**9),
            st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0, 0.0, 1, 1e-9, 1e12])),
            label="number")
    elif action == "perturb" and isinstance(old, list) and old:
        parent[path[-1]] = data.draw(st.lists(st.sampled_from(old), max_size=len(old) + 2),
                                     label="list")
    elif action == "perturb":
        parent[path[-1]] = data.draw(VALUES, label="value")
    elif action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=10), label="new key")] = data.draw(VALUES)
    else:
        parent[path[-1]] = data.draw(VALUES, label="value")
    return doc


BASES = {
    "small": {**SMALL, "years": 2, "replicates": 1},
    "plan": sc.load_raw(ROOT / "scenarios" / "plans" / "xunwu_2024_2026.yaml"),
    "county_plan": sc.load_raw(ROOT / "scenarios" / "counties" / "example_plan.yaml"),
}


COUNTIES = [sc.load(ROOT / "scenarios" / "counties" / "example_plan.yaml").county,
            sc.validate(copy.deepcopy(BASES["small"])).county]


def _load_checked(text: str, folder: Path) -> str:
    """Load the scenario; where it loads with one of the bases' counties (a mutation elsewhere),
    build it and simulate its base year and first year too."""
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        scenario = sc.load(path)
        if scenario.county not in COUNTIES:
            return "loaded"
        model = build.build_model(sc.load(path, {"replicates": 1}))
        for state in engine.trace_replicate(model, 0):
            if state.year >= 2:
                break
        return "loaded and ran"
    except InputError as err:
        assert_names_file_field_fix(err, [path])
        return f"InputError {err.field.split('.')[0].split('[')[0]}"


@fuzz(SCENARIO_RUNS)
@given(data=st.data())
def test_scenario_loader_never_raises_anything_but_input_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "structure", "text"]))
        if kind == "text":
            text = data.draw(st.text(max_size=200), label="yaml text")
        elif kind == "structure":
            text = yaml.safe_dump(data.draw(VALUES, label="document"), allow_unicode=True)
        else:
            base = BASES[data.draw(st.sampled_from(sorted(BASES)), label="base")]
            doc = base
            for _ in range(data.draw(st.integers(1, 3), label="mutations")):
                doc = _mutate(doc, data)
            text = yaml.safe_dump(doc, allow_unicode=True)
        record("scenario", _load_checked(text, folder))


def test_command_line_gives_exit_2_for_fuzzed_scenarios(tmp_path, capsys):
    """The same errors through the command line: exit 2 and one line naming the file."""
    from sim.cli import main
    for text in ("years: [1", "- a\n- b", "name: x\nextends: 7\n",
                 yaml.safe_dump({**SMALL, "replicates": "many"}),
                 yaml.safe_dump({**SMALL, "policies": {"closures": [{"year": 9, "below": 30}]},
                                 "years": 2})):
        path = tmp_path / "s.yaml"
        path.write_text(text)
        assert main(["check", str(path)]) == 2
        err = capsys.readouterr().err
        assert "s.yaml" in err and "Traceback" not in err


# --- the county loader ----------------------------------------------------------------------

CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "-1", "0", "1e308", "1e9", "abc", "3.5",
                     "1,000", "V01", "V99", "S01", "SEAT", "village", "seat", "town",
                     "nine_year", "junior", "teaching_point", "village_primary", "trunk", "０"]),
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(repr))
TABLES = ("villages", "schools", "roads", "births")


def _read(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((COUNTY / f"{name}.csv").read_text(encoding="utf-8"))))


ORIGINAL = {name: _read(name) for name in TABLES}


def _write(folder: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    (folder / f"{name}.csv").write_bytes(buf.getvalue().encode(encoding, errors="replace"))


def _fuzz_county(folder: Path, data) -> None:
    tables = copy.deepcopy(ORIGINAL)
    encodings = {}
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        name = data.draw(st.sampled_from(TABLES), label="table")
        rows = tables[name]
        if encodings.get(name) == "raw" or not rows or not rows[0]:
            continue  # already replaced by bytes or emptied: nothing left to edit
        edit = data.draw(st.sampled_from(["cell"] * 6 + ["drop column", "no rows", "empty file",
                                          "duplicate rows", "huge", "bytes", "encoding",
                                          "short row"]), label="edit")
        if edit == "cell":
            r = data.draw(st.integers(0, len(rows) - 1), label="row")
            if rows[r]:
                c = data.draw(st.integers(0, len(rows[r]) - 1), label="column")
                rows[r][c] = data.draw(CELLS, label="cell")
        elif edit == "drop column":
            c = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
            tables[name] = [row[:c] + row[c + 1:] for row in rows]
        elif edit == "no rows":
            tables[name] = rows[:1]
        elif edit == "empty file":
            tables[name] = []
        elif edit == "duplicate rows":
            tables[name] = rows + rows[1:]
        elif edit == "huge":  # 100,000 rows of the same line
            tables[name] = rows + [rows[-1]] * 100_000
        elif edit == "short row" and len(rows) > 1 and rows[-1]:
            rows[-1] = rows[-1][: data.draw(st.integers(0, len(rows[-1]) - 1))]
        elif edit == "encoding":
            encodings[name] = data.draw(st.sampled_from(["utf-8-sig", "gb18030", "utf-16",
                                                         "latin-1", "big5"]), label="encoding")
        elif edit == "bytes":
            encodings[name] = "raw"
            tables[name] = data.draw(st.binary(max_size=300), label="bytes")
    for name in TABLES:
        if encodings.get(name) == "raw":
            (folder / f"{name}.csv").write_bytes(tables[name])
        else:
            _write(folder, name, tables[name], encodings.get(name, "utf-8"))


@fuzz(COUNTY_RUNS)
@given(data=st.data())
def test_county_loader_never_raises_anything_but_input_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "county"
        folder.mkdir()
        _fuzz_county(folder, data)
        scen = Path(tmp) / "scenario.yaml"
        scen.write_text(yaml.safe_dump({"name": "fuzz", "replicates": 1, "years": 1,
                                        "county": {"data": str(folder)}}))
        try:
            model = build.build_model(sc.load(scen))
            next(iter(engine.trace_replicate(model, 0)))  # the base year runs
            outcome = "loaded and ran"
        except InputError as err:
            assert_names_file_field_fix(err, [scen, folder, *folder.glob("*.csv")])
            outcome = f"InputError {Path(err.file).name}: {err.field.split(':')[0][:24]}"
        record("county", outcome)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    for kind, seen in SEEN.items():
        if seen:
            total = sum(seen.values())
            top = ", ".join(f"{k} ({v})" for k, v in sorted(seen.items(), key=lambda kv: -kv[1]))
            print(f"\n{kind} fuzz: {total} examples, no traceback; outcomes: {top}")


def test_the_fuzzed_county_is_the_example_county_when_nothing_is_edited(tmp_path):
    """The fuzz writes the files as the loader reads them: unedited, they load as the bundled
    county (so the edits, not the writing, make the errors)."""
    from sim.model.county_files import load_county
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    for name in TABLES:
        _write(folder, name, ORIGINAL[name])
    a, b = load_county(folder), load_county(COUNTY)
    assert a.school_name == b.school_name and (a.node_x_km == b.node_x_km).all()


# --- named actions and targets --------------------------------------------------------------

SCHOOL_IDS = [f"S{i:02d}" for i in range(1, 38)] + ["S38", "S99", "", "T1"]
YEARS = st.sampled_from([1, 1, 2, 2, 3, 0, 4])  #: mostly within the run, sometimes not
ACTIONS = st.one_of(
    st.fixed_dictionaries({"year": YEARS,
                           "close": st.lists(st.sampled_from(SCHOOL_IDS), max_size=3)},
                          optional={"receiver": st.sampled_from(SCHOOL_IDS)}),
    st.fixed_dictionaries({"year": YEARS, "expand": st.sampled_from(SCHOOL_IDS)},
                          optional={"classes_per_grade": st.integers(-2, 3),
                                    "boarding_beds": st.integers(-50, 500),
                                    "canteen_places": st.integers(-50, 500)}),
    st.fixed_dictionaries({"year": YEARS,
                           "downgrade": st.lists(st.sampled_from(SCHOOL_IDS), max_size=2)},
                          optional={"grades": st.lists(st.integers(0, 8), max_size=4)}),
    st.fixed_dictionaries({"year": YEARS, "open": st.fixed_dictionaries({
        "school_id": st.sampled_from(["S38", "S40", "S01"]),
        "village_id": st.sampled_from(["SEAT", "V01", "V99"]),
        "level": st.sampled_from(["central_primary", "junior", "nine_year", "castle"])},
        optional={"classes_per_grade": st.integers(-1, 4)})}),
)
TARGETS = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=8),
     "indicator": st.sampled_from(["dropout_rate", "young_boarders", "schools_over_2000",
                                   "children_out_of_school", "junior_retention_3yr", "nope"]),
     "level": st.sampled_from(["all", "primary", "junior", "cohort"])},
    optional={"at_most": st.floats(-1, 10, allow_nan=False), "at_least": st.floats(0, 1),
              "year": st.integers(-1, 6), "difference": st.booleans()})


@fuzz(PLAN_RUNS)
@given(actions=st.lists(ACTIONS, max_size=5), targets=st.lists(TARGETS, max_size=2),
       years=st.integers(1, 3))
def test_plans_and_targets_never_raise_anything_but_input_error(actions, targets, years):
    """Named actions (close, expand, downgrade, open) in any combination, including the same
    school in one year, unknown ids and years past the horizon, with thresholds of any
    indicator, level and year: a plan that runs its first years, or an InputError."""
    data = {"name": "plan_fuzz", "extends": str(ROOT / "scenarios" / "counties" /
                                                 "example_no_closure.yaml"),
            "years": years, "replicates": 1,
            "policies": {"actions": actions}, "targets": targets}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        try:
            model = build.build_model(sc.load(path))
            for state in engine.trace_replicate(model, 0):
                if state.year >= 1:
                    break
            record("plan", "loaded and ran")
        except InputError as err:
            assert_names_file_field_fix(err, [path])
            record("plan", f"InputError {err.field.split('.')[0].split('[')[0]}")


# --- rolls, and the county as a workbook ----------------------------------------------------

ROLL_COLUMNS = ["boarders", "classes_per_grade", "boarding_beds", "canteen_places", "teachers",
                "pupils"] + [f"pupils_g{g}" for g in range(1, 10)]


def _fuzz_rolls(data) -> list[list[str]]:
    """The example county's schools with some roll, bed or class numbers replaced."""
    rows = copy.deepcopy(ORIGINAL["schools"])
    head = rows[0]
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        col = data.draw(st.sampled_from([c for c in ROLL_COLUMNS if c in head]), label="col")
        r = data.draw(st.integers(1, len(rows) - 1), label="row")
        rows[r][head.index(col)] = data.draw(st.one_of(
            st.integers(0, 200).map(str), st.integers(0, 10**6).map(str),
            st.sampled_from(["", "-1", "0", "45.5", "5000"])), label="value")
    return rows


@fuzz(ROLL_RUNS)
@given(data=st.data())
def test_rolls_and_workbooks_never_raise_anything_but_input_error(data):
    """Rolls, boarders, beds and classes of any size (the impossible ones refused by name), in
    the CSV folder or the same tables in an .xlsx workbook."""
    import pandas as pd
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "county"
        folder.mkdir()
        tables = {name: copy.deepcopy(ORIGINAL[name]) for name in TABLES}
        tables["schools"] = _fuzz_rolls(data)
        as_workbook = data.draw(st.booleans(), label="workbook")
        if as_workbook:
            source = Path(tmp) / "county.xlsx"
            with pd.ExcelWriter(source, engine="openpyxl") as book:
                for name, rows in tables.items():
                    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(book, sheet_name=name,
                                                                     index=False)
        else:
            for name, rows in tables.items():
                _write(folder, name, rows)
            source = folder
        scen = Path(tmp) / "scenario.yaml"
        scen.write_text(yaml.safe_dump({"name": "rolls", "replicates": 1, "years": 1,
                                        "county": {"data": str(source)}}))
        kind = "workbook" if as_workbook else "rolls"
        try:
            model = build.build_model(sc.load(scen))
            next(iter(engine.trace_replicate(model, 0)))
            record(kind, "loaded and ran")
        except InputError as err:
            assert_names_file_field_fix(err, [scen, source, *folder.glob("*.csv")])
            record(kind, f"InputError {err.field.split(':')[0][:24]}")


# --- sweep files and calibration files ------------------------------------------------------

PATHS = st.sampled_from(["policies.max_travel_min", "policies.class_caps.primary",
                         "behaviour.dropout.base_primary", "behaviour.dropout.base_primary",
                         "policies.max_travel_min", "policies.closures[0].share",
                         "policies.closures[5].share", "policies.nope", "years", "name",
                         "behaviour.choice.mode", "county.synthetic.villages", ""])
PARAM_VALUES = st.lists(st.one_of(st.integers(-5, 200), st.floats(-1, 2, allow_nan=False),
                                  st.sampled_from(["logit", "x", None])), max_size=3)


@fuzz(FILE_RUNS)
@given(params=st.dictionaries(PATHS, PARAM_VALUES, min_size=1, max_size=2),
       design=st.sampled_from(["grid", "grid", "lhs", "sobol", "random"]),
       replicates=st.sampled_from([1, 2, 2, 3, -1]),
       base=st.sampled_from(["base.yaml", "base.yaml", "base.yaml", "missing.yaml", ""]))
def test_sweep_files_never_raise_anything_but_input_error(params, design, replicates, base):
    from sim.experiments.sweep import load_sweep
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "base.yaml").write_text(yaml.safe_dump({**SMALL, "years": 2, "replicates": 1}))
        path = folder / "sweep.yaml"
        path.write_text(yaml.safe_dump({"base": base, "replicates": replicates,
                                        "design": design, "parameters": params}))
        try:
            sweep = load_sweep(path)
            sweep.fingerprint()
            record("sweep", "loaded")
        except InputError as err:
            assert_names_file_field_fix(err, [path, folder / "base.yaml"])
            record("sweep", f"InputError {err.field.split('.')[0][:24]}")


OBSERVED = st.lists(st.fixed_dictionaries({
    "indicator": st.sampled_from(["dropout_rate", "young_boarders", "pupils_enrolled", "nope"]),
    "level": st.sampled_from(["all", "primary", "junior", "cohort", ""]),
    "year": st.one_of(st.integers(-1, 4), st.just("one")),
    "value": st.one_of(st.floats(allow_nan=True), st.integers(0, 10**4)),
    "sd": st.one_of(st.floats(-1, 5), st.just(float("nan")), st.just(0))},
    optional={"school": st.sampled_from(["", "S01", "S99"])}), max_size=4)


@fuzz(FILE_RUNS)
@given(observed=OBSERVED, params=st.dictionaries(PATHS, st.one_of(
    st.floats(0, 0.05).map(lambda x: {"low": x, "high": x + 0.05}),  # a valid prior
    st.fixed_dictionaries({"low": st.floats(-1, 100, allow_nan=False),
                           "high": st.floats(-1, 100, allow_nan=False)})), min_size=1,
    max_size=2), population=st.sampled_from([10, 20, 20, -1]))
def test_calibration_files_never_raise_anything_but_input_error(observed, params, population):
    """A targets file and its observed CSV (unknown indicators, levels an indicator lacks, years
    outside the run, bad sd, unknown schools, parameters that are not numeric fields)."""
    import pandas as pd

    from sim.experiments.calibrate import load_targets
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(COUNTY, folder / "county")
        (folder / "county.yaml").write_text(yaml.safe_dump({
            "name": "cal", "years": 2, "replicates": 1, "county": {"data": "county"}}))
        pd.DataFrame(observed, columns=["indicator", "level", "year", "value", "sd"]
                     + (["school"] if any("school" in o for o in observed) else [])
                     ).to_csv(folder / "observed.csv", index=False)
        path = folder / "targets.yaml"
        path.write_text(yaml.safe_dump({"scenario": "county.yaml", "observed": "observed.csv",
                                        "population": population, "parameters": params}))
        try:
            load_targets(path)
            record("calibration", "loaded")
        except InputError as err:
            assert_names_file_field_fix(err, [path, folder / "observed.csv",
                                              folder / "county.yaml"])
            record("calibration", f"InputError {err.field.split('.')[0][:24]}")
