"""Each scenario's own thresholds (`targets:` in its file), checked in every simulated year: the
worst year and its value (mean over replicates, with the 90% interval), met or missed, the years
it is missed in, and why where the model knows (closures kept as teaching points or deferred).
A threshold a scenario does not state is not applied to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.scenario import Target
from sim.outputs import style
from sim.outputs.metrics import Run

COLUMNS = ["scenario", "threshold", "indicator", "level", "target", "difference", "worst_year",
           "value", "p05", "p95", "status", "years_missed", "reason", "source"]


def _series(run: Run, t: Target, reference: Run | None) -> pd.DataFrame | None:
    """Replicate values (replicate, year, value) of the target's indicator and level: the
    scenario's own, or plan - reference by replicate for a `difference` target."""
    def pick(df: pd.DataFrame) -> pd.DataFrame:
        sel = df[(df["indicator"] == t.indicator) & (df["level"] == t.level)]
        return sel[["replicate", "year", "value"]]
    own = pick(run.indicators)
    if not t.difference:
        return own
    if reference is None:
        return None
    m = own.merge(pick(reference.indicators), on=["replicate", "year"], suffixes=("", "_ref"))
    m["value"] = m["value"] - m["value_ref"]
    return m[["replicate", "year", "value"]]


def _reason(run: Run, t: Target | None, year: int) -> str:
    """Why a closure-share target is missed, from the closure counters of that year (`t` None:
    a closure rule's own target)."""
    if t is not None and t.indicator != "share_under100_closed":
        return ""
    df = run.indicators
    at = df[(df["year"] == year) & (df["level"] == "all")]
    exempted = at[at["indicator"] == "closures_exempted"]["value"].mean()
    deferred = at[at["indicator"] == "closures_deferred"]["value"].mean()
    parts = []
    if exempted > 0:
        parts.append(f"{exempted:.1f} schools kept as teaching points by the travel exemption "
                     "(not counted as closed)")
    if deferred > 0:
        parts.append(f"{deferred:.1f} closures deferred for lack of room at the receiving school")
    return "; ".join(parts) or "fewer schools under the threshold than the target needs"


def evaluate(run: Run, reference: Run | None = None) -> pd.DataFrame:
    """One row per target of `run.scenario` (see module docstring). `reference`: the run that
    `difference` targets are measured against (None for the reference itself: n/a)."""
    rows = []
    last = int(run.indicators["year"].max())
    for t in run.scenario.targets:
        op, bound = ("<=", t.at_most) if t.at_most is not None else (">=", t.at_least)
        row = {"scenario": run.scenario.name, "threshold": t.name, "indicator": t.indicator,
               "level": t.level, "target": f"{op} {bound:g}", "difference": t.difference,
               "worst_year": np.nan, "value": np.nan, "p05": np.nan, "p95": np.nan,
               "status": "n/a", "years_missed": "", "reason": "", "source": t.source}
        data = _series(run, t, reference)
        years = [t.year] if t.year is not None else list(range(1, last + 1))
        if data is None or data.empty:
            row["reason"] = "no reference run" if data is None else "no value in these years"
            rows.append(row)
            continue
        g = data[data["year"].isin(years)].groupby("year")["value"]
        mean, p05, p95 = g.mean(), g.quantile(0.05), g.quantile(0.95)
        if mean.empty:
            rows.append(row)
            continue
        missed = mean > bound + 1e-12 if op == "<=" else mean < bound - 1e-12
        worst = int(mean.idxmax() if op == "<=" else mean.idxmin())
        row.update(worst_year=worst, value=float(mean[worst]), p05=float(p05[worst]),
                   p95=float(p95[worst]), status="missed" if missed.any() else "met",
                   years_missed=",".join(str(int(y)) for y in mean.index[missed.to_numpy()]))
        if missed.any():
            row["reason"] = _reason(run, t, worst)
        rows.append(row)
    rows += _rule_rows(run)
    return pd.DataFrame(rows, columns=COLUMNS)


def _rule_rows(run: Run) -> list[dict]:
    """The plan's own closure targets: each closure rule with a `share`, from the run folder's
    plan_targets.csv (sim/outputs/plan_report.py), checked in the rule's year."""
    path = None if run.folder is None else run.folder / "plan_targets.csv"
    if path is None or not path.exists():
        return []
    try:
        targets = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return []
    rows = []
    for t in targets.itertuples():
        met = t.closed_share_mean >= t.target_share - 1e-9
        rows.append({"scenario": run.scenario.name, "threshold": t.rule,
                     "indicator": "share_under100_closed", "level": "all",
                     "target": f">= {t.target_share:g}", "difference": False,
                     "worst_year": int(t.year), "value": t.closed_share_mean,
                     "p05": t.closed_share_p05, "p95": t.closed_share_p95,
                     "status": "met" if met else "missed",
                     "years_missed": "" if met else str(int(t.year)),
                     "reason": "" if met else _reason(run, None, int(t.year)) + (
                         f"; {t.with_downgrades_share_mean:.1%} counting them"
                         if hasattr(t, "with_downgrades_share_mean") else ""),
                     "source": "the scenario's closure rule (its share)"})
    return rows


def table(runs: list[Run]) -> pd.DataFrame:
    """Every run's thresholds; the first run is the reference of the others."""
    frames = [evaluate(r, None if i == 0 else runs[0]) for i, r in enumerate(runs)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def value_text(row) -> str:
    """'96.1% (worst: year 4)' for a met threshold, '94.3% in year 10' for a missed one."""
    value = style.number(row["value"], row["indicator"], signed=bool(row["difference"]))
    year = int(row["worst_year"])
    return f"{value} (worst: year {year})" if row["status"] == "met" else f"{value} in year {year}"


def cell(row: pd.Series) -> str:
    """'met, 96.1% (worst: year 4)' / 'MISSED, 94.3% in year 10' / '-'."""
    if row["status"] == "n/a":
        return style.NOT_APPLICABLE
    return f"{'met' if row['status'] == 'met' else 'MISSED'}, {value_text(row)}"


def wide(thresholds: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Thresholds as rows (in the order first stated) and scenarios as columns (in `order`,
    the reference first); '-' where a scenario does not state the threshold."""
    if thresholds.empty:
        return pd.DataFrame(columns=["threshold", *order])
    t = thresholds.assign(cell=thresholds.apply(cell, axis=1))
    names = list(dict.fromkeys(t["threshold"]))
    out = t.pivot_table(index="threshold", columns="scenario", values="cell", aggfunc="first",
                        observed=True)
    out = out.reindex(index=names, columns=order)
    return out.astype(object).fillna(style.NOT_APPLICABLE).reset_index()
