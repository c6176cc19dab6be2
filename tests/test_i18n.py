"""The reader's language: one catalogue with every message translated, the Chinese first screen
and report carrying the same numbers as the English ones, and Chinese figures without
missing glyphs."""

from __future__ import annotations

import ast
import re
import string
import warnings
from pathlib import Path

import pytest

from sim.cli import main
from sim.core import i18n
from sim.outputs import catalogue, style

ROOT = Path(__file__).resolve().parents[1]


def _fields(text: str) -> list[str]:
    return sorted(f"{name}:{spec}" for _t, name, spec, _c in string.Formatter().parse(text)
                  if name is not None)


def test_every_message_of_the_code_and_registries_is_translated_and_none_is_stale():
    entries = catalogue.catalogue_entries("zh")
    wanted = set(catalogue.code_messages()) | set(catalogue.registry_terms())
    missing = sorted(k for k in wanted if not entries.get(k))
    stale = sorted(set(entries) - wanted)
    assert not missing, ("untranslated (run `python -m sim.outputs.catalogue`, then translate in "
                         f"sim/locale/zh.po): {missing[:10]}")
    assert not stale, f"in sim/locale/zh.po but no longer in the code: {stale[:10]}"
    assert len(wanted) > 400  # the console, the report, the plan block and the registries


def test_translations_keep_every_placeholder_and_are_chinese():
    for (message, _context), text in catalogue.catalogue_entries("zh").items():
        assert _fields(message) == _fields(text), (message, text)
        if re.search(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}", "", message)):
            assert style.has_cjk(text), f"left in English: {message!r} -> {text!r}"


def test_no_message_is_built_before_translation():
    """`_()` gets a literal (or a marked name), never an f-string or a `+`: the catalogue could
    not hold it."""
    bad, hidden = [], []
    for path in (ROOT / "sim").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_") and node.args
                    and isinstance(node.args[0], (ast.JoinedStr, ast.BinOp))):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.JoinedStr):  # Babel does not look inside f-strings
                for inner in ast.walk(node):
                    if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                            and inner.func.id in ("_", "N_") and inner.args
                            and isinstance(inner.args[0], ast.Constant)):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not bad, bad
    assert not hidden, f"a message inside an f-string is not in the catalogue: {hidden}"


