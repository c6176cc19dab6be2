"""Structural statistics of a county as the model builds it, for comparing a synthetic county
with published figures (calibration/structure/targets.yaml, benchmarks/structure.py).

Each statistic is measured on replicates' base years (and, for intake, a later year) of a
scenario without closures; each function takes the per-replicate states and returns one number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.core import dtypes as dt
from sim.core.indicators import ROW
from sim.model import build, engine
from sim.model.scenario import Scenario


@dataclass
class Base:
    """What the statistics read from one replicate: the built model, the base-year state and
    the grade-1 intake by year."""

    model: build.Model
    S: object
    H: object
    C: object
    intake: np.ndarray  #: pupils_entering_grade1 by year


def collect(scenario: Scenario, replicates: int) -> list[Base]:
    """Trace `replicates` replicates through all years, keeping the base year's state."""
    model = build.build_model(scenario)
    out = []
    for r in range(replicates):
        first = None
        intake = []
        for st in engine.trace_replicate(model, r):
            if st.year == 0:
                first = tuple(type(x)(*[a.copy() for a in x]) for x in (st.S, st.H, st.C))
            intake.append(st.indicators[ROW["pupils_entering_grade1"], dt.LEVEL_ALL])
        out.append(Base(model, *first, np.array(intake)))
    return out


def _pupils(b: Base) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = b.C.n_used[0]
    c = np.flatnonzero((b.C.status[:n] == dt.ENROLLED) & (b.C.school[:n] >= 0))
    return c, b.C.grade[c], b.C.school[c]


def _enrol(b: Base) -> np.ndarray:
    return b.S.enrol.sum(axis=1)


def teaching_point_share_of_small(b: Base) -> float:
    small = (_enrol(b) < 100) & b.S.open
    return float(((b.model.world.school_level == dt.TEACHING_POINT) & small).sum() / small.sum())


def median_small_school_roll(b: Base) -> float:
    e = _enrol(b)
    return float(np.median(e[(e < 100) & b.S.open]))


def _village_share(b: Base, junior: bool) -> float:
    c, g, s = _pupils(b)
    sel = (g > 6) if junior else (g <= 6)
    kind = b.model.world.node_kind[b.model.world.school_node[s[sel]]]
    return float((kind == 0).mean())


village_share_primary = partial(_village_share, junior=False)
village_share_junior = partial(_village_share, junior=True)


def seat_share_pupils(b: Base) -> float:
    c, g, s = _pupils(b)
    return float((b.model.world.node_kind[b.model.world.school_node[s]] == 2).mean())


def _boarding(b: Base, junior: bool) -> float:
    c, g, s = _pupils(b)
    sel = (g > 6) if junior else (g <= 6)
    return float((b.C.mode[c[sel]] == dt.BOARDING).mean())


boarding_share_primary = partial(_boarding, junior=False)
boarding_share_junior = partial(_boarding, junior=True)


def left_behind_share(b: Base) -> float:
    c, g, s = _pupils(b)
    return float((b.H.parents[b.C.hh[c]] < 2).mean())


def _km(b: Base, junior: bool) -> float:
    c, g, s = _pupils(b)
    sel = (g > 6) if junior else (g <= 6)
    node = b.H.node[b.C.hh[c[sel]]]
    return float(b.model.world.km[node, s[sel]].mean())


mean_km_primary = partial(_km, junior=False)
mean_km_junior = partial(_km, junior=True)


def intake_change_7y(b: Base) -> float:
    if len(b.intake) < 8:
        return float("nan")
    return float(b.intake[7] / b.intake[0] - 1.0)


def unplaced_base_year(b: Base) -> float:
    n = b.C.n_used[0]
    return float((b.C.status[:n] == dt.UNPLACED).sum())


def report(scenario: Scenario, targets_file: Path, replicates: int = 10) -> pd.DataFrame:
    """Every target of `targets_file` with the county's value (mean and 5-95% over
    replicates) and whether it lies in the target's band."""
    spec = yaml.safe_load(Path(targets_file).read_text(encoding="utf-8"))["targets"]
    bases = collect(scenario, replicates)
    rows = []
    for t in spec:
        f = globals()[t["statistic"]]
        values = np.array([f(b) for b in bases])
        lo, hi = t["band"]
        mean = float(np.nanmean(values))
        rows.append({"target": t["name"], "published": t["published"], "band": f"{lo:g} to {hi:g}",
                     "county": mean, "p05": float(np.nanquantile(values, 0.05)),
                     "p95": float(np.nanquantile(values, 0.95)),
                     "in_band": bool(lo - 1e-9 <= mean <= hi + 1e-9), "source": t["source"]})
    return pd.DataFrame(rows)
