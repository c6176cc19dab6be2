"""Agreement of two engines' indicators: for every indicator, level and year, the means over
replicates and their difference in combined standard errors.

Used by the engine-agreement test (tests/test_engines.py) and `benchmarks/engines.py`: the numba
core and the Mesa reference model must agree everywhere within a critical |z| that holds the
chance of any false alarm over the whole table at 1% (Bonferroni: about 4.1 standard errors
for 260 cells; three standard errors per cell would raise a false alarm in half of all tables
of that size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from sim.core.dtypes import INDICATOR_LEVELS
from sim.core.indicators import INDICATOR_NAMES
from sim.core.kernels.state import STATE_TABLES, Field
from sim.model import engine
from sim.reference.mesa_model import SchoolFlowModel

#: where both engines' replicates all give one value, means must be equal to this (absolute)
EXACT = 1e-9
FAMILY_ALPHA = 0.01  #: chance of a false alarm anywhere in an agreement table


def critical_z(cells: int, alpha: float = FAMILY_ALPHA) -> float:
    """Two-sided Bonferroni critical |z| for `cells` comparisons (at least 3)."""
    return max(3.0, float(norm.isf(alpha / (2 * max(cells, 1)))))


def combined_se(xa: np.ndarray, xb: np.ndarray) -> float:
    """Standard error of the difference of two means under the hypothesis that both engines
    draw from one distribution: the pooled variance (two-sample t test) times
    sqrt(1/na + 1/nb). Pooling keeps a small sample whose replicates happen to agree (a count
    that rarely moves) from claiming zero spread."""
    na, nb = len(xa), len(xb)
    if na + nb <= 2:
        return 0.0
    ss = ((xa - xa.mean()) ** 2).sum() + ((xb - xb.mean()) ** 2).sum()
    return float(np.sqrt(ss / (na + nb - 2) * (1.0 / na + 1.0 / nb)))


def agreement_table(a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("numba", "mesa"),
                    years: list[int] | None = None) -> pd.DataFrame:
    """Rows (indicator, level, year, mean a, mean b, n a, n b, `z` = (mean b - mean a) / combined
    standard error, `agrees` = |z| <= `critical_z` of the table's cells) from
    values[replicate, year, indicator, level] of two engines. Cells that are NaN in every
    replicate of both engines are left out; a cell defined in one engine and not the other
    disagrees. With zero spread in both engines the means must be equal."""
    years = list(range(a.shape[1])) if years is None else years
    rows = []
    for y in years:
        for i, name in enumerate(INDICATOR_NAMES):
            for lv, level in enumerate(INDICATOR_LEVELS):
                xa, xb = a[:, y, i, lv], b[:, y, i, lv]
                na, nb = np.isfinite(xa).sum(), np.isfinite(xb).sum()
                if na == 0 and nb == 0:
                    continue
                row = {"indicator": name, "level": level, "year": y, f"{names[0]} mean": np.nan,
                       f"{names[1]} mean": np.nan, f"{names[0]} n": int(na), f"{names[1]} n": int(nb),
                       "z": np.inf, "agrees": False}
                if na and nb:
                    ma, mb = np.nanmean(xa), np.nanmean(xb)
                    se = combined_se(xa[np.isfinite(xa)], xb[np.isfinite(xb)])
                    diff = mb - ma
                    z = diff / se if se > 0 else (0.0 if abs(diff) <= EXACT else np.inf)
                    row.update({f"{names[0]} mean": ma, f"{names[1]} mean": mb, "z": z})
                rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["agrees"] = table["z"].abs() <= critical_z(len(table))
    return table


# --- agent by agent ---------------------------------------------------------------------------
#: agent-level fields compared between the engines each year: the fields marked `compare` in
#: the state tables (sim/core/kernels/state.py), as "child.age", ..., and the indicators
_PREFIX = {"S": "school", "H": "household", "C": "child"}
STATE_FIELDS = tuple(f"{_PREFIX[var]}.{f.name}" for var, (_, fields) in STATE_TABLES.items()
                     for f in fields if f.compare) + ("indicators",)
#: how the Mesa agents name what is not their own attribute of the field's name
_MESA_ATTRIBUTE = {"child.hh": lambda k: k.household.hid,
                   "child.school": lambda k: -1 if k.school is None else k.school.sid}


def _as_compared(values, field: Field) -> np.ndarray:
    """An engine's values of a field as compared: integers as int64, others in their dtype."""
    a = np.asarray(values)
    return a.astype(np.int64) if np.dtype(field.dtype).kind in "iu" else a.astype(field.dtype)


def _compared_fields():
    for var, (_, fields) in STATE_TABLES.items():
        for f in fields:
            if f.compare:
                yield var, f, f"{_PREFIX[var]}.{f.name}"


def numba_states(built, replicate: int = 0) -> list[dict[str, np.ndarray]]:
    """Every year's agent state of one replicate on the numba core (copies), by STATE_FIELDS."""
    out = []
    for st in engine.trace_replicate(built, replicate):
        n = int(st.C.n_used[0])
        parts = {"S": st.S, "H": st.H, "C": st.C}
        state = {}
        for var, f, key in _compared_fields():
            a = getattr(parts[var], f.name)
            state[key] = _as_compared(a[:n] if var == "C" else a, f)
        state["indicators"] = st.indicators.copy()
        out.append(state)
    return out


def mesa_states(built, replicate: int = 0) -> list[dict[str, np.ndarray]]:
    """The same as `numba_states` from the Mesa reference model's agents."""
    model = SchoolFlowModel(built.scenario, replicate, built)
    out = [_mesa_state(model)]
    for _ in range(built.scenario.years):
        model.step()
        out.append(_mesa_state(model))
    return out


def _mesa_state(m) -> dict[str, np.ndarray]:
    agents = {"S": m.schools, "H": m.households, "C": m.pupils}
    state = {}
    for var, f, key in _compared_fields():
        get = _MESA_ATTRIBUTE.get(key, lambda a, name=f.name: getattr(a, name))
        values = [get(a) for a in agents[var]]
        state[key] = _as_compared(np.stack(values) if f.shape else values, f)
    state["indicators"] = m.indicators[-1].copy()
    return state


def state_differences(a: list[dict], b: list[dict]) -> list[str]:
    """Where two engines' yearly agent states differ: 'year Y: FIELD (k of n differ, first at
    index i: x vs y)'. Empty when they are identical (indicators to 1e-9 relative)."""
    out = []
    if len(a) != len(b):
        return [f"years: {len(a)} vs {len(b)}"]
    for year, (sa, sb) in enumerate(zip(a, b, strict=True)):
        for f in STATE_FIELDS:
            x, y = sa[f], sb[f]
            if x.shape != y.shape:
                out.append(f"year {year}: {f} shape {x.shape} vs {y.shape}")
                continue
            if f == "indicators":
                same = np.isclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
            else:
                same = x == y
            if not same.all():
                i = np.argwhere(~same)[0]
                out.append(f"year {year}: {f} ({int((~same).sum())} of {same.size} differ, first at "
                           f"{tuple(int(v) for v in i)}: {x[tuple(i)]} vs {y[tuple(i)]})")
    return out
