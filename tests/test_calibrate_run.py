"""`schoolflow calibrate`: the ABC-SMC set-up samples the right posterior (a linear Gaussian
model with a known answer), gives the same draws in this process and on two Dask workers, and
the command writes every output for a small SchoolFlow county."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.core.errors import InputError
from sim.experiments.calibrate import load_targets
from sim.experiments.calibrate_run import calibrate
from sim.model import scenario as sc
from tests.conftest import SMALL

NAMES = ["behaviour.dropout.base_junior", "behaviour.demography.out_migration_prob"]
A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
SD = np.array([0.002, 0.05, 0.05])
TRUTH = np.array([0.02, 0.5])


class LinearModel:
    """y = A theta: with Gaussian errors and flat priors the posterior is Gaussian with
    covariance (A' S^-1 A)^-1 (S = diag(sd^2))."""

    def __call__(self, pars):
        theta = np.array([pars[n] for n in NAMES])
        return {"y": A @ theta}


def linear_targets(tmp_path, population=200, generations=5):
    rng = np.random.default_rng(3)
    observed = A @ TRUTH + rng.normal(0, SD)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**SMALL, "years": 2}))
    pd.DataFrame({"indicator": ["dropout_rate", "left_behind_share", "boarding_share"],
                  "level": ["junior", "all", "all"], "year": [1, 1, 1],
                  "value": observed, "sd": SD}).to_csv(tmp_path / "observed.csv", index=False)
    spec = {"scenario": "base.yaml", "observed": "observed.csv", "replicates": 1,
            "population": population, "generations": generations, "seed": 4,
            "parameters": {NAMES[0]: {"low": 0.0, "high": 0.05},
                           NAMES[1]: {"low": 0.2, "high": 0.8}}}
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(spec))
    return load_targets(tmp_path / "targets.yaml"), observed


def test_posterior_of_a_linear_gaussian_model_matches_the_exact_one(tmp_path):
    targets, observed = linear_targets(tmp_path, population=300)
    meta = calibrate(targets, tmp_path / "out", budget=20_000, model=LinearModel())
    assert meta["converged"] and meta["final_temperature"] == pytest.approx(1.0)
    precision = A.T @ np.diag(SD ** -2) @ A
    cov = np.linalg.inv(precision)
    mean = cov @ A.T @ np.diag(SD ** -2) @ observed
    post = pd.read_parquet(tmp_path / "out" / "posterior.parquet")
    w = post["weight"].to_numpy()
    assert w.sum() == pytest.approx(1.0)
    for k, name in enumerate(NAMES):
        x = post[name].to_numpy()
        m = np.sum(w * x)
        s = np.sqrt(np.sum(w * (x - m) ** 2))
        exact_sd = np.sqrt(cov[k, k])
        # tolerances: 300 weighted particles (effective ~200) give the mean to about 0.1 sd,
        # the sd to about 10% and the 5% and 95% quantiles to about 0.2 sd
        assert abs(m - mean[k]) < 0.3 * exact_sd, (name, m, mean[k], exact_sd)
        assert 0.7 < s / exact_sd < 1.4, (name, s, exact_sd)
    summary = pd.read_csv(tmp_path / "out" / "posterior_summary.csv").set_index("parameter")
    for k, name in enumerate(NAMES):  # the 90% interval is the exact one, within 0.5 sd
        lo, hi = mean[k] + np.array([-1.645, 1.645]) * np.sqrt(cov[k, k])
        assert abs(summary.loc[name, "q05"] - lo) < 0.5 * np.sqrt(cov[k, k])
        assert abs(summary.loc[name, "q95"] - hi) < 0.5 * np.sqrt(cov[k, k])
    calibrated = sc.load(tmp_path / "out" / "calibrated.yaml")
    assert calibrated.behaviour.dropout.base_junior == pytest.approx(summary.loc[NAMES[0], "mean"])


