"""Figures draw Chinese names as written: a CJK font is found and no glyph is missing."""

from __future__ import annotations

import warnings

import pytest

from sim.outputs import style


def test_a_chinese_label_draws_without_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert style.cjk_font() is not None, ("no Chinese font: install fonts-noto-cjk (README's "
                                          "set-up and .ci/run do)")
    with style.figure_style(), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        fig, ax = plt.subplots()
        ax.set_title("石门乡中心小学 (S25): 大班额 0%")
        ax.set_xlabel("上坪村 -> 河口乡")
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)


def test_without_a_chinese_font_a_warning_names_the_fix(monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    message = style.cjk_warning(["S01", "上坪村小学"])
    assert message and "fonts-noto-cjk" in message
    assert style.cjk_warning(["S01", "V02"]) is None
    assert style.has_cjk("河口乡") and not style.has_cjk("Hekou")


def test_latin_text_keeps_its_font():
    from matplotlib import font_manager

    with style.figure_style():
        path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert "DejaVuSans" in path.replace(" ", "") or "DejaVu" in path


@pytest.fixture(autouse=True)
def _fresh_font_cache():
    yield
