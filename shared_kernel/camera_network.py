"""Which network addresses a camera URL may point at: the policy both services apply.

A camera URL is chosen by a tenant admin, and the platform connects to it (ffmpeg,
MediaMTX). Without a rule, that is a way to make the platform open connections inside its
own network (databases, brokers, the cloud metadata service) and to read the answers
back as error messages. The admin service checks the rule when a URL is saved; the
streaming service checks it again on the addresses it is about to connect to, resolves
host names itself and connects to the address it checked (no second lookup an attacker's
DNS server could answer differently).

The rule (``CameraNetworkPolicy.decide``), most specific network first:

* Built-in denied networks (:data:`BUILTIN_DENIED`): loopback, link-local (the cloud
  metadata address 169.254.169.254 among them), unspecified, multicast, broadcast and
  reserved ranges, IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo), known
  cloud metadata addresses, and the private ranges (RFC 1918, CGNAT, IPv6 ULA) — which is
  where the platform itself runs. IPv4-mapped IPv6 addresses (``::ffff:127.0.0.1``) are
  judged as the IPv4 address they are.
* ``allowed`` (``GTV_CAMERA_ALLOWED_NETWORKS``): the networks cameras live on. An
  allowed network at least as specific as a built-in denied one that contains it wins:
  ``10.20.0.0/16`` opens that part of 10/8, and the demo's ``127.0.0.0/8`` opens
  loopback, but ``0.0.0.0/0`` opens no built-in denied range.
* ``denied`` (``GTV_CAMERA_DENIED_NETWORKS``): the platform's own networks. They beat an
  allowed network of the same or a wider prefix, and lose only to a more specific allowed
  one (a camera subnet carved out of them).
* An address no network matches is a public address: allowed while ``allowed`` is empty,
  refused once ``allowed`` lists the camera networks (then it is the complete list).

A host name is resolved (with a timeout) and every address it resolves to must be
allowed; one denied address refuses the name.

This module is framework-free: the admin service calls the synchronous API, the streaming
service the asynchronous one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared_kernel.networks import Network, parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = Network

CAMERA_SCHEMES = frozenset({"rtsp", "rtsps"})
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
DEFAULT_DNS_TIMEOUT_SECONDS = 2.0


def _networks(*texts: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(text) for text in texts)


# (category, networks): the category names why an address was refused in server logs.
BUILTIN_DENIED: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("unspecified", _networks("0.0.0.0/8", "::/128")),
    ("loopback", _networks("127.0.0.0/8", "::1/128")),
    ("link-local", _networks("169.254.0.0/16", "fe80::/10")),
    ("multicast", _networks("224.0.0.0/4", "ff00::/8")),
    ("reserved", _networks("240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15", "100::/64",
                           "2001:db8::/32", "::/96")),
    ("ipv4-embedding", _networks("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",
                                 "2001::/32")),
    ("cloud-metadata", _networks("100.100.100.200/32", "fd00:ec2::254/128")),
    ("private", _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                          "fc00::/7", "fec0::/10")),
)
_BUILTIN = tuple((name, network) for name, networks in BUILTIN_DENIED for network in networks)


class CameraAddressError(ValueError):
    """A camera URL the policy will not let anything connect to. ``code`` is stable and
    safe to show; the message never holds the URL (it may carry credentials)."""

    code = "address_not_allowed"


class AddressNotAllowed(CameraAddressError):
    """The URL's host is, or resolves to, an address outside the allowed networks."""

    code = "address_not_allowed"

    def __init__(self, message: str, *, address: str | None = None,
                 rule: str | None = None) -> None:
        super().__init__(message)
        self.address = address
        self.rule = rule


class AddressUnresolvable(CameraAddressError):
    """The URL's host name did not resolve (no such name, or no answer in time)."""

    code = "address_unresolvable"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    """What decided: ``allowed 10.20.0.0/16``, ``denied loopback 127.0.0.0/8``..."""


@dataclass(frozen=True)
class VettedUrl:
    """A camera URL whose every address the policy allowed.

    ``url`` is the URL to connect to: the original with its host replaced by ``address``
    (credentials, port, path and query kept byte for byte), so the process that connects
    makes no DNS lookup of its own. Holds credentials: never log it."""

    url: str = field(repr=False)
    address: IPAddress
    addresses: tuple[IPAddress, ...]
    host: str = field(repr=False)


SyncResolver = Callable[[str, int, float], Sequence[str]]
AsyncResolver = Callable[[str, int, float], Awaitable[Sequence[str]]]

_RESOLVER_POOL = concurrent.futures.ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="camera-dns")


def _addresses_from(infos: Iterable[tuple[object, ...]]) -> list[str]:
    found: list[str] = []
    for info in infos:
        sockaddr = info[4]
        if isinstance(sockaddr, tuple) and sockaddr and str(sockaddr[0]) not in found:
            found.append(str(sockaddr[0]))
    return found


