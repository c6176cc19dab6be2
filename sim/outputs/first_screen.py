"""The first screen of `schoolflow run` and `compare` and of the HTML report: what a plan does
to pupils against its reference, in words and numbers with 90% intervals, and each of the
plan's thresholds with its worst year and value.

Values are medians over replicates with the 5th and 95th percentiles (the plan, the reference,
and the paired difference plan - reference, replicate by replicate with common random numbers).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from sim.core import i18n
from sim.core.i18n import N_, _
from sim.model.posterior import intervals_note
from sim.outputs import metrics, style
from sim.outputs.console import text_table
from sim.outputs.metrics import Run
from sim.outputs.thresholds import RULE_WORDS, status_word, threshold_name, value_text

#: (label, indicator, level): what changes for pupils, in the order a reader asks
ROWS = [
    (N_("Children out of school (aged 6-15: no place or dropped out)"), "children_out_of_school", "all"),
    (N_("of whom without a school place"), "pupils_unplaced", "all"),
    (N_("Share of compulsory-age children out of school"), "out_of_school_rate", "all"),
    (N_("Years of schooling by 17, girls"), "years_of_schooling_by_17_girls", "all"),
    (N_("Years of schooling by 17, boys"), "years_of_schooling_by_17_boys", "all"),
    (N_("Senior-high entry after grade 9"), "senior_high_entry_rate", "all"),
    (N_("Dropout rate"), "dropout_rate", "all"),
    (N_("Longest day trips, primary (95th percentile, one way)"), "travel_time_p95_min",
     "primary"),
    (N_("Longest day trips, junior (95th percentile, one way)"), "travel_time_p95_min", "junior"),
    (N_("Grades 1-3 travelling over 30 minutes"), "share_lower_primary_over_30min",
     "primary"),
    (N_("Classes over the caps (45 primary / 50 junior)"), "share_classes_over_standard",
     "all"),
    (N_("Very large classes (56+ / 61+)"), "share_classes_very_large", "all"),
    (N_("Young boarders (below grade 4)"), "young_boarders", "all"),
    (N_("Cost per pupil, government and families (yuan/year)"), "cost_per_pupil_yuan",
     "all"),
    (N_("Family spending per pupil (yuan/year)"), "family_cost_yuan_per_pupil",
     "all"),
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
        row = {"what": ("  " if ind == "pupils_unplaced" else "") + _(label), "indicator": ind,
               "level": level, plan.scenario.name: _cell(p, ind),
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
    t_part = (_("{missed} of {n} thresholds missed").format(missed=missed, n=len(applied))
              if len(applied) else _("no thresholds"))
    if reference is None:
        return _("In year {year}: {thresholds}.").format(year=year, thresholds=t_part)
    by = table.set_index("indicator")

    def diff(ind: str) -> str:
        return by.loc[ind, "difference"] if ind in by.index else style.NOT_APPLICABLE
    out = by.loc["children_out_of_school"]
    more = out["difference_p50"]
    count = style.number(abs(more), "children_out_of_school") if more else ""
    sentence = (_("In year {year}, {count} more children are out of school than under "
                  "{reference} ({difference})") if more > 0 else
                _("In year {year}, {count} fewer children are out of school than under "
                  "{reference} ({difference})") if more < 0 else
                _("In year {year}, no more children are out of school than under {reference} "
                  "({difference})"))
    return (sentence.format(year=year, count=count, reference=reference.scenario.name,
                            difference=diff("children_out_of_school"))
            + _("; grades 1-3 over 30 minutes {travel}; cost per pupil {cost} yuan; "
                "{thresholds}.").format(travel=diff("share_lower_primary_over_30min"),
                                        cost=diff("cost_per_pupil_yuan"), thresholds=t_part))


def worst_year(most: tuple[int, pd.Series] | None, last: int) -> int | None:
    """The year before the final one with the most extra children out of school (`most`:
    `worst_out_of_school`; median paired difference above 0), shown beside the final year: a
    closure's harm is often largest in its first years. None when the final year is the
    worst, or nothing is worse."""
    if most is None or most[1]["p50"] <= 0 or most[0] == last:
        return None
    return most[0]


def worst_label(year: int) -> str:
    return _("difference, year {year} (worst)").format(year=year)


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
    heading: str = ""  #: the title without the year and replicates
    status_classes: list[str] = field(default_factory=list)  #: met / missed / na, per threshold


def screen(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> Screen:
    """The first screen of `plan` against `reference` (see module docstring)."""
    year = int(plan.indicators["year"].max())
    n = int(plan.indicators["replicate"].nunique())
    most = worst_out_of_school(plan, reference) if reference is not None else None
    worst = worst_year(most, year)
    table = changes_table(plan, reference, year, worst)
    title = (_("What {plan} does to pupils, against {reference}") if reference is not None
             else _("What {plan} does to pupils")).format(
        plan=plan.scenario.name, reference=reference.scenario.name if reference else "")
    heading = title
    title += (_(", year {year} (median [90% interval] over {n} replicates; difference: plan - "
                "reference, replicate by replicate)") if reference is not None else
              _(", year {year} (median [90% interval] over {n} replicates)")).format(
        year=year, n=n)
    cols = ["what", plan.scenario.name] + ([reference.scenario.name, "difference"]
                                           if reference is not None else [])
    if worst is not None:
        cols.append("worst_year")
    shown = table[cols].rename(columns={
        "what": "", "difference": _("difference, year {year}").format(year=year),
        "worst_year": worst_label(worst or 0)})
    remarks = []
    if most is not None and most[1]["p50"] > 0:
        y, w = most
        remarks.append(_("Most extra children out of school: year {year}, {value}").format(
            year=y, value=style.interval(w["p50"], w["p05"], w["p95"], "children_out_of_school",
                                         True)))
    base = _pick(metrics.summarise(plan.indicators), "pupils_unplaced", "all", 0)
    if base is not None and base["p50"] > 0:
        remarks.append(_(
            "Base year, before any plan: {pupils} pupils without a school place in every "
            "scenario: families without a motorbike or car living beyond the day-travel limit on "
            "foot from a school teaching their grade, where no boarding bed is free (`schoolflow "
            "check` lists the villages)").format(pupils=_cell(base, "pupils_unplaced")))
    rows, classes = [], []
    for row in thresholds[thresholds["scenario"] == plan.scenario.name].itertuples():
        classes.append(row.status.replace("/", ""))
        row_ = pd.Series(row._asdict())
        text = (row.reason or _("not applicable")) if row.status == "n/a" else value_text(row_)
        reason = f" - {row.reason}" if row.status == "missed" and row.reason else ""
        rows.append((status_word(row.status), threshold_name(row_), text + reason))
    return Screen(title, headline(plan, reference, table, thresholds, year),
                  _("{note}.").format(note=intervals_note(plan.scenario)), shown, remarks,
                  _("Thresholds (checked in every simulated year, the worst year shown; "
                    "{rule})").format(rule=_(RULE_WORDS)), rows, heading, classes)


def render(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> str:
    """The first screen as text (see module docstring)."""
    sc = screen(plan, reference, thresholds)
    lines = [sc.title, "  " + sc.headline, "  " + sc.note]
    lines += ["  " + x for x in text_table(sc.table, justify="left").splitlines()]
    lines += ["  " + x for x in sc.remarks]
    if sc.thresholds:
        lines.append("  " + _("{title}:").format(title=sc.thresholds_title))
        colon = _(": ")
        lines += [f"    {i18n.pad(status, 7)}{name}{colon}{text}"
                  for status, name, text in sc.thresholds]
    return "\n".join(lines)


def render_html(plan: Run, reference: Run | None, thresholds: pd.DataFrame) -> str:
    """The first screen as an HTML section: one heading naming the plan, the headline sentence
    and notes as wrapped paragraphs, the table as a table, the thresholds as a list."""
    sc = screen(plan, reference, thresholds)
    e = html.escape
    title = _("{note}.").format(note=sc.title)
    parts = [f"<h2>{e(sc.heading)}</h2>",
             f"<p class='headline'>{e(sc.headline)}</p>",
             f"<p class='note'>{e(title)} {e(sc.note)}</p>",
             sc.table.to_html(index=False, border=0, classes="t screen", escape=True)]
    parts += [f"<p>{e(x)}</p>" for x in sc.remarks]
    if sc.thresholds:
        heading, colon = _("{title}:").format(title=sc.thresholds_title), _(": ")
        parts.append(f"<p>{e(heading)}</p><ul class='thresholds'>")
        parts += [f"<li class='{css}'><b>{e(status)}</b> {e(name)}{e(colon)}{e(text)}</li>"
                  for (status, name, text), css in zip(sc.thresholds, sc.status_classes,
                                                       strict=True)]
        parts.append("</ul>")
    return "\n".join(parts)
