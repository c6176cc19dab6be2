"""numba kernels of the annual cycle. Plain arrays and named tuples of arrays in and out;
nothing here knows of YAML, pandas or Mesa.

numba's on-disk cache checks only the file of each cached function, not the functions it calls,
so an edited callee would silently keep old machine code in its callers. The cache therefore
lives in a folder named after a hash of every kernel source and of sim/core/*.py (dtypes, rules,
the indicator rows): any edit starts a fresh cache. Set NUMBA_CACHE_DIR to choose where those folders go.

Measured rules for this code (numba 0.6x; see benchmarks/core_speed.py):
- In per-agent loops, do not call helpers that take named tuples or arrays: numba reference-
  counts every array handed to a call, which cost 20-60 times the work in the placement loop.
  Helpers taking scalars (and `P`, a tuple of floats) are free. This holds for helpers marked
  inline="always" too: `enrolment.option` took S and W until 2026-12 and cost 0.3 us per
  school considered; with the school as scalars, placement went from 44.6 to 16.1 ms per
  replicate-year (benchmarks/kernel_profile.py).
- A loop that visits agents in random order (placement) should gather what it reads into
  small arrays in record order first and write its outcomes back in record order after:
  each state field read in random order is a cache miss (placement 16.1 -> 12.7 ms).
- Fill and copy arrays with explicit loops rather than slice assignment: the slice machinery
  adds seconds to the cold compile, which users pay on their first run.
- Do not mark the per-replicate year functions inline="always": a year loop inlined into the
  prange loop was once miscompiled (tests/test_engine.py::
  test_parallel_core_matches_serial_replicate compares the batch kernels with the Python loop).
"""

import hashlib
import os
from pathlib import Path

import numba

_here = Path(__file__).resolve().parent
_sources = sorted(_here.glob("*.py")) + sorted(_here.parent.glob("*.py"))  # and sim/core/*.py
_digest = hashlib.sha256(b"".join(p.read_bytes() for p in _sources)).hexdigest()[:16]
_root = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "schoolflow")
numba.config.CACHE_DIR = os.path.join(_root, f"kernels-{_digest}")
