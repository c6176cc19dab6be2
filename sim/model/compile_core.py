"""Compiling the numba core once per machine, ahead of the first run.

numba compiles the kernels on their first call and keeps the machine code in an on-disk cache
(sim/core/kernels/__init__.py says where, keyed to the kernels' sources; numba keys each entry
to the CPU and the argument types). A fresh install, or an update that changes a kernel, starts
with an empty cache: the first run then compiles for a minute or two before it simulates.
`schoolflow compile` (part of README's set-up command) does that ahead, and any command that
simulates first says that it is compiling and how long it took, instead of sitting silent.

The warm-up runs the worked example county (with rolls, boarders and named plan actions: the
kernels' every entry point with the argument types every county has) for one replicate of two
years through the batch engine and the traced replicate, or a small synthetic county where the
example is not installed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numba

from sim.model import build, engine
from sim.model import scenario as sc

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "counties" / "example_plan.yaml"
#: where the worked example is not installed (a wheel): a small synthetic county with a plan
SYNTHETIC = {"name": "compile", "seed": 1, "replicates": 1, "years": 2,
             "county": {"synthetic": {"townships": 2, "villages": 12, "seed": 1}},
             "policies": {"closures": [{"year": 1, "below": 100, "share": 0.5}]}}


def cache_dir() -> Path:
    """This install's numba cache folder for the kernels (sim/core/kernels/__init__.py)."""
    return Path(numba.config.CACHE_DIR)


def core_is_cached() -> bool:
    """Whether the on-disk cache holds the core's batch kernel (else the next run compiles)."""
    folder = cache_dir()
    return folder.is_dir() and any(folder.rglob("annual.year_batch-*.nbi"))


def compile_core() -> float:
    """Compile (or load) every kernel a run uses; returns the seconds it took."""
    t0 = time.perf_counter()
    overrides = sc.FIXED_PARAMETERS | {"years": 2, "replicates": 1, "compare_to": None}
    scenario = (sc.load(EXAMPLE, overrides) if EXAMPLE.is_file()
                else sc.validate(SYNTHETIC, "<compile>"))
    model = build.build_model(scenario)
    engine.run_model(model, 0, 1)
    for _ in engine.trace_replicate(model, 0):
        pass
    return time.perf_counter() - t0


def ensure_compiled(say=None) -> None:
    """Compile the core first, saying so on stderr, when the cache does not hold it."""
    if core_is_cached():
        return
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    say("schoolflow: compiling the numba core for this machine (once after an install or an "
        "update; about 1-2 minutes on 2 cores; `schoolflow compile` does it ahead) ...")
    seconds = compile_core()
    say(f"schoolflow: compiled in {seconds:.0f} s; cached in {cache_dir()}")
