"""Sweeps: sweep-file validation, designs, chunked Dask runs that resume after SIGKILL, and
results that do not depend on worker count, chunk size or where the scheduler runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.core.errors import InputError
from sim.experiments.sweep import load_sweep
from sim.experiments.sweep_run import run_sweep, summarize
from sim.model import build, engine
from sim.model import scenario as sc
from sim.outputs import metrics
from tests.conftest import KEYS, read_results


def test_sweep_file_errors_name_file_field_and_fix(sweep_file):
    with pytest.raises(InputError, match=r"sweep.yaml: replicats: unknown field"):
        load_sweep(sweep_file(replicats=3))
    with pytest.raises(InputError, match=r"parameters.policies.bus.parent_fare_shar.*unknown field"):
        load_sweep(sweep_file(parameters={"policies.bus.parent_fare_shar": [0.1]}))
    with pytest.raises(InputError, match=r"parameters.policies.bus.parent_fare_share.*design point 1"):
        load_sweep(sweep_file(parameters={"policies.bus.parent_fare_share": [0.1, 7.0]}))
    with pytest.raises(InputError, match=r"need design: lhs or sobol"):
        load_sweep(sweep_file(parameters={"behaviour.dropout.per_10min_travel":
                                          {"low": 0.05, "high": 0.2}}))
    assert main(["sweep", str(sweep_file(base="missing.yaml"))]) == 2


def test_sweep_over_one_closure_rule_share_and_a_named_action(sweep_file, tmp_path, small_dict):
    """List items are addressed by index (`closures[1].share`) or by a key's value
    (`actions[expand=T00-central]`), validated like any path; each point's scenario holds the
    value, and its results equal a run of that scenario."""
    import yaml

    small_dict["years"] = 2
    small_dict["policies"] = {"closures": [{"year": 1, "below": 30},
                                           {"year": 1, "below": 100, "share": 0.5}]}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(small_dict))
    path = sweep_file(replicates=2, parameters={"policies.closures[1].share": [0.6, 0.8]})
    sweep = load_sweep(path)
    assert [sc.load(sweep.base, sweep.overrides(p)).policies.closures[1].share
            for p in (0, 1)] == [0.6, 0.8]
    run_sweep(sweep, tmp_path / "out", workers=1)
    df = read_results(tmp_path / "out")
    assert sorted(df["policies.closures[1].share"].unique()) == [0.6, 0.8]
    closed = df[(df.indicator == "schools_closed") & (df.year == 2)].groupby("point")["value"]
    assert closed.mean()[1] > closed.mean()[0]  # the 80% point closes more schools
    model = build.build_model(sc.load(sweep.base, sweep.overrides(1)))
    ref = metrics.tidy(engine.run_model(model, 0, 2).values, model.scenario.name)
    got = df[df.point == 1].drop(columns=["point", "policies.closures[1].share"])
    pd.testing.assert_frame_equal(got.sort_values(KEYS[1:]).reset_index(drop=True),
                                  ref.sort_values(KEYS[1:]).reset_index(drop=True),
                                  check_categorical=False, check_dtype=False)
    # errors name the sweep file, the parameter and what is wrong
    with pytest.raises(InputError, match=r"sweep.yaml: parameters.policies.closures\[3\].share: "
                                         r".*has 2 items \(indices 0 to 1\); \[3\] is out of range"):
        load_sweep(sweep_file(parameters={"policies.closures[3].share": [0.6]}))
    with pytest.raises(InputError, match=r"closures\[1\].share.*less than or equal to 1"):
        load_sweep(sweep_file(parameters={"policies.closures[1].share": [1.5]}))
    with pytest.raises(InputError, match=r"policies.actions is not in the scenario"):
        load_sweep(sweep_file(parameters={"policies.actions[expand=S99].classes_per_grade": [1]}))


def test_sweep_over_a_named_action_of_a_county_plan(tmp_path):
    """`policies.actions[expand=S25].classes_per_grade` sweeps the worked example's expansion."""
    import yaml

    from tests.conftest import ROOT
    plan = ROOT / "scenarios" / "counties" / "example_plan.yaml"
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": str(plan), "replicates": 1, "parameters": {
        "policies.actions[expand=S25].classes_per_grade": [1, 3],
        "policies.actions[close=S12].year": [1, 2]}}))
    sweep = load_sweep(path)
    assert len(sweep.points) == 4
    s = sc.load(sweep.base, sweep.overrides(3))
    expand = next(a for a in s.policies.actions if a.key == "expand")
    close = next(a for a in s.policies.actions if a.key == "close" and "S12" in a.close)
    assert (expand.classes_per_grade, close.year) == (3, 2)
    path.write_text(yaml.safe_dump({"base": str(plan), "replicates": 1, "parameters": {
        "policies.actions[close=S99].year": [1, 2]}}))
    with pytest.raises(InputError, match=r"0 items of policies.actions have close = 'S99'"):
        load_sweep(path)


