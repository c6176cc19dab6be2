"""README.zh.md keeps README.md's two quick-start commands and its county-file columns."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands(text: str, heading: str) -> list[str]:
    section = re.search(rf"^##\s+{heading}\s*$(.*?)(?=^##\s|\Z)", text, re.S | re.M).group(1)
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_the_two_commands_are_the_same():
    en = _quick_start_commands((ROOT / "README.md").read_text(encoding="utf-8"), "Quick start")
    zh = _quick_start_commands((ROOT / "README.zh.md").read_text(encoding="utf-8"), "快速开始")
    assert len(en) == 2 and zh == en


def test_every_county_file_column_is_explained():
    from sim.model.county_files import (
        BIRTH_COLUMNS,
        ROAD_COLUMNS,
        SCHOOL_COLUMNS,
        SCHOOL_OPTIONAL,
        VILLAGE_COLUMNS,
        VILLAGE_OPTIONAL,
    )

    zh = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    columns = {*VILLAGE_COLUMNS, *VILLAGE_OPTIONAL, *SCHOOL_COLUMNS, *SCHOOL_OPTIONAL,
               *ROAD_COLUMNS, *BIRTH_COLUMNS} - {"name", "local_km"}
    columns -= {f"pupils_g{g}" for g in range(2, 9)}  # written as pupils_g1 ... pupils_g9
    missing = sorted(c for c in columns if f"`{c}`" not in zh)
    assert not missing, f"README.zh.md does not explain {missing}"
