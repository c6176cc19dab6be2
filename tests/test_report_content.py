"""What the reports say, checked against the numbers: thresholds in every year (worst year,
value, reason), the first screen against the tables, and people's number formats."""

from __future__ import annotations

import copy
import html
import math

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.core.indicators import INDICATOR_NAMES
from sim.model import scenario as sc
from sim.outputs import metrics, style, thresholds
from sim.outputs.metrics import Run
from tests.conftest import SMALL


def _run(name: str, targets: list[dict], values: dict[tuple[str, str], list[float]],
         replicates: int = 4) -> Run:
    """A Run whose indicators are given per (indicator, level) as one value per year (the same
    in every replicate, plus a tiny replicate spread)."""
    data = copy.deepcopy(SMALL)
    data.update(name=name, targets=targets)
    rows = []
    for (ind, level), by_year in values.items():
        for r in range(replicates):
            for year, v in enumerate(by_year):
                rows.append((name, r, year, ind, level, v))
    df = pd.DataFrame(rows, columns=metrics.COLUMNS)
    return Run(sc.validate(data), df)


VERY_LARGE = {"name": "no very large classes", "indicator": "share_classes_very_large",
              "at_most": 0.0}


def test_a_threshold_breached_in_year_3_only_is_missed_with_year_3():
    run = _run("plan", [VERY_LARGE], {("share_classes_very_large", "all"):
                                      [0.0, 0.0, 0.0, 0.0048, 0.0]})
    row = thresholds.evaluate(run).iloc[0]
    assert row["status"] == "missed" and row["worst_year"] == 3 and row["years_missed"] == "3"
    assert row["value"] == pytest.approx(0.0048)
    assert thresholds.cell(row) == "MISSED, 0.48% [0.48, 0.48] in year 3 (met in 0% of replicates)"
    # the final year alone would have said "met"
    assert run.indicators.query("year == 4")["value"].max() == 0.0


def test_at_least_target_worst_year_and_met():
    target = {"name": "junior retention >= 95%", "indicator": "junior_retention_3yr",
              "level": "junior", "at_least": 0.95}
    run = _run("plan", [target], {("junior_retention_3yr", "junior"): [0.90, 0.96, 0.955, 0.97]})
    row = thresholds.evaluate(run).iloc[0]
    assert row["status"] == "met" and row["worst_year"] == 2  # year 0 (base) is not checked
    assert thresholds.cell(row) == ("met, 95.5% [95.5, 95.5] (worst: year 2; met in 100% of "
                                     "replicates)")
    low = _run("plan", [target], {("junior_retention_3yr", "junior"): [0.96, 0.96, 0.943, 0.97]})
    row = thresholds.evaluate(low).iloc[0]
    assert (row["status"], row["worst_year"], thresholds.cell(row)) == (
        "missed", 2, "MISSED, 94.3% [94.3, 94.3] in year 2 (met in 0% of replicates)")


def test_targets_apply_only_to_scenarios_that_state_them_and_differences_need_a_reference():
    extra = {"name": "no child out of school because of the plan",
             "indicator": "children_out_of_school", "difference": True, "at_most": 0}
    ref = _run("reference", [], {("children_out_of_school", "all"): [10, 10, 10]})
    plan = _run("plan", [extra], {("children_out_of_school", "all"): [10, 14, 11]})
    table = thresholds.table([ref, plan])
    assert list(table["scenario"]) == ["plan"]
    row = table.iloc[0]
    assert (row["status"], row["worst_year"], row["value"]) == ("missed", 1, 4)
    assert thresholds.cell(row) == "MISSED, +4 [+4, +4] in year 1 (met in 0% of replicates)"
    wide = thresholds.wide(table, ["reference", "plan"])
    assert list(wide.columns) == ["threshold", "reference", "plan"]  # the reference first
    assert wide.iloc[0]["reference"] == "-"
    # without a reference the difference target is not applicable (not met, not missed)
    alone = thresholds.evaluate(plan).iloc[0]
    assert alone["status"] == "n/a" and alone["reason"] == "no reference run"


