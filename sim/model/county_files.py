"""A county's own files: villages, schools (with optional base-year rolls), roads and optional
births, read from a folder of CSV files or from one Excel workbook.

- A folder holds `villages.csv`, `schools.csv`, `roads.csv` and optionally `births.csv`, each in
  UTF-8 (with or without a byte-order mark) or GB18030/GBK, the encodings Excel saves in.
- A workbook (`.xlsx`) holds sheets `villages`, `schools`, `roads` and optionally `births`.

Columns are documented in README.md ("Your county, your plan"). Every problem is an InputError
naming the file (and sheet), the row and column, and the fix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.core import dtypes as dt
from sim.core import rules
from sim.core.errors import InputError
from sim.core.i18n import N_, _, term
from sim.model.age_structure import grade_weights
from sim.model.world import COUNTY_SEAT, NODE_KIND_NAMES, World

VILLAGE_COLUMNS = {"village_id": N_("unique id"), "township": N_("township name"),
                   "population": N_("registered residents (persons)")}
#: a village's place: x_km and y_km, or lon and lat (in `county.crs`; sim/model/coordinates.py)
PLACE_COLUMNS = {"x_km": N_("east coordinate (km)"), "y_km": N_("north coordinate (km)"),
                 "lon": N_("longitude (degrees, or x in county.crs)"),
                 "lat": N_("latitude (degrees, or y in county.crs)")}
VILLAGE_OPTIONAL = {"terrain_factor": "1.0", "kind": "village", "name": "", "local_km": "0.4",
                    **{c: "" for c in PLACE_COLUMNS}}
#: GIS point files a county folder may hold instead of a table's CSV (read with pyogrio)
GIS_SUFFIXES = (".gpkg", ".shp", ".geojson")
SCHOOL_COLUMNS = {"school_id": N_("unique id"), "village_id": N_("village where it stands"),
                  "level": N_("teaching_point | village_primary | central_primary | junior | nine_year"),
                  "classes_per_grade": N_("classes each grade may hold (>= 1)")}
GRADE_COLUMNS = [f"pupils_g{g}" for g in range(1, dt.N_GRADES + 1)]
#: optional school columns; an empty default means "not given"
SCHOOL_OPTIONAL = {"boarding_beds": "0", "canteen_places": "", "quality": "0.5", "name": "",
                   "pupils": "", **{c: "" for c in GRADE_COLUMNS}, "boarders": "", "teachers": "",
                   **{c: "" for c in PLACE_COLUMNS}}
#: a school given a place this far from its village's centre stands at its own place (km)
OWN_PLACE_KM = 0.1
#: ... and one further than this from its village was given the wrong village or place (km)
FAR_FROM_VILLAGE_KM = 10.0
ROAD_COLUMNS = {"from_village": N_("village id"), "to_village": N_("village id"),
                "length_km": N_("road length (km, > 0)"), "road_class": N_("county | township | village")}
BIRTH_COLUMNS = {"year": N_("simulated year (1 = the first year after the base year)"),
                 "births": N_("children born in the county that year (projection)")}

#: text encodings tried in order: UTF-8 (a BOM is dropped), then GB18030 (a superset of GBK)
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class Table:
    """One table of a county: its rows as text, and how to name it in messages."""

    df: pd.DataFrame
    label: str  #: e.g. "county/schools.csv" or "county.xlsx, sheet schools"
    #: the system its lon / lat are in when a GIS file says so (None: the scenario's county.crs)
    crs: str | None = None


def _gis_points(path: Path, layer: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """A GIS file (or a layer of it) of points as text columns with its coordinates as lon /
    lat: WGS84 degrees when the file names its coordinate system, else the file's own x / y
    (county.crs says)."""
    import pyogrio

    label = str(path) if layer is None else f"{path}, layer {layer}"
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own and GDAL's errors
        raise InputError(label, "(file)", _("cannot be read as a GIS file of points: {error}").format(
            error=exc)) from None
    geom = gdf.geometry
    if geom.is_empty.any() or (geom.geom_type != "Point").any():
        row = int(np.flatnonzero((geom.is_empty | (geom.geom_type != "Point")).to_numpy())[0])
        raise InputError(label, "geometry", _("row {row}: every feature must be a point (a village "
                                                 "or a school); convert polygons to their "
                                                 "centroids in QGIS").format(row=row + 1))
    crs = None
    if gdf.crs is not None:
        geom = geom.to_crs("EPSG:4326")
        crs = "wgs84"
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    df = df.where(df.notna(), "").astype(str)
    df["lon"] = [f"{v:.10f}" for v in geom.x]
    df["lat"] = [f"{v:.10f}" for v in geom.y]
    return df, crs

def decode(raw: bytes, label: str) -> str:
    """Bytes of a CSV file as text: UTF-8 with or without BOM, else GB18030/GBK."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(label, "(encoding)", _("not readable as UTF-8 or GB18030/GBK text; save "
                                            "it from Excel as 'CSV UTF-8' or 'CSV (comma "
                                            "delimited)'"))


