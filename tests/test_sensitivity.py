"""`schoolflow sensitivity`: SALib Sobol' and Morris on the small county find the parameter that
drives an indicator, and bad parameter specifications are refused with a clear error."""

from __future__ import annotations

import pandas as pd

from sim.cli import main
from tests.conftest import SMALL

DRIVER = "behaviour.dropout.base_junior=0.004:0.06"        # junior dropout: the main driver
MINOR = "behaviour.costs.rent_yuan=5000:7000"              # rent for the few who rent
NONE = "behaviour.demography.move_if_far_extra_prob=0:0.001"  # hardly any effect


def test_sobol_finds_the_driver_of_dropout(write_yaml, tmp_path, capsys):
    path = write_yaml({**SMALL, "years": 2})
    out = tmp_path / "sobol"
    assert main(["sensitivity", str(path), "--params", DRIVER, MINOR, NONE, "--samples", "16",
                 "--replicates", "2", "--indicators", "dropout_rate:all,dropout_rate:junior",
                 "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "sensitivity.csv")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns)
    for level in ("all", "junior"):
        d = table[(table.indicator == "dropout_rate") & (table.level == level)].set_index("parameter")
        driver = d.loc[DRIVER.split("=")[0]]
        assert driver["rank"] == 1 and driver.ST > 0.8 and driver.ST - driver.ST_conf > 0.5
        assert (d.drop(index=DRIVER.split("=")[0]).ST < 0.2).all()
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 16 * (3 + 2)  # Saltelli without second order: N (D + 2)
    assert (out / "sensitivity.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "dropout_rate" in printed
    # N = 16 is far too small for stable indices: said, with the N to use
    assert "WARNING: confidence half-widths up to" in printed and "rerun with --samples" in printed


def test_stability_warnings_name_the_problem_and_the_sample_size():
    from pathlib import Path

    from sim.experiments.sensitivity import Setup, stability_warnings
    setup = Setup(base=Path("x.yaml"), names=["a", "b"], bounds=[[0, 1], [0, 1]],
                  integer=[False, False], targets=[("dropout_rate", "all")], method="sobol",
                  samples=64, replicates=1, year=1, seed=1)
    good = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.7, 0.1], "S1_conf": [0.03, 0.02],
                         "ST": [0.8, 0.15], "ST_conf": [0.04, 0.02]})
    assert stability_warnings(setup, good) == []
    bad = good.assign(S1=[0.9, -0.2], S1_conf=[0.03, 0.1], ST_conf=[0.04, 0.1])
    text = " ".join(stability_warnings(setup, bad))
    assert "below zero" in text and "above the total index" in text
    assert "rerun with --samples 256 or more" in text  # 64 * (0.1 / 0.05)^2 = 256


def test_morris_ranks_the_driver_first(write_yaml, tmp_path):
    path = write_yaml({**SMALL, "years": 2})
    out = tmp_path / "morris"
    assert main(["sensitivity", str(path), "--method", "morris", "--params", DRIVER, NONE,
                 "--samples", "6", "--replicates", "2", "--indicators", "dropout_rate",
                 "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    assert table.loc[DRIVER.split("=")[0], "rank"] == 1
    assert table.loc[DRIVER.split("=")[0], "mu_star"] > 10 * table.loc[NONE.split("=")[0], "mu_star"]


def test_bad_parameters_are_refused(write_yaml, tmp_path, capsys):
    path = write_yaml(SMALL)
    cases = {
        "behaviour.dropout.no_such=0:1": "not a numeric field",
        "behaviour.dropout.base_junior=0.2:0.1": "LOW must be below HIGH",
        "behaviour.dropout.base_junior=a:b": "PATH=LOW:HIGH",
        "behaviour.dropout.base_junior=0.5:1.5": "base_junior",  # beyond the field's range
    }
    for spec, message in cases.items():
        assert main(["sensitivity", str(path), "--params", spec, "--quiet",
                     "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err


def test_a_sweep_file_gives_base_and_ranges(write_yaml, tmp_path):
    write_yaml({**SMALL, "years": 2}, "base.yaml")
    sweep = write_yaml({"base": "base.yaml", "replicates": 2, "design": "lhs", "points": 4,
                        "parameters": {"behaviour.dropout.base_junior": {"low": 0.004, "high": 0.06},
                                       "behaviour.costs.rent_yuan": [5000, 6000, 7000]}},
                       "sweep.yaml")
    out = tmp_path / "from_sweep"
    assert main(["sensitivity", str(sweep), "--samples", "8", "--indicators", "dropout_rate",
                 "--out", str(out), "--quiet"]) == 0
    samples = pd.read_csv(out / "samples.csv")
    assert set(samples.columns[:2]) == {"behaviour.dropout.base_junior", "behaviour.costs.rent_yuan"}
    assert samples["behaviour.costs.rent_yuan"].between(5000, 7000).all()
    assert len(samples) == 8 * 4
    table = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    assert table.loc["behaviour.dropout.base_junior", "rank"] == 1


def test_points_on_dask_give_the_same_numbers_and_resume(write_yaml, tmp_path, capsys):
    """--workers runs the design as a sweep (chunks in OUT/runs/): same samples as in this
    process; a run that lost some chunks resumes with --resume and only reruns those."""
    path = write_yaml({**SMALL, "years": 2})
    args = ["sensitivity", str(path), "--params", DRIVER, NONE, "--samples", "4",
            "--replicates", "2", "--indicators", "dropout_rate,boarding_share", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    dask_out = tmp_path / "dask"
    assert main([*args, "--out", str(dask_out), "--workers", "2"]) == 0
    local = pd.read_csv(tmp_path / "local" / "samples.csv")
    on_dask = pd.read_csv(dask_out / "samples.csv")
    pd.testing.assert_frame_equal(local, on_dask, rtol=1e-12)
    chunks = sorted((dask_out / "runs" / "results").glob("*.parquet"))
    assert len(chunks) == len(local)  # one chunk per design point
    for lost in chunks[:3]:
        lost.unlink()
    kept = {c.name: c.stat().st_mtime_ns for c in chunks[3:]}
    assert main([*args, "--out", str(dask_out), "--workers", "2"]) == 2  # needs --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--out", str(dask_out), "--workers", "2", "--resume"]) == 0
    pd.testing.assert_frame_equal(local, pd.read_csv(dask_out / "samples.csv"), rtol=1e-12)
    assert all((dask_out / "runs" / "results" / n).stat().st_mtime_ns == t for n, t in kept.items())
    assert main([*args, "--out", str(tmp_path / "x"), "--resume"]) == 2  # in process: no resume
