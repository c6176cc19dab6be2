"""Memory of a long sweep: does `schoolflow sweep` hold its peak memory flat as replicates grow?
Runs N replicates (default 100,000) of a small synthetic county (2 townships, 16 villages, its
closure plan in year 1, simulated 1 year by default) through the sweep machinery (a local Dask
cluster, chunks streamed to Parquet), and after every chunk samples the resident memory of
this process and of every worker process (psutil). Prints the peak over the first, middle and
last tenth of the chunks: flat memory means the last tenth's peak is no higher than the
first's (within the allocator's noise).

    python benchmarks/sweep_memory.py [--replicates 100000] [--chunk 2000] [--workers 2] [--years 1]

Last line: `peak_memory_gib: X` (the sum over processes at its highest).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil
import yaml

COUNTY = {"name": "sweep_memory", "seed": 5, "replicates": 1, "years": 3,
          "county": {"synthetic": {"townships": 2, "villages": 16, "terrain": "mountainous",
                                   "seed": 2}},
          "policies": {"closures": [{"year": 1, "below": 100, "share": 0.6}]}}


def resident_gib() -> float:
    """Resident memory of this process and all its children (GiB)."""
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--years", type=int, default=1)
    args = ap.parse_args()
    COUNTY["years"] = args.years
    from sim.experiments.sweep import load_sweep
    from sim.experiments.sweep_run import prepare, run_chunks
    from sim.model.compile_core import ensure_compiled

    ensure_compiled()
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "county.yaml"
        base.write_text(yaml.safe_dump(COUNTY))
        spec = {"base": str(base), "replicates": args.replicates,
                "chunk_replicates": args.chunk, "parameters": {"years": [COUNTY["years"]]}}
        path = Path(tmp) / "sweep.yaml"
        path.write_text(yaml.safe_dump(spec))
        sweep = load_sweep(path)
        out = Path(tmp) / "out"
        k, todo = prepare(sweep, out, args.chunk, False)
        t0 = time.perf_counter()
        totals = run_chunks(sweep, out, todo, workers=args.workers,
                            progress=lambda info: samples.append(resident_gib()))
        seconds = time.perf_counter() - t0
        on_disk = sum(f.stat().st_size for f in (out / "results").glob("*.parquet")) / 2**20
    n = len(samples)
    tenth = max(1, n // 10)
    first, middle, last = (max(samples[:tenth]), max(samples[n // 2 - tenth // 2:][:tenth]),
                           max(samples[-tenth:]))
    print(f"{args.replicates} replicates x {COUNTY['years']} year(s) of a 16-village county in "
          f"{totals['chunks_run']} chunks of {k}, {args.workers} worker processes: "
          f"{seconds:.0f} s, {on_disk:.0f} MiB of Parquet written")
    print(f"resident memory (all processes), peak over the first / middle / last tenth of the "
          f"chunks: {first:.3f} / {middle:.3f} / {last:.3f} GiB")
    print(f"growth from the first tenth to the last: {last - first:+.3f} GiB "
          f"({(last - first) / first:+.1%})")
    print(f"peak_memory_gib: {max(samples):.3f}")


if __name__ == "__main__":
    main()
