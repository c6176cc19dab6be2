"""County files as people have them: UTF-8 with and without BOM, GB18030/GBK from Chinese
Excel, an .xlsx workbook, and bad cells reported by row and column."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import InputError
from sim.model.county_files import load_county
from tests.conftest import ROOT

COUNTY = ROOT / "scenarios" / "counties" / "example_county"
TABLES = ("villages", "schools", "roads", "births")


def _same(a, b) -> None:
    assert a.node_name == b.node_name and a.school_name == b.school_name
    assert a.township_names == b.township_names
    assert np.array_equal(a.school_roll, b.school_roll)
    assert np.allclose(a.road_km, b.road_km) and np.allclose(a.node_population, b.node_population)
    assert np.array_equal(a.school_canteen, b.school_canteen)
    assert a.births == b.births


@pytest.fixture(scope="module")
def reference():
    return load_county(COUNTY)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_excel_saves_read_the_same(encoding, reference, tmp_path):
    for name in TABLES:
        text = (COUNTY / f"{name}.csv").read_text(encoding="utf-8")
        (tmp_path / f"{name}.csv").write_bytes(text.encode(encoding))
    if encoding == "utf-8-sig":
        assert (tmp_path / "villages.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    else:  # the Chinese township names are not UTF-8 bytes
        with pytest.raises(UnicodeDecodeError):
            (tmp_path / "villages.csv").read_bytes().decode("utf-8")
    back = load_county(tmp_path)
    _same(back, reference)
    assert "河口乡" in back.township_names


def test_undecodable_file_names_the_file_and_the_fix(tmp_path):
    shutil.copytree(COUNTY, tmp_path / "c")
    (tmp_path / "c" / "roads.csv").write_bytes(b"from_village,to_village\n\xff\xfe\x80\x81\xff")
    with pytest.raises(InputError) as err:
        load_county(tmp_path / "c")
    assert err.value.file.endswith("roads.csv") and "CSV UTF-8" in err.value.message


def test_xlsx_workbook_reads_the_same_as_the_folder(reference, tmp_path):
    book = tmp_path / "my_county.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as xl:
        for name in TABLES:
            pd.read_csv(COUNTY / f"{name}.csv").to_excel(xl, sheet_name=name, index=False)
    _same(load_county(book), reference)
    # a missing sheet is named
    with pd.ExcelWriter(tmp_path / "bad.xlsx", engine="openpyxl") as xl:
        pd.read_csv(COUNTY / "villages.csv").to_excel(xl, sheet_name="villages", index=False)
    with pytest.raises(InputError) as err:
        load_county(tmp_path / "bad.xlsx")
    assert err.value.field == "sheet schools" and "missing sheet" in err.value.message


def test_xlsx_scenario_runs(tmp_path, write_yaml):
    from sim.model import build, engine
    from sim.model import scenario as sc
    book = tmp_path / "my_county.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as xl:
        for name in TABLES:
            pd.read_csv(COUNTY / f"{name}.csv").to_excel(xl, sheet_name=name, index=False)
    path = write_yaml({"name": "xl", "replicates": 2, "years": 1,
                       "county": {"data": "my_county.xlsx"}})
    model = build.build_model(sc.load(path))
    first = next(engine.trace_replicate(model, 0))
    assert first.S.enrol[:, 1:].sum() == model.world.school_roll.sum()


def _edit(tmp_path, table: str, row: int, column: str, value: str):
    folder = tmp_path / "c"
    shutil.copytree(COUNTY, folder)
    df = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    df.loc[row, column] = value
    df.to_csv(folder / f"{table}.csv", index=False)
    return folder


@pytest.mark.parametrize(("table", "column", "value", "message"), [
    ("villages", "x_km", "", "row 4, column x_km: expected a number, got an empty cell"),
    ("villages", "population", "many", "row 4, column population: expected a number, got 'many'"),
    ("villages", "population", "-5", "row 4, column population: expected a number >= 0, got '-5'"),
    ("schools", "pupils_g2", "3.5", "row 4, column pupils_g2: expected a whole number, got '3.5'"),
    ("schools", "pupils_g8", "7", "row 4: school 'S03' is a village_primary (grades 1-6)"),
    ("roads", "length_km", "0", "row 4, column length_km: expected a number > 0, got '0'"),
    ("births", "births", "lots", "row 4, column births: expected a number, got 'lots'"),
])
def test_bad_cells_are_reported_by_row_and_column(table, column, value, message, tmp_path):
    with pytest.raises(InputError) as err:
        load_county(_edit(tmp_path, table, 2, column, value))
    assert err.value.file.endswith(f"{table}.csv") and err.value.field == column
    assert message in err.value.message


def test_partial_rolls_and_empty_tables_are_refused(tmp_path):
    folder = _edit(tmp_path, "schools", 0, "pupils_g1", "")
    df = pd.read_csv(folder / "schools.csv", dtype=str, keep_default_na=False)
    for g in range(1, 10):
        df.loc[0, f"pupils_g{g}"] = ""
    df.to_csv(folder / "schools.csv", index=False)
    with pytest.raises(InputError, match="row 2: school 'S01' has no roll"):
        load_county(folder)
    (folder / "schools.csv").write_text("school_id,village_id,level,classes_per_grade\n")
    with pytest.raises(InputError, match="no rows; a county needs at least one school"):
        load_county(folder)
    (folder / "schools.csv").write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        load_county(folder)
