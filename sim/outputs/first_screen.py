"""The first screen of `schoolflow run` and `compare` and of the HTML report: what a plan does
to pupils against its reference, in words and numbers with 90% intervals, and each of the
plan's thresholds with its worst year and value.

Values are medians over replicates with the 5th and 95th percentiles (the plan, the reference,
and the paired difference plan - reference, replicate by replicate with common random numbers).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from sim.model.posterior import intervals_note
from sim.outputs import metrics, style
from sim.outputs.metrics import Run
from sim.outputs.thresholds import RULE_WORDS, value_text

#: (label, indicator, level): what changes for pupils, in the order a reader asks
ROWS = [
    ("Children out of school (aged 6-15: no place or dropped out)", "children_out_of_school", "all"),
    ("  of whom without a school place", "pupils_unplaced", "all"),
    ("Share of compulsory-age children out of school", "out_of_school_rate", "all"),
    ("Years of schooling by 17, girls", "years_of_schooling_by_17_girls", "all"),
    ("Years of schooling by 17, boys", "years_of_schooling_by_17_boys", "all"),
    ("Senior-high entry after grade 9", "senior_high_entry_rate", "all"),
    ("Dropout rate", "dropout_rate", "all"),
    ("Longest day trips, primary (95th percentile, one way)", "travel_time_p95_min", "primary"),
    ("Longest day trips, junior (95th percentile, one way)", "travel_time_p95_min", "junior"),
    ("Grades 1-3 travelling over 30 minutes", "share_lower_primary_over_30min", "primary"),
    ("Classes over the caps (45 primary / 50 junior)", "share_classes_over_standard", "all"),
    ("Very large classes (56+ / 61+)", "share_classes_very_large", "all"),
    ("Young boarders (below grade 4)", "young_boarders", "all"),
    ("Cost per pupil, government and families (yuan/year)", "cost_per_pupil_yuan", "all"),
    ("Family spending per pupil (yuan/year)", "family_cost_yuan_per_pupil", "all"),
]


def _pick(summary: pd.DataFrame, ind: str, level: str, year: int) -> pd.Series | None:
    sel = summary[(summary["indicator"] == ind) & (summary["level"] == level)
                  & (summary["year"] == year)]
    return None if sel.empty else sel.iloc[0]


def _cell(row: pd.Series | None, ind: str, signed: bool = False) -> str:
    if row is None:
        return style.NOT_APPLICABLE
    return style.interval(row["p50"], row["p05"], row["p95"], ind, signed)


def changes_table(plan: Run, reference: Run | None, year: int,
                  worst: int | None = None) -> pd.DataFrame:
    """The first screen's table: per row of ROWS, the plan, the reference and the paired
    difference in `year` (formatted), and the raw numbers beside them; with `worst` (a year
    before `year`), the paired difference in that year too (column `worst_year`)."""
    ps = metrics.summarise(plan.indicators)
    rs = metrics.summarise(reference.indicators) if reference is not None else None
    ds = metrics.paired_difference(plan.indicators, reference.indicators) \
        if reference is not None else None
    rows = []
    for label, ind, level in ROWS:
        p = _pick(ps, ind, level, year)
        row = {"what": label, "indicator": ind, "level": level, plan.scenario.name: _cell(p, ind),
               "plan_p50": None if p is None else p["p50"]}
        if reference is not None:
            r, d = _pick(rs, ind, level, year), _pick(ds, ind, level, year)
            row[reference.scenario.name] = _cell(r, ind)
            row["difference"] = _cell(d, ind, signed=True)
            row.update(reference_p50=None if r is None else r["p50"],
                       difference_p50=None if d is None else d["p50"],
                       difference_p05=None if d is None else d["p05"],
                       difference_p95=None if d is None else d["p95"])
            if worst is not None:
                row["worst_year"] = _cell(_pick(ds, ind, level, worst), ind, signed=True)
        rows.append(row)
    return pd.DataFrame(rows)


def worst_out_of_school(plan: Run, reference: Run) -> tuple[int, pd.Series] | None:
    """The year with the most extra children out of school (median paired difference)."""
    d = metrics.paired_difference(plan.indicators, reference.indicators)
    d = d[(d["indicator"] == "children_out_of_school") & (d["level"] == "all") & (d["year"] > 0)]
    if d.empty:
        return None
    top = d.loc[d["p50"].idxmax()]
    return int(top["year"]), top


def headline(plan: Run, reference: Run | None, table: pd.DataFrame, thresholds: pd.DataFrame,
             year: int) -> str:
    """One sentence in words: the children out of school, the longest trips, the cost, and how
    many thresholds are missed."""
    mine = thresholds[thresholds["scenario"] == plan.scenario.name]
    applied = mine[mine["status"] != "n/a"]
    missed = int((applied["status"] == "missed").sum())
    t_part = f"{missed} of {len(applied)} thresholds missed" if len(applied) else "no thresholds"
    if reference is None:
        return f"In year {year}: {t_part}."
    by = table.set_index("indicator")

    def diff(ind: str) -> str:
        return by.loc[ind, "difference"] if ind in by.index else style.NOT_APPLICABLE
    out = by.loc["children_out_of_school"]
    more = out["difference_p50"]
    words = ("more" if more > 0 else "fewer") if more else "no more"
    count = style.number(abs(more), "children_out_of_school") if more else ""
    return (f"In year {year}, {count + ' ' if count else ''}{words} children are out of school "
            f"than under {reference.scenario.name} ({diff('children_out_of_school')}); "
            f"grades 1-3 over 30 minutes {diff('share_lower_primary_over_30min')}; "
            f"cost per pupil {diff('cost_per_pupil_yuan')} yuan; {t_part}.")


def worst_year(most: tuple[int, pd.Series] | None, last: int) -> int | None:
    """The year before the final one with the most extra children out of school (`most`:
    `worst_out_of_school`; median paired difference above 0), shown beside the final year: a
    closure's harm is often largest in its first years. None when the final year is the
    worst, or nothing is worse."""
    if most is None or most[1]["p50"] <= 0 or most[0] == last:
        return None
    return most[0]


def worst_label(year: int) -> str:
    return f"difference, year {year} (worst)"


@dataclass
class Screen:
    """The first screen's parts, rendered as text (`render`) or HTML (`render_html`)."""

    title: str
    headline: str
    note: str
    table: pd.DataFrame  #: the shown columns, formatted
    remarks: list[str]
    thresholds_title: str
    thresholds: list[tuple[str, str, str]]  #: (status, threshold, value and reason)