def test_thresholds_are_judged_on_the_median_with_the_share_of_replicates_that_meet_them():
    """A few replicates over the bound do not make a threshold missed when the median meets it
    (the headline's reading), and the share of replicates is shown; a count stays a count."""
    extra = {"name": "no child out of school because of the plan",
             "indicator": "children_out_of_school", "difference": True, "at_most": 0}
    big = {"name": "no school above 2000 pupils", "indicator": "schools_over_2000",
           "at_most": 0}
    rows, ref_rows = [], []
    for r in range(20):
        for year in range(4):
            extra_kids = 2 if (r < 3 and year == 2) else 0  # 3 of 20 replicates: +2 in year 2
            rows.append(("plan", r, year, "children_out_of_school", "all", 10 + extra_kids))
            rows.append(("plan", r, year, "schools_over_2000", "all", 1 if r == 0 else 0))
            ref_rows.append(("reference", r, year, "children_out_of_school", "all", 10))
    data = copy.deepcopy(SMALL)
    data.update(name="plan", targets=[extra, big])
    plan = Run(sc.validate(data), pd.DataFrame(rows, columns=metrics.COLUMNS))
    ref = Run(sc.validate({**copy.deepcopy(SMALL), "name": "reference"}),
              pd.DataFrame(ref_rows, columns=metrics.COLUMNS))
    table = thresholds.table([ref, plan]).set_index("threshold")
    kids = table.loc[extra["name"]]
    assert (kids["status"], kids["worst_year"], kids["share_met"]) == ("met", 2, 0.85)
    assert thresholds.cell(kids) == ("met, 0 [0, +2] (worst: year 2; met in 85% of "
                                     "replicates)")
    schools = table.loc[big["name"]]
    assert schools["status"] == "met" and schools["value"] == 0
    # a count of schools, with the replicates' own values as the interval's ends (not 0.05)
    assert thresholds.cell(schools) == "met, 0 [0, 1] (worst: year 1; met in 95% of replicates)"
    assert "median" in thresholds.RULE_WORDS


def test_bad_targets_are_refused():
    data = copy.deepcopy(SMALL)
    for bad, text in (({"name": "x", "indicator": "nope", "at_most": 1}, "unknown indicator"),
                      ({"name": "x", "indicator": "young_boarders", "level": "junior",
                        "at_most": 1}, "has no level 'junior'"),
                      ({"name": "x", "indicator": "dropout_rate"}, "exactly one of")):
        data["targets"] = [bad]
        with pytest.raises(Exception, match=text):
            sc.validate(data, "t.yaml")


@pytest.mark.parametrize(("value", "indicator", "signed", "text"), [
    (12845.0, "pupils_enrolled", False, "12,845"),
    (0.0048, "share_classes_very_large", False, "0.48%"),
    (0.0048, "share_classes_very_large", True, "+0.48 pp"),
    (0.95, "junior_retention_3yr", False, "95.0%"),
    (float("nan"), "bus_ride_time_p95_min", False, "-"),
    (-6294.4, "cost_per_pupil_yuan", True, "-6,294"),
    (38.0, "travel_time_p95_min", False, "38.0 min"),
    (2.5, "pupils_unplaced", False, "2.5"),
])
def test_numbers_for_people(value, indicator, signed, text):
    assert style.number(value, indicator, signed) == text


