"""Seed tree. Every run is determined by (scenario, seed): the base-year population and each
replicate get their own `numpy.random.SeedSequence` child of the root seed, addressed by
spawn key, so replicate i has the same seed however replicates are split into chunks."""

from __future__ import annotations

import numpy as np

_POPULATION, _REPLICATES = 0, 1


def population_seed(root: int) -> int:
    """Seed of the base-year population synthesis."""
    ss = np.random.SeedSequence(root, spawn_key=(_POPULATION,))
    return int(ss.generate_state(1, np.uint64)[0])


def replicate_seeds(root: int, start: int, stop: int) -> np.ndarray:
    """uint64 seeds of replicates start..stop-1 (the kernels' counter-based draws use them)."""
    return np.array([np.random.SeedSequence(root, spawn_key=(_REPLICATES, i)).generate_state(
        1, np.uint64)[0] for i in range(start, stop)], dtype=np.uint64)
