"""WS-Discovery for the simulated cameras, on loopback only.

Real cameras listen for multicast Probes on 239.255.255.250:3702. The simulator binds
one UDP socket on 127.0.0.1 (port 3702 or any free one) and answers a unicast Probe
with one ProbeMatches datagram per camera, sent back to the sender, and only when the
sender is a loopback address: it never sends anything off this machine.

``probe(host, port)`` is the matching client (tests, tools).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
MATCHES_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"


@dataclass(frozen=True)
class DiscoveredDevice:
    endpoint: str  # urn:uuid:...
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class Advertised:
    endpoint_uuid: str
    name: str
    xaddr: str
    ptz: bool


def probe_message(message_id: str | None = None) -> bytes:
    message_id = message_id or f"uuid:{uuid.uuid4()}"
    return (f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{SOAP}" '
            f'xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}"><e:Header>'
            f"<w:MessageID>{message_id}</w:MessageID>"
            "<w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
            f"<w:Action>{PROBE_ACTION}</w:Action></e:Header><e:Body><d:Probe>"
            "<d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>"
            ).encode()


def _matches(device: Advertised, relates_to: str) -> bytes:
    scopes = " ".join([
        "onvif://www.onvif.org/type/video_encoder",
        *(["onvif://www.onvif.org/type/ptz"] if device.ptz else []),
        f"onvif://www.onvif.org/name/{device.name}",
        "onvif://www.onvif.org/hardware/GTV-SIM",
        "onvif://www.onvif.org/location/city/simulated",
    ])
    return (f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{SOAP}" '
            f'xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}" xmlns:tds="{TDS}"><e:Header>'
            f"<w:MessageID>uuid:{uuid.uuid4()}</w:MessageID>"
            f"<w:RelatesTo>{escape(relates_to)}</w:RelatesTo>"
            "<w:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</w:To>"
            f"<w:Action>{MATCHES_ACTION}</w:Action></e:Header><e:Body><d:ProbeMatches>"
            f"<d:ProbeMatch><w:EndpointReference><w:Address>urn:uuid:{device.endpoint_uuid}"
            "</w:Address></w:EndpointReference>"
            "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
            f"<d:Scopes>{escape(scopes)}</d:Scopes><d:XAddrs>{escape(device.xaddr)}</d:XAddrs>"
            "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
            "</e:Body></e:Envelope>").encode()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DiscoveryResponder:
    """Answers WS-Discovery Probes on 127.0.0.1 for ``devices()`` (called per probe)."""

    def __init__(self, devices: Callable[[], Sequence[Advertised]], *, port: int = 0) -> None:
        self._devices = devices
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", port))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ws-discovery", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self) -> DiscoveryResponder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not _is_loopback(sender[0]):
                continue
            message_id = _probe_id(data)
            if message_id is None:
                continue
            for device in self._devices():
                self._sock.sendto(_matches(device, message_id), sender)


def _probe_id(data: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (loopback only)
    except ElementTree.ParseError:
        return None
    if root.find(f"{{{SOAP}}}Body/{{{WSD}}}Probe") is None:
        return None
    return root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")


def parse_matches(data: bytes, relates_to: str) -> list[DiscoveredDevice]:
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (loopback only)
    except ElementTree.ParseError:
        return []
    if root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo") != relates_to:
        return []
    found = []
    for match in root.iterfind(f"{{{SOAP}}}Body/{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch"):
        found.append(DiscoveredDevice(
            endpoint=match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address") or "",
            xaddrs=tuple((match.findtext(f"{{{WSD}}}XAddrs") or "").split()),
            scopes=tuple((match.findtext(f"{{{WSD}}}Scopes") or "").split()),
            types=tuple((match.findtext(f"{{{WSD}}}Types") or "").split()),
        ))
    return found


def probe(host: str, port: int, *, timeout: float = 1.0,
          expect: int | None = None) -> list[DiscoveredDevice]:
    """Send one Probe to ``host:port`` (loopback only) and collect the matches that
    arrive within ``timeout`` seconds (or until ``expect`` devices answered), one per
    device endpoint."""
    if not _is_loopback(host):
        raise ValueError("the simulator's discovery is loopback only")
    message_id = f"uuid:{uuid.uuid4()}"
    found: dict[str, DiscoveredDevice] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(probe_message(message_id), (host, port))
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0 and (
                expect is None or len(found) < expect):
            sock.settimeout(remaining)
            try:
                data, _ = sock.recvfrom(65536)
            except TimeoutError:
                break
            for device in parse_matches(data, message_id):
                found.setdefault(device.endpoint, device)
    return list(found.values())
