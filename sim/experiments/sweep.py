"""Sweep files: a base scenario, parameters by dotted path, and the design of points to run.

    base: ../default.yaml          # relative to the sweep file, or absolute
    replicates: 24                 # per design point
    parameters:
      policies.bus.parent_fare_share: [0.0, 0.3, 0.6]       # a list: grid over its values
      behaviour.dropout.per_10min_travel: {low: 0.05, high: 0.2}   # a range: needs lhs / sobol
    design: grid                   # grid (lists only) | lhs | sobol (scipy.stats.qmc)
    points: 16                     # design points for lhs / sobol
    seed: 1                        # design seed (lhs / sobol)
    chunk_replicates: 24           # replicates per chunk (one task, one Parquet file)

Every design point is validated as a full scenario before anything runs, so a bad path or value
is reported against the sweep file, the parameter and the point.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.core.errors import InputError
from sim.model import scenario as sc


class Range(BaseModel):
    """A continuous parameter range for Latin hypercube or Sobol designs."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    integer: bool = Field(False, description="round drawn values to whole numbers")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self


class SweepFile(BaseModel):
    """The sweep file's fields (unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid")
    base: str = Field(description="base scenario file, relative to the sweep file or absolute")
    replicates: int = Field(ge=1, le=1_000_000, description="Monte Carlo replicates per design point")
    parameters: dict[str, list[Any] | Range] = Field(
        description="dotted path into the scenario -> list of values (grid) or {low, high} range")
    design: Literal["grid", "lhs", "sobol"] = "grid"
    points: int | None = Field(None, ge=1, le=1_000_000, description="design points for lhs / sobol")
    seed: int = Field(0, ge=0, description="seed of the lhs / sobol design")
    chunk_replicates: int = Field(24, ge=1, description="replicates per chunk (task and file)")

    @model_validator(mode="after")
    def _design_fits(self) -> SweepFile:
        if not self.parameters:
            raise ValueError("name at least one parameter")
        for path, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter {path!r} has an empty list of values")
        ranges = [p for p, v in self.parameters.items() if isinstance(v, Range)]
        if self.design == "grid" and ranges:
            raise ValueError(f"ranges ({', '.join(ranges)}) need design: lhs or sobol")
        if self.design != "grid" and self.points is None:
            raise ValueError(f"design {self.design} needs points: N")
        return self


@dataclass
class Sweep:
    """A validated sweep: its file, base scenario and design points (dotted path -> value)."""

    path: Path
    spec: SweepFile
    base: Path
    points: list[dict[str, Any]]

    @property
    def parameter_names(self) -> list[str]:
        return list(self.spec.parameters)

    def overrides(self, point: int) -> dict[str, Any]:
        return dict(self.points[point])

    def chunks(self, chunk_replicates: int | None = None) -> list[tuple[int, int, int]]:
        """(point, first replicate, stop) of every chunk, point by point."""
        k = chunk_replicates or self.spec.chunk_replicates
        n = self.spec.replicates
        return [(p, a, min(a + k, n)) for p in range(len(self.points)) for a in range(0, n, k)]

    def fingerprint(self) -> str:
        """Hash of what determines the results: the base scenario with the content of every
        file it reads (`scenario.scenario_hash`: county files, births, workbook, posterior),
        the design points and replicates."""
        base = sc.scenario_hash(sc.load(self.base))
        text = json.dumps({"base": base, "points": self.points, "replicates": self.spec.replicates},
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _design(spec: SweepFile) -> list[dict[str, Any]]:
    names = list(spec.parameters)
    if spec.design == "grid":
        combos = itertools.product(*(spec.parameters[n] for n in names))
        return [dict(zip(names, c, strict=True)) for c in combos]
    from scipy.stats import qmc
    d = len(names)
    if spec.design == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=spec.seed).random(spec.points)
    else:
        unit = qmc.Sobol(d=d, scramble=True, seed=spec.seed).random(spec.points)
    points = []
    for row in unit:
        point = {}
        for name, u in zip(names, row, strict=True):
            spec_v = spec.parameters[name]
            if isinstance(spec_v, Range):
                x = spec_v.low + float(u) * (spec_v.high - spec_v.low)
                point[name] = int(round(x)) if spec_v.integer else x
            else:  # a list in a sampled design: pick one of its values
                point[name] = spec_v[min(int(u * len(spec_v)), len(spec_v) - 1)]
        points.append(point)
    return points


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and every design point's scenario."""
    path = Path(path).resolve()
    raw = sc.read_yaml(path)
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        field, msg = sc.format_error(exc.errors()[0])
        if field == "(top level)" or not field:
            field = "(sweep)"
        raise InputError(str(path), field, msg) from None
    base = (path.parent / spec.base).resolve()
    if not base.exists():
        raise InputError(str(path), "base", f"base scenario {base} not found; give a path relative "
                         "to the sweep file or an absolute path")
    sc.load(base)  # the base as written: its own errors name it, not a design point
    points = _design(spec)
    for i, point in enumerate(points):
        for name, value in point.items():
            try:
                sc.load(base, {name: value})
            except InputError as exc:
                raise InputError(str(path), f"parameters.{name}",
                                 f"value {value!r} (design point {i}) is not valid for "
                                 f"{exc.field} in the base scenario: {exc.message}") from None
        sc.load(base, point)
    return Sweep(path, spec, base, points)


def point_table(sweep: Sweep) -> list[dict[str, Any]]:
    """One row per design point: its id and parameter values (JSON-safe)."""
    return [{"point": i, **p} for i, p in enumerate(sweep.points)]