def screen(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> Screen:
    """The first screen of `plan` against `reference` (see module docstring)."""
    year = int(plan.indicators["year"].max())
    n = int(plan.indicators["replicate"].nunique())
    most = worst_out_of_school(plan, reference) if reference is not None else None
    worst = worst_year(most, year)
    table = changes_table(plan, reference, year, worst)
    against = f", against {reference.scenario.name}" if reference is not None else ""
    title = (f"What {plan.scenario.name} does to pupils{against}, year {year} "
             f"(median [90% interval] over {n} replicates"
             + ("; difference: plan - reference, replicate by replicate)" if reference is not None
                else ")"))
    cols = ["what", plan.scenario.name] + ([reference.scenario.name, "difference"]
                                           if reference is not None else [])
    if worst is not None:
        cols.append("worst_year")
    shown = table[cols].rename(columns={"what": "", "difference": f"difference, year {year}",
                                        "worst_year": worst_label(worst or 0)})
    remarks = []
    if most is not None and most[1]["p50"] > 0:
        y, w = most
        remarks.append(f"Most extra children out of school: year {y}, "
                       f"{style.interval(w['p50'], w['p05'], w['p95'], 'children_out_of_school', True)}")
    base = _pick(metrics.summarise(plan.indicators), "pupils_unplaced", "all", 0)
    if base is not None and base["p50"] > 0:
        remarks.append(
            f"Base year, before any plan: {_cell(base, 'pupils_unplaced')} pupils without a "
            "school place in every scenario: families without a motorbike or car living beyond "
            "the day-travel limit on foot from a school teaching their grade, where no boarding "
            "bed is free (`schoolflow check` lists the villages)")
    rows = []
    for row in thresholds[thresholds["scenario"] == plan.scenario.name].itertuples():
        row_ = pd.Series(row._asdict())
        text = (row.reason or "not applicable") if row.status == "n/a" else value_text(row_)
        reason = f" - {row.reason}" if row.status == "missed" and row.reason else ""
        rows.append(({"met": "met", "missed": "MISSED", "n/a": "n/a"}[row.status],
                     row.threshold, text + reason))
    return Screen(title, headline(plan, reference, table, thresholds, year),
                  f"{intervals_note(plan.scenario)}.", shown, remarks,
                  f"Thresholds (checked in every simulated year, the worst year shown; "
                  f"{RULE_WORDS})", rows)


def render(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> str:
    """The first screen as text (see module docstring)."""
    sc = screen(plan, reference, thresholds)
    lines = [sc.title, "  " + sc.headline, "  " + sc.note]
    lines += ["  " + x for x in sc.table.to_string(index=False, justify="left").splitlines()]
    lines += ["  " + x for x in sc.remarks]
    if sc.thresholds:
        lines.append(f"  {sc.thresholds_title}:")
        lines += [f"    {status:<6} {name}: {text}" for status, name, text in sc.thresholds]
    return "\n".join(lines)


def render_html(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> str:
    """The first screen as an HTML section: one heading naming the plan, the headline sentence
    and notes as wrapped paragraphs, the table as a table, the thresholds as a list."""
    sc = screen(plan, reference, thresholds)
    e = html.escape
    parts = [f"<h2>{e(sc.title.split(', year')[0])}</h2>",
             f"<p class='headline'>{e(sc.headline)}</p>",
             f"<p class='note'>{e(sc.title)}. {e(sc.note)}</p>",
             sc.table.to_html(index=False, border=0, classes="t screen", escape=True)]
    parts += [f"<p>{e(x)}</p>" for x in sc.remarks]
    if sc.thresholds:
        parts.append(f"<p>{e(sc.thresholds_title)}:</p><ul class='thresholds'>")
        parts += [f"<li class='{status.lower().replace('/', '')}'><b>{e(status)}</b> "
                  f"{e(name)}: {e(text)}</li>" for status, name, text in sc.thresholds]
        parts.append("</ul>")
    return "\n".join(parts)
