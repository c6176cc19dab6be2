"""Whole-model tests: theory checks, invariants (hypothesis), reproducibility, outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.core import dtypes as dt
from sim.core.indicators import INDICATOR_NAMES
from sim.model import build, engine
from sim.model import scenario as sc
from sim.outputs import metrics
from tests.conftest import simulate

IDX = INDICATOR_NAMES.index


def test_cohort_arithmetic_without_closures_or_migration(small_dict):
    """No closures, births, migration, moves or dropout: pupils each year are exactly the base
    year's children whose age has reached 6-14. (The travel limit is lifted so that nobody is
    unplaced: an unplaced child repeats the year and would break the arithmetic.)"""
    small_dict["policies"] = {"closures": [], "max_travel_min": 100000}
    small_dict["behaviour"] = {
        "demography": {"birth_prob_20_34": 0, "birth_prob_35_44": 0, "out_migration_prob": 0,
                       "return_prob": 0, "move_to_town_prob": 0, "move_to_seat_prob": 0,
                       "move_if_far_extra_prob": 0},
        "dropout": {"base_primary": 1e-12, "base_junior": 1e-12, "per_10min_travel": 0,
                    "female_extra_per_10min_travel": 0, "cost_share": 0, "hardship": 0,
                    "left_behind": 0, "young_boarding": 0, "quality": 0}}
    s = sc.validate(small_dict)
    model, S, H, C, out = simulate(s)
    ages = model.C0.age
    for year in range(s.years + 1):
        expected = int(((ages + year >= 6) & (ages + year <= 14)).sum())
        assert out[year, IDX("pupils_unplaced"), 2] == 0
        assert out[year, IDX("pupils_enrolled"), 2] == expected, year
        assert out[year, IDX("dropouts"), 2] == 0
    assert out[s.years, IDX("junior_retention_3yr"), 1] == 1.0


def test_huge_distance_weight_means_nearest_school(small_dict):
    """With a distance weight of -1000 per minute the logit picks the nearest school with a
    seat: the same outcome as catchment assignment (day pupils: boarding is switched off, since
    boarding places all carry the same perceived burden and the logit then weighs quality)."""
    small_dict["behaviour"] = {"choice": {"mode": "logit", "distance_weight_per_min": -1000.0,
                                          "preference_spread": 0.0,
                                          "board_if_day_travel_over_min": 100000}}
    small_dict["policies"]["max_travel_min"] = 100000
    # room everywhere and no closures: a tie broken differently must not cascade through full
    # schools, or through closures and bus lines that follow last year's enrolment
    small_dict["policies"]["class_caps"] = {"primary": 200, "junior": 200}
    small_dict["policies"]["closures"] = []
    logit = simulate(sc.validate(small_dict))
    small_dict["behaviour"]["choice"]["mode"] = "catchment"
    catchment = simulate(sc.validate(small_dict))
    a, b = logit[3], catchment[3]
    n = a.n_used[0]
    # schools at the same place (the county seat has two of each) tie on distance; the logit
    # breaks the tie by quality, so compare what the theory is about: each pupil's travel (a
    # pupil at the other school of a tie has another dropout hazard, through quality)
    same = a.school[:n] == b.school[:n]
    assert np.array_equal(a.status[:n][same], b.status[:n][same])
    both = (a.status[:n] == 1) & (b.status[:n] == 1)
    assert np.array_equal(a.travel[:n][both], b.travel[:n][both])
    assert same.mean() > 0.9


def _class_shares(model, S, P):
    """Plain-Python twin of the kernel's class formation: share of classes above the cap."""
    classes = over = 0
    for s in range(len(S.open)):
        if not S.open[s]:
            continue
        for g in range(S.lo[s], S.hi[s] + 1):
            n = int(S.enrol[s, g])
            if n == 0:
                continue
            cap = P.cap_primary if g <= 6 else P.cap_junior
            nc = min(-(-n // int(cap)), int(S.classes[s]))
            sizes = [n // nc + (1 if k < n % nc else 0) for k in range(nc)]
            classes += nc
            over += sum(size > cap for size in sizes)
    return over / classes


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True)
# a case CI's random draw found: a bus line extended in year 2 took riders over the travel limit
@example(below=201, share=0.2780459293385623, check=False, bus_on=True, mode="catchment", cap=23,
         max_travel=47.95392083853394, ranking="smallest_first", seed=56)
@given(below=st.integers(10, 250), share=st.floats(0.1, 1.0), check=st.booleans(),
       bus_on=st.booleans(), mode=st.sampled_from(["logit", "catchment"]),
       cap=st.integers(15, 60), max_travel=st.floats(20, 150),
       ranking=st.sampled_from(["smallest_first", "least_added_travel"]), seed=st.integers(0, 99))
def test_invariants(small_dict, below, share, check, bus_on, mode, cap, max_travel, ranking, seed):
    small_dict.update(seed=seed, years=3)
    small_dict["behaviour"] = {"choice": {"mode": mode}}
    small_dict["policies"] = {
        "closures": [{"year": 1, "below": below, "share": share, "ranking": ranking},
                     {"year": 2, "below": below}],
        "receiving_capacity_check": check, "bus": {"serve_closed_villages": bus_on},
        "class_caps": {"primary": cap, "junior": cap + 5}, "max_travel_min": max_travel}
    model, S, H, C, out = simulate(sc.validate(small_dict))
    n = C.n_used[0]
    status, school, grade, age = C.status[:n], C.school[:n], C.grade[:n], C.age[:n]
    # every child is accounted for, in exactly one known state
    assert np.isin(status, list(dt.STATUS_NAMES.values())).all()
    enrolled = status == dt.ENROLLED
    assert (school[enrolled] >= 0).all() and (school[~enrolled] == -1).all()
    assert (age[status == dt.PRESCHOOL] < 6).all()
    # no pupil in a closed school or in a grade the school does not teach
    assert S.open[school[enrolled]].all()
    assert ((grade[enrolled] >= S.lo[school[enrolled]])
            & (grade[enrolled] <= S.hi[school[enrolled]])).all()
    # seat counts agree with the pupils
    counts = np.zeros_like(S.enrol)
    np.add.at(counts, (school[enrolled], grade[enrolled]), 1)
    assert np.array_equal(counts, S.enrol)
    # bus riders ride their village's line to its school, for the line's simulated time
    bus = enrolled & (C.mode[:n] == dt.BUS)
    v = H.node[C.hh[:n][bus]]
    assert (S.bus_dest[v] == model.W.school_node[school[bus]]).all()
    np.testing.assert_allclose(C.travel[:n][bus], S.bus_door[v])
    if not bus_on:
        assert not bus.any() and (S.bus_dest == -1).all()
    # no day pupil beyond the travel limit
    day = enrolled & (C.mode[:n] != dt.BOARDING)
    assert (C.travel[:n][day] <= max_travel + 1e-4).all()
    # classes: the kernel's share above the cap equals its plain twin, and no class is above
    # the cap at a school-grade that still has seats
    assert out[-1, IDX("share_classes_over_standard"), 2] == pytest.approx(
        _class_shares(model, S, model.P))
    seats = np.where(np.arange(10)[None, :] <= 6, model.P.cap_primary, model.P.cap_junior) * \
        S.classes[:, None]
    assert out[-1, IDX("pupils_enrolled"), 2] == enrolled.sum()
    if not (S.enrol > seats).any():
        assert out[-1, IDX("share_classes_over_standard"), 2] == 0


@pytest.fixture(scope="module")
def small_model():
    from tests.conftest import SMALL
    return build.build_model(sc.validate(SMALL))


def test_results_do_not_depend_on_threads_or_batches(small_model):
    engine.set_workers(1)
    one = engine.run_model(small_model, 0, 6, batch=6).values
    engine.set_workers(2)
    two = engine.run_model(small_model, 0, 6, batch=2).values
    split = np.concatenate([engine.run_model(small_model, 0, 4).values,
                            engine.run_model(small_model, 4, 6).values])
    engine.set_workers(None)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, split)
    assert not np.array_equal(one[0], one[1])  # replicates differ


def test_parallel_core_matches_serial_replicate(small_model):
    """The prange wrapper gives exactly what the serial year loop gives, replicate by replicate
    (guards against miscompilation of the parallel wrapper)."""
    parallel = engine.run_model(small_model, 0, 3).values
    for r in range(3):
        *_, out = simulate(small_model.scenario, replicate=r)
        np.testing.assert_array_equal(parallel[r], out)
    assert np.isfinite(parallel[:, 1:, IDX("share_under100_closed"), 2]).all()


def test_common_random_numbers_between_plan_and_reference(small_dict):
    plan = sc.validate(small_dict)
    small_dict["policies"]["closures"] = []
    ref = sc.validate(small_dict)
    a = engine.run_model(build.build_model(plan), 0, 3).values
    b = engine.run_model(build.build_model(ref), 0, 3).values
    np.testing.assert_array_equal(a[:, 0], b[:, 0])  # identical base year
    assert (a[:, -1, IDX("schools_open"), 2] < b[:, -1, IDX("schools_open"), 2]).all()


def test_cli_run_writes_outputs_reproducibly(write_yaml, small_dict, tmp_path, capsys):
    ref = dict(small_dict, name="small_ref")
    ref["policies"] = {"closures": [], "bus": {"serve_closed_villages": False}}
    write_yaml(ref, "ref.yaml")
    small_dict["compare_to"] = "ref.yaml"
    path = write_yaml(small_dict)
    for out in ("a", "b"):
        assert main(["run", str(path), "--out", str(tmp_path / out), "--quiet",
                     "--workers", "1" if out == "a" else "2"]) == 0
    printed = capsys.readouterr().out
    assert "paired difference" in printed and "dropout_rate" in printed
    a = pd.read_parquet(tmp_path / "a" / "indicators.parquet")
    b = pd.read_parquet(tmp_path / "b" / "indicators.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == metrics.COLUMNS
    assert set(a.level.unique()) == {"primary", "junior", "all"}
    assert (tmp_path / "a" / "reference" / "indicators.parquet").exists()
    assert "Bus day simulation" in printed
    ledger = pd.read_csv(tmp_path / "a" / "safety_ledger.csv")
    from sim.model.transport import LEDGER_COLUMNS
    assert list(ledger.columns) == LEDGER_COLUMNS and len(ledger) > 0
    pd.testing.assert_frame_equal(ledger, pd.read_csv(tmp_path / "b" / "safety_ledger.csv"))
    assert (ledger.peak_load <= ledger.seats / ledger.vehicles).all()
    stops = pd.read_csv(tmp_path / "a" / "bus_stops.csv")
    served = stops[stops.line.notna()]
    per_line = served.groupby(["year", "line"]).pupils.sum()
    assert per_line.to_dict() == ledger.set_index(["year", "line"]).pupils_carried.to_dict()
    assert (served.door_to_school_min > served.ride_min).all()
    final = a[(a.replicate == 0) & (a.year == a.year.max()) & (a.level == "all")].set_index("indicator")
    last = ledger[ledger.year == ledger.year.max()]
    assert last.vehicles.sum() == final.loc["buses_needed", "value"]
    assert last.cost_yuan_per_year.sum() == pytest.approx(final.loc["bus_cost_yuan_per_year", "value"],
                                                          abs=len(last))
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert list(summary.columns) == ["indicator", "level", "year", "mean", "p05", "p50", "p95"]
    assert (summary.p05 <= summary["mean"] + 1e-9).all() and (summary["mean"] <= summary.p95 + 1e-9).all()
    # every school's pupils: summed over schools, the county's pupils_enrolled in each replicate
    schools = pd.read_csv(tmp_path / "a" / "school_pupils.csv")
    pd.testing.assert_frame_equal(schools, pd.read_csv(tmp_path / "b" / "school_pupils.csv"))
    assert (schools.pupils_p05 <= schools.pupils_mean + 1e-9).all()
    assert (schools.pupils_mean <= schools.pupils_p95 + 1e-9).all()
    for level in ("primary", "junior"):
        by_year = schools[schools.level == level].groupby("year").pupils_mean.sum()
        enrolled = summary[(summary.indicator == "pupils_enrolled") & (summary.level == level)]
        np.testing.assert_allclose(by_year.to_numpy(), enrolled.sort_values("year")["mean"])
    closed = schools[(schools.year == schools.year.max()) & (schools.share_without_pupils == 1)]
    assert len(closed) > 0 and (closed.pupils_p95 == 0).all()  # the plan closes schools
    resolved = sc.load(tmp_path / "a" / "scenario.yaml")
    assert resolved.policies.closures == sc.validate(small_dict).policies.closures
    c = main(["run", str(path), "--out", str(tmp_path / "c"), "--quiet", "--seed", "99",
              "--no-compare"])
    assert c == 0
    other = pd.read_parquet(tmp_path / "c" / "indicators.parquet")
    assert not other["value"].equals(a["value"])


def test_teacher_cv_and_school_size_match_plain_computation(small_dict):
    model, S, H, C, out = simulate(sc.validate(small_dict))
    P = model.P
    per_school = {0: [], 1: [], 2: []}
    for s in np.flatnonzero(S.open):
        pupils, teachers = np.zeros(3), np.zeros(3)
        for g in range(S.lo[s], S.hi[s] + 1):
            n = S.enrol[s, g]
            if n == 0:
                continue
            cap = P.cap_primary if g <= 6 else P.cap_junior
            nc = min(int(np.ceil(n / cap)), S.classes[s])
            per_class = P.teachers_class_primary if g <= 6 else P.teachers_class_junior
            ratio = P.pupils_teacher_primary if g <= 6 else P.pupils_teacher_junior
            t = max(nc * per_class, n / ratio)  # the staffing standard: both methods
            for L in (0 if g <= 6 else 1, 2):
                pupils[L] += n
                teachers[L] += t
        for L in range(3):
            if pupils[L] > 0:
                per_school[L].append(100 * teachers[L] / pupils[L])
    for L in range(3):
        x = np.array(per_school[L])
        assert out[-1, IDX("teachers_per_100_pupils_cv"), L] == pytest.approx(x.std() / x.mean(),
                                                                              rel=1e-9)
    assert out[-1, IDX("schools_over_2000"), 2] == (S.enrol.sum(axis=1)[S.open] > 2000).sum()
