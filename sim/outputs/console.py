"""What the terminal shows: the headline indicators of `schoolflow run` and `compare` as
"median [p05, p95]" in people's formats (sim/outputs/style.py), and the bus-day cache line."""

from __future__ import annotations

import pandas as pd

from sim.core import i18n
from sim.core.i18n import N_, _
from sim.outputs import style

HEADLINE = [  # indicators printed in the summary table, in this order
    "children_out_of_school", "pupils_unplaced", "schools_open", "pupils_enrolled",
    "dropout_rate", "out_of_school_rate", "junior_retention_3yr", "nine_year_completion",
    "senior_high_entry_rate", "years_of_schooling_by_17_girls", "years_of_schooling_by_17_boys",
    "mean_class_size",
    "share_classes_over_standard", "share_classes_very_large", "travel_time_mean_min",
    "travel_time_p95_min", "share_travel_over_60min", "share_lower_primary_over_30min",
    "boarding_share", "young_boarders", "bus_share", "share_under100_closed",
    "cost_per_pupil_yuan", "family_cost_yuan_per_pupil", "closures_deferred",
    "closures_exempted", "bus_ride_time_p95_min", "buses_needed", "bus_cost_yuan_per_year",
    "parent_cost_yuan_per_pupil", "villages_without_bus",
]


#: the label of the paired-difference column of `run_table`
PAIRED = "paired difference"


def _interval(row: pd.Series, signed: bool = False) -> str:
    return style.interval(row["p50"], row["p05"], row["p95"], row["indicator"], signed)


def cache_line(stats: dict) -> str:
    """One line on the bus-network cache: lookups, hit rate, simulations, seconds."""
    n = stats.get("network_lookups", 0)
    if not n:
        return _("no bus networks")
    lines = stats["lines_simulated"] + stats["line_hits"]
    return _("{n:.0f} network lookups, {hits:.1%} cache hits, {simulated:.0f} of {lines:.0f} "
             "lines simulated, {seconds:.2f} s").format(
        n=n, hits=stats["network_hits"] / n, simulated=stats["lines_simulated"], lines=lines,
        seconds=stats["seconds"])


def summary_table(summary: pd.DataFrame, year: int, label: str,
                  signed: bool = False) -> pd.DataFrame:
    final = summary[(summary.year == year) & summary.indicator.isin(HEADLINE)].copy()
    final[label] = final.apply(_interval, axis=1, signed=signed)
    return final[["indicator", "level", label]]


def run_table(summaries: list[tuple[str, pd.DataFrame]], year: int) -> pd.DataFrame:
    """The headline indicators in `year`, one column per (label, summary), in HEADLINE order;
    a column labelled "paired difference" is shown with signs (pp for shares). Cells where an
    indicator does not apply read '-'."""
    table = None
    for label, summary in summaries:
        part = summary_table(summary, year, label, signed=label == PAIRED)
        table = part if table is None else table.merge(part, on=["indicator", "level"], how="outer")
    order = {name: i for i, name in enumerate(HEADLINE)}
    table = table.sort_values(["indicator", "level"], key=lambda c: c.map(order) if c.name ==
                              "indicator" else c.map({"primary": 0, "junior": 1, "all": 2}))
    return in_words(table.fillna(style.NOT_APPLICABLE))


def text_table(table: pd.DataFrame, **kwargs) -> str:
    """`table.to_string(index=False, ...)` with its columns lined up in a terminal also when
    cells hold Chinese (wide) characters."""
    with pd.option_context("display.unicode.east_asian_width", i18n.current() != "en",
                           "display.width", 200):
        return table.to_string(index=False, **kwargs)


def in_words(table: pd.DataFrame, level: str = "level") -> pd.DataFrame:
    """A table's `indicator` and `level` columns in the reader's language (English: the
    registry's names, as the CSV files have them) and its column names translated; `level`:
    the registry of the level column ("level": primary / junior / all; "school_level")."""
    if i18n.current() == "en":
        return table
    out = table.copy()
    for column, kind in (("indicator", "indicator"), ("level", level)):
        if column in out:
            out[column] = out[column].map(lambda x, k=kind: i18n.term(k, x))
    out = out.rename(columns=lambda c: _(c) if c in COLUMN_WORDS else c)
    if out.columns.name in COLUMN_WORDS:
        out.columns.name = _(out.columns.name)
    return out


#: column names of the printed tables, translated where shown (`in_words`)
COLUMN_WORDS = {N_("indicator"), N_("level"), N_("paired difference"), N_("scenario"),
                N_("median [90% interval]"), N_("threshold"), N_("paired_width"),
                N_("unpaired_width"), N_("school"), N_("village"), N_("pupils"), N_("seats"),
                N_("boarders"), N_("beds"), N_("canteen_places"), N_("teachers"),
                N_("opens_later"), N_("flag"), N_("worst_grade"), N_("worst_grade_pupils"),
                N_("worst_grade_seats")}
