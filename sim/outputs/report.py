"""The comparison report: figures (matplotlib, PNG) and tables (CSV) next to one self-contained
HTML file with the figures embedded."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.outputs import store  # noqa: E402
from sim.outputs.metrics import Run  # noqa: E402
from sim.outputs.snapshot import Snapshot  # noqa: E402

#: (indicator, level, title) drawn as trajectories with 90% bands
TRAJECTORIES = [
    ("dropout_rate", "all", "Dropout rate (per year)"),
    ("mean_class_size", "primary", "Mean primary class size (pupils)"),
    ("travel_time_p95_min", "primary", "Primary p95 one-way travel (minutes)"),
    ("share_lower_primary_over_30min", "primary", "Grades 1-3 travelling over 30 min (share)"),
    ("boarding_share", "primary", "Primary pupils boarding (share)"),
    ("cost_per_pupil_yuan", "all", "Cost per pupil (yuan per year)"),
]


TITLES = {"trajectories": "Trajectories", "differences": "Paired differences",
          "distributions": "Class sizes and travel times", "dropout_by_group": "Dropout by group",
          "map": "County map before and after"}


def trajectories_figure(runs: list[Run]) -> plt.Figure:
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    for ax, (ind, level, title) in zip(axes.flat, TRAJECTORIES, strict=True):
        for r in runs:
            df = r.indicators
            sel = df[(df["indicator"] == ind) & (df["level"] == level)]
            g = sel.groupby("year")["value"]
            mean, lo, hi = g.mean(), g.quantile(0.05), g.quantile(0.95)
            line, = ax.plot(mean.index, mean.values, label=r.scenario.name)
            ax.fill_between(mean.index, lo.values, hi.values, color=line.get_color(), alpha=0.2)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("year")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Indicators by year: mean and 90% interval over replicates")
    return fig


def differences_figure(paired: pd.DataFrame) -> plt.Figure:
    last = paired[paired["year"] == paired["year"].max()]
    rows = [(i, lv) for i, lv, _ in TRAJECTORIES]
    fig, axes = plt.subplots(1, len(rows), figsize=(15, 3.8), constrained_layout=True)
    for ax, (ind, level) in zip(axes, rows, strict=True):
        d = last[(last["indicator"] == ind) & (last["level"] == level)]
        y = range(len(d))
        # a mean can lie outside the 5-95% range of a skewed difference: no negative bars
        err = [(d["mean"] - d["p05"]).clip(lower=0), (d["p95"] - d["mean"]).clip(lower=0)]
        ax.errorbar(d["mean"], list(y), xerr=err, fmt="o", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(list(y), d["scenario"], fontsize=8)
        ax.set_title(f"{ind}\n({level})", fontsize=8)
    fig.suptitle("Final year, paired difference against the reference (90% interval)")
    return fig


def distributions_figure(snaps: list[Snapshot]) -> plt.Figure:
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), constrained_layout=True)
    for ax, (kind, level) in zip(axes, [("class", "primary"), ("class", "junior"),
                                        ("travel", "primary"), ("travel", "junior")], strict=True):
        for sn in snaps:
            x = sn.class_sizes[level] if kind == "class" else sn.day_travel[level]
            bins = np.arange(0, 71, 5) if kind == "class" else np.arange(0, 95, 5)
            ax.hist(x, bins=bins, histtype="step", density=True, label=sn.scenario)
        ax.set_title(f"{level} {'class size (pupils)' if kind == 'class' else 'day travel (min)'}",
                     fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Final year, replicate 0: class sizes and one-way day travel")
    return fig


def dropout_groups_figure(snaps: list[Snapshot]) -> plt.Figure:
    groups = list(snaps[0].dropout_by_group)
    fig, ax = plt.subplots(figsize=(12, 3.8), constrained_layout=True)
    w = 0.8 / len(snaps)
    for i, sn in enumerate(snaps):
        ax.bar(np.arange(len(groups)) + i * w, [100 * sn.dropout_by_group[g] for g in groups], w,
               label=sn.scenario)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - w / 2, groups)
    ax.set_ylabel("% of children ever enrolled")
    ax.legend(fontsize=8)
    ax.set_title("Dropped out by the final year, by group (replicate 0)")
    return fig


def map_figure(snaps: list[Snapshot]) -> plt.Figure:
    finals = snaps[1:] or snaps[:1]  # one scenario alone: its own before and after
    panels = [(snaps[0], "base")] + [(sn, "final") for sn in finals]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5), constrained_layout=True)
    for ax, (sn, when) in zip(np.atleast_1d(axes), panels, strict=True):
        w = sn.world
        for a, b in zip(w.road_from, w.road_to, strict=True):
            ax.plot(w.node_x_km[[a, b]], w.node_y_km[[a, b]], color="#ccc", lw=0.5, zorder=1)
        ax.scatter(w.node_x_km, w.node_y_km, s=4, color="#888", zorder=2)
        pupils = sn.base_pupils if when == "base" else sn.final_pupils
        is_open = np.ones_like(sn.final_open) if when == "base" else sn.final_open
        xs, ys = w.node_x_km[w.school_node], w.node_y_km[w.school_node]
        if when == "final":
            for v, s in sn.bus_links:
                ax.plot([w.node_x_km[v], xs[s]], [w.node_y_km[v], ys[s]], color="tab:orange",
                        lw=0.6, zorder=3)
            ax.scatter(xs[~is_open], ys[~is_open], marker="x", color="tab:red", s=14, zorder=4,
                       label="closed")
        ax.scatter(xs[is_open], ys[is_open], s=np.sqrt(pupils[is_open] + 1) * 3,
                   color="tab:blue", alpha=0.6, zorder=5, label="open (size: pupils)")
        ax.set_title(f"{sn.scenario}: {'base year' if when == 'base' else 'final year'}",
                     fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("km")
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("County map: schools sized by pupils, closed schools (x), bus links (orange)")
    return fig


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t")


def write_report(path: Path, runs: list[Run], final: pd.DataFrame, paired: pd.DataFrame,
                 thresholds: pd.DataFrame, snaps: list[Snapshot] | None = None) -> list[Path]:
    """Write FILE.html and, beside it, FILE_<name>.png / .csv. Returns the files written."""
    path = Path(path)
    stem = path.with_suffix("")
    written = []
    tables = {"final_year": final, "paired_difference": paired, "thresholds": thresholds}
    for name, df in tables.items():
        target = Path(f"{stem}_{name}.csv")
        with store.atomic_path(target) as tmp:
            df.to_csv(tmp, index=False)
        written.append(target)
    figures = {"trajectories": trajectories_figure(runs)}
    if len(paired):
        figures["differences"] = differences_figure(paired)
    if snaps:
        figures["distributions"] = distributions_figure(snaps)
        figures["dropout_by_group"] = dropout_groups_figure(snaps)
        figures["map"] = map_figure(snaps)
    images = {}
    for name, fig in figures.items():
        target = Path(f"{stem}_{name}.png")
        with store.atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        images[name] = base64.b64encode(target.read_bytes()).decode()
        written.append(target)
    names = ", ".join(html.escape(r.scenario.name) for r in runs)
    n = int(runs[0].indicators["replicate"].nunique())
    status = thresholds.pivot(index="threshold", columns="scenario", values="status").reset_index()
    body = [
        f"<h1>SchoolFlow plan comparison</h1><p>Scenarios: {names}. Reference: "
        f"{html.escape(runs[0].scenario.name)}. {n} replicates each, with common random numbers "
        "(replicate i of every scenario has the same seed).</p>",
        "<h2>Thresholds of the plans</h2>", _table_html(status),
        *[f'<h2>{TITLES[k]}</h2><img alt="{k}" src="data:image/png;base64,{v}">'
          for k, v in images.items()],
    ]
    for level in ("primary", "junior", "all"):
        t = final[final["level"] == level].pivot_table(index="indicator", columns="scenario",
                                                        values=["mean", "p05", "p95"],
                                                        observed=True)
        cells = pd.DataFrame({name: [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in zip(
            t["mean"][name], t["p05"][name], t["p95"][name], strict=True)]
            for name in [r.scenario.name for r in runs] if name in t["mean"]}, index=t.index)
        body += [f"<h2>Final year, {level}: mean [90% interval]</h2>",
                 _table_html(cells.reset_index())]
    if len(paired):
        p_last = paired[(paired["year"] == paired["year"].max()) & (paired["level"] == "all")]
        body += ["<h2>Final year, paired difference against the reference</h2>",
                 _table_html(p_last[["scenario", "indicator", "mean", "p05", "p95",
                                     "paired_width", "unpaired_width"]])]
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>SchoolFlow comparison</title>"
            "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}"
            "table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th{padding:2px 8px;"
            "border-bottom:1px solid #ddd}img{max-width:100%}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    with store.atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    written.append(path)
    return written


#: panels of `sweep_figure` when none are named: (indicator, level)
SWEEP_PANELS = [("dropout_rate", "all"), ("travel_time_p95_min", "primary"),
                ("bus_ride_time_p95_min", "all"), ("cost_per_pupil_yuan", "all")]
SUMMARY_COLUMNS = {"point", "indicator", "level", "year", "replicates", "mean", "p05", "p50",
                   "p95"}


def sweep_figure(summary: pd.DataFrame, path: Path, panels: list[tuple[str, str]] | None = None,
                 year: int | None = None) -> Path:
    """A sweep's indicators against its first parameter: one panel per (indicator, level), the
    mean over replicates and the 5-95% band, in the final year (or `year`); other swept
    parameters draw one line per value. Written to `path` (PNG)."""
    panels = panels or SWEEP_PANELS
    params = [c for c in summary.columns if c not in SUMMARY_COLUMNS]
    if not params:
        raise ValueError("the summary has no swept parameter to draw against")
    x, others = params[0], params[1:]
    year = int(summary["year"].max()) if year is None else year
    rows = summary[summary["year"] == year]
    cols = min(3, len(panels))
    n_rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.4 * cols, 3.4 * n_rows),
                             constrained_layout=True, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (ind, level) in zip(axes.flat, panels, strict=False):
        d = rows[(rows["indicator"] == ind) & (rows["level"] == level)]
        groups = d.groupby(others, dropna=False) if others else [("", d)]
        for key, g in groups:
            g = g.sort_values(x)
            label = ", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(key), strict=True)
                              ) if others else None
            line, = ax.plot(g[x], g["mean"], marker="o", label=label)
            ax.fill_between(g[x], g["p05"], g["p95"], color=line.get_color(), alpha=0.2)
        ax.set_title(f"{ind} ({level})", fontsize=9)
        ax.set_xlabel(x.split(".")[-1])
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7)
    fig.suptitle(f"Year {year}: mean and 5-95% interval over replicates", fontsize=10)
    path = Path(path)
    with store.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
