"""Agreement of two engines' indicators: for every indicator, level and year, the means over
replicates and their difference in combined standard errors.

Used by the engine-agreement test (tests/test_engines.py) and `benchmarks/engines.py`: the numba
core and the Mesa reference model must agree within three combined standard errors everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.dtypes import INDICATOR_LEVELS
from sim.core.indicators import INDICATOR_NAMES

#: where both engines' replicates all give one value, means must be equal to this (absolute)
EXACT = 1e-9


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
    standard error, `agrees` = |z| <= 3) from values[replicate, year, indicator, level] of two engines. Cells
    that are NaN in every replicate of both engines are left out; a cell defined in one engine
    and not the other disagrees. With zero spread in both engines the means must be equal."""
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
                    row.update({f"{names[0]} mean": ma, f"{names[1]} mean": mb, "z": z,
                                "agrees": bool(abs(z) <= 3.0)})
                rows.append(row)
    return pd.DataFrame(rows)
