"""A bureau's own county and plan: base year from the school rolls, births projection, named
plan actions (in both engines), their errors, the "plan carried out" block and `schoolflow check`.
Runs on the worked example county (scenarios/counties/, 31 villages, 37 schools)."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import InputError
from sim.core.indicators import ROW
from sim.core.kernels import state as ev
from sim.model import build, engine
from sim.model import scenario as sc
from sim.reference import agreement
from sim.reference.mesa_model import SchoolFlowModel
from tests.conftest import ROOT

EXAMPLE = ROOT / "scenarios" / "counties"
COUNTY = EXAMPLE / "example_county"


def _raw(name: str = "example_no_closure.yaml", **top) -> dict:
    data = sc.load_raw(EXAMPLE / name)
    data.pop("compare_to", None)
    data.update({"replicates": 4, "years": 3, **top})
    return data


def _load(data: dict, tmp_path, file: str = "plan.yaml") -> sc.Scenario:
    return sc.validate(copy.deepcopy(data), str(tmp_path / file))


def _index(model) -> dict[str, int]:
    return {n: i for i, n in enumerate(model.world.school_name)}


def _roll() -> np.ndarray:
    df = pd.read_csv(COUNTY / "schools.csv")
    return df[[f"pupils_g{g}" for g in range(1, 10)]].to_numpy()


# --- base year from the rolls ----------------------------------------------------------------
def test_year0_enrolment_equals_the_roll_in_every_replicate(tmp_path):
    model = build.build_model(_load(_raw(replicates=6, years=1), tmp_path))
    roll = _roll()
    assert model.world.school_roll[:, 1:].tolist() == roll.tolist()
    for r in range(6):
        first = next(engine.trace_replicate(model, r))
        assert np.array_equal(first.S.enrol[:, 1:], roll), f"replicate {r}"
        assert first.indicators[ROW["pupils_unplaced"], 2] == 0
    batched = engine.run_model(model, 0, 6)  # the batched parallel engine too
    assert (batched.school_pupils[:, 0, :, 2] == roll.sum(axis=1)[None, :]).all()
    assert (batched.values[:, 0, ROW["pupils_unplaced"], 2] == 0).all()
    mesa = SchoolFlowModel(model.scenario, 0, model)
    assert np.array_equal(np.stack([s.enrol for s in mesa.schools])[:, 1:], roll)


def test_roll_pupils_live_within_reach_of_their_school(tmp_path):
    model = build.build_model(_load(_raw(), tmp_path))
    pop, w, s = model.population, model.world, model.scenario
    on_roll = np.flatnonzero(pop.child_school >= 0)
    assert len(on_roll) == _roll().sum()
    node = pop.hh_node[pop.child_hh[on_roll]]
    school = pop.child_school[on_roll]
    day = np.minimum(w.t_walk, w.t_private)[node, school]
    boarding = pop.child_mode[on_roll] == 4
    assert (day[~boarding] <= s.policies.max_travel_min + 1e-4).all()
    assert (w.t_private[node, school][boarding] <= s.policies.boarding.max_trip_min + 1e-4).all()
    # heads are old enough for their children (at least 20 years older)
    assert (pop.hh_head_age[pop.child_hh[on_roll]] >= pop.child_age[on_roll] + 20).mean() > 0.99
    # villages send pupils roughly in proportion to their size: the largest village sends more
    # than the smallest
    sent = np.bincount(node, minlength=w.n_nodes)
    villages = np.flatnonzero(w.node_kind == 0)
    big, small = villages[np.argmax(w.node_population[villages])], \
        villages[np.argmin(w.node_population[villages])]
    assert sent[big] > sent[small]


def test_total_roll_is_split_over_the_grades(tmp_path):
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    df = pd.read_csv(folder / "schools.csv")
    grades = [f"pupils_g{g}" for g in range(1, 10)]
    df["pupils"] = df[grades].sum(axis=1)
    df = df.drop(columns=grades)
    df.to_csv(folder / "schools.csv", index=False)
    from sim.model.county_files import load_county
    w = load_county(folder)
    assert (w.school_roll.sum(axis=1) == df["pupils"]).all()
    junior = df["level"] == "junior"
    assert (w.school_roll[junior.to_numpy(), 1:7] == 0).all()
    assert (w.school_roll[~junior.to_numpy(), 7:] == 0).all()
    from sim.model.age_structure import grade_weights
    g = w.school_roll[df.school_id.eq("S25").to_numpy()][0, 1:7]
    weight = grade_weights(1, 6)
    assert np.abs(g - g.sum() * weight / weight.sum()).max() < 1  # like the births of their years


def test_village_with_no_school_in_reach_is_named_and_its_children_unplaced(tmp_path):
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    v = pd.read_csv(folder / "villages.csv")
    v.loc[len(v)] = ["V99", v.township[0], 90.0, 90.0, 2000, 2.0, "village", "远山村"]
    v.to_csv(folder / "villages.csv", index=False)
    r = pd.read_csv(folder / "roads.csv")
    r.loc[len(r)] = ["V01", "V99", 150.0, "village"]
    r.to_csv(folder / "roads.csv", index=False)
    data = _raw(years=1)
    data["county"] = {"data": str(folder)}
    model = build.build_model(_load(data, tmp_path))
    assert any("V99" in n and "no school in reach" in n for n in model.notes)
    first = next(engine.trace_replicate(model, 0))
    node = first.H.node[first.C.hh[: first.C.n_used[0]]]
    status = first.C.status[: first.C.n_used[0]]
    far_pupils = (node == model.world.node_name.index("V99")) & (status == 5)
    assert far_pupils.sum() > 0
    assert first.indicators[ROW["pupils_unplaced"], 2] == far_pupils.sum()


def test_births_follow_the_county_projection(tmp_path):
    model = build.build_model(_load(_raw(replicates=8, years=3), tmp_path))
    births = np.zeros(4)
    for r in range(8):
        for st in engine.trace_replicate(model, r):
            if st.year:
                births[st.year] += (st.C.age[: st.C.n_used[0]] == 0).sum()
    births /= 8
    for y in (1, 2, 3):  # within 8%: households that leave the county are not projected out
        assert births[y] == pytest.approx(model.world.births[y], rel=0.08), y
    # without the projection the scenario's fertility applies: a projection twice as high
    # doubles the births
    folder = tmp_path / "double"
    shutil.copytree(COUNTY, folder)
    b = pd.read_csv(folder / "births.csv")
    b["births"] *= 2
    b.to_csv(folder / "births.csv", index=False)
    data = _raw(replicates=4, years=1)
    data["county"] = {"data": str(folder)}
    doubled = build.build_model(_load(data, tmp_path))
    assert doubled.W.birth_scale[1] == pytest.approx(2 * model.W.birth_scale[1], rel=1e-9)


# --- named actions ----------------------------------------------------------------------------
PLAN = [
    {"year": 1, "expand": "S25", "classes_per_grade": 1, "boarding_beds": 100, "canteen_places": 200},
    {"year": 1, "close": ["S12", "S13"], "receiver": "S25"},
    {"year": 1, "downgrade": ["S09"], "grades": [1, 2, 3]},
    {"year": 1, "close": "S32"},
    {"year": 2, "open": {"school_id": "S38", "village_id": "SEAT", "level": "central_primary",
                         "classes_per_grade": 4}},
    {"year": 1, "downgrade": ["S01"], "grades": [1, 2]},
]


def _plan(tmp_path, actions=PLAN, closures=None, **top) -> sc.Scenario:
    data = _raw(**top)
    data["policies"]["actions"] = copy.deepcopy(actions)
    data["policies"]["closures"] = closures or []
    return _load(data, tmp_path)


def test_every_action_acts_in_its_year_and_both_engines_agree(tmp_path):
    s = _plan(tmp_path, closures=[{"year": 1, "below": 30}])
    model = build.build_model(s)
    i = _index(model)
    a = agreement.numba_states(model, 0)
    y0, y1, y2 = a[0], a[1], a[2]
    # closes: in year 1, not before; named receiver and the nearest
    for sid in ("S12", "S13", "S32"):
        assert y0["school.open"][i[sid]] and not y1["school.open"][i[sid]]
        assert y1["school.events"][i[sid], 1] & ev.EV_CLOSED
        assert y1["school.events"][i[sid], 1] & ev.EV_BY_ACTION
        assert y1["school.enrol"][i[sid]].sum() == 0
    # expand adds to what the school has (and receiving pupils adds the scenario's beds)
    w = model.world
    assert y1["school.classes"][i["S25"]] == w.school_classes_per_grade[i["S25"]] + 1
    assert y1["school.canteen"][i["S25"]] == w.school_canteen[i["S25"]] + 200
    assert y1["school.beds"][i["S25"]] == w.school_beds[i["S25"]] + 100 + \
        s.policies.boarding.beds_per_receiving_school
    # downgrades keep the lower grades only
    assert y1["school.hi"][i["S09"]] == 3 and y1["school.enrol"][i["S09"], 4:].sum() == 0
    assert y1["school.enrol"][i["S09"], 1:4].sum() > 0
    # the rule of the same year leaves S01 (under 30 pupils) alone: the plan downgraded it
    assert y0["school.enrol"][i["S01"]].sum() < 30
    assert y1["school.open"][i["S01"]] and y1["school.hi"][i["S01"]] == 2
    assert not y1["school.events"][i["S01"], 1] & ev.EV_CLOSED
    # open: closed until year 2, then teaching; not counted among base-year schools
    assert not y0["school.open"][i["S38"]] and not y1["school.open"][i["S38"]]
    assert y2["school.open"][i["S38"]] and y2["school.enrol"][i["S38"]].sum() > 0
    assert (y2["school.events"][i["S38"], 2] & ev.EV_OPENED)
    # the plan's receiver is where the closed schools' pupils are sent (their bus lines go
    # there); families still choose, and some of them take it
    traced = list(engine.trace_replicate(model, 0))
    assert traced[1].S.receiver[i["S12"]] == i["S25"] == traced[1].S.receiver[i["S13"]]
    moved = (y0["child.school"] == i["S12"]) | (y0["child.school"] == i["S13"])
    n = len(y0["child.school"])
    assert (y1["child.school"][:n][moved] == i["S25"]).sum() > 0
    diff = agreement.state_differences(a, agreement.mesa_states(model, 0))
    assert not diff, "engines differ:\n" + "\n".join(diff[:20])


def test_a_close_the_receiver_has_no_room_for_is_deferred_and_said_by_name(tmp_path):
    from sim.outputs import plan_report
    actions = [{"year": 1, "close": ["S12"], "receiver": "S34"}]  # a full county-seat primary
    s = _plan(tmp_path, actions, replicates=3, years=2)
    model = build.build_model(s)
    result = engine.run_model(model, 0, 3)
    i = _index(model)
    flags = result.school_events[:, i["S12"], 1]
    assert (flags & ev.EV_DEFER_SEATS).all() and not (flags & ev.EV_CLOSED).any()
    assert (result.values[:, 1, ROW["closures_deferred"], 2] == 1).all()
    block = plan_report.block_for_run(model, result)
    assert block.startswith("!! THE PLAN WAS NOT CARRIED OUT AS WRITTEN")
    assert "NOT DONE: closing S12 deferred: too few free seats at the receiving school" in block


def test_missing_canteen_places_block_every_closure_and_the_terminal_says_so(tmp_path):
    """The case found by a new user: canteen places 0 at every receiver."""
    from sim.outputs import plan_report
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    df = pd.read_csv(folder / "schools.csv")
    df["canteen_places"] = 0
    df.to_csv(folder / "schools.csv", index=False)
    data = _raw(replicates=2, years=2)
    data["county"] = {"data": str(folder)}
    data["policies"]["actions"] = [{"year": 1, "close": ["S12", "S13"], "receiver": "S25"}]
    data["policies"]["closures"] = [{"year": 2, "below": 30}]
    model = build.build_model(_load(data, tmp_path))
    result = engine.run_model(model, 0, 2)
    block = plan_report.block_for_run(model, result)
    assert block.startswith("!! THE PLAN WAS NOT CARRIED OUT AS WRITTEN")
    assert "closing S12, S13 deferred: too few canteen places at the receiving school" in block
    assert "DEFERRED" in block and "too few canteen places at the receiving school: S" in block
    assert (result.values[:, 2, ROW["schools_closed"], 2] == 0).all()
    # no canteen column at all: no data is not zero places; the check is skipped and said
    df.drop(columns=["canteen_places"]).to_csv(folder / "schools.csv", index=False)
    model = build.build_model(_load(data, tmp_path))
    assert any("canteen places not given for 37 school(s)" in n for n in model.notes)
    result = engine.run_model(model, 0, 2)
    assert (result.values[:, 1, ROW["schools_closed"], 2] == 2).all()
    assert "NOT CARRIED OUT" not in plan_report.block_for_run(model, result)


BAD_ACTIONS = {
    "unknown school": ([{"year": 1, "close": ["S12", "S99"]}], "policies.actions[0].close", "S99"),
    "closed twice": ([{"year": 1, "close": ["S12"]}, {"year": 2, "close": ["S12"]}],
                     "policies.actions[1].close", "S12"),
    "receiver closed": ([{"year": 1, "close": ["S25"]}, {"year": 2, "close": ["S12"],
                                                         "receiver": "S25"}],
                        "policies.actions[1].receiver", "S25"),
    "receiver does not teach the grades": ([{"year": 1, "close": ["S12"], "receiver": "S26"}],
                                           "policies.actions[0].receiver", "S26"),
    "downgrade a junior": ([{"year": 1, "downgrade": ["S26"]}], "policies.actions[0].downgrade",
                           "S26"),
    "year after the run": ([{"year": 9, "close": ["S12"]}], "policies.actions[0].year", "year 9"),
    "open an existing id": ([{"year": 1, "open": {"school_id": "S12", "village_id": "V01",
                                                  "level": "teaching_point"}}],
                            "policies.actions[0].open.school_id", "S12"),
    "open in an unknown village": ([{"year": 1, "open": {"school_id": "N1", "village_id": "V77",
                                                         "level": "teaching_point"}}],
                                   "policies.actions[0].open.village_id", "V77"),
    "expand before it opens": ([{"year": 2, "open": {"school_id": "N1", "village_id": "V01",
                                                     "level": "junior"}},
                                {"year": 1, "expand": "N1", "classes_per_grade": 1}],
                               "policies.actions[1].expand", "N1"),
}


@pytest.mark.parametrize("case", list(BAD_ACTIONS))
def test_action_errors_name_the_file_the_action_and_the_id(case, tmp_path):
    actions, field, text = BAD_ACTIONS[case]
    with pytest.raises(InputError) as err:
        build.build_model(_plan(tmp_path, actions))
    assert err.value.file.endswith("plan.yaml")
    assert err.value.field == field
    assert text in err.value.message


def test_action_without_a_kind_and_cli_exit_2(tmp_path, write_yaml, capsys):
    data = _raw()
    data["policies"]["actions"] = [{"year": 1, "shut": ["S12"]}]
    with pytest.raises(InputError, match="close, expand, downgrade or open"):
        sc.validate(data, "x.yaml")
    from sim.cli import main
    data["policies"]["actions"] = [{"year": 1, "close": ["S404"]}]
    data["county"]["data"] = str(COUNTY)
    assert main(["check", str(write_yaml(data))]) == 2
    err = capsys.readouterr().err
    assert "scenario.yaml" in err and "policies.actions[0].close" in err and "S404" in err


# --- schoolflow check -------------------------------------------------------------------------
def test_check_profiles_the_county_and_the_plan(tmp_path, capsys):
    from sim.cli import main
    assert main(["check", str(EXAMPLE / "example_plan.yaml")]) == 0
    out = capsys.readouterr().out
    roll = _roll().sum(axis=1)
    assert f"base-year pupils: {roll.sum():,} (the county's rolls)" in out
    assert f"schools under 30 pupils: {(roll < 30).sum()}; under 100: {(roll < 100).sum()}" in out
    year1, year2 = out.split("  year 2:")
    assert "action 1: close S12, S13 into S25" in year1
    assert "closed (action): S12 into S25; 41 pupils of grades 1-6 move to S25" in year1
    assert "action 0: expand S25" in year1 and "expanded: S25 now 4 classes per grade" in year1
    assert "rule: close teaching_point, village_primary under 30 pupils" in year2
    assert "No problems found." in out


def test_check_flags_over_full_schools_and_deferrals(tmp_path):
    from sim.experiments.check import check
    folder = tmp_path / "county"
    shutil.copytree(COUNTY, folder)
    df = pd.read_csv(folder / "schools.csv")
    df.loc[df.school_id == "S34", "pupils_g1"] = 60  # 1 class of 45 seats
    df.loc[df.school_id == "S25", "canteen_places"] = 10
    df.to_csv(folder / "schools.csv", index=False)
    data = _raw()
    data["county"] = {"data": str(folder)}
    data["policies"]["actions"] = [{"year": 1, "close": ["S12"], "receiver": "S25"}]
    report = check(_load(data, tmp_path))
    text = "\n".join(report.lines)
    assert ("BASE-YEAR PROBLEM: more pupils than seats (classes per grade x the class cap) in a "
            "grade at 1 school(s): S34 grade 1: 60 pupils / 45 seats") in text
    assert "DEFERRED (action): S12: too few canteen places; 41 pupils of grades 1-6 move to " \
           "S25" in text and "; 10 canteen places" in text
    assert report.problems == 2
    row = report.schools.set_index("school").loc["S34"]
    assert row.flag.startswith("OVER-FULL") and row.worst_grade == 1