def _frames(source: Path) -> dict[str, pd.DataFrame] | None:
    """All sheets of a workbook, or all layers of a GeoPackage (points as lon / lat, their
    system in `df.attrs["crs"]`), as text tables; None for a folder."""
    if source.suffix.lower() == ".gpkg":
        import pyogrio

        if not source.exists():
            raise InputError(str(source), "(file)", _("GeoPackage not found; check county.data"))
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(source)]
        except Exception as exc:  # pyogrio raises its own and GDAL's errors
            raise InputError(str(source), "(gpkg)", _("cannot be read as a GeoPackage: {error}").format(
                error=exc)) from None
        out = {}
        for name in names:
            info = pyogrio.read_info(source, layer=name)
            if info.get("geometry_type") in (None, "None", "Unknown"):
                df = pyogrio.read_dataframe(source, layer=name, read_geometry=False)
                out[name] = pd.DataFrame(df).astype(object)
            else:
                out[name], crs = _gis_points(source, layer=name)
                out[name].attrs["crs"] = crs
        return out
    if source.suffix.lower() != ".xlsx":
        return None
    if not source.exists():
        raise InputError(str(source), "(file)", _("workbook not found; check county.data"))
    try:
        return pd.read_excel(source, sheet_name=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several errors on a damaged workbook
        raise InputError(str(source), "(xlsx)", _("cannot be read as an Excel workbook: {error}; save "
                                               "it again as .xlsx").format(error=exc)) from None


def read_table(source: Path, name: str, required: dict, optional: dict,
               sheets: dict | None, needed: bool = True) -> Table | None:
    """The table `name` of a county (CSV file in a folder, or sheet of a workbook), every cell
    as stripped text ("" for empty), with optional columns filled by their defaults."""
    if sheets is not None:
        gpkg = source.suffix.lower() == ".gpkg"
        label = f"{source}, {'layer' if gpkg else 'sheet'} {name}"
        if name not in sheets:
            if not needed:
                return None
            what = "layer" if gpkg else "sheet"
            raise InputError(str(source), f"{what} {name}", (
                _("missing layer; a county GeoPackage needs layers villages, schools and roads "
                  "(see README.md)") if gpkg else
                _("missing sheet; a county workbook needs sheets villages, schools and roads "
                  "(see README.md)")))
        df = sheets[name].astype(object).where(sheets[name].notna(), "").astype(str)
        if "lon" in df.columns and "lon" not in optional:  # a table without places
            df = df.drop(columns=["lon", "lat"])
        return _checked(df, label, required, optional, sheets[name].attrs.get("crs"))
    path = source / f"{name}.csv"
    label = str(path)
    gis = [source / f"{name}{suffix}" for suffix in GIS_SUFFIXES
           if (source / f"{name}{suffix}").exists()]
    if gis and not path.exists():
        df, crs = _gis_points(gis[0])
        if "lon" not in optional:  # a table without places (roads, births)
            df = df.drop(columns=["lon", "lat"])
        return _checked(df, str(gis[0]), required, optional, crs)
    if not path.exists():
        if not needed:
            return None
        raise InputError(label, "(file)", _("file not found; a county folder needs "
                                            "villages.csv, schools.csv and roads.csv (see "
                                            "README.md)"))
    text = decode(path.read_bytes(), label)
    if not text.strip():
        raise InputError(label, "(file)", _("the file is empty; it needs a header row with the "
                                            "columns {columns}").format(
            columns=", ".join(required)))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except Exception as exc:  # pandas raises several parser errors
        raise InputError(label, "(csv)", _("cannot be read as CSV: {error}").format(
            error=exc)) from None
    return _checked(df, label, required, optional)


def _checked(df: pd.DataFrame, label: str, required: dict, optional: dict,
             crs: str | None = None) -> Table:
    """A table's text cells stripped, its columns checked, optional ones filled."""
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if c and not c.startswith("Unnamed:")]]
    df = df.apply(lambda col: col.str.strip())
    for col, meaning in required.items():
        if col not in df.columns:
            raise InputError(label, col, _("missing column ({meaning}); required columns: "
                                           "{columns}").format(meaning=_(meaning),
                                                               columns=", ".join(required)))
    for col, default in optional.items():
        if col not in df.columns:
            df[col] = default
        else:  # empty cells of optional columns take the default
            df[col] = df[col].where(df[col] != "", default)
    unknown = set(df.columns) - set(required) - set(optional)
    if unknown:
        raise InputError(label, sorted(unknown)[0], _("unknown column; allowed: {columns}").format(
            columns=", ".join([*required, *optional])))
    return Table(df.reset_index(drop=True), label, crs)