def test_console_table_has_no_nan_or_scientific_notation_and_medians_inside(write_yaml, small_dict,
                                                                            tmp_path, capsys):
    small_dict["replicates"] = 6
    small_dict["compare_to"] = str(write_yaml({**small_dict, "name": "ref",
                                               "policies": {"closures": []}}, "ref.yaml"))
    plan = write_yaml(small_dict, "plan.yaml")
    assert main(["run", str(plan), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    table = out.split("median [90% interval] over 6 replicates")[1]
    assert "nan" not in table and "e+0" not in table
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert ((summary["p05"] <= summary["p50"] + 1e-12)
            & (summary["p50"] <= summary["p95"] + 1e-12)).all()
    # the first screen's numbers are the tables' numbers
    paired = pd.read_csv(tmp_path / "out" / "paired_difference.csv")
    row = paired[(paired.indicator == "children_out_of_school") & (paired.level == "all")
                 & (paired.year == paired.year.max())].iloc[0]
    cell = style.interval(row.p50, row.p05, row.p95, "children_out_of_school", signed=True)
    screen = out.split("Plan carried out")[0]
    line = next(x for x in screen.splitlines() if x.strip().startswith("Children out of school"))
    assert line.rstrip().endswith(cell)
    mine = summary[(summary.indicator == "travel_time_p95_min") & (summary.level == "primary")
                   & (summary.year == summary.year.max())].iloc[0]
    line = next(x for x in screen.splitlines() if "Longest day trips, primary" in x)
    assert style.interval(mine.p50, mine.p05, mine.p95, "travel_time_p95_min") in line


def test_compare_first_screen_and_thresholds_in_report(write_yaml, small_dict, tmp_path, capsys):
    """The HTML report opens with the first screen, and its threshold table shows values and
    worst years; a closure target missed because of the travel exemption says so."""
    small_dict["policies"]["exemptions"] = {"keep_teaching_points_if_travel_over_min": 10}
    small_dict["targets"] = [VERY_LARGE]
    plan = write_yaml(small_dict, "plan.yaml")
    ref = write_yaml({**small_dict, "name": "reference", "policies": {"closures": []}}, "ref.yaml")
    report = tmp_path / "report.html"
    assert main(["compare", str(ref), str(plan), "--replicates", "4", "--results",
                 str(tmp_path / "res"), "--report", str(report), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("What small does to pupils, against reference, year 4")
    page = report.read_text()
    assert "What small does to pupils" in page and "Children out of school" in page
    t = pd.read_csv(str(report).replace(".html", "_thresholds.csv"))
    closure = t[(t.scenario == "small") & t.threshold.str.startswith("60%")].iloc[0]
    assert closure["status"] == "missed" and closure["worst_year"] == 1
    assert "travel exemption" in closure["reason"]
    assert html.escape(thresholds.cell(closure)) in page
    assert thresholds.cell(closure).startswith(
        f"MISSED, {style.number(closure['value'], 'share_under100_closed')} [")
    assert "travel exemption" in out
    # one heading per plan, its banner and plan-carried-out block, its pupils school by school
    assert page.count("<h2>What small does to pupils, against reference</h2>") == 1
    assert "<p class='banner'>!! THE PLAN WAS NOT CARRIED OUT AS WRITTEN" in page
    affected = pd.read_csv(tmp_path / "res" / "small" / "affected_pupils.csv")
    first = affected.iloc[0]
    assert f"<td>{first.school}</td>" in page and first.destinations in page
    years = pd.read_csv(tmp_path / "res" / "small" / "school_years.csv")
    receiver = years[(years.school == first.main_destination) & (years.year == first.year)]
    assert f"{receiver.boarders.iloc[0]:.0f} / {receiver.beds.iloc[0]:.0f}" in page
    # the run's folder holds its layers for GIS, the plan's closures among them
    import pyogrio

    gis = pyogrio.read_dataframe(tmp_path / "res" / "small" / "county.gpkg", layer="schools")
    touched = gis.set_index("school_id").loc[first.school, "events"]
    assert any(word in touched for word in ("closed", "downgraded", "exempted"))
    # a panel with nothing to show is left out, and the report says so
    young = pd.concat([pd.read_parquet(tmp_path / "res" / n / "indicators.parquet")
                       for n in ("small", "reference")]).query("indicator == 'young_boarders'")
    if (young.value == 0).all():
        note = page.split("Left out of the figure, zero in every scenario and year: ")[1]
        assert "Boarders below grade 4" in note.split("</p>")[0]


def test_every_indicator_has_a_format():
    for name in INDICATOR_NAMES:
        for value in (1234.5, 0.25, 0.0, -3.0):
            text = style.number(value, name)
            assert text and "nan" not in text and "e+" not in text, (name, value, text)
        assert style.number(math.nan, name) == style.NOT_APPLICABLE
        assert style.interval(np.nan, np.nan, np.nan, name) == style.NOT_APPLICABLE


def test_readme_commands_work_as_written():
    """Every command line in README's code blocks calls the installed command by its venv path,
    names an existing subcommand, and the scenario files it names exist."""
    import re

    from sim.cli import build_parser
    from tests.conftest import ROOT
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    lines = [x.strip() for b in blocks for x in b.splitlines()]
    assert not [x for x in lines if x.startswith("schoolflow ")], "bare `schoolflow` in README"
    commands = {a.dest: a for a in build_parser()._subparsers._actions
                if a.__class__.__name__ == "_SubParsersAction"}["command"].choices
    calls = [x for x in lines if x.startswith(".venv/bin/schoolflow ")]
    assert len(calls) >= 8
    for line in calls:
        words = line.split()
        assert words[1] in commands or words[1] == "--help", line
        for word in words[2:]:
            if word.startswith("scenarios/") and "[" not in word:
                assert (ROOT / word).exists(), f"README names a missing file: {word}"
