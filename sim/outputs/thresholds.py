"""Each scenario's own thresholds (`targets:` in its file), checked in every simulated year: the
worst year and its value (median over replicates, with the 90% interval, as the headline
reads), the share of replicates that meet it, met or missed, the years it is missed in, and why
where the model knows (closures kept as teaching points or deferred). A threshold a scenario
does not state is not applied to it.

A threshold is met in a year when at least half the replicates meet it (`is_met`: the median
replicate meets it), the same reading as the headline's median; the worst year is the year
with the smallest share of replicates meeting it (ties: the worse median).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core import i18n
from sim.core.i18n import N_, _
from sim.model.scenario import Scenario, Target
from sim.outputs import metrics, style
from sim.outputs.metrics import Run

COLUMNS = ["scenario", "threshold", "indicator", "level", "target", "difference", "worst_year",
           "value", "p05", "p95", "share_met", "status", "years_missed", "reason", "source"]

#: a threshold is met when at least this share of replicates meets it (the median does)
MET_SHARE = 0.5
#: said once wherever verdicts are shown
RULE_WORDS = N_("thresholds are judged on the median over replicates: met when at least half the "
              "replicates meet them; the share of replicates that meet each is shown")


#: the source of a closure rule's own target (its `share`), as the tables hold it
RULE_SOURCE = "the scenario's closure rule (its share)"


def is_met(share_of_replicates: float) -> bool:
    """Whether a threshold (or a closure target) met in this share of replicates is met."""
    return share_of_replicates >= MET_SHARE - 1e-12


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
        parts.append(_("{n:.1f} schools kept as teaching points by the travel exemption (not "
                       "counted as closed)").format(n=exempted))
    if deferred > 0:
        parts.append(_("{n:.1f} closures deferred for lack of room at the receiving "
                       "school").format(n=deferred))
    return _("; ").join(parts) or _("fewer schools under the threshold than the target needs")


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
               "share_met": np.nan, "status": "n/a", "years_missed": "", "reason": "", "source": t.source}
        data = _series(run, t, reference)
        years = [t.year] if t.year is not None else list(range(1, last + 1))
        if data is None or data.empty:
            row["reason"] = _("no reference run") if data is None else _("no value in these years")
            rows.append(row)
            continue
        data = data[data["year"].isin(years)]
        if data.empty:
            rows.append(row)
            continue
        meets = (data["value"] <= bound + 1e-12) if op == "<=" else (data["value"] >= bound - 1e-12)
        g = data.assign(meets=meets).groupby("year")
        share, median = g["meets"].mean(), g["value"].median()
        p05, p95 = metrics.interval(g["value"], pd.Series(t.indicator, index=median.index))
        missed = share < MET_SHARE - 1e-12
        badness = median if op == "<=" else -median
        worst = int(pd.DataFrame({"share": share, "bad": -badness})
                    .sort_values(["share", "bad"], kind="mergesort").index[0])
        row.update(worst_year=worst, value=float(median[worst]), p05=float(p05[worst]),
                   p95=float(p95[worst]), share_met=float(share[worst]),
                   status="missed" if missed.any() else "met",
                   years_missed=",".join(str(int(y)) for y in share.index[missed.to_numpy()]))
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
        met = is_met(t.replicates_met)
        rows.append({"scenario": run.scenario.name, "threshold": rule_words(run.scenario, t),
                     "indicator": "share_under100_closed", "level": "all",
                     "target": f">= {t.target_share:g}", "difference": False,
                     "worst_year": int(t.year), "value": t.closed_share_median,
                     "p05": t.closed_share_p05, "p95": t.closed_share_p95,
                     "share_met": t.replicates_met,
                     "status": "met" if met else "missed",
                     "years_missed": "" if met else str(int(t.year)),
                     "reason": "" if met else _reason(run, None, int(t.year)) + (
                         _("; {share:.1%} counting them").format(
                             share=t.with_downgrades_share_median)
                         if hasattr(t, "with_downgrades_share_median") else ""),
                     "source": RULE_SOURCE})
    return rows


def rule_words(scenario: Scenario, target) -> str:
    """A closure target of plan_targets.csv (a row: year, rule, target_share) in the reader's
    language, from the scenario's rule; the file's words where no rule matches."""
    rule = next((r for r in scenario.policies.closures if r.year == target.year
                 and r.share is not None and abs(r.share - target.target_share) < 1e-12), None)
    return target.rule if rule is None else rule.target_words(int(target.year))


def table(runs: list[Run]) -> pd.DataFrame:
    """Every run's thresholds; the first run is the reference of the others."""
    frames = [evaluate(r, None if i == 0 else runs[0]) for i, r in enumerate(runs)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def value_text(row) -> str:
    """'96.1% [95.2, 97.0] (worst: year 4; met in 100% of replicates)' for a met threshold,
    '94.3% [93.1, 95.6] in year 10 (met in 12% of replicates)' for a missed one: the median
    and 90% interval in the worst year."""
    value = style.interval(row["value"], row["p05"], row["p95"], row["indicator"],
                           signed=bool(row["difference"]))
    words = (_("{value} (worst: year {year}; met in {share:.0%} of replicates)")
             if row["status"] == "met" else
             _("{value} in year {year} (met in {share:.0%} of replicates)"))
    return words.format(value=value, year=int(row["worst_year"]), share=row["share_met"])


def status_word(status: str) -> str:
    """'met', 'MISSED' or 'n/a' in the reader's language."""
    return {"met": _("met"), "missed": _("MISSED"), "n/a": _("n/a")}[status]


def threshold_name(row) -> str:
    """A threshold's name as the scenario wrote it (English); for other languages the indicator
    and level in words and the bound, with the scenario's name after it where it is in the
    reader's script ('初中三年巩固率（初中） ≥ 95%')."""
    if i18n.current() == "en" or row["source"] == RULE_SOURCE:  # the rule's words: its own
        return row["threshold"]
    op, bound = str(row["target"]).split(" ", 1)
    shown = style.number(float(bound), row["indicator"], signed=bool(row["difference"]))
    words = style.name(row["indicator"], None if row["level"] == "all" else row["level"])
    if bool(row["difference"]):
        words = _("change in {indicator} against the reference").format(indicator=words)
    own = f" - {row['threshold']}" if style.has_cjk(str(row["threshold"])) else ""
    return f"{words} {'≤' if op == '<=' else '≥'} {shown}{own}"


def cell(row: pd.Series) -> str:
    """'met, 96.1% [..] (worst: year 4; ..)' / 'MISSED, 94.3% [..] in year 10 (..)' / '-'."""
    if row["status"] == "n/a":
        return style.NOT_APPLICABLE
    return _("{status}, {value}").format(status=status_word(row["status"]),
                                        value=value_text(row))


def wide(thresholds: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Thresholds as rows (in the order first stated) and scenarios as columns (in `order`,
    the reference first); '-' where a scenario does not state the threshold."""
    if thresholds.empty:
        return pd.DataFrame(columns=["threshold", *order])
    t = thresholds.assign(cell=thresholds.apply(cell, axis=1),
                          threshold=thresholds.apply(threshold_name, axis=1))
    names = list(dict.fromkeys(t["threshold"]))
    out = t.pivot_table(index="threshold", columns="scenario", values="cell", aggfunc="first",
                        observed=True)
    out = out.reindex(index=names, columns=order)
    return out.astype(object).fillna(style.NOT_APPLICABLE).reset_index()