def test_designs(sweep_file):
    grid = load_sweep(sweep_file(parameters={"policies.bus.parent_fare_share": [0.0, 0.5],
                                             "policies.class_caps.primary": [40, 45, 50]}))
    assert len(grid.points) == 6
    assert {(p["policies.bus.parent_fare_share"], p["policies.class_caps.primary"])
            for p in grid.points} == {(a, b) for a in (0.0, 0.5) for b in (40, 45, 50)}
    lhs = dict(design="lhs", points=10, seed=3, parameters={
        "behaviour.dropout.per_10min_travel": {"low": 0.05, "high": 0.2},
        "policies.class_caps.primary": {"low": 40, "high": 50, "integer": True}})
    a, b = load_sweep(sweep_file(**lhs)), load_sweep(sweep_file(**lhs))
    assert a.points == b.points  # the design is seeded
    x = np.array([p["behaviour.dropout.per_10min_travel"] for p in a.points])
    assert ((x >= 0.05) & (x <= 0.2)).all()
    # Latin hypercube: exactly one point in each tenth of the range
    assert sorted(((x - 0.05) / 0.15 * 10).astype(int)) == list(range(10))
    assert all(isinstance(p["policies.class_caps.primary"], int) for p in a.points)
    sobol = load_sweep(sweep_file(**{**lhs, "design": "sobol", "points": 8}))
    assert len(sobol.points) == 8


def test_workers_and_chunk_sizes_give_identical_results(sweep_file, tmp_path):
    sweep = load_sweep(sweep_file())
    run_sweep(sweep, tmp_path / "one", workers=1, chunk_replicates=5)
    run_sweep(sweep, tmp_path / "two", workers=2, chunk_replicates=2)
    one, two = read_results(tmp_path / "one"), read_results(tmp_path / "two")
    assert len(list((tmp_path / "two" / "results").glob("*.parquet"))) == 2 * 3
    pd.testing.assert_frame_equal(one, two, check_categorical=False)
    assert not one.duplicated(KEYS).any()
    assert set(one["replicate"]) == set(range(5)) and set(one["point"]) == {0, 1}
    # a design point's replicates are those of `schoolflow run` on that point's scenario
    model = build.build_model(sc.load(sweep.base, sweep.overrides(1)))
    ref = metrics.tidy(engine.run_model(model, 0, 5).values, model.scenario.name)
    got = one[one["point"] == 1].drop(columns=["point", "policies.bus.parent_fare_share"])
    pd.testing.assert_frame_equal(got.sort_values(KEYS[1:]).reset_index(drop=True),
                                  ref.sort_values(KEYS[1:]).reset_index(drop=True),
                                  check_categorical=False, check_dtype=False)
    summary = summarize(tmp_path / "one")
    row = summary[(summary.indicator == "family_cost_yuan_per_pupil") & (summary.level == "all")
                  & (summary.year == 2)].set_index("point")
    assert row.loc[1, "mean"] > row.loc[0, "mean"]  # parents paying 60% of the fare pay more
    assert (row["replicates"] == 5).all()
    # the figure against the swept parameter, from the command line
    from sim.cli import main
    png = tmp_path / "fig.png"
    assert main(["summarize", str(tmp_path / "one"), "--figure", str(png), "--indicators",
                 "parent_cost_yuan_per_pupil,bus_share:primary"]) == 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["summarize", str(tmp_path / "one"), "--figure", str(png), "--indicators",
                 "no_such_indicator"]) == 2


