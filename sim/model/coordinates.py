"""Coordinates as people have them -> the model's kilometres.

A county's places may be given as `x_km`, `y_km` (any local east/north kilometres), or as
`lon`, `lat` in the scenario's `county.crs`:

- `wgs84` (GPS, OpenStreetMap; the default), `gcj02` (the Chinese web maps' system: Amap/Gaode,
  Tencent, Google's China maps), `bd09` (Baidu maps): degrees, rectified to WGS84 with PRCoords
  (public domain; the iterative inverse, about 0.1 mm);
- `EPSG:xxxx`: any coordinate system pyproj knows, geographic (degrees) or projected (its
  own units, e.g. metres of a Gauss-Kruger zone of CGCS2000, EPSG:4534-4554).

WGS84 degrees are then projected with pyproj onto an azimuthal equidistant projection centred on
the county (distances from the centre exact, and within 0.1% across a county of 100 km), in km.

Degrees given as kilometres (x_km = 115.6, y_km = 24.9 for a county a few "km" across), and
kilometres or metres given as degrees, are refused with a message that names the fix.
"""

from __future__ import annotations

import numpy as np

from sim.core.errors import InputError
from sim.core.i18n import _

#: `county.crs` names of degrees systems, besides EPSG codes
DEGREE_SYSTEMS = ("wgs84", "gcj02", "bd09")
#: widest plausible county, in degrees of longitude or latitude (about 550 km)
MAX_SPAN_DEG = 5.0
#: a county whose "kilometres" all lie within this span and inside China's lon/lat box was
#: almost certainly given in degrees
DEGREES_SPAN_KM = 3.0
CHINA_LON = (72.0, 138.0)  #: degrees east
CHINA_LAT = (0.8, 56.0)  #: degrees north


def to_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude and latitude (degrees) of points given in `crs` (wgs84, gcj02, bd09, or
    EPSG:xxxx with x = east / longitude and y = north / latitude)."""
    return _convert(lon, lat, crs, to_wgs=True)


def from_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `to_wgs84`: WGS84 degrees -> `crs` (for writing files in it)."""
    return _convert(lon, lat, crs, to_wgs=False)


def _convert(lon: np.ndarray, lat: np.ndarray, crs: str, to_wgs: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    name = crs.lower()
    if name == "wgs84":
        return lon, lat
    if name in ("gcj02", "bd09"):
        import prcoords

        fn = {("gcj02", True): prcoords.gcj_wgs_bored, ("bd09", True): prcoords.bd_wgs_bored,
              ("gcj02", False): prcoords.wgs_gcj, ("bd09", False): prcoords.wgs_bd}[name, to_wgs]
        out = [fn(prcoords.Coords(la, lo)) for lo, la in zip(lon, lat, strict=True)]
        return np.array([c.lon for c in out]), np.array([c.lat for c in out])
    from pyproj import Transformer

    src, dst = (crs, "EPSG:4326") if to_wgs else ("EPSG:4326", crs)
    x, y = Transformer.from_crs(src, dst, always_xy=True).transform(lon, lat)
    return np.asarray(x, float), np.asarray(y, float)


def local_projection(lon0: float, lat0: float) -> str:
    """The county's metric projection: azimuthal equidistant centred at (lon0, lat0), in km."""
    return f"+proj=aeqd +lat_0={lat0:.8f} +lon_0={lon0:.8f} +datum=WGS84 +units=km +no_defs"


def project(lon: np.ndarray, lat: np.ndarray, centre: tuple[float, float] | None = None
            ) -> tuple[np.ndarray, np.ndarray, str]:
    """WGS84 degrees -> (x_km, y_km, the projection's PROJ string), centred on `centre` (default:
    the middle of the points' extent)."""
    from pyproj import Transformer

    if centre is None:
        centre = ((np.min(lon) + np.max(lon)) / 2, (np.min(lat) + np.max(lat)) / 2)
    proj = local_projection(*centre)
    x, y = Transformer.from_crs("EPSG:4326", proj, always_xy=True).transform(lon, lat)
    return np.asarray(x, float), np.asarray(y, float), proj


def unproject(x_km: np.ndarray, y_km: np.ndarray, proj: str) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `project`: kilometres of projection `proj` -> WGS84 degrees."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(proj, "EPSG:4326", always_xy=True).transform(x_km, y_km)
    return np.asarray(lon, float), np.asarray(lat, float)


def is_known_crs(crs: str) -> bool:
    """Whether pyproj knows `crs` (an EPSG code, WKT or PROJ string)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError:
        return False
    return True


def is_geographic(crs: str) -> bool:
    """Whether coordinates in `crs` are degrees (lon, lat)."""
    if crs.lower() in DEGREE_SYSTEMS:
        return True
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def refuse_degrees_as_km(x: np.ndarray, y: np.ndarray, label: str) -> None:
    """x_km / y_km that look like longitude / latitude (inside China's box, all within a few
    "km" of each other): refuse, naming the fix."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return
    inside = (CHINA_LON[0] <= x.min() and x.max() <= CHINA_LON[1]
              and CHINA_LAT[0] <= y.min() and y.max() <= CHINA_LAT[1])
    if inside and np.ptp(x) < DEGREES_SPAN_KM and np.ptp(y) < DEGREES_SPAN_KM:
        raise InputError(label, "x_km, y_km", _(
            "these look like longitude and latitude in degrees (e.g. {x:.4f}, {y:.4f}), not "
            "kilometres: name the columns lon and lat and set county.crs (wgs84 for GPS, gcj02 "
            "for Amap/Tencent maps, bd09 for Baidu), or give kilometres").format(x=x[0], y=y[0]))


def refuse_not_degrees(lon: np.ndarray, lat: np.ndarray, label: str, crs: str) -> None:
    """lon / lat that cannot be degrees of one county (out of range, or spread over more than
    MAX_SPAN_DEG): refuse, naming the fix."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise InputError(label, "lon, lat", _(
            "values such as {lon:.1f}, {lat:.1f} are not degrees ({crs}): longitude lies within "
            "+-180 and latitude within +-90. Kilometres go in x_km, y_km; metres of a projected "
            "system need county.crs: EPSG:xxxx").format(lon=lon.max(), lat=lat.max(), crs=crs))
    if len(lon) > 1 and max(np.ptp(lon), np.ptp(lat)) > MAX_SPAN_DEG:
        raise InputError(label, "lon, lat", _(
            "the places spread over {lon:.1f} degrees of longitude and {lat:.1f} of latitude, "
            "more than a county ({most:.0f}); check for swapped columns, a missing sign, or "
            "kilometres given as degrees").format(lon=np.ptp(lon), lat=np.ptp(lat),
                                                  most=MAX_SPAN_DEG))