def test_same_draws_in_process_and_on_two_dask_workers(tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    targets, _ = linear_targets(tmp_path, population=40, generations=3)
    calibrate(targets, tmp_path / "one", budget=5000, model=LinearModel())
    calibrate(targets, tmp_path / "two", budget=5000, workers=2, model=LinearModel())
    one = pd.read_parquet(tmp_path / "one" / "populations.parquet")
    two = pd.read_parquet(tmp_path / "two" / "populations.parquet")
    assert len(one) == 40 * 3 and one.generation.max() == 2
    pd.testing.assert_frame_equal(one, two)


def test_calibrate_command_on_a_small_county(tmp_path, capsys):
    targets, _ = linear_targets(tmp_path, population=12, generations=2)
    obs = pd.DataFrame({"indicator": ["dropout_rate", "left_behind_share"],
                        "level": ["junior", "all"], "year": [1, 2],
                        "value": [0.02, 0.4], "sd": [0.005, 0.03]})
    obs.to_csv(tmp_path / "observed.csv", index=False)
    out = tmp_path / "cal"
    assert main(["calibrate", str(tmp_path / "targets.yaml"), "--budget", "200",
                 "--out", str(out)]) == 0
    for name in ["posterior.parquet", "populations.parquet", "posterior_summary.csv", "fit.csv",
                 "calibrated.yaml", "posterior.png", "fit.png", "metadata.json"]:
        assert (out / name).stat().st_size > 0, name
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == list(targets.priors) + ["weight"] and len(post) == 12
    assert post[NAMES[0]].between(0.0, 0.05).all() and post[NAMES[1]].between(0.2, 0.8).all()
    fit = pd.read_csv(out / "fit.csv")
    assert len(fit) == 2 and (fit.simulated_q05 <= fit.simulated_q95).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["simulations"] >= meta["accepted_simulations"] > 0
    assert meta["budget"] == 200 and meta["generations"] <= 2
    scenario = sc.load(out / "calibrated.yaml")
    summary = pd.read_csv(out / "posterior_summary.csv").set_index("parameter")
    assert scenario.behaviour.demography.out_migration_prob == pytest.approx(
        summary.loc[NAMES[1], "mean"])
    assert scenario.years == 2  # everything else from the base scenario
    # a second run into the same folder is refused before anything is overwritten
    assert main(["calibrate", str(tmp_path / "targets.yaml"), "--out", str(out)]) == 2
    assert "already holds a finished calibration" in capsys.readouterr().err
    # --pick on the finished calibration rewrites calibrated.yaml only, from one chosen draw
    before = (out / "metadata.json").read_text()
    assert main(["calibrate", str(tmp_path / "targets.yaml"), "--out", str(out),
                 "--pick", "draw:3"]) == 0
    assert (out / "metadata.json").read_text() == before
    scenario = sc.load(out / "calibrated.yaml")
    assert scenario.behaviour.demography.out_migration_prob == pytest.approx(post[NAMES[1]][3])
    assert scenario.behaviour.dropout.base_junior == pytest.approx(post[NAMES[0]][3])
    assert "posterior draw:3" in (out / "calibrated.yaml").read_text()
    assert main(["calibrate", str(tmp_path / "targets.yaml"), "--out", str(out),
                 "--pick", "draw:12"]) == 2  # 12 particles: rows 0-11
    assert "draw:K with K from 0 to 11" in capsys.readouterr().err


class Interrupted(Exception):
    pass


def test_an_interrupted_calibration_resumes_from_its_last_generation(tmp_path):
    targets, _ = linear_targets(tmp_path, population=60, generations=4)
    whole = calibrate(targets, tmp_path / "whole", budget=20_000, model=LinearModel())

    def stop_in_generation_2(g):
        if g["generation"] == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        calibrate(targets, tmp_path / "cut", budget=20_000, model=LinearModel(),
                  progress=stop_in_generation_2)
    assert not (tmp_path / "cut" / "metadata.json").exists()
    with pytest.raises(InputError, match="--resume"):  # refused without --resume
        calibrate(targets, tmp_path / "cut", budget=20_000, model=LinearModel())
    meta = calibrate(targets, tmp_path / "cut", budget=20_000, model=LinearModel(), resume=True)
    assert meta["resumed_after_generations"] == 2 and meta["converged"]
    assert (meta["generations"], whole["generations"]) == (4, 4), (meta, whole)
    cut = pd.read_parquet(tmp_path / "cut" / "populations.parquet")
    ref = pd.read_parquet(tmp_path / "whole" / "populations.parquet")
    # the finished generations were kept as they were, not run again
    pd.testing.assert_frame_equal(cut[cut.generation < 2], ref[ref.generation < 2])
    with pytest.raises(InputError, match="finished"):
        calibrate(targets, tmp_path / "cut", budget=20_000, model=LinearModel(), resume=True)


class SlowLinearModel(LinearModel):
    """LinearModel taking 20 ms a call, so that a worker can be killed mid-generation."""

    def __call__(self, pars):
        import time

        time.sleep(0.02)
        return super().__call__(pars)


def test_a_killed_dask_worker_changes_no_draw(tmp_path):
    """SIGKILL one of two Dask worker processes mid-calibration: its simulations run again on
    the other worker (each round's seeds are fixed), so every generation equals an undisturbed
    run's."""
    import threading
    import time

    import cloudpickle
    import psutil

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    targets, _ = linear_targets(tmp_path, population=40, generations=3)
    # the undisturbed run in process with the same model without the sleep (draws do not depend
    # on workers: test_same_draws_in_process_and_on_two_dask_workers)
    calibrate(targets, tmp_path / "whole", budget=5000, model=LinearModel())
    killed = {}

    def kill_a_worker():
        deadline = time.time() + 60
        while time.time() < deadline:
            workers = [p for p in psutil.Process().children(recursive=True)
                       if "spawn_main" in " ".join(p.cmdline())
                       and "resource_tracker" not in " ".join(p.cmdline())]
            if len(workers) == 2 and (tmp_path / "cut" / "abc.db").exists():
                time.sleep(1.0)  # well into the sampling
                workers[0].kill()
                killed["pid"] = workers[0].pid
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    meta = calibrate(targets, tmp_path / "cut", budget=5000, workers=2, model=SlowLinearModel())
    killer.join()
    assert killed and meta["converged"]
    whole = pd.read_parquet(tmp_path / "whole" / "populations.parquet")
    cut = pd.read_parquet(tmp_path / "cut" / "populations.parquet")
    pd.testing.assert_frame_equal(whole, cut)
