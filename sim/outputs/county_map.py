"""The county as read: villages (area by residents), schools by level, roads by class, a scale
bar; `check` draws it so that a wrong projection, a village in the sea or a missing road shows
at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.core import dtypes as dt
from sim.core.i18n import N_, _
from sim.model.world import World

ROAD_STYLE = {dt.COUNTY_ROAD: (N_("county road"), "0.15", 1.6),
              dt.TOWNSHIP_ROAD: (N_("township road"), "0.4", 1.0),
              dt.VILLAGE_ROAD: (N_("village road"), "0.65", 0.6)}
LEVEL_STYLE = {dt.TEACHING_POINT: (N_("teaching point"), "v", "tab:olive"),
               dt.VILLAGE_PRIMARY: (N_("village primary"), "o", "tab:green"),
               dt.CENTRAL_PRIMARY: (N_("central primary"), "s", "tab:blue"),
               dt.JUNIOR: (N_("junior"), "D", "tab:purple"),
               dt.NINE_YEAR: (N_("nine-year"), "P", "tab:red")}


def scale_bar_km(width_km: float) -> float:
    """A round length (km) about a fifth of the map's width: 1, 2 or 5 times a power of ten."""
    target = max(width_km / 5, 1e-3)
    power = 10 ** np.floor(np.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


def draw_scale_bar(ax, x: np.ndarray, y: np.ndarray) -> float:
    """A scale bar (km) below the points' lower-left corner; returns its length."""
    bar = scale_bar_km(float(np.ptp(x)) or 1.0)
    x0, y0 = float(np.min(x)), float(np.min(y)) - 0.06 * (float(np.ptp(y)) or 1.0)
    ax.plot([x0, x0 + bar], [y0, y0], color="k", lw=3)
    ax.text(x0 + bar / 2, y0, _("{km:g} km").format(km=bar), ha="center", va="bottom", fontsize=9)
    return bar


def county_map(world: World, path: Path, title: str) -> dict:
    """Draw the county to `path` (PNG). Returns what it drew: villages, schools by level,
    road segments by class (by their English names) and the scale bar's length (km)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.outputs.style import figure_style

    x, y = world.node_x_km, world.node_y_km
    drawn: dict = {"villages": len(x), "roads": {}, "schools": {},
                   "names": [*world.township_names, *world.node_name]}
    with figure_style():
        fig, ax = plt.subplots(figsize=(9, 7.5), layout="constrained")
        for cls, (label, colour, width) in ROAD_STYLE.items():
            on = np.flatnonzero(world.road_class == cls)
            drawn["roads"][label] = len(on)
            for k in on:
                a, b = world.road_from[k], world.road_to[k]
                ax.plot([x[a], x[b]], [y[a], y[b]], color=colour, lw=width, zorder=1,
                        label=f"{_(label)} ({len(on)})" if k == on[0] else None)
        pop = np.asarray(world.node_population, float)
        ax.scatter(x, y, s=4 + 40 * pop / max(pop.max(), 1), color="0.8", edgecolor="0.5",
                   lw=0.3, zorder=2,
                   label=_("village, area by residents ({n})").format(n=len(x)))
        for level, (label, marker, colour) in LEVEL_STYLE.items():
            on = np.flatnonzero(np.asarray(world.school_level) == level)
            if len(on) == 0:
                continue
            drawn["schools"][label] = len(on)
            nodes = world.school_node[on]
            ax.scatter(x[nodes], y[nodes], marker=marker, s=30, color=colour, zorder=3,
                       label=f"{_(label)} ({len(on)})")
        drawn["scale_bar_km"] = draw_scale_bar(ax, x, y)
        ax.set_aspect("equal")
        ax.set_xlabel(_("x (km east)"))
        ax.set_ylabel(_("y (km north)"))
        where = (_("projected from lon / lat (azimuthal equidistant on the county)")
                 if world.projection else _("x_km, y_km as given"))
        ax.set_title(_("{name}: the county as read ({where})").format(name=title, where=where),
                     fontsize=10)
        fig.legend(loc="outside right upper", fontsize=8)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return drawn
