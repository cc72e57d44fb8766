"""Where a webhook may point: HTTPS only and, unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS (tests and
development), never at a loopback, private, link-local, shared or reserved address. The check runs
when an endpoint is registered and again on every delivery, on the addresses the name resolves to
then, and the delivery connects to the address it checked (a name re-pointed at an internal
address after registration, "DNS rebinding", is refused)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from portal.errors import DomainError


class WebhookUrlInvalid(DomainError):
    code = "webhook_url_invalid"


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str  # with the query


def _parse(url: str) -> Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443
    except ValueError:
        raise WebhookUrlInvalid(_("This is not a valid address."), field="url") from None
    if parts.scheme != "https":
        raise WebhookUrlInvalid(_("A webhook address must start with https://: events are personal data and "
                                  "travel encrypted only."), field="url")
    if not parts.hostname:
        raise WebhookUrlInvalid(_("The address names no host."), field="url")
    if parts.username or parts.password:
        raise WebhookUrlInvalid(_("Put no user name or password in the address; deliveries are signed instead."),
                                field="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(host=parts.hostname, port=port, path=path)


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                                 or ip.is_multicast or ip.is_unspecified)


def _resolve(target: Target) -> list[str]:
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlInvalid(_("The host %(host)s could not be found.") % {"host": target.host},
                                field="url") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def webhook_url_check(url: str) -> tuple[Target, str]:
    """The URL's target and the one address to connect to; raises WebhookUrlInvalid."""
    target = _parse(url)
    addresses = _resolve(target)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        internal = [a for a in addresses if not address_is_public(a)]
        if internal:
            raise WebhookUrlInvalid(
                _("%(host)s points at an internal address (%(address)s): loopback, private, link-local and "
                  "reserved networks cannot receive webhooks.") % {"host": target.host, "address": internal[0]},
                field="url")
    return target, addresses[0]