def test_killed_sweep_resumes_to_identical_results(sweep_file, tmp_path):
    path = sweep_file(replicates=40)  # 80 one-replicate chunks: time enough to kill part-way
    sweep = load_sweep(path)
    run_sweep(sweep, tmp_path / "whole", workers=1, chunk_replicates=1)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--out", str(out),
           "--workers", "1", "--chunk-replicates", "1", "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "results").glob("*.parquet"))) < 3:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "results").glob("*.parquet")))
    assert 3 <= done < 80, f"the sweep was not killed part-way ({done} of 80 chunks done)"
    assert main(["sweep", str(path), "--out", str(out)]) == 2  # refuses to overwrite
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--quiet"]) == 0
    assert len(list((out / "results").glob("*.parquet"))) == 80
    whole, resumed = read_results(tmp_path / "whole"), read_results(out)
    assert not resumed.duplicated(KEYS).any()
    pd.testing.assert_frame_equal(whole, resumed, check_categorical=False)


def test_sweep_on_a_separate_scheduler_and_worker(sweep_file, tmp_path):
    """A cluster user's set-up: scheduler and worker started as their own processes."""
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    bindir = Path(sys.executable).parent
    scheduler = subprocess.Popen([str(bindir / "dask"), "scheduler", "--scheduler-file",
                                  str(sched_file), "--port", "0", "--dashboard-address", ":0",
                                  "--host", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    worker = None
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        worker = subprocess.Popen([str(bindir / "dask"), "worker", address, "--nthreads", "1",
                                   "--nworkers", "1", "--no-dashboard"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        sweep = load_sweep(sweep_file())
        assert main(["sweep", str(sweep.path), "--out", str(tmp_path / "cluster"), "--scheduler",
                     address, "--quiet"]) == 0
    finally:
        for p in (worker, scheduler):
            if p is not None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    run_sweep(sweep, tmp_path / "local", workers=1)
    pd.testing.assert_frame_equal(read_results(tmp_path / "cluster"), read_results(tmp_path / "local"),
                                  check_categorical=False)


def test_resume_refuses_a_different_sweep_or_chunk_size(sweep_file, tmp_path):
    from sim.experiments.sweep_run import prepare
    out = tmp_path / "out"
    k, todo = prepare(load_sweep(sweep_file()), out, 2, resume=False)
    assert k == 2 and len(todo) == 2 * 3  # 2 points x chunks of 2, 2, 1 replicates
    with pytest.raises(InputError, match="already holds a sweep"):
        prepare(load_sweep(sweep_file()), out, None, resume=False)
    with pytest.raises(InputError, match="started with chunks of 2"):
        prepare(load_sweep(sweep_file()), out, 3, resume=True)
    assert prepare(load_sweep(sweep_file()), out, None, resume=True) == (k, todo)
    with pytest.raises(InputError, match="holds a different sweep"):
        prepare(load_sweep(sweep_file(replicates=6)), out, None, resume=True)


def _dask_worker_processes():
    """The worker processes of a LocalCluster started by this process (multiprocessing
    children, not its resource tracker)."""
    import psutil

    return [p for p in psutil.Process().children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline()) and "resource_tracker" not in
            " ".join(p.cmdline())]


def test_a_killed_dask_worker_loses_no_finished_chunk(sweep_file, tmp_path):
    """SIGKILL one of two worker processes mid-sweep: its chunk runs again elsewhere, the
    finished files stay as they were, and the results equal an undisturbed run."""
    import threading

    path = sweep_file(replicates=30)  # 60 one-replicate chunks
    sweep = load_sweep(path)
    run_sweep(sweep, tmp_path / "whole", workers=1, chunk_replicates=1)
    out = tmp_path / "killed"
    seen: dict = {}

    def kill_a_worker():
        deadline = time.time() + 120
        while len(list((out / "results").glob("*.parquet"))) < 4 and time.time() < deadline:
            time.sleep(0.01)
        workers = _dask_worker_processes()
        seen["done"] = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.parquet")}
        seen["workers"] = len(workers)
        workers[0].kill()

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    totals = run_sweep(sweep, out, workers=2, chunk_replicates=1)
    killer.join()
    assert seen["workers"] == 2 and 4 <= len(seen["done"]) < 60
    files = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.parquet")}
    assert len(files) == 60 and totals["chunks_run"] == 60
    assert {k: files[k] for k in seen["done"]} == seen["done"]  # finished work untouched
    pd.testing.assert_frame_equal(read_results(out), read_results(tmp_path / "whole"),
                                  check_categorical=False)
