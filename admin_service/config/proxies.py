"""Who the client is behind our reverse proxies: one notion for the whole admin service.

``settings.TRUSTED_PROXIES`` (env ``GTV_TRUSTED_PROXIES``) lists the addresses or CIDR
networks of the proxies in front of Django (HAProxy, Kong). ``X-Forwarded-For`` is
believed only when the direct peer is one of them, and then only up to the first hop
that is not a trusted proxy, reading right to left: a client cannot choose its own
address by sending the header itself. Audit entries and the login throttle both call
``client_ip``, so the address that is throttled is the address that is audited.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "192.168.1.5"]`` → networks; raises ``ValueError`` on a typo."""
    networks: list[Network] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {text!r}") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _valid_ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: Any, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or the nearest untrusted hop of
    ``X-Forwarded-For`` when (and only when) ``REMOTE_ADDR`` is a trusted proxy."""
    meta = getattr(request, "META", {}) or {}
    remote = _valid_ip(meta.get("REMOTE_ADDR"))
    networks = trusted_networks()
    if remote is None or not networks or not _trusted(remote, networks):
        return str(remote) if remote is not None else None
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "") or "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _valid_ip(hop)
        if address is None:
            break  # garbage in the chain: stop believing it
        if not _trusted(address, networks):
            return str(address)
    return str(remote)
