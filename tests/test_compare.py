"""Plan comparison: common random numbers, paired vs unpaired intervals, thresholds, report."""

from __future__ import annotations

import pandas as pd

from sim.cli import main


def test_compare_runs_plans_and_writes_report(write_yaml, small_dict, tmp_path):
    plan = write_yaml(small_dict, "plan.yaml")
    ref_dict = {**small_dict, "name": "reference", "policies": {"closures": []}}
    ref = write_yaml(ref_dict, "reference.yaml")
    report = tmp_path / "out" / "report.html"
    args = ["compare", str(ref), str(plan), "--replicates", "8", "--results", str(tmp_path / "res"),
            "--report", str(report), "--quiet"]
    assert main(args) == 0
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 2
    for name in ("final_year", "paired_difference", "thresholds"):
        assert (tmp_path / "out" / f"report_{name}.csv").exists()
    paired = pd.read_csv(tmp_path / "out" / "report_paired_difference.csv")
    row = paired[(paired.indicator == "travel_time_mean_min") & (paired.level == "all")
                 & (paired.year == paired.year.max())].iloc[0]
    assert row["mean"] > 0  # closures lengthen travel
    # common random numbers: the paired interval is narrower than the unpaired one
    assert row["paired_width"] < row["unpaired_width"]
    thresholds = pd.read_csv(tmp_path / "out" / "report_thresholds.csv")
    assert set(thresholds["status"]) <= {"met", "missed", "n/a"}
    closed = thresholds[(thresholds.scenario == "small")
                        & thresholds.threshold.str.startswith("60%")].iloc[0]
    assert closed["status"] == ("met" if closed["value"] >= 0.6 else "missed")
    # a second compare reuses the results folders instead of running again
    before = (tmp_path / "res" / "small" / "indicators.parquet").stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "res" / "small" / "indicators.parquet").stat().st_mtime_ns == before
