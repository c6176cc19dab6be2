"""Running a sweep: work is cut into chunks (design point x replicate range); each chunk is one
Dask task that runs its replicates in the numba core (prange over replicates) and writes its own
Parquet file into DIR/results/ at once (temporary name, then rename). DIR/manifest.json records
the design. `resume` runs only the chunks whose files are missing, so a killed sweep loses at most
the chunks in flight. Results do not depend on chunk size or worker count: replicate r of every
point has the seed `sim.core.rng.replicate_seeds(scenario seed, r, r + 1)` (common random numbers
across points, and the same numbers `schoolflow run` gives for that point's scenario).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.core.errors import InputError
from sim.experiments.run import run_scenario
from sim.experiments.sweep import Sweep, point_table
from sim.model import build, engine
from sim.model import scenario as sc
from sim.outputs import metrics, store

MANIFEST = "manifest.json"
RESULTS = "results"


def chunk_file(point: int, start: int, stop: int) -> str:
    """File name of one chunk's results."""
    return f"point{point:05d}_rep{start:07d}-{stop:07d}.parquet"


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Undo, in this worker process, what Dask's nanny sets for every worker
    (MALLOC_TRIM_THRESHOLD_=65536): with it glibc returns every freed block of the kernels'
    per-year arrays to the system, so the next year's arrays fault in fresh pages; measured, a
    chunk ran 30% slower on a worker than in-process. Large blocks stay in the heap (mmap above
    32 MiB only, trimmed above 256 MiB). Returns whether glibc's mallopt was there to call."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)
                and libc.mallopt(m_trim_threshold, 256 * 2**20))


@lru_cache(maxsize=4)
def _model(base: str, overrides_json: str) -> build.Model:
    return build.build_model(sc.load(base, sc.FIXED_PARAMETERS | json.loads(overrides_json)))


def run_chunk(base: str, overrides: dict, point: int, start: int, stop: int, results_dir: str,
              threads: int | None) -> dict:
    """Run replicates start..stop-1 of one design point and write them as one Parquet file
    (tidy columns plus `point` and one column per swept parameter). Runs on a Dask worker, with
    `threads` numba threads (None: all the worker's cores, or NUMBA_NUM_THREADS). If the file
    is there already, a first attempt wrote it before its worker died (Dask retries a task whose
    result was lost with its worker): it is kept, and nothing is run again."""
    target = Path(results_dir) / chunk_file(point, start, stop)
    if target.exists():
        return {"point": point, "start": start, "stop": stop, "seconds": 0.0,
                "child_year_steps": 0, "bus": {}, "kept": True}
    engine.set_workers(threads)
    keep_freed_memory()
    model = _model(base, json.dumps(overrides, sort_keys=True))
    run = run_scenario(model.scenario, start, stop, model=model)
    result = run.result
    df = run.tidy()
    df.insert(0, "point", np.int32(point))
    for name, value in overrides.items():
        df[name] = value
    with store.atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False)
    model.bus.release()  # the worker keeps this model for its next chunk: memory stays flat
    return {"point": point, "start": start, "stop": stop, "seconds": result.seconds,
            "child_year_steps": result.child_year_steps, "bus": result.bus_stats}


def _manifest(sweep: Sweep, chunk_replicates: int) -> dict:
    return {
        "schoolflow_version": __version__, "git_commit": store.git_commit(),
        "sweep_file": str(sweep.path), "base": str(sweep.base), "fingerprint": sweep.fingerprint(),
        "design": sweep.spec.design, "replicates": sweep.spec.replicates,
        "chunk_replicates": chunk_replicates, "parameters": sweep.parameter_names,
        "points": point_table(sweep),
    }


def prepare(sweep: Sweep, out: Path, chunk_replicates: int | None, resume: bool) -> tuple[int, list]:
    """Check or write the manifest; return the chunk size and the chunks still to run."""
    out = Path(out)
    results = out / RESULTS
    manifest_path = out / MANIFEST
    k = chunk_replicates or sweep.spec.chunk_replicates
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if not resume:
            raise InputError(str(out), "--out", "already holds a sweep; add --resume to finish it, "
                             "or choose another folder")
        if old.get("fingerprint") != sweep.fingerprint():
            raise InputError(str(manifest_path), "fingerprint", "this folder holds a different sweep "
                             "(base scenario, design or replicates changed); choose another --out")
        if chunk_replicates and chunk_replicates != old["chunk_replicates"]:
            raise InputError(str(manifest_path), "chunk_replicates",
                             f"the sweep was started with chunks of {old['chunk_replicates']}; "
                             "resume with that size (or leave --chunk-replicates out)")
        k = old["chunk_replicates"]
    else:
        if results.exists() and any(results.glob("*.parquet")):
            raise InputError(str(out), "--out", "holds results but no manifest; choose another folder")
        with store.atomic_path(manifest_path) as tmp:
            tmp.write_text(json.dumps(_manifest(sweep, k), indent=2, default=str))
    results.mkdir(parents=True, exist_ok=True)
    done = {p.name for p in results.glob("*.parquet")}
    todo = [c for c in sweep.chunks(k) if chunk_file(*c) not in done]
    return k, todo


