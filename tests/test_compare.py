"""Plan comparison: common random numbers, paired vs unpaired intervals, thresholds, report."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from sim.cli import main
from tests.conftest import SMALL


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One `compare` of SMALL against itself without closures (8 replicates), shared by the
    tests of this module: (its arguments, the folder it wrote into)."""
    tmp_path = tmp_path_factory.mktemp("compare")
    plan, ref = tmp_path / "plan.yaml", tmp_path / "reference.yaml"
    plan.write_text(yaml.safe_dump(copy.deepcopy(SMALL)))
    ref.write_text(yaml.safe_dump({**copy.deepcopy(SMALL), "name": "reference",
                                   "policies": {"closures": []}}))
    report = tmp_path / "out" / "report.html"
    args = ["compare", str(ref), str(plan), "--replicates", "8", "--results", str(tmp_path / "res"),
            "--report", str(report), "--quiet"]
    assert main(args) == 0
    return args, tmp_path


def test_compare_runs_plans_and_writes_report(compared):
    args, tmp_path = compared
    report = tmp_path / "out" / "report.html"
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 6  # five figures and the plan's flow map
    for name in ("final_year", "paired_difference", "thresholds"):
        assert (tmp_path / "out" / f"report_{name}.csv").exists()
    paired = pd.read_csv(tmp_path / "out" / "report_paired_difference.csv")
    row = paired[(paired.indicator == "travel_time_mean_min") & (paired.level == "all")
                 & (paired.year == paired.year.max())].iloc[0]
    assert row["mean"] > 0  # closures lengthen travel
    # common random numbers: the paired interval is narrower than the unpaired one (pupils
    # enrolled: the same families are born, move and leave in both runs)
    row = paired[(paired.indicator == "pupils_enrolled") & (paired.level == "all")
                 & (paired.year == paired.year.max())].iloc[0]
    assert row["paired_width"] < row["unpaired_width"] / 2
    thresholds = pd.read_csv(tmp_path / "out" / "report_thresholds.csv")
    assert set(thresholds["status"]) <= {"met", "missed", "n/a"}
    closed = thresholds[(thresholds.scenario == "small")
                        & thresholds.threshold.str.startswith("60%")].iloc[0]
    assert closed["status"] == ("met" if closed["value"] >= 0.6 else "missed")
    # a second compare reuses the results folders instead of running again
    before = (tmp_path / "res" / "small" / "indicators.parquet").stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "res" / "small" / "indicators.parquet").stat().st_mtime_ns == before


def _chromium() -> str | None:
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(compared, tmp_path):
    """The HTML report opens in a real browser: the page is not blank and every figure loads.
    Needs Debian's chromium (`.ci/run` installs it)."""
    import numpy as np
    from matplotlib.image import imread
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright
    report = compared[1] / "out" / "report.html"
    shot = tmp_path / "shot.png"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        text = page.inner_text("body")
        # nothing clipped or scrolled sideways at a common laptop width
        wide = page.evaluate("document.documentElement.scrollWidth")
        clipped = page.evaluate(
            "Array.from(document.querySelectorAll('p,pre,table,ul,h2,h3')).filter(e => "
            "e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > "
            "window.innerWidth).map(e => e.tagName + ' ' + e.textContent.slice(0, 60))")
        headings = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => "
                                 "h.textContent)")
        page.screenshot(path=str(shot), full_page=True)
        b.close()
    assert wide <= 1280 and clipped == []
    assert dict(images) == {k: True for k in ("trajectories", "differences", "distributions",
                                              "dropout_by_group", "map", "flows_small")}
    assert "Thresholds of the plans" in text and "60% of the base year's schools" in text
    assert "What small does to pupils, against reference" in headings
    assert headings.count("What small does to pupils, against reference") == 1
    assert "Children out of school" in text and "Plan carried out (small" in text
    assert "Pupils the plan moves, school by school" in text
    assert "Schools the plan touches" in text
    pixels = imread(shot)[..., :3]
    assert pixels.shape[0] > 1500  # the whole page, figures included
    assert (pixels.std(axis=(0, 1)) > 0.05).all() and (pixels < 0.5).mean() > 0.01  # not blank
    assert np.isfinite(pixels).all()
