"""Parameter uncertainty in a run: each replicate draws its behavioural parameters from a
calibrated posterior.

A posterior file (CSV or parquet; `schoolflow calibrate` writes `posterior.parquet`, the bundled
one is calibration/closure_effects/posterior.csv) has one column per parameter (a dotted scenario
path) and a `weight` column, one row per particle. Replicate i of a scenario with seed s takes
particle k(s, i), drawn with probability proportional to its weight from a generator seeded by
`numpy.random.SeedSequence([replicate seed, POSTERIOR_STREAM])`: the draw depends on the
scenario's seed and the replicate index only, so a plan and its reference (same seed) give
replicate i the same parameters (paired differences stay paired), and results do not depend on
chunking or workers.

Only parameters that act in the yearly kernels may vary by replicate: those under
`behaviour.dropout`, `behaviour.achievement` and `behaviour.senior_high`. Others (choice,
demography, travel) shape the built county and its base year, which all replicates share.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import rng
from sim.core.errors import InputError
from sim.core.i18n import _
from sim.model.params import Params, build_params
from sim.model.scenario import PathError, Scenario, set_dotted, validate

#: scenario sections whose parameters may vary by replicate (they act in the yearly kernels)
PER_REPLICATE = ("behaviour.dropout.", "behaviour.achievement.", "behaviour.senior_high.")
POSTERIOR_STREAM = 0x5053  #: SeedSequence key of the particle draw (independent of the model's)


@dataclass
class Posterior:
    """A posterior sample: particles[k, j] is parameter names[j] of particle k."""

    path: Path
    names: list[str]
    particles: np.ndarray
    weights: np.ndarray  #: normalised to sum 1
    sha256: str
    params: list[Params]  #: the kernel parameters of each particle (the scenario with its values)

    def particle(self, seed: int, replicate: int) -> int:
        """The particle replicate `replicate` of a scenario with this seed runs with."""
        rep_seed = int(rng.replicate_seeds(seed, replicate, replicate + 1)[0])
        gen = np.random.default_rng(np.random.SeedSequence([rep_seed, POSTERIOR_STREAM]))
        return int(gen.choice(len(self.weights), p=self.weights))

    def values(self, k: int) -> dict[str, float]:
        """Particle k as {dotted path: value}."""
        return {n: float(v) for n, v in zip(self.names, self.particles[k], strict=True)}


def intervals_note(scenario: Scenario) -> str:
    """What a run's intervals include, in words, for the first screen and the report."""
    if scenario.posterior:
        return _("Intervals include parameter uncertainty: each replicate draws its dropout, "
                 "achievement and senior-high parameters from the calibrated posterior {file} "
                 "(the same draw in the plan and its reference)").format(
            file=Path(scenario.posterior).name)
    return _("Intervals show chance between replicates only, not parameter uncertainty: "
             "behavioural parameters fixed at the scenario's values (run with --posterior FILE "
             "to include it)")


def load_posterior(path: str | Path, scenario: Scenario) -> Posterior:
    """Read and check a posterior file against the scenario it will run with; errors name the
    file, the column and the fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "posterior", _(
            "no such file; give a posterior.csv or posterior.parquet written by `schoolflow "
            "calibrate`, or leave `posterior` out to run with fixed parameters"))
    try:
        frame = (pd.read_parquet(path) if path.suffix == ".parquet"
                 else pd.read_csv(path, comment="#"))
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise InputError(str(path), "posterior", _("cannot be read as a table ({error})").format(
            error=exc)) from None
    if "weight" not in frame.columns:
        raise InputError(str(path), "weight", _("missing column: one weight per particle (row)"))
    names = [c for c in frame.columns if c != "weight"]
    if not names or not len(frame):
        raise InputError(str(path), "posterior", _("no parameters or no particles"))
    for name in names:
        if not name.startswith(PER_REPLICATE):
            raise InputError(str(path), name, _(
                "only parameters under {sections} may vary by replicate (others shape the built "
                "county); remove the column").format(
                sections=", ".join(p.rstrip(".") for p in PER_REPLICATE)))
    values = frame[names].to_numpy(float)
    weights = frame["weight"].to_numpy(float)
    if not np.isfinite(values).all():
        raise InputError(str(path), names[int(np.flatnonzero(~np.isfinite(values).all(0))[0])],
                         _("a value is missing or not a number"))
    if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
        raise InputError(str(path), "weight", _("weights must be numbers >= 0, not all 0"))
    params = [build_params(_with_values(scenario, dict(zip(names, map(float, row), strict=True)),
                                        f"{path} (row {k + 2})"))
              for k, row in enumerate(values)]  # every particle must be a valid scenario
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Posterior(path, names, values, weights / weights.sum(), digest, params)


def _with_values(scenario: Scenario, values: dict[str, float], label: str) -> Scenario:
    """`scenario` with these dotted-path values set, validated (errors name `label`)."""
    data = scenario.model_dump(mode="json")
    for name, value in values.items():
        try:
            set_dotted(data, name, value)
        except PathError as exc:
            raise InputError(label, name, _("not a scenario parameter: {error}").format(
                error=exc)) from None
    return validate(data, label)
