"""A pyabc sampler whose results do not depend on how many workers run it.

pyabc's own parallel samplers accept particles in the order workers finish them, so a run with
four workers differs from a run with one. `BatchSampler` instead evaluates proposals in rounds of
a size that depends only on the previous results (never on the worker count), gives every
proposal its own NumPy seed spawned from `numpy.random.SeedSequence(seed)`, and keeps results in
submission order up to the n-th accepted particle. The rounds run in this process or on a Dask
client (`schoolflow calibrate --workers N` or `--scheduler ADDRESS`, as for sweeps); either way the
posterior is the same, draw for draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pyabc.sampler import Sampler

#: smallest round of proposals; a round is never larger than MAX_ROUND_FACTOR x population
MIN_ROUND = 16
MAX_ROUND_FACTOR = 10
RETRIES = 5  #: times a round's missing simulations are submitted again after lost workers


def simulate_seeded(simulate_one: Callable, seed: int):
    """Seed NumPy's global generator (pyabc draws proposals and acceptances from it), then
    simulate one particle."""
    np.random.seed(seed)
    return simulate_one()


class BatchSampler(Sampler):
    """Deterministic batched sampling for `pyabc.ABCSMC`.

    seed: root of every proposal's seed; client: a `distributed.Client`, or None to run in
    this process; progress: called after each generation with its number (the first, -1, is
    the prior sample that sets the first temperature), its proposals, acceptances and the
    total so far. `simulations` counts every evaluated proposal, including those of a round's
    tail beyond the n-th acceptance (computed, then discarded so that the sample stays the same
    for any worker count)."""

    def __init__(self, seed: int, client=None, progress: Callable[[dict], None] | None = None):
        super().__init__()
        self.client = client
        self.progress = progress
        self.calls = 0
        self._seeds = np.random.SeedSequence(seed)
        self.simulations = 0

    def skip(self, calls: int) -> None:
        """Pass over the seeds of `calls` earlier generations (a resumed run)."""
        self._seeds.spawn(calls)
        self.calls += calls

    def _round_size(self, need: int, n: int, accepted: int, appended: int, left: float) -> int:
        rate = accepted / appended if appended else None
        size = need if rate is None else math.ceil(need / max(rate, 0.02))
        return int(min(max(size, MIN_ROUND), MAX_ROUND_FACTOR * n, left))

    def _evaluate(self, simulate_one: Callable, seeds: list[int]) -> list:
        """The round's particles, in seed order. On a Dask client a worker that dies mid-round
        (killed, or its batch job ended) costs only its unfinished simulations: Dask reruns
        them elsewhere, and where the loss breaks the round itself (the broadcast of the
        simulator, a lost result) the simulations still missing are submitted again, up to
        RETRIES times. Seeds fix every particle, so the round's result is the same."""
        if self.client is None:
            return [simulate_seeded(simulate_one, s) for s in seeds]
        from distributed import KilledWorker, as_completed
        from distributed.comm.core import CommClosedError

        lost_worker = (KilledWorker, CommClosedError, OSError, TimeoutError)
        done: dict[int, object] = {}
        for attempt in range(RETRIES + 1):
            todo = [i for i in range(len(seeds)) if i not in done]
            try:
                try:
                    fn = self.client.scatter(simulate_one, broadcast=True, hash=False)
                except KeyError as exc:  # the scheduler lost a worker while replicating
                    raise OSError(f"worker lost during the broadcast: {exc}") from exc
                futures = self.client.map(simulate_seeded, [fn] * len(todo),
                                          [seeds[i] for i in todo], pure=False)
                index = {f.key: i for f, i in zip(futures, todo, strict=True)}
                for future in as_completed(futures):
                    done[index[future.key]] = future.result()
                    future.release()
                break
            except lost_worker as exc:
                if attempt == RETRIES:
                    raise RuntimeError(f"Dask workers kept failing during a calibration round "
                                       f"({exc!r}); finished generations are kept: rerun with "
                                       "--resume") from exc
                self.client.wait_for_workers(1, timeout=120)
        return [done[i] for i in range(len(seeds))]

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):
        generation = self._seeds.spawn(1)[0]  # one child per call: the call order is fixed
        sample = self._create_empty_sample()
        accepted = appended = 0
        while accepted < n and appended < max_eval:
            size = self._round_size(n - accepted, n, accepted, appended, max_eval - appended)
            seeds = [int(c.generate_state(1)[0]) for c in generation.spawn(size)]
            particles = self._evaluate(simulate_one, seeds)
            self.simulations += len(particles)
            for particle in particles:
                sample.append(particle)
                appended += 1
                if particle.accepted:
                    accepted += 1
                    if accepted == n:
                        break
        self.nr_evaluations_ = appended
        if self.progress is not None:
            self.progress({"generation": self.calls - 1, "proposals": appended,
                           "accepted": accepted, "simulations": self.simulations})
        self.calls += 1
        if accepted < n:
            sample.ok = False
        return sample