#: largest value a column may hold (and smallest, for coordinates): beyond these a county is not
#: a county (a typo such as 1e9 pupils would otherwise build a billion agents)
HIGHEST = {"x_km": 2000.0, "y_km": 2000.0, "population": 5_000_000.0, "terrain_factor": 10.0,
           "local_km": 100.0, "length_km": 2000.0, "classes_per_grade": 200.0,
           "boarding_beds": 200_000.0, "canteen_places": 200_000.0, "pupils": 450_000.0,
           "boarders": 200_000.0, "teachers": 50_000.0, "year": 50.0, "births": 10_000_000.0,
           **{f"pupils_g{g}": 50_000.0 for g in range(1, 10)}}
LOWEST = {"x_km": -2000.0, "y_km": -2000.0}


def numbers(t: Table, col: str, low: float | None = None, strict: bool = False,
            whole: bool = False, empty: float | None = None) -> np.ndarray:
    """A column as numbers; empty cells take `empty` where given; values must lie within the
    column's `LOWEST`/`HIGHEST`. Errors say "row N, column X" with N the row number a
    spreadsheet shows (the header is row 1)."""
    low = LOWEST.get(col, low)
    high = HIGHEST.get(col)
    raw = t.df[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64, copy=True)
    blank = (raw == "").to_numpy()
    for row in range(len(values)):
        if blank[row] and empty is not None:
            values[row] = empty
            continue
        v = values[row]
        where = _("row {row}, column {column}").format(row=row + 2, column=col)
        if np.isnan(v):
            got = _("an empty cell") if blank[row] else repr(raw.iloc[row])
            raise InputError(t.label, col, _("{where}: expected a number, got {got}").format(
                where=where, got=got))
        if low is not None and (v <= low if strict else v < low):
            raise InputError(t.label, col, _("{where}: expected a number {op} {low:g}, got "
                                             "{got!r}").format(where=where, op=">" if strict
                                                               else ">=", low=low,
                                                               got=raw.iloc[row]))
        if high is not None and v > high:
            raise InputError(t.label, col, _("{where}: {got!r} is larger than any county has (at "
                                             "most {high:,.0f}); check the value and its "
                                             "unit").format(where=where, got=raw.iloc[row],
                                                            high=high))
        if whole and v != np.round(v):
            raise InputError(t.label, col, _("{where}: expected a whole number, got "
                                             "{got!r}").format(where=where, got=raw.iloc[row]))
    return values


def codes(t: Table, col: str, names: dict) -> np.ndarray:
    raw = t.df[col]
    bad = ~raw.isin(list(names))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(t.label, col, _("row {row}, column {column}: {got!r} is not allowed; "
                                         "use one of: {names}").format(
            row=row + 2, column=col, got=raw.iloc[row], names=", ".join(names)))
    return raw.map(names).to_numpy(np.int8)


def unique_ids(t: Table, col: str) -> pd.Series:
    ids = t.df[col]
    blank = ids == ""
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise InputError(t.label, col, _("row {row}, column {column}: empty id; every row needs "
                                         "one").format(row=row + 2, column=col))
    dup = ids.duplicated()
    if dup.any():
        raise InputError(t.label, col, _("row {row}: duplicate id {id!r}; ids must be "
                                         "unique").format(
            row=int(np.flatnonzero(dup.to_numpy())[0]) + 2, id=ids[dup].iloc[0]))
    return ids


