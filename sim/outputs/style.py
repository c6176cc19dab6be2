"""How SchoolFlow shows numbers and draws figures, in one place: number formats by unit
(thousands separators, percent for shares and rates, "-" for a value that does not apply), axis
labels with units, the matplotlib style, the reference drawn distinctly and on top, and the
plans' threshold lines.
"""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager

from sim.core import i18n
from sim.core.i18n import N_, _
from sim.core.indicators import BY_NAME

#: units shown as percentages (a share 0-1 or a rate per year)
PERCENT_UNITS = {"share", "per year"}
NOT_APPLICABLE = "-"
#: units that count things: whole numbers from 10 up, one decimal below (medians and
#: percentiles of counts may fall between whole numbers)
COUNT_UNITS = {"pupils", "children", "schools", "buses", "villages"}

#: the reference scenario in every figure: black, dashed, above the plans
REFERENCE = {"color": "black", "linestyle": "--", "linewidth": 1.8, "zorder": 10}
PLAN_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:olive", "tab:cyan"]

#: fonts with Chinese characters, in order: Debian's fonts-noto-cjk, then the names Windows,
#: macOS and other Linux systems use. Figures fall back to the first found glyph by glyph after
#: DejaVu Sans, so a Chinese school or village name draws as written, not as empty boxes.
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC"]

#: matplotlib settings of every SchoolFlow figure
RC = {"figure.dpi": 100, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
      "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8, "axes.grid": True,
      "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first of CJK_FONTS that matplotlib finds on this machine (None: none)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in known), None)


def has_cjk(text: str) -> bool:
    """Whether a text holds Chinese (CJK) characters."""
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def cjk_warning(texts) -> str | None:
    """A warning when some of `texts` are Chinese and no font here draws them (None: fine)."""
    if cjk_font() is not None or not any(has_cjk(str(t)) for t in texts):
        return None
    return ("warning: the county's names are in Chinese but no Chinese font is installed, so "
            "figures would show them as empty boxes; install one (Debian/Ubuntu: sudo apt "
            "install fonts-noto-cjk; or any of " + ", ".join(CJK_FONTS[:4]) + ")")

#: (indicator, level) -> [(value, label)]: the plans' thresholds drawn as lines (source:
#: docs/parameters.md "Plan thresholds used in indicators"); values in the indicator's unit
THRESHOLD_LINES = {
    ("mean_class_size", "primary"): [(45, N_("cap 45")), (56, N_("very large 56"))],
    ("mean_class_size", "junior"): [(50, N_("cap 50")), (61, N_("very large 61"))],
    ("travel_time_p95_min", "primary"): [(30, N_("30 min (grades 1-3)")), (60, N_("60 min"))],
    ("travel_time_p95_min", "junior"): [(60, N_("60 min"))],
    ("junior_retention_3yr", "junior"): [(0.95, N_("95% target"))],
    ("share_classes_over_standard", "all"): [(0.05, N_("5% (95% standard size)"))],
}
#: units in words, as axis labels and after numbers
UNIT_WORDS = {"share": N_("%"), "per year": N_("% per year"), "pupils": N_("pupils"),
              "children": N_("children"), "schools": N_("schools"), "buses": N_("buses"),
              "villages": N_("villages"), "minutes": N_("minutes"),
              "yuan per year": N_("yuan per year"), "yuan": N_("yuan"), "years": N_("years"),
              "ratio": N_("ratio")}
#: counts and sums of money from this size on are written in ten-thousands (万) for Chinese
#: readers: 123.5万 for 1,234,567
WAN_FROM = 100_000


@contextmanager
def figure_style():
    """Use SchoolFlow's matplotlib settings inside the block: RC, and DejaVu Sans followed by
    the Chinese font found here (`cjk_font`), which matplotlib falls back to glyph by glyph."""
    import matplotlib.pyplot as plt
    cjk = cjk_font()
    fonts = {"font.family": ["DejaVu Sans", cjk]} if cjk else {}
    with plt.rc_context(RC | fonts):
        yield


def unit_of(indicator: str) -> str:
    return BY_NAME[indicator].unit if indicator in BY_NAME else ""


def is_percent(indicator: str) -> bool:
    return unit_of(indicator) in PERCENT_UNITS


def scale(indicator: str) -> float:
    """Factor from the indicator's unit to what is shown (100 for shares and rates)."""
    return 100.0 if is_percent(indicator) else 1.0


def axis_label(indicator: str) -> str:
    """Axis label with the unit as shown, in the reader's language: '%', '% per year',
    'minutes', 'yuan per year', ..."""
    unit = unit_of(indicator)
    return _(UNIT_WORDS[unit]) if unit in UNIT_WORDS else unit


def name(indicator: str, level: str | None = None) -> str:
    """An indicator (and level) in words: its registry name in English, the source plans' or
    the Ministry's term in Chinese ('初中三年巩固率（初中）')."""
    words = i18n.term("indicator", indicator)
    if level is None:
        return words
    return _("{indicator} ({level})").format(indicator=words, level=i18n.term("level", level))


def _two_digits(x: float) -> str:
    """Two significant digits without scientific notation: 0.0021, 0.000037."""
    import numpy as np
    return np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")


def _plain(x: float, unit: str) -> str:
    if i18n.current() == "zh" and abs(x) >= WAN_FROM:
        from babel.numbers import format_compact_decimal
        return format_compact_decimal(x, locale=i18n.LOCALES["zh"], fraction_digits=1)
    if unit in ("yuan per year", "yuan"):
        return f"{x:,.0f}"
    if unit in ("minutes",):
        return f"{x:,.1f}"
    if unit in ("ratio", "years"):
        return f"{x:.2f}"
    if abs(x) >= 10 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 1 else _two_digits(x)


def number(x: float, indicator: str, signed: bool = False, suffix: bool = True) -> str:
    """One value of an indicator for people: '12,845', '0.48%', '38.0 min' ('-' for NaN); in
    Chinese '38.0分钟', '+2.6个百分点', and '123.5万' from WAN_FROM up."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NOT_APPLICABLE
    unit = unit_of(indicator)
    sign = "+" if signed and x > 0 else ""
    if is_percent(indicator):
        v = 100.0 * x
        digits = 2 if abs(v) < 1 else 1
        text = f"{v:.{digits}f}"
        if float(text) == 0 and v != 0:  # tiny but not zero: say so (0.0021%, not 0.00%)
            text = _two_digits(v)
        if float(text) == 0:
            text = f"{0:.{digits}f}"
            sign = ""
        tail = _(" pp") if signed and suffix else "%" if suffix else ""
        return f"{sign}{text}{tail}"
    text = _plain(float(x), unit)
    if float(x) == 0:
        sign = ""
    tail = _(" min") if unit == "minutes" and suffix else ""
    return f"{sign}{text}{tail}"


def interval(mid: float, lo: float, hi: float, indicator: str, signed: bool = False) -> str:
    """'median [p05, p95]' in the indicator's format ('-' where it does not apply)."""
    if mid is None or (isinstance(mid, float) and math.isnan(mid)):
        return NOT_APPLICABLE
    return (f"{number(mid, indicator, signed)} [{number(lo, indicator, signed, suffix=False)}, "
            f"{number(hi, indicator, signed, suffix=False)}]")