def test_language_from_flag_scenario_and_locale():
    assert i18n.resolve("zh", "en", {"LANG": "en_US.UTF-8"}) == "zh"
    assert i18n.resolve(None, "zh", {"LANG": "en_US.UTF-8"}) == "zh"
    assert i18n.resolve(None, None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert i18n.resolve(None, None, {"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.resolve(None, None, {}) == "en"
    with i18n.language("zh"):
        assert i18n.term("indicator", "junior_retention_3yr") == "初中三年巩固率"
        assert style.number(0.026, "share_lower_primary_over_30min", signed=True) == "+2.6个百分点"
        assert style.number(38.0, "travel_time_p95_min") == "38.0分钟"
        assert style.number(1_234_567, "bus_cost_yuan_per_year") == "123.5万"
        assert style.number(12_845, "cost_per_pupil_yuan") == "12,845"
    assert i18n.current() == "en"
    assert style.number(1_234_567, "bus_cost_yuan_per_year") == "1,234,567"
    assert style.number(0.026, "share_lower_primary_over_30min", signed=True) == "+2.6 pp"


_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?(万)?")


def _numbers(text: str) -> list[float]:
    """The numbers in a text, 万 read as ten thousand."""
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group(0).rstrip("万").replace(",", ""))
        out.append(value * 1e4 if m.group(1) else value)
    return out


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A plan and its reference on the small county, compared in English (simulated) and again
    in Chinese from the same results folders (nothing simulated again)."""
    import yaml

    from tests.conftest import SMALL

    tmp = tmp_path_factory.mktemp("i18n")
    plan = dict(SMALL, targets=[{"name": "junior three-year retention at least 95%",
                                 "indicator": "junior_retention_3yr", "level": "junior",
                                 "at_least": 0.95},
                                {"name": "no very large classes",
                                 "indicator": "share_classes_very_large", "at_most": 0.0}])
    plan["policies"] = dict(SMALL["policies"],
                            exemptions={"keep_teaching_points_if_travel_over_min": 10})
    ref = dict(SMALL, name="reference", policies={"closures": []})
    (tmp / "plan.yaml").write_text(yaml.safe_dump(plan))
    (tmp / "ref.yaml").write_text(yaml.safe_dump(ref))
    outs = {}
    for lang, sources in (("en", [tmp / "ref.yaml", tmp / "plan.yaml"]),
                          ("zh", [tmp / "res" / "reference", tmp / "res" / "small"])):
        report = tmp / f"report_{lang}.html"
        import contextlib
        import io
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["compare", *map(str, sources), "--replicates", "4", "--results",
                         str(tmp / "res"), "--report", str(report), "--quiet",
                         "--lang", lang]) == 0
        outs[lang] = (buf.getvalue(), report.read_text(encoding="utf-8"))
    return tmp, outs


def test_the_chinese_first_screen_carries_the_same_numbers(compared):
    from sim.experiments import compare
    from sim.outputs import first_screen

    tmp, _outs = compared
    runs = compare.load_runs([str(tmp / "res" / "reference"), str(tmp / "res" / "small")], None,
                             tmp / "res")
    screens = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            checked = compare.threshold_table(runs)
            screens[lang] = first_screen.screen(runs[1], runs[0], checked)
    en, zh = screens["en"], screens["zh"]
    assert en.table.shape == zh.table.shape
    for column in range(1, en.table.shape[1]):  # every cell of every row, number by number
        for a, b in zip(en.table.iloc[:, column], zh.table.iloc[:, column], strict=True):
            assert _numbers(a) == _numbers(b), (a, b)
    assert sorted(_numbers(en.headline)) == sorted(_numbers(zh.headline))
    assert [s for s, _n, _t in en.thresholds] == ["met" if s == "达到" else "MISSED"
                                                  if s == "未达到" else s for s, _n, _t in
                                                  zh.thresholds]
    for (_s, _n, a), (_z, _m, b) in zip(en.thresholds, zh.thresholds, strict=True):
        value_en, value_zh = a.split(" - ")[0], b.split(" - ")[0]
        assert sorted(_numbers(value_en)) == sorted(_numbers(value_zh)), (a, b)
    assert zh.title.startswith("small对学生的影响（对照reference），第4年")
    assert "失学辍学儿童（6-15岁：无学位或辍学）" in list(zh.table.iloc[:, 0])
    assert any("初中三年巩固率（初中） ≥ 95.0%" in name for _s, name, _t in zh.thresholds)


def test_the_chinese_console_and_report_leave_nothing_in_english(compared):
    tmp, outs = compared
    out_zh, page_zh = outs["zh"]
    out_en, page_en = outs["en"]
    assert out_en.startswith("What small does to pupils, against reference, year 4")
    assert out_zh.startswith("small对学生的影响（对照reference），第4年")
    assert "!! 规划未按原文执行" in out_zh and "规划执行情况（small，4次重复模拟" in out_zh
    assert "<html lang='zh-CN'>" in page_zh and "<h1>SchoolFlow 规划比较</h1>" in page_zh
    assert "<h2>各规划的目标</h2>" in page_zh and "逐年指标" in page_zh
    # every English word left is a name: scenarios, schools and villages, files, the command
    allowed = {"small", "reference", "SchoolFlow", "schoolflow", "check", "csv", "png",
               "posterior", "FILE", "affected_pupils", "school_years", "safety_ledger"}
    names = r"\b[A-Z][A-Z0-9]*\d*-[\w-]+|\b[VT]\d+\w*"  # school and village ids
    text = re.sub(r"<[^>]+>|data:image/png;base64,[A-Za-z0-9+/=]+|\{[^}]*\}", " ", page_zh)
    text = re.sub(names, " ", text)
    words = set(re.findall(r"[A-Za-z_]{3,}", text)) - allowed
    css = set(re.findall(r"[A-Za-z_-]{3,}", page_zh.split("</style>")[0]))
    assert not words - css, sorted(words - css)[:20]
    out = re.sub(r"[^\s（]*/[^\s（）]*", " ", out_zh)  # paths
    english = set(re.findall(r"[A-Za-z_]{3,}", re.sub(names, " ", out))) - allowed - {"PNG", "CSV"}
    assert not english, sorted(english)[:20]


def test_a_chinese_report_figure_resolves_a_font_with_every_glyph(tmp_path):
    """Every label of a Chinese figure is drawn by a font that has its characters."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from sim.outputs import county_map
    from sim.outputs.report import trajectories_figure  # noqa: F401  (the report's style)

    font = style.cjk_font()
    assert font is not None, "no Chinese font: install fonts-noto-cjk (README, .ci/run)"
    path = font_manager.findfont(font_manager.FontProperties(family=font))
    charmap = FT2Font(path).get_charmap()
    with i18n.language("zh"):
        labels = [i18n._(text) for text in ("Indicators by year: median and 90% interval over "
                                           "replicates", "school year after the base year",
                                           "Junior three-year retention")]
        labels += [i18n._(label) for label, _c, _w in county_map.ROAD_STYLE.values()]
    for label in labels:
        for ch in label:
            if style.has_cjk(ch):
                assert ord(ch) in charmap, f"{ch!r} of {label!r} missing from {path}"
    import matplotlib.pyplot as plt
    with i18n.language("zh"), style.figure_style(), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        fig, ax = plt.subplots()
        for i, label in enumerate(labels):
            ax.text(0, i, label)
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)


def test_a_bad_input_is_named_in_chinese_with_its_file_and_field(tmp_path, capsys):
    import yaml

    from tests.conftest import SMALL, write_county

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(dict(SMALL, replicates=0)))
    assert main(["check", str(bad), "--lang", "zh"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"schoolflow：错误：{bad}: replicates: 应大于或等于1；实际为0"
    assert main(["check", str(bad)]) == 2
    assert "Input should be greater than or equal to 1" in capsys.readouterr().err
    county = write_county(tmp_path / "county",
                          [{"village_id": "A", "township": "T", "x_km": 0, "y_km": 0,
                            "population": "many"}],
                          [{"school_id": "S", "village_id": "A", "level": "central_primary"}],
                          [])
    scenario = tmp_path / "county.yaml"
    scenario.write_text(yaml.safe_dump({"name": "c", "lang": "zh",
                                        "county": {"data": str(county)}}))
    assert main(["check", str(scenario)]) == 2  # the scenario's own `lang: zh`
    err = capsys.readouterr().err
    assert ("schools.csv: classes_per_grade: 缺少列（每个年级可容纳的班数（>= 1））；必需的列：school_id, "
            "village_id, level, classes_per_grade") in err
    (county / "schools.csv").write_text("school_id,village_id,level,classes_per_grade\n"
                                        "S,A,central_primary,1\n")
    (county / "roads.csv").write_text("from_village,to_village,length_km,road_class\n")
    assert main(["check", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "villages.csv: population: 第2行，population列：应为数字，实际为'many'" in err