def split_total(total: int, lo: int, hi: int) -> np.ndarray:
    """A school's total roll over grades lo..hi in proportion to the base year's cohort sizes
    (the national births of each grade's birth year, sim/model/age_structure.py), rounded so
    the grades add up to the total."""
    return largest_remainder(grade_weights(lo, hi, dt.SCHOOL_ENTRY_AGE), total)


def largest_remainder(x: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers summing to `total` in proportion to x >= 0 (the largest remainders get the
    units left over, ties to the lower index); zeros when total or x is 0."""
    if total <= 0 or x.sum() <= 0:
        return np.zeros(len(x), np.int64)
    exact = total * x / x.sum()
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(-(exact - out), kind="stable")[: total - out.sum()]] += 1
    return out


def _rolls(t: Table, level: np.ndarray) -> np.ndarray | None:
    """(schools, 10) base-year pupils by grade from `pupils_g1..9` or `pupils`; None if the
    file gives no roll at all."""
    df = t.df
    has_grades = (df[GRADE_COLUMNS] != "").any(axis=1).to_numpy()
    has_total = (df["pupils"] != "").to_numpy()
    if not (has_grades.any() or has_total.any()):
        return None
    missing = ~(has_grades | has_total)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(t.label, "pupils", _(
            "row {row}: school {school!r} has no roll; give pupils_g1 ... pupils_g9 (or pupils) "
            "for every school, or for none (0 for a school without pupils)").format(
            row=row + 2, school=df.school_id.iloc[row]))
    roll = np.zeros((len(df), dt.N_GRADES + 1), np.int64)
    for g, col in enumerate(GRADE_COLUMNS, start=1):
        roll[:, g] = np.nan_to_num(numbers(t, col, 0.0, whole=True, empty=np.nan)).astype(np.int64)
    total = numbers(t, "pupils", 0.0, whole=True, empty=np.nan)
    for i in range(len(df)):
        lo, hi = dt.LEVEL_GRADES[int(level[i])]
        outside = [g for g in range(1, dt.N_GRADES + 1) if not lo <= g <= hi and roll[i, g] > 0]
        if outside:
            raise InputError(t.label, f"pupils_g{outside[0]}",
                             _("row {row}: school {school!r} is a {level} (grades {lo}-{hi}); "
                               "leave grade {grade} empty or correct the level").format(
                                 row=i + 2, school=df.school_id.iloc[i],
                                 level=term("school_level", dt.LEVEL_OF_CODE[int(level[i])]),
                                 lo=lo, hi=hi, grade=outside[0]))
        if has_grades[i]:
            if has_total[i] and int(total[i]) != roll[i].sum():
                raise InputError(t.label, "pupils", _(
                    "row {row}: pupils {total} is not the sum of pupils_g1 ... pupils_g9 "
                    "({sum}); correct one or leave pupils empty").format(
                    row=i + 2, total=int(total[i]), sum=roll[i].sum()))
        else:
            roll[i, lo:hi + 1] = split_total(int(total[i]), lo, hi)
    return roll


#: pupils in one class beyond which a grade's roll is taken as a typing error: twice the plans'
#: "super large" class (rules.SUPER_LARGE, 66 pupils)
IMPLAUSIBLE_CLASS = 2 * rules.SUPER_LARGE


def _plausible_rolls(t: Table, roll: np.ndarray | None, classes: np.ndarray,
                     boarders: np.ndarray) -> None:
    """Refuse rolls no school could hold: more boarders than pupils, or a grade with more
    pupils than IMPLAUSIBLE_CLASS per class. (More pupils than seats at the scenario's caps is
    only a warning: sim/model/build.py `roll_notes`.)"""
    ids = t.df["school_id"]
    if roll is not None:
        pupils = roll.sum(axis=1)
        over = np.flatnonzero((boarders >= 0) & (boarders > pupils))
        if len(over):
            i = int(over[0])
            raise InputError(t.label, "boarders", _(
                "row {row}: school {school!r} has {boarders} boarders but {pupils} pupils on its "
                "rolls; boarders are pupils who board, at most the school's pupils: correct the "
                "number").format(row=i + 2, school=ids.iloc[i], boarders=int(boarders[i]),
                                 pupils=int(pupils[i])))
        limit = classes[:, None].astype(np.int64) * IMPLAUSIBLE_CLASS
        big = np.argwhere(roll[:, 1:] > limit)
        if len(big):
            i, g = int(big[0][0]), int(big[0][1]) + 1
            raise InputError(t.label, f"pupils_g{g}", _(
                "row {row}: school {school!r} has {pupils} pupils in grade {grade} with {classes} "
                "class(es) per grade: over {limit} per class, which no school holds; correct the "
                "number or classes_per_grade").format(
                row=i + 2, school=ids.iloc[i], pupils=int(roll[i, g]), grade=g,
                classes=int(classes[i]), limit=IMPLAUSIBLE_CLASS))


def _births(t: Table | None) -> dict[int, float] | None:
    if t is None:
        return None
    if t.df.empty:
        raise InputError(t.label, "(rows)", _("no rows; give one row per simulated year (year, "
                                              "births) or remove the births table"))
    years = numbers(t, "year", 1.0, whole=True)
    births = numbers(t, "births", 0.0)
    dup = pd.Series(years).duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(t.label, "year", _("row {row}, column year: year {year} appears twice; "
                                            "give each year once").format(
            row=row + 2, year=int(years[row])))
    return {int(y): float(b) for y, b in zip(years, births, strict=True)}


def places_km(v: Table, crs: str) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The villages' x_km, y_km: as given, or projected from lon / lat in `crs` (the table's
    own when its GIS file names one); and the projection used (None: kilometres given)."""
    from sim.model import coordinates as co

    some = {c: bool((v.df[c] != "").any()) for c in PLACE_COLUMNS}
    given_km, given_deg = some["x_km"] or some["y_km"], some["lon"] or some["lat"]
    if given_km and given_deg:
        raise InputError(v.label, "lon, lat", _("give x_km, y_km or lon, lat, not both"))
    if given_km:
        x, y = numbers(v, "x_km"), numbers(v, "y_km")
        co.refuse_degrees_as_km(x, y, v.label)
        return x, y, None
    if not given_deg:
        raise InputError(v.label, "x_km", _("every village needs its place: columns x_km and "
                                            "y_km (kilometres east and north), or lon and lat "
                                            "(degrees; county.crs names the system, wgs84 by "
                                            "default)"))
    crs = v.crs or crs
    lon, lat = numbers(v, "lon"), numbers(v, "lat")
    if co.is_geographic(crs):
        co.refuse_not_degrees(lon, lat, v.label, crs)
    lon, lat = co.to_wgs84(lon, lat, crs)
    co.refuse_not_degrees(lon, lat, v.label, crs)
    x, y, proj = co.project(lon, lat)
    return x, y, proj


def _mapped_roads(roads: str, v: Table, x_km: np.ndarray, y_km: np.ndarray,
                  projection: str | None, kind: np.ndarray,
                  osm_classes: dict[str, str] | None) -> tuple[np.ndarray, ...]:
    """Segments from an OpenStreetMap file or straight lines (sim/model/county_roads.py)."""
    from sim.model import county_roads
    from sim.model.world import winding_km

    xy = np.column_stack([x_km, y_km])
    if roads == "straight_line":
        return county_roads.straight_segments(xy, numbers(v, "terrain_factor", 1.0), kind,
                                              winding_km)
    if projection is None:
        raise InputError(v.label, "lon, lat", _("roads from an OpenStreetMap file need the "
                                                "villages' lon and lat (their x_km, y_km have no "
                                                "place on the map)"))
    from pyproj import Transformer

    to_km = Transformer.from_crs("EPSG:4326", projection, always_xy=True)
    classes = {tag: dt.ROAD_CLASS_NAMES[c] for tag, c in (osm_classes or {}).items()}
    return county_roads.osm_segments(Path(roads), xy, to_km.transform, classes)


def load_county(source: str | Path, crs: str = "wgs84", roads: str | None = None,
                osm_classes: dict[str, str] | None = None) -> World:
    """Load a county from a folder of CSV files (or GIS point files, for villages and schools)
    or an .xlsx workbook (see module docstring); `crs`: the system of lon / lat columns;
    `roads`: an OpenStreetMap file or "straight_line" (sim/model/county_roads.py), whose
    segments a roads table, where there is one, adds to; `osm_classes`: OSM highway tags ->
    county / township / village, over the default mapping."""
    source = Path(source)
    sheets = _frames(source)
    if sheets is None and not source.is_dir():
        raise InputError(str(source), "(folder)", _(
            "county folder not found; county.data names a folder with villages.csv, schools.csv, "
            "roads.csv, an .xlsx workbook or a .gpkg GeoPackage"))
    v = read_table(source, "villages", VILLAGE_COLUMNS, VILLAGE_OPTIONAL, sheets)
    s = read_table(source, "schools", SCHOOL_COLUMNS, SCHOOL_OPTIONAL, sheets)
    r = read_table(source, "roads", ROAD_COLUMNS, {}, sheets, needed=roads is None)
    b = read_table(source, "births", BIRTH_COLUMNS, {}, sheets, needed=False)
    for table, what in ((v, N_("village")), (s, N_("school"))):
        if table.df.empty:
            raise InputError(table.label, "(rows)", _("no rows; a county needs at least one "
                                                      "{what}").format(what=_(what)))

    ids = unique_ids(v, "village_id")
    x_km, y_km, projection = places_km(v, crs)
    index = {vid: i for i, vid in enumerate(ids)}
    towns = v.df["township"]
    township_names = list(dict.fromkeys(towns))
    kind = codes(v, "kind", NODE_KIND_NAMES)

    def lookup(t: Table, col: str) -> np.ndarray:
        raw = t.df[col]
        missing = ~raw.isin(index)
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise InputError(t.label, col, _("row {row}, column {column}: village {village!r} is "
                                             "not in {file}; add it there or correct the "
                                             "id").format(row=row + 2, column=col,
                                                          village=raw.iloc[row], file=v.label))
        return raw.map(index).to_numpy(dt.INDEX)

    if r is not None:
        a, b_ = lookup(r, "from_village"), lookup(r, "to_village")
        road_km = numbers(r, "length_km", 0.0, strict=True)
        road_class = codes(r, "road_class", dt.ROAD_CLASS_NAMES)
    else:
        a = b_ = np.zeros(0, dt.INDEX)
        road_km, road_class = np.zeros(0), np.zeros(0, np.int8)
    if roads is not None:
        extra = _mapped_roads(roads, v, x_km, y_km, projection, kind, osm_classes)
        a = np.concatenate([extra[0], a]).astype(dt.INDEX)
        b_ = np.concatenate([extra[1], b_]).astype(dt.INDEX)
        road_km = np.concatenate([extra[2], road_km])
        road_class = np.concatenate([extra[3], road_class]).astype(np.int8)
    road_label = r.label if r is not None else str(roads)
    n = len(ids)
    graph = coo_matrix((np.ones(len(a)), (a, b_)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    if n_comp > 1:
        seat = np.flatnonzero(kind == COUNTY_SEAT)
        main = label[seat[0]] if len(seat) else np.bincount(label).argmax()
        cut = int(np.flatnonzero(label != main)[0])
        raise InputError(road_label, "from_village/to_village",
                         _("village {village!r} is not reachable by road from the rest of the "
                           "county; add a row to roads.csv that connects it").format(
                             village=ids.iloc[cut]))
    sid = unique_ids(s, "school_id")
    level = codes(s, "level", dt.LEVEL_NAMES)
    quality = numbers(s, "quality", 0.0)
    if (quality > 1).any():
        row = int(np.flatnonzero(quality > 1)[0])
        raise InputError(s.label, "quality", _("row {row}, column quality: must lie between 0 "
                                               "and 1").format(row=row + 2))
    roll = _rolls(s, level)
    classes = numbers(s, "classes_per_grade", 1.0, whole=True).astype(dt.INDEX)
    boarders = numbers(s, "boarders", 0.0, whole=True, empty=-1.0).astype(np.int64)
    _plausible_rolls(s, roll, classes, boarders)
    world = World(
        node_name=list(ids), node_kind=kind,
        node_township=towns.map({t: i for i, t in enumerate(township_names)}).to_numpy(dt.INDEX),
        node_x_km=x_km, node_y_km=y_km, projection=projection,
        node_population=numbers(v, "population", 0.0),
        node_terrain=numbers(v, "terrain_factor", 1.0),
        node_local_km=numbers(v, "local_km", 0.0),
        township_names=township_names,
        road_from=a, road_to=b_, road_km=road_km, road_class=road_class,
        school_name=list(sid), school_node=lookup(s, "village_id"), school_level=level,
        school_classes_per_grade=numbers(s, "classes_per_grade", 1.0, whole=True).astype(dt.INDEX),
        school_beds=numbers(s, "boarding_beds", 0.0, whole=True).astype(dt.INDEX),
        school_canteen=numbers(s, "canteen_places", 0.0, whole=True, empty=-1.0).astype(dt.INDEX),
        school_quality=quality,
        school_roll=roll,
        school_boarders=numbers(s, "boarders", 0.0, whole=True, empty=-1.0).astype(np.int64),
        school_teachers=numbers(s, "teachers", 0.0, empty=np.nan),
        births=_births(b),
        source=str(source),
    )
    return at_own_places(world, s, crs)


def at_own_places(world: World, s: Table, crs: str) -> World:
    """Schools whose table gives their own place (x_km, y_km, or lon, lat as the villages do)
    more than OWN_PLACE_KM from their village's centre: each gets a node of its own (no
    residents), joined to its village by a village road as long as the straight line winding
    with the village's terrain (`world.winding_km`). A place further than FAR_FROM_VILLAGE_KM
    is refused (a wrong village_id or place)."""
    import dataclasses

    from sim.model import coordinates as co
    from sim.model.world import VILLAGE, winding_km

    some = {c: bool((s.df[c] != "").any()) for c in PLACE_COLUMNS}
    if not any(some.values()):
        return world
    in_km, in_degrees = some["x_km"] or some["y_km"], some["lon"] or some["lat"]
    villages_in_km = world.projection is None
    if (in_km and not villages_in_km) or (in_degrees and villages_in_km):
        raise InputError(s.label, "x_km, y_km" if in_km else "lon, lat",
                         _("give the schools' places as the villages give theirs (x_km, y_km, "
                           "or lon, lat), or leave them out (a school then stands at its "
                           "village)"))
    if world.projection is None:
        x, y = numbers(s, "x_km", empty=np.nan), numbers(s, "y_km", empty=np.nan)
    else:
        from pyproj import Transformer

        lon, lat = numbers(s, "lon", empty=np.nan), numbers(s, "lat", empty=np.nan)
        given = np.isfinite(lon) & np.isfinite(lat)
        x, y = np.full(len(lon), np.nan), np.full(len(lon), np.nan)
        if given.any():
            wlon, wlat = co.to_wgs84(lon[given], lat[given], s.crs or crs)
            tx, ty = Transformer.from_crs("EPSG:4326", world.projection,
                                          always_xy=True).transform(wlon, wlat)
            x[given], y[given] = tx, ty
    home = world.school_node
    dist = np.hypot(x - world.node_x_km[home], y - world.node_y_km[home])
    far = np.isfinite(dist) & (dist > FAR_FROM_VILLAGE_KM)
    if far.any():
        k = int(np.flatnonzero(far)[0])
        raise InputError(s.label, "village_id", _(
            "row {row}: school {school!r} stands {km:.1f} km from the centre of its village "
            "{village!r}; check its place or its village_id").format(
            row=k + 2, school=world.school_name[k], km=dist[k], village=world.node_name[home[k]]))
    own = np.flatnonzero(np.isfinite(dist) & (dist > OWN_PLACE_KM))
    if len(own) == 0:
        return world
    n = world.n_nodes
    new = np.arange(n, n + len(own))
    village = home[own]
    xy = np.column_stack([np.append(world.node_x_km, x[own]), np.append(world.node_y_km, y[own])])
    terrain = np.append(world.node_terrain, world.node_terrain[village])
    edges = np.column_stack([village, new])
    school_node = home.copy()
    school_node[own] = new
    return dataclasses.replace(
        world,
        node_name=world.node_name + [f"{world.school_name[k]} (school)" for k in own],
        node_kind=np.append(world.node_kind, np.full(len(own), VILLAGE)).astype(
            world.node_kind.dtype),
        node_township=np.append(world.node_township, world.node_township[village]).astype(
            world.node_township.dtype),
        node_x_km=xy[:, 0], node_y_km=xy[:, 1],
        node_population=np.append(world.node_population, np.zeros(len(own))),
        node_terrain=terrain,
        node_local_km=np.append(world.node_local_km, np.zeros(len(own))),
        road_from=np.append(world.road_from, village).astype(world.road_from.dtype),
        road_to=np.append(world.road_to, new).astype(world.road_to.dtype),
        road_km=np.append(world.road_km, winding_km(xy, terrain, edges)),
        road_class=np.append(world.road_class, np.full(len(own), dt.VILLAGE_ROAD)).astype(
            world.road_class.dtype),
        school_node=school_node.astype(world.school_node.dtype))


def save_county_csv(world: World, folder: str | Path) -> None:
    """Write a county in the CSV format `load_county` reads (e.g. a synthetic one to edit), with
    its rolls where it has them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind_name = {v: k for k, v in NODE_KIND_NAMES.items()}
    level_name, road_name = dt.LEVEL_OF_CODE, dt.ROAD_CLASS_OF_CODE
    pd.DataFrame({
        "village_id": world.node_name,
        "township": [world.township_names[t] for t in world.node_township],
        "x_km": world.node_x_km.round(3), "y_km": world.node_y_km.round(3),
        "population": world.node_population.astype(int),
        "terrain_factor": world.node_terrain.round(3),
        "local_km": world.local_km().round(3),
        "kind": [kind_name[k] for k in world.node_kind],
    }).to_csv(folder / "villages.csv", index=False)
    schools = pd.DataFrame({
        "school_id": world.school_name,
        "village_id": [world.node_name[n] for n in world.school_node],
        "level": [level_name[x] for x in world.school_level],
        "classes_per_grade": world.school_classes_per_grade,
        "boarding_beds": world.school_beds,
        "canteen_places": pd.Series(world.school_canteen).where(world.school_canteen >= 0, None),
        "quality": world.school_quality.round(3),
    })
    if world.school_roll is not None:
        for g, col in enumerate(GRADE_COLUMNS, start=1):
            schools[col] = world.school_roll[:, g]
    schools.to_csv(folder / "schools.csv", index=False)
    pd.DataFrame({
        "from_village": [world.node_name[i] for i in world.road_from],
        "to_village": [world.node_name[i] for i in world.road_to],
        "length_km": world.road_km.round(3),
        "road_class": [road_name[c] for c in world.road_class],
    }).to_csv(folder / "roads.csv", index=False)
    if world.births:
        pd.DataFrame({"year": list(world.births), "births": list(world.births.values())}).to_csv(
            folder / "births.csv", index=False)


def load_rolls(path: str | Path, world: World) -> np.ndarray:
    """(schools, 10) pupils by grade of another school year, from a schools table (a CSV file,
    or a folder or workbook with schools.csv / sheet schools) with the columns `school_id` and
    `pupils_g1` ... `pupils_g9` (or `pupils`): every school of `world` must be in it, in any
    order; other columns of schools.csv are allowed and ignored. Schools the county lists but the
    file lacks, or ids the county does not know, are errors naming the file and the id."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        source, name, sheets = path.parent, path.stem, None
    else:
        source, name, sheets = path, "schools", _frames(path)
        if sheets is None and not path.is_dir():
            raise InputError(str(path), "(file)", _("not found; give a schools.csv of the next "
                                                    "school year (school_id, pupils_g1 ... "
                                                    "pupils_g9)"))
    optional = {c: "" for c in [*SCHOOL_COLUMNS, *SCHOOL_OPTIONAL] if c != "school_id"}
    t = read_table(source, name, {"school_id": "the school's id, as in the county's schools.csv"},
                   optional, sheets)
    if t.df.empty:
        raise InputError(t.label, "(rows)", _("no rows; give every school's pupils"))
    ids = unique_ids(t, "school_id")
    index = {sid: i for i, sid in enumerate(world.school_name)}
    unknown = [x for x in ids if x not in index]
    if unknown:
        raise InputError(t.label, "school_id", _("school {school!r} is not in the county's "
                                                 "schools.csv; correct the id or remove the "
                                                 "row").format(school=unknown[0]))
    missing = [x for x in world.school_name if x not in set(ids)]
    if missing:
        raise InputError(t.label, "school_id", _("school {school!r} of the county has no row; "
                                                 "give every school (0 pupils for a school that "
                                                 "closed)").format(school=missing[0]))
    level = np.array([world.school_level[index[x]] for x in ids])
    roll = _rolls(t, level)
    if roll is None:
        raise InputError(t.label, "pupils_g1", _("no pupils given; give pupils_g1 ... pupils_g9 "
                                                 "(or pupils) for every school"))
    out = np.zeros_like(roll)
    out[[index[x] for x in ids]] = roll
    return out
