"""Sweep throughput: 1000 replicates x 10 years of the default county through `schoolflow sweep`
machinery (a local Dask worker process running the numba core on all cores, chunks written to
Parquet as they finish). Wall time includes starting the cluster, building the model and loading
(not compiling: a warm-up runs first) the numba core.

    python benchmarks/throughput.py [--replicates 1000] [--workers 1] [--chunk 100]

Reports child-year steps per second, peak memory (this process + the largest worker) and the
bus-day simulation's cache hits and seconds (set SCHOOLFLOW_BUS_CACHE=off to simulate every
network afresh); last line: `seconds: N`.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=100)
    args = ap.parse_args()
    from sim.experiments.sweep import load_sweep
    from sim.experiments.sweep_run import run_sweep
    from sim.model import build, engine
    from sim.model import scenario as sc

    default = ROOT / "scenarios" / "default.yaml"
    scenario = sc.load(default)
    engine.run_model(build.build_model(scenario), 0, 1)  # compile or load the numba cache
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"base": str(default), "replicates": args.replicates, "chunk_replicates": args.chunk,
                "parameters": {"years": [scenario.years]}}
        path = Path(tmp) / "throughput.yaml"
        path.write_text(yaml.safe_dump(spec))
        sweep = load_sweep(path)
        t0 = time.perf_counter()
        totals = run_sweep(sweep, Path(tmp) / "out", workers=args.workers)
        seconds = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"{args.replicates} replicates x {scenario.years} years of {scenario.name}, "
          f"{args.workers} worker process(es), chunks of {args.chunk}")
    print(f"child_year_steps_per_s: {totals['child_year_steps'] / seconds:.0f}")
    print(f"peak memory: {own:.2f} GiB (this process) + {worker:.2f} GiB (largest worker) "
          f"= {own + worker:.2f} GiB")
    bus = totals.get("bus") or {}
    if bus.get("network_lookups"):
        print(f"bus networks: {bus['network_lookups']} lookups, "
              f"{bus['network_hits'] / bus['network_lookups']:.1%} cache hits, "
              f"{bus['networks_built']} built, {bus['lines_simulated']} lines simulated, "
              f"{bus['seconds']:.1f} s in the bus-day code ({bus['seconds'] / seconds:.1%} of wall)")
    print(f"seconds: {seconds:.1f}")


if __name__ == "__main__":
    main()
