"""The comparison report: figures (matplotlib, PNG) and tables (CSV) next to one self-contained
HTML file with the figures embedded."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim import store  # noqa: E402
from sim.compare import Run  # noqa: E402

#: (indicator, level, title) drawn as trajectories with 90% bands
TRAJECTORIES = [
    ("dropout_rate", "all", "Dropout rate (per year)"),
    ("mean_class_size", "primary", "Mean primary class size (pupils)"),
    ("travel_time_p95_min", "primary", "Primary p95 one-way travel (minutes)"),
    ("share_lower_primary_over_30min", "primary", "Grades 1-3 travelling over 30 min (share)"),
    ("boarding_share", "primary", "Primary pupils boarding (share)"),
    ("cost_per_pupil_yuan", "all", "Cost per pupil (yuan per year)"),
]


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


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t")


def write_report(path: Path, runs: list[Run], final: pd.DataFrame, paired: pd.DataFrame,
                 thresholds: pd.DataFrame) -> list[Path]:
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
    last = final[final["level"] == "all"][["scenario", "indicator", "mean", "p05", "p95"]]
    body = [
        f"<h1>SchoolFlow plan comparison</h1><p>Scenarios: {names}. Reference: "
        f"{html.escape(runs[0].scenario.name)}. {n} replicates each, with common random numbers "
        "(replicate i of every scenario has the same seed).</p>",
        "<h2>Thresholds of the plans</h2>", _table_html(status),
        *[f'<h2>{"Trajectories" if k == "trajectories" else "Paired differences"}</h2>'
          f'<img alt="{k}" src="data:image/png;base64,{v}">' for k, v in images.items()],
        "<h2>Final year, all levels: mean and 90% interval</h2>", _table_html(last),
    ]
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
