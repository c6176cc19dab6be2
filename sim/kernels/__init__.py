"""numba kernels of the annual cycle. Plain arrays and named tuples of arrays in and out;
nothing here knows of YAML, pandas or Mesa.

numba's on-disk cache checks only the file of each cached function, not the functions it calls,
so an edited callee would silently keep old machine code in its callers. The cache therefore
lives in a folder named after a hash of every kernel source (and of sim/dtypes.py): any edit
starts a fresh cache. Set NUMBA_CACHE_DIR to choose where those folders go.
"""

import hashlib
import os
from pathlib import Path

import numba

_here = Path(__file__).resolve().parent
_sources = sorted(_here.glob("*.py")) + [_here.parent / "dtypes.py"]
_digest = hashlib.sha256(b"".join(p.read_bytes() for p in _sources)).hexdigest()[:16]
_root = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "schoolflow")
numba.config.CACHE_DIR = os.path.join(_root, f"kernels-{_digest}")
