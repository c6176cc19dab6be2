"""School by school: the pupils a plan moves (both engines, pupil by pupil), where they go and
how far they travel, villages that lost their school, and every school's classes, boarders and
canteen by year; closures that leave pupils without a place say so. On the worked example
county and on a three-village county made here."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.kernels import state as ev
from sim.model import build, engine
from sim.model import scenario as sc
from sim.outputs import per_school, plan_report
from sim.reference import mesa_model
from tests.conftest import ROOT, write_county

EXAMPLE = ROOT / "scenarios" / "counties"


def _example(**top) -> sc.Scenario:
    data = sc.load_raw(EXAMPLE / "example_plan.yaml")
    data.pop("compare_to", None)
    data.update({"replicates": 3, "years": 2, **top})
    return sc.validate(copy.deepcopy(data), str(EXAMPLE / "example_plan.yaml"))


@pytest.fixture(scope="module")
def example():
    model = build.build_model(_example())
    return model, engine.run_model(model, 0, 3)


def test_affected_pupils_are_the_closed_schools_pupils_who_stayed_in_its_grades(example):
    """Counted independently from replicate 0's trace: pupils enrolled at a school the plan
    closed in year 1 whose year-1 grade the school taught."""
    model, result = example
    states = []
    for st in engine.trace_replicate(model, 0):
        n = st.C.n_used[0]
        states.append({"school": st.C.school[:n].copy(), "status": st.C.status[:n].copy(),
                       "grade": st.C.grade[:n].copy(), "lo": st.S.lo.copy(),
                       "hi": st.S.hi.copy(), "open": st.S.open.copy()})
        if st.year == 1:
            break
    y0, y1 = states
    closed = np.flatnonzero(result.school_events[0, :, 1] & ev.EV_CLOSED)
    assert len(closed) >= 3
    df = pd.DataFrame(result.affected.columns())
    for s in closed:
        n0 = len(y0["school"])
        g = y1["grade"][:n0]
        expect = ((y0["school"] == s) & (y0["status"] == dt.ENROLLED) & (y0["lo"][s] <= g)
                  & (g <= y0["hi"][s])).sum()
        got = ((df.replicate == 0) & (df.year == 1) & (df.school == s)).sum()
        assert got == expect > 0, model.world.school_name[s]
    # the table: every closed school with its pupils, destinations and travel
    table = per_school.affected_table(model, result)
    row = table[(table.year == 1) & (table.school == "S12")].iloc[0]
    assert row.event == "closed" and row.share_of_replicates == 1.0
    mine = df[(df.year == 1) & (df.school == model.world.school_name.index("S12"))]
    per_rep = mine.groupby("replicate").size()
    assert row.pupils_per_replicate == float(np.median(per_rep))
    moved = mine[mine.destination >= 0]
    top = model.world.school_name[int(moved.destination.value_counts().index[0])]
    assert row.main_destination == top and row.destinations.startswith(top)
    shares = [row[f"share_{o}"] for o in ("moved", "unplaced", "dropped_out", "left_county")]
    assert sum(shares) == pytest.approx(1.0, abs=0.02)
    day = mine.travel_after.dropna()
    assert row.travel_after_p50 == pytest.approx(float(np.median(day)))


def test_the_engines_tally_the_same_affected_pupils_and_schools(example):
    model, result = example
    mesa = mesa_model.run_model(model, 0, 2)
    a = pd.DataFrame(result.affected.columns())
    b = pd.DataFrame(mesa.affected.columns())
    pd.testing.assert_frame_equal(a[a.replicate < 2].reset_index(drop=True), b)
    for f in ("enrol", "classes", "beds", "beds_used", "canteen", "open"):
        np.testing.assert_array_equal(getattr(result.schools, f)[:2], getattr(mesa.schools, f))


def test_school_years_follow_the_class_split_and_the_beds(example):
    model, result = example
    table = per_school.school_years_table(model, result).set_index(["year", "school"])
    s = model.world.school_name.index("S25")
    row = table.loc[(1, "S25")]
    assert "expanded" in row.events and "received" in row.events
    enrol, classes = result.schools.enrol[:, 1, s], result.schools.classes[:, 1, s]
    largest = []
    for r in range(enrol.shape[0]):
        sizes = []
        for g in range(1, 10):
            if enrol[r, g]:
                cap = rules.class_cap(g, model.P.cap_primary, model.P.cap_junior)
                nc, q, rem = rules.class_split(int(enrol[r, g]), cap, int(classes[r]))
                sizes.append(q + (rem > 0))
        largest.append(max(sizes))
    assert row.largest_class == float(np.median(largest))
    assert row.pupils == float(np.median(enrol.sum(axis=1)))
    assert row.boarders == float(np.median(result.schools.beds_used[:, 1, s]))
    assert row.beds == float(np.median(result.schools.beds[:, 1, s]))
    assert row.boarders_over_beds == (row.boarders > row.beds)
    # a closed school has no row once it is closed in every replicate
    assert (1, "S12") not in table.index and (0, "S12") in table.index


def _lonely_county(tmp_path):
    """A village school 8 km up a road from the centre: closing it leaves its pupils a long walk."""
    villages = [
        {"village_id": "C", "township": "T", "x_km": 0, "y_km": 0, "population": 3000,
         "kind": "town"},
        {"village_id": "V", "township": "T", "x_km": 8, "y_km": 0, "population": 600},
    ]
    schools = [{"school_id": "centre", "village_id": "C", "level": "central_primary",
                "classes_per_grade": 4},
               {"school_id": "village", "village_id": "V", "level": "village_primary",
                "classes_per_grade": 1}]
    roads = [{"from_village": "V", "to_village": "C", "length_km": 8.0,
              "road_class": "village"}]
    return write_county(tmp_path / "lonely", villages, schools, roads)


def test_a_closure_without_a_bus_line_is_said_in_the_plan_block(tmp_path):
    folder = _lonely_county(tmp_path)
    scenario = sc.validate({"name": "lonely", "county": {"data": str(folder)}, "years": 1,
                            "replicates": 2, "seed": 5,
                            "policies": {"actions": [{"year": 1, "close": ["village"]}],
                                         "bus": {"serve_closed_villages": False}}},
                           str(tmp_path / "lonely.yaml"))
    model = build.build_model(scenario)
    result = engine.run_model(model, 0, 2)
    made = per_school.tables(model, result)
    villages = made["affected_villages.csv"]
    row = villages[villages.village == "V"].iloc[0]
    assert row.schools_lost == "village" and row.bus_line_share_of_replicates == 0
    assert row.no_line_why == "the plan runs no student bus lines"
    block = plan_report.block_for_run(model, result)
    assert block.startswith("!! THE PLAN WAS NOT CARRIED OUT AS WRITTEN")
    assert "NO BUS:   V lost village, no bus line (replicate 0): the plan runs no student " \
           "bus lines" in block
    # families without a vehicle, with young children 8 km from the centre: no place
    affected = made["affected_pupils.csv"].iloc[0]
    assert affected.share_unplaced > 0 and affected.destinations.startswith("centre")
    per = affected.share_unplaced * affected.pupils_per_replicate
    assert f"UNPLACED: village closed: {per:.1f} of its" in block
    assert "leaves" in block.splitlines()[0]


def _check_names(lines: list[str], year: int) -> dict[str, set[str]]:
    """Schools `check` says were closed, deferred or kept by the exemption in `year`."""
    text = "\n".join(lines).split(f"  year {year}:")[1].split("\n  year ")[0]
    out = {"closed": set(), "deferred": set(), "exempted": set()}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("closed ("):
            out["closed"].add(line.split(": ")[1].split(" into ")[0])
        elif line.startswith("DEFERRED ("):
            out["deferred"].add(line.split(": ")[1])
        elif line.startswith("kept for the lower grades"):
            out["exempted"].add(line.split(": ")[1].split(" keeps")[0])
    return out


def test_check_previews_what_a_one_replicate_run_does_in_year_1(tmp_path):
    """`check` runs the plan's kernels on replicate 0: the schools it says close, are deferred
    or kept by the exemption in year 1 are those a 1-replicate run's plan_events.csv records,
    with a rule that closes, defers and exempts in year 1."""
    import yaml

    from sim.cli import main
    from sim.experiments.check import check
    actions = [a for a in sc.load_raw(EXAMPLE / "example_plan.yaml")["policies"]["actions"]
               if a["year"] == 1]
    data = {"name": "preview", "extends": str(EXAMPLE / "example_no_closure.yaml"), "years": 1,
            "replicates": 1,
            "policies": {"actions": actions,
                         "closures": [{"year": 1, "at_most": 100, "share": 0.8}],
                         "exemptions": {"keep_teaching_points_if_travel_over_min": 25}}}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data))
    scenario = sc.load(path)
    said = _check_names(check(scenario).lines, 1)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                 "--no-posterior"]) == 0
    events = pd.read_csv(tmp_path / "out" / "plan_events.csv")
    y1 = events[events.year == 1]
    done = {"closed": set(y1[y1.event == "closed"].school),
            "deferred": set(y1[y1.event.str.startswith("deferred")].school),
            "exempted": set(y1[y1.event == "exempted"].school)}
    assert said == done
    assert said["closed"] and said["deferred"] | said["exempted"]