def system_resolve(host: str, port: int, timeout: float) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, in a worker thread so a
    slow DNS server cannot hold the caller longer than ``timeout``)."""
    future = _RESOLVER_POOL.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return _addresses_from(future.result(timeout=timeout))
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise AddressUnresolvable(f"the camera host did not resolve within {timeout:g} s")\
            from None
    except (OSError, UnicodeError) as exc:
        raise AddressUnresolvable("the camera host does not resolve") from exc


async def async_system_resolve(host: str, port: int, timeout: float) -> list[str]:
    """:func:`system_resolve` for asyncio code (the loop's resolver)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except TimeoutError:
        raise AddressUnresolvable(f"the camera host did not resolve within {timeout:g} s")\
            from None
    except (OSError, UnicodeError) as exc:
        raise AddressUnresolvable("the camera host does not resolve") from exc
    return _addresses_from(infos)


def normalise(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it maps (that is where a
    connection to it goes)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class CameraNetworkPolicy:
    """The allow/deny rule for camera addresses (see the module doc)."""

    allowed: tuple[IPNetwork, ...] = ()
    denied: tuple[IPNetwork, ...] = ()
    dns_timeout: float = DEFAULT_DNS_TIMEOUT_SECONDS

    @classmethod
    def from_strings(cls, allowed: Iterable[str] = (), denied: Iterable[str] = (),
                     dns_timeout: float = DEFAULT_DNS_TIMEOUT_SECONDS) -> CameraNetworkPolicy:
        return cls(allowed=parse_networks(allowed), denied=parse_networks(denied),
                   dns_timeout=dns_timeout)

    # -- addresses --------------------------------------------------------------------

    def decide(self, address: IPAddress | str) -> Decision:
        """Whether a connection to ``address`` is allowed, and which rule said so."""
        ip = normalise(ipaddress.ip_address(address) if isinstance(address, str) else address)
        # (prefix length, precedence, verdict, rule): the longest prefix wins; on a tie an
        # operator's denial beats their allowance, which beats a built-in denial.
        matches: list[tuple[int, int, bool, str]] = []
        for network in self.denied:
            if ip.version == network.version and ip in network:
                matches.append((network.prefixlen, 2, False, f"denied {network}"))
        for network in self.allowed:
            if ip.version == network.version and ip in network:
                matches.append((network.prefixlen, 1, True, f"allowed {network}"))
        for name, network in _BUILTIN:
            if ip.version == network.version and ip in network:
                matches.append((network.prefixlen, 0, False, f"denied {name} {network}"))
        if matches:
            _, _, verdict, rule = max(matches)
            return Decision(verdict, rule)
        if self.allowed:
            return Decision(False, "not in an allowed network")
        return Decision(True, "public address")

    def check_address(self, address: IPAddress | str) -> IPAddress:
        """The (normalised) address when allowed; ``AddressNotAllowed`` otherwise."""
        ip = normalise(ipaddress.ip_address(address) if isinstance(address, str) else address)
        decision = self.decide(ip)
        if not decision.allowed:
            raise AddressNotAllowed("the camera address is not in a network cameras may use",
                                    address=str(ip), rule=decision.rule)
        return ip

    # -- URLs -------------------------------------------------------------------------

    def vet_url(self, url: str, *, resolve: SyncResolver | None = None) -> VettedUrl:
        """Check every address of ``url``'s host (resolving a name with
        ``dns_timeout``); the URL to connect to, or ``CameraAddressError``."""
        host, port = _host_and_port(url)
        literal = _literal(host)
        if literal is not None:
            return self._vetted(url, host, [literal])
        found = (resolve or system_resolve)(host, port, self.dns_timeout)
        return self._vetted(url, host, list(found))

    async def avet_url(self, url: str, *, resolve: AsyncResolver | None = None) -> VettedUrl:
        """:meth:`vet_url` for asyncio code."""
        host, port = _host_and_port(url)
        literal = _literal(host)
        if literal is not None:
            return self._vetted(url, host, [literal])
        found = await (resolve or async_system_resolve)(host, port, self.dns_timeout)
        return self._vetted(url, host, list(found))

    def _vetted(self, url: str, host: str, found: Sequence[str | IPAddress]) -> VettedUrl:
        if not found:
            raise AddressUnresolvable("the camera host resolves to no address")
        addresses: list[IPAddress] = []
        for raw in found:
            try:
                ip = ipaddress.ip_address(raw) if isinstance(raw, str) else raw
            except ValueError:
                # A scoped IPv6 answer (``fe80::1%eth0``) is link-local: never allowed.
                raise AddressNotAllowed(
                    "the camera address is not in a network cameras may use",
                    address=str(raw), rule="denied scoped address") from None
            addresses.append(self.check_address(ip))
        return VettedUrl(url=with_host(url, addresses[0]), address=addresses[0],
                         addresses=tuple(addresses), host=host)


DEFAULT_POLICY = CameraNetworkPolicy()
"""Built-in denials only: public addresses allowed, private and local ones refused."""


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressNotAllowed("the camera URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in CAMERA_SCHEMES:
        raise AddressNotAllowed("a camera URL must be rtsp:// or rtsps://", rule="scheme")
    if not parts.hostname:
        raise AddressNotAllowed("the camera URL has no host", rule="no host")
    return parts.hostname, port or DEFAULT_PORTS[scheme]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def with_host(url: str, address: IPAddress) -> str:
    """``url`` with the host of its authority replaced by ``address``; userinfo, port,
    path, query and fragment are kept exactly as written (``urlunsplit`` would drop an
    empty ``?``, which some camera firmwares expect)."""
    scheme_end = url.index("://") + 3
    end = len(url)
    for delimiter in "/?#":
        found = url.find(delimiter, scheme_end)
        if found != -1:
            end = min(end, found)
    authority = url[scheme_end:end]
    userinfo, at, hostport = authority.rpartition("@")
    port = ""
    if hostport.startswith("["):
        closing = hostport.find("]")
        port = hostport[closing + 1:] if closing != -1 else ""
    elif ":" in hostport:
        port = hostport[hostport.index(":"):]
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{url[:scheme_end]}{userinfo}{at}{host}{port}{url[end:]}"