def run_sweep(sweep: Sweep, out: Path, workers: int | None = None, scheduler: str | None = None,
              chunk_replicates: int | None = None, resume: bool = False,
              progress: Callable[[dict], None] | None = None) -> dict:
    """Check or write the manifest (`prepare`), then run the missing chunks (`run_chunks`)."""
    _, todo = prepare(sweep, out, chunk_replicates, resume)
    return run_chunks(sweep, out, todo, workers, scheduler, progress)


def run_chunks(sweep: Sweep, out: Path, todo: list[tuple[int, int, int]], workers: int | None = None,
               scheduler: str | None = None,
               progress: Callable[[dict], None] | None = None) -> dict:
    """Run chunks (point, first replicate, stop) on Dask: a LocalCluster of `workers` processes
    (default 1; each uses cores / workers numba threads), or the cluster at `scheduler` (each
    worker uses its machine's cores; set NUMBA_NUM_THREADS where several workers share a node).
    Returns totals (chunks run, child-year steps, seconds, bus-network cache counts summed over
    chunks: each worker process keeps its own cache)."""
    from distributed import as_completed

    out = Path(out).resolve()
    totals = {"chunks_run": 0, "child_year_steps": 0, "seconds": 0.0, "bus": {}}
    if not todo:
        return totals
    t0 = time.perf_counter()
    with dask_client(workers, scheduler) as (client, threads, n_slots):
        pending = iter(todo)

        def submit(chunk):
            p, a, b = chunk
            return client.submit(run_chunk, str(sweep.base), sweep.overrides(p), p, a, b,
                                 str(out / RESULTS), threads, pure=False)

        stream = as_completed([submit(c) for _, c in zip(range(2 * n_slots), pending,
                                                          strict=False)])
        for future in stream:
            info = future.result()
            # let the scheduler forget it: a finished chunk whose result sat on a worker that
            # dies later is not run again (its file is already written)
            future.release()
            totals["chunks_run"] += 1
            totals["child_year_steps"] += info["child_year_steps"]
            for key, value in info["bus"].items():
                totals["bus"][key] = totals["bus"].get(key, 0) + value
            if progress is not None:
                progress(info)
            nxt = next(pending, None)
            if nxt is not None:  # bounded in flight: results stream to disk, not to memory
                stream.add(submit(nxt))
    totals["seconds"] = time.perf_counter() - t0
    return totals


@contextmanager
def dask_client(workers: int | None, scheduler: str | None):
    """A Dask client for sweeps and calibrations: a LocalCluster of `workers` processes (default
    1), or the cluster at `scheduler`. Yields (client, numba threads per task, task slots):
    locally each task uses cores / workers numba threads; on a cluster None (each worker uses
    its own machine's cores; set NUMBA_NUM_THREADS where several workers share a node)."""
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        cluster = None
        threads, n_slots = None, max(1, sum(client.nthreads().values()))
    else:
        n_workers = workers or 1
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        threads, n_slots = max(1, (os.cpu_count() or 1) // n_workers), n_workers
    try:
        yield client, threads, n_slots
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def optional_client(workers: int | None, scheduler: str | None):
    """(Dask client or None, numba threads per task): in this process (None, None) unless more
    than one worker or a scheduler is asked for (calibration, the optimiser's search)."""
    if not scheduler and (workers or 1) <= 1:
        yield None, None
        return
    with dask_client(workers, scheduler) as (client, threads, _):
        yield client, threads


def summarize(out: Path) -> pd.DataFrame:
    """Mean and 90% interval per design point, indicator, level and year, with the points'
    parameter values; written to DIR/summary.csv. Reads one design point's chunks at a time."""
    out = Path(out)
    manifest_path = out / MANIFEST
    if not manifest_path.exists():
        raise InputError(str(out), "DIR", "no manifest.json here; give the --out folder of a sweep")
    manifest = json.loads(manifest_path.read_text())
    files = sorted((out / RESULTS).glob("*.parquet"))
    if not files:
        raise InputError(str(out), "results", "no finished chunks yet; run the sweep (or --resume)")
    cols = ["point", "replicate", "year", "indicator", "level", "value"]
    by_point: dict[str, list[Path]] = {}
    for f in files:
        by_point.setdefault(f.name.split("_")[0], []).append(f)
    parts = []
    for point_files in by_point.values():  # one design point in memory at a time
        df = pd.concat([pd.read_parquet(f, columns=cols) for f in point_files], ignore_index=True)
        parts.append(metrics.summarise(df, by=("point",), count=True))
    summary = pd.concat(parts, ignore_index=True)
    points = pd.DataFrame(manifest["points"])
    summary = points.merge(summary, on="point", how="right")
    with store.atomic_path(out / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    return summary
