"""Plan scenarios quote their source plans exactly: every 「…」 after a `line N` reference in
scenarios/plans/*.yaml and scenarios/default.yaml must appear on line N of the source file that
scenario names (scenarios/plans/sources/), and every plan file names one."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = ROOT / "scenarios" / "plans" / "sources"
PLANS = sorted((ROOT / "scenarios" / "plans").glob("*.yaml"))
REF = re.compile(r"line (\d+)|「(.*?)」", re.S)


def quotes(text: str) -> list[tuple[int, str]]:
    """(line number, quoted text) of each 「…」 in a scenario file's comments, attributed to the
    nearest `line N` before it; a quote broken over comment lines is joined."""
    out, line = [], None
    for m in REF.finditer(text):
        if m.group(1):
            line = int(m.group(1))
        elif line is not None:
            out.append((line, re.sub(r"\s*\n\s*#\s*", "", m.group(2))))
    return out


def source_of(text: str) -> Path | None:
    m = re.search(r"sources/(\d{3}_[0-9a-f]+\.txt)", text)
    return SOURCES / m.group(1) if m else None


@pytest.mark.parametrize("path", PLANS + [ROOT / "scenarios" / "default.yaml"],
                         ids=lambda p: p.name)
def test_each_quote_is_on_the_line_it_names(path):
    text = path.read_text(encoding="utf-8")
    if path.name == "no_closure.yaml":
        assert "line " not in text
        return
    src = source_of(text)
    assert src is not None and src.exists(), f"{path.name}: names no source file in {SOURCES}"
    lines = src.read_text(encoding="utf-8").splitlines()
    found = quotes(text)
    assert found or path.name == "default.yaml", f"{path.name}: quotes nothing from {src.name}"
    wrong = [(n, q) for n, q in found if not (1 <= n <= len(lines) and q in lines[n - 1])]
    assert not wrong, f"{path.name}: not on the line named in {src.name}: {wrong}"


def test_the_check_catches_a_wrong_line():
    text = ("# scenarios/plans/sources/000_427a23ef69fc7413.txt\n"
            "# line 12 「30人以下乡村小规模学校原则上全面优化调整到位」\n")
    lines = (SOURCES / "000_427a23ef69fc7413.txt").read_text(encoding="utf-8").splitlines()
    (n, q), = quotes(text)
    assert q not in lines[n - 1] and q in lines[12]


def test_a_quote_over_two_comment_lines_is_joined():
    assert quotes("# line 3 「甲乙\n  # 丙」 and 「丁」") == [(3, "甲乙丙"), (3, "丁")]
