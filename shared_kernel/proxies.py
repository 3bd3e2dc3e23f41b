"""Who the client is behind our reverse proxies: one rule for every GT-Vision service.

``GTV_TRUSTED_PROXIES`` lists the addresses or CIDR networks of the proxies in front of
the services (HAProxy, Kong). ``X-Forwarded-For`` is believed only when the direct peer
is one of them, and then only up to the first hop that is not a trusted proxy, reading
right to left: each proxy appends the address it saw, so the rightmost untrusted entry
is the last address no trusted proxy can have been lied to about. A client cannot choose
its own address by sending the header itself, whatever it puts on the left.

Both services call this module (the admin service through ``config.proxies``, the
streaming service through its forwarded-headers middleware), so an audit entry, a login
throttle and a log line name the same address for the same request. No framework here:
callers hand in the TCP peer and the raw header value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from shared_kernel.networks import Network, parse_networks

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str | None) -> Address | None:
    if not value:
        return None
    text = value.strip()
    # "[2001:db8::1]:443" and "203.0.113.9:5120" (RFC 7239 style with a port) → the address.
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 for trust and for logs
    return address


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` (and ``X-Forwarded-Proto``) are believed."""

    __slots__ = ("networks",)

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self.networks: tuple[Network, ...] = tuple(networks)

    @classmethod
    def from_strings(cls, values: Iterable[str]) -> TrustedProxies:
        return _cached(tuple(str(v) for v in values))

    def trusts(self, peer: str | None) -> bool:
        """Whether ``peer`` (the TCP peer's address) is one of our proxies."""
        address = _address(peer)
        return address is not None and self._trusted(address)

    def _trusted(self, address: Address) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address: ``peer``, or the nearest untrusted hop of
        ``forwarded_for`` when (and only when) ``peer`` is a trusted proxy.

        ``forwarded_for`` is every ``X-Forwarded-For`` value the request carried, joined
        with commas in the order received. A hop that is not an IP address stops the
        walk: what lies left of garbage was never vouched for by our proxies.
        """
        remote = _address(peer)
        if remote is None:
            return None
        if not self.networks or not self._trusted(remote):
            return str(remote)
        for hop in reversed([h for h in (forwarded_for or "").split(",") if h.strip()]):
            address = _address(hop)
            if address is None:
                break
            if not self._trusted(address):
                return str(address)
        return str(remote)


@lru_cache(maxsize=16)
def _cached(values: tuple[str, ...]) -> TrustedProxies:
    return TrustedProxies(parse_networks(values))
