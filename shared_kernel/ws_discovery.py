"""A small WS-Discovery client: send ONVIF Probes (``dn:NetworkVideoTransmitter``) and
collect the ProbeMatches that answer them, within a bounded wait.

Targets are unicast (a host, or every host of a small subnet, on UDP 3702 unless a port
is given) and, optionally, the multicast group 239.255.255.250:3702 sent out of one
interface. Only answers whose ``RelatesTo`` is one of this probe's message ids count;
everything else heard on the socket (Hellos, Byes, stray datagrams) is ignored.

Why not the ``wsdiscovery`` package (2.1.2, the maintained one): ``ThreadedWSDiscovery``
binds UDP 3702 on every interface and joins the multicast group on each even for a
directed probe (a second process on the host, such as the camera simulator's responder,
conflicts with it), runs its own threads per instance, and ``searchServices`` sleeps the
whole timeout and returns every service heard since ``start()``, without limits on what
it parses ("It doesn't verify data received from the network", its README says). A web
request wants one socket, one deadline and bounded parsing, which fits in this module.

Pure standard library (sockets and ElementTree), no framework: the admin service wires it
in its settings; ``shared_kernel.camera_network`` decides which addresses may be probed.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

log = logging.getLogger(__name__)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
PROBE_ACTION = f"{WSD}/Probe"
MULTICAST_GROUP = "239.255.255.250"
DEFAULT_PORT = 3702
MAX_DATAGRAM = 65535
MAX_HOSTS_PER_SUBNET = 1024
MAX_DEVICES = 1000
MAX_FIELD = 512
MAX_LIST = 32


class InvalidTarget(ValueError):
    """A discovery target that is neither ``host[:port]`` nor ``CIDR[:port]``."""


@dataclass(frozen=True)
class Target:
    """Where Probes go: every host of ``network`` (one host for a /32), on ``port``."""

    text: str
    network: ipaddress.IPv4Network
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, text: str) -> Target:
        raw = text.strip()
        address, _, port_text = raw.partition(":")
        try:
            port = int(port_text) if port_text else DEFAULT_PORT
            network = ipaddress.IPv4Network(address, strict=False)
        except ValueError:
            raise InvalidTarget(
                f"{raw!r} is not an IPv4 host[:port] or CIDR[:port]") from None
        if not 0 < port < 65536:
            raise InvalidTarget(f"{raw!r}: the port must be 1-65535")
        if network.num_addresses > MAX_HOSTS_PER_SUBNET:
            raise InvalidTarget(
                f"{raw!r}: at most {MAX_HOSTS_PER_SUBNET} addresses per subnet")
        return cls(text=raw, network=network, port=port)

    def hosts(self) -> list[ipaddress.IPv4Address]:
        if self.network.num_addresses == 1:
            return [self.network.network_address]
        return list(self.network.hosts())


@dataclass(frozen=True)
class ProbeMatch:
    """One device's answer: its endpoint reference (``urn:uuid:...``), service
    addresses, scopes and types as sent, and the address it was sent from."""

    endpoint: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    types: tuple[str, ...]
    sender: str


def probe_message(message_id: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{SOAP}" '
            f'xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}"><e:Header>'
            f"<w:MessageID>{message_id}</w:MessageID>"
            "<w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
            f"<w:Action>{PROBE_ACTION}</w:Action></e:Header><e:Body><d:Probe>"
            "<d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>"
            ).encode()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _words(element: ElementTree.Element | None) -> tuple[str, ...]:
    text = (element.text or "") if element is not None else ""
    return tuple(word[:MAX_FIELD] for word in text.split()[:MAX_LIST])


def parse_matches(data: bytes, message_ids: Iterable[str], sender: str) -> list[ProbeMatch]:
    """The ProbeMatch entries of one datagram answering one of ``message_ids``; an
    empty list for anything else (malformed, another action, a DTD)."""
    if len(data) > MAX_DATAGRAM or b"<!DOCTYPE" in data.upper():
        return []
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (no DTD: no entities to expand)
    except ElementTree.ParseError:
        return []
    header, body = _child(root, "Header"), _child(root, "Body")
    if header is None or body is None:
        return []
    relates_to = _child(header, "RelatesTo")
    if relates_to is None or (relates_to.text or "").strip() not in set(message_ids):
        return []
    matches = _child(body, "ProbeMatches")
    if matches is None:
        return []
    found = []
    for match in matches:
        if _local(match.tag) != "ProbeMatch":
            continue
        reference = _child(match, "EndpointReference")
        address = _child(reference, "Address") if reference is not None else None
        endpoint = (address.text or "").strip()[:MAX_FIELD] if address is not None else ""
        if not endpoint:
            continue
        found.append(ProbeMatch(
            endpoint=endpoint, xaddrs=_words(_child(match, "XAddrs")),
            scopes=_words(_child(match, "Scopes")), types=_words(_child(match, "Types")),
            sender=sender))
    return found


class WsDiscoveryClient:
    """Probes ``targets`` (and the multicast group out of ``multicast_interface``, an
    IPv4 address of this host, when given) and waits ``timeout`` seconds for answers."""

    def __init__(self, targets: Sequence[Target] = (), *, timeout: float = 2.0,
                 multicast_interface: str | None = None) -> None:
        self.targets = tuple(targets)
        self.timeout = timeout
        self.multicast_interface = multicast_interface

    def probe(self, targets: Sequence[Target] | None = None, *, multicast: bool = True,
              allowed: Callable[[ipaddress.IPv4Address], bool] = lambda _host: True,
              ) -> list[ProbeMatch]:
        """One probe round: every ``allowed`` host of every target (default: the
        configured ones) gets a Probe; the answers that arrive before the deadline, one
        per endpoint (the first answer wins)."""
        chosen = self.targets if targets is None else tuple(targets)
        message_id = f"uuid:{uuid.uuid4()}"
        message = probe_message(message_id)
        found: dict[str, ProbeMatch] = {}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.multicast_interface if multicast and self.multicast_interface
                       else "", 0))
            sock.setblocking(False)
            for target in chosen:
                for host in target.hosts():
                    if allowed(host):
                        self._send(sock, message, (str(host), target.port))
            if multicast and self.multicast_interface:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                socket.inet_aton(self.multicast_interface))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
                self._send(sock, message, (MULTICAST_GROUP, DEFAULT_PORT))
            deadline = time.monotonic() + self.timeout
            while (remaining := deadline - time.monotonic()) > 0 and len(found) < MAX_DEVICES:
                ready, _, _ = select.select([sock], [], [], remaining)
                if not ready:
                    break
                try:
                    data, sender = sock.recvfrom(MAX_DATAGRAM)
                except OSError:
                    # An ICMP "port unreachable" from a probed host surfaces here.
                    continue
                for match in parse_matches(data, (message_id,), sender[0]):
                    found.setdefault(match.endpoint, match)
        return list(found.values())

    @staticmethod
    def _send(sock: socket.socket, message: bytes, address: tuple[str, int]) -> None:
        try:
            sock.sendto(message, address)
        except OSError as exc:
            log.info("ws-discovery probe not sent", extra={"to": address[0], "error": str(exc)})
