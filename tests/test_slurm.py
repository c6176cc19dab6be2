"""Sweeps on a real Slurm cluster: slurmctld and slurmd on this machine (Debian's slurm-wlm,
tests/slurm/local_slurm.py), dask-jobqueue's SLURMCluster submitting batch jobs that run the
Dask workers, and `schoolflow sweep --scheduler` as README's cluster section runs it.

Shows: the sweep on batch-job workers equals a local run; a job cancelled mid-sweep (scancel)
costs nothing (its chunks run again on the other job); and when every job and the sweep itself
are killed, `--resume` on new jobs runs only the missing chunks, leaves the finished files as
they were, and gives the same results. Skipped, with the reason, only where slurm-wlm and munge
are not installed or the test does not run as root (slurmd runs jobs as their user).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.sweep import load_sweep
from sim.experiments.sweep_run import run_sweep
from tests.conftest import read_results
from tests.slurm.local_slurm import LocalSlurm, missing_programs


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm is not installed (no {', '.join(missing)}): "
                    "apt-get install slurm-wlm munge")
    if os.geteuid() != 0:
        pytest.skip("a local slurmd must run as root")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm")).start()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)  # sbatch, squeue, scancel of dask-jobqueue
    yield cluster
    cluster.stop()
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old


@contextlib.contextmanager
def batch_workers(tmp_path: Path, jobs: int):
    """A SLURMCluster of `jobs` one-core batch jobs, one Dask worker each, as README's cluster
    section sets it up; yields (cluster, scheduler address, Slurm job ids)."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    cluster = SLURMCluster(cores=1, processes=1, memory="2GB", walltime="00:30:00", queue="test",
                           python=sys.executable, interface="lo",
                           log_directory=str(tmp_path / "job_logs"),
                           local_directory=str(tmp_path / "worker_space"),
                           job_script_prologue=["export NUMBA_NUM_THREADS=1"],
                           scheduler_options={"dashboard_address": ":0"})
    client = Client(cluster)
    try:
        cluster.scale(jobs=jobs)
        client.wait_for_workers(jobs, timeout=180)
        ids = [job.job_id for job in cluster.workers.values()]
        print(f"submitted {len(ids)} Slurm batch jobs {ids}; workers: "
              f"{sorted(client.nthreads())}")
        yield cluster, cluster.scheduler_address, ids
    finally:
        client.close()
        cluster.close()


def _chunks(out: Path) -> list[Path]:
    return sorted((out / "results").glob("*.parquet"))


def _wait_for_chunks(out: Path, n: int, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while len(_chunks(out)) < n and time.time() < deadline:
        time.sleep(0.02)


def test_sweep_on_slurm_jobs_equals_local_and_survives_killed_jobs(slurm, sweep_file, tmp_path):
    path = sweep_file(replicates=30)  # 2 points x 30 one-replicate chunks
    sweep = load_sweep(path)
    run_sweep(sweep, tmp_path / "local", workers=1, chunk_replicates=1)
    local = read_results(tmp_path / "local")
    args = ["sweep", str(path), "--chunk-replicates", "1", "--quiet"]

    # 1. the sweep on two batch jobs, one of them cancelled part-way: the same results
    with batch_workers(tmp_path, jobs=2) as (_, address, ids):
        out = tmp_path / "on_slurm"

        def cancel_one_job():
            _wait_for_chunks(out, 4)
            subprocess.run(["scancel", str(ids[0])], check=True)
            print(f"scancel {ids[0]} after {len(_chunks(out))} of 60 chunks")

        killer = threading.Thread(target=cancel_one_job)
        killer.start()
        assert main([*args, "--scheduler", address, "--out", str(out)]) == 0
        killer.join()
        assert str(ids[0]) not in " ".join(slurm.jobs())  # the job was cancelled
    assert len(_chunks(out)) == 60
    pd.testing.assert_frame_equal(read_results(out), local, check_categorical=False)
    print("sweep on Slurm jobs (one cancelled mid-sweep) == local sweep: 60 chunks, "
          f"{len(local)} rows")

    # 2. every job and the sweep command killed part-way; --resume on new jobs
    out = tmp_path / "resumed"
    with batch_workers(tmp_path, jobs=2) as (_, address, ids):
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args, "--scheduler", address,
                                 "--out", str(out)], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_chunks(out, 4)
        subprocess.run(["scancel", *map(str, ids)], check=True)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(1.0)  # a chunk being renamed into place when its job died
    done = {p.name: p.stat().st_mtime_ns for p in _chunks(out)}
    print(f"killed jobs {ids} and the sweep after {len(done)} of 60 chunks")
    assert 4 <= len(done) < 60, f"not killed part-way ({len(done)} of 60 chunks)"
    with batch_workers(tmp_path, jobs=2) as (_, address, _ids):
        assert main([*args, "--scheduler", address, "--out", str(out), "--resume"]) == 0
    assert len(_chunks(out)) == 60
    assert {p.name: p.stat().st_mtime_ns for p in _chunks(out) if p.name in done} == done
    pd.testing.assert_frame_equal(read_results(out), local, check_categorical=False)
    print(f"resumed on new jobs: {60 - len(done)} chunks run, {len(done)} kept; == local sweep")
