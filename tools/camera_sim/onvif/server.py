"""One simulated camera's ONVIF services over HTTP on 127.0.0.1: Device
(``/onvif/device_service``), Media (``/onvif/media_service``), PTZ
(``/onvif/ptz_service``) and a JPEG snapshot (``/onvif/snapshot``).

SOAP 1.2, answered from string templates; requests are parsed with the standard
library. Like a real camera, every operation but the pre-authentication ones
(GetSystemDateAndTime, GetCapabilities, GetServices) needs a WS-Security UsernameToken
digest (``wsse.py``); a refused request gets a ``ter:NotAuthorized`` fault with HTTP 400
(SOAP 1.2's status for sender faults). The snapshot URL takes HTTP Basic auth (real
cameras mostly use HTTP Digest there). With ``http_digest=True`` the camera also wants
HTTP Digest authentication on every ONVIF request (``http_digest.py``), as some
firmwares do: a request without it gets 401 and a ``WWW-Authenticate: Digest``
challenge.

    with OnvifCamera("cam1", stream_uri="rtsp://127.0.0.1:8554/cam1", user="u",
                     password="p", head=PtzHead()) as camera:
        camera.device_url        # http://127.0.0.1:PORT/onvif/device_service
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from tools.camera_sim.onvif.http_digest import HttpDigestChecker
from tools.camera_sim.onvif.ptz import Position, PresetLimitReached, PtzHead, UnknownPreset
from tools.camera_sim.onvif.wsse import UsernameTokenChecker

log = logging.getLogger(__name__)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
PAN_TILT_POSITION_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
ZOOM_POSITION_SPACE = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"
PRE_AUTH = frozenset({(TDS, "GetSystemDateAndTime"), (TDS, "GetCapabilities"),
                      (TDS, "GetServices")})
PROFILES = {"main": "MainStream", "sub": "SubStream"}
MAX_BODY = 256 * 1024

_NAMESPACES = (f'xmlns:env="{SOAP}" xmlns:tds="{TDS}" xmlns:trt="{TRT}" '
               f'xmlns:tptz="{TPTZ}" xmlns:tt="{TT}" xmlns:ter="{TER}"')


class SoapFault(Exception):
    def __init__(self, subcode: str, reason: str, *, code: str = "env:Sender",
                 detail: str | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.detail = code, subcode, reason, detail
        self.status = status

    def xml(self) -> str:
        inner = (f"<env:Subcode><env:Value>{self.detail}</env:Value></env:Subcode>"
                 if self.detail else "")
        return (f"<env:Fault><env:Code><env:Value>{self.code}</env:Value><env:Subcode>"
                f"<env:Value>{self.subcode}</env:Value>{inner}</env:Subcode></env:Code>"
                f'<env:Reason><env:Text xml:lang="en">{escape(self.reason)}</env:Text>'
                f"</env:Reason></env:Fault>")


def envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope {_NAMESPACES}>'
            f"<env:Body>{body}</env:Body></env:Envelope>").encode()


_DURATION = re.compile(r"^P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> float:
    """Seconds in an xs:duration without days (``PT1S``, ``PT0.5S``, ``PT1M30S``)."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise SoapFault("ter:InvalidArgVal", f"bad duration {text!r}")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _vector(element: Element | None) -> dict[str, float]:
    """``<tt:PanTilt x= y=/><tt:Zoom x=/>`` under ``element`` as pan/tilt/zoom values."""
    values: dict[str, float] = {}
    if element is None:
        return values
    try:
        pan_tilt = element.find(f"{{{TT}}}PanTilt")
        if pan_tilt is not None:
            values["pan"] = float(pan_tilt.get("x", ""))
            values["tilt"] = float(pan_tilt.get("y", ""))
        zoom = element.find(f"{{{TT}}}Zoom")
        if zoom is not None:
            values["zoom"] = float(zoom.get("x", ""))
    except ValueError:
        raise SoapFault("ter:InvalidArgVal", "coordinates must be numbers") from None
    return values


def _speed(request: Element) -> float | None:
    values = _vector(request.find(f"{{{TPTZ}}}Speed"))
    return max(values.values()) if values else None


def _position_xml(position: Position) -> str:
    return (f'<tt:PanTilt x="{position.pan:.4f}" y="{position.tilt:.4f}" '
            f'space="{PAN_TILT_POSITION_SPACE}"/>'
            f'<tt:Zoom x="{position.zoom:.4f}" space="{ZOOM_POSITION_SPACE}"/>')


def _utc(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


class OnvifCamera:
    """The ONVIF services of one simulated camera; ``head=None`` is a fixed camera
    (no PTZ service). ``clock_offset`` shifts the camera's clock (seconds) to simulate
    drift."""

    def __init__(
        self, name: str, *, stream_uri: str | Callable[[str], str], user: str, password: str,
        head: PtzHead | None = None, port: int = 0, clock_offset: float = 0.0,
        snapshot: Callable[[], bytes] | None = None, size: tuple[int, int] = (640, 360),
        fps: int = 10, serial: str | None = None, http_digest: bool = False,
    ) -> None:
        self.name, self.head, self.size, self.fps = name, head, size, fps
        self.user, self.password = user, password
        self.clock_offset = clock_offset
        self.serial = serial or f"SIM-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:10].upper()}"
        self.endpoint_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"gtv-camera-sim/{name}"))
        self._stream_uri = stream_uri
        self._snapshot = snapshot
        self._checker = UsernameTokenChecker(user, password, now=self.now)
        self.http_digest = HttpDigestChecker(user, password) if http_digest else None
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[str] = []  # operation names, in order (for tests)
        self.http_challenges = 0  # requests refused for want of HTTP Digest (for tests)

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> OnvifCamera:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> OnvifCamera:
        camera = self

        class Handler(_Handler):
            owner = camera

        self._server = ThreadingHTTPServer(("127.0.0.1", self._requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"onvif-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def device_url(self) -> str:
        return f"{self.base_url}/onvif/device_service"

    def now(self) -> float:
        return time.time() + self.clock_offset

    def stream_uri(self, profile: str) -> str:
        return self._stream_uri(profile) if callable(self._stream_uri) else self._stream_uri

    # --- SOAP ----------------------------------------------------------------------

    def handle(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            try:
                root = ElementTree.fromstring(body)  # noqa: S314 (loopback test device)
            except ElementTree.ParseError:
                raise SoapFault("ter:WellFormed", "not well-formed XML") from None
            request = root.find(f"{{{SOAP}}}Body/*")
            if root.tag != f"{{{SOAP}}}Envelope" or request is None:
                raise SoapFault("ter:WellFormed", "not a SOAP 1.2 envelope")
            namespace, _, operation = request.tag[1:].partition("}")
            service = {"/onvif/device_service": TDS, "/onvif/media_service": TRT,
                       "/onvif/ptz_service": TPTZ}.get(path)
            if service is None or namespace != service:
                raise SoapFault("ter:ActionNotSupported",
                                f"{operation} is not served at {path}",
                                code="env:Receiver", status=500)
            self.requests.append(operation)
            if (namespace, operation) not in PRE_AUTH:
                refused = self._checker.check(root.find(f"{{{SOAP}}}Header"))
                if refused is not None:
                    log.info("onvif request refused", extra={"camera": self.name,
                                                             "reason": refused})
                    raise SoapFault("ter:NotAuthorized", "Sender not Authorized")
            handler = getattr(self, f"_{'ptz' if namespace == TPTZ else 'op'}_{operation}", None)
            if handler is None:
                raise SoapFault("ter:ActionNotSupported", f"{operation} not supported",
                                code="env:Receiver", status=500)
            return 200, envelope(handler(request))
        except SoapFault as fault:
            return fault.status, envelope(fault.xml())

    def _profile(self, request: Element, *, ptz: bool = False) -> str:
        token = (request.findtext(f"{{{TRT}}}ProfileToken")
                 or request.findtext(f"{{{TPTZ}}}ProfileToken") or "")
        if token not in PROFILES:
            raise SoapFault("ter:InvalidArgVal", "no such profile", detail="ter:NoProfile")
        if ptz and self.head is None:
            raise SoapFault("ter:InvalidArgVal", "no PTZ on this profile",
                            detail="ter:NoPTZProfile")
        return token

    def _head(self) -> PtzHead:
        if self.head is None:
            raise SoapFault("ter:ActionNotSupported", "this camera has no PTZ",
                            code="env:Receiver", status=500)
        return self.head

    # Device

    def _op_GetSystemDateAndTime(self, _request: Element) -> str:
        now = datetime.fromtimestamp(self.now(), UTC)
        return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false"
                "</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
                f"<tt:UTCDateTime><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}"
                f"</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>"
                f"{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}"
                "</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
                "</tds:GetSystemDateAndTimeResponse>")

    def _op_GetDeviceInformation(self, _request: Element) -> str:
        model = "GTV-SIM-PTZ" if self.head is not None else "GTV-SIM-BULLET"
        return ("<tds:GetDeviceInformationResponse><tds:Manufacturer>GT-Vision Simulator"
                f"</tds:Manufacturer><tds:Model>{model}</tds:Model><tds:FirmwareVersion>1.0.0"
                f"</tds:FirmwareVersion><tds:SerialNumber>{self.serial}</tds:SerialNumber>"
                f"<tds:HardwareId>{escape(self.name)}</tds:HardwareId>"
                "</tds:GetDeviceInformationResponse>")

    def _op_GetCapabilities(self, _request: Element) -> str:
        ptz = (f"<tt:PTZ><tt:XAddr>{self.base_url}/onvif/ptz_service</tt:XAddr></tt:PTZ>"
               if self.head is not None else "")
        return ("<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{self.device_url}</tt:XAddr></tt:Device>"
                f"<tt:Media><tt:XAddr>{self.base_url}/onvif/media_service</tt:XAddr>"
                "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
                "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
                f"</tt:StreamingCapabilities></tt:Media>{ptz}"
                "</tds:Capabilities></tds:GetCapabilitiesResponse>")

    def _op_GetServices(self, _request: Element) -> str:
        services = [(TDS, "device_service"), (TRT, "media_service")]
        if self.head is not None:
            services.append((TPTZ, "ptz_service"))
        return "<tds:GetServicesResponse>" + "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self.base_url}"
            f"/onvif/{path}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60"
            "</tt:Minor></tds:Version></tds:Service>" for ns, path in services
        ) + "</tds:GetServicesResponse>"

    # Media

    def _op_GetProfiles(self, _request: Element) -> str:
        profiles = []
        for token, name in PROFILES.items():
            half = (self.size[0] // 2, self.size[1] // 2)
            w, h = self.size if token == "main" else half  # noqa: S105
            ptz = ('<tt:PTZConfiguration token="ptz"><tt:Name>PTZ</tt:Name>'
                   "<tt:UseCount>2</tt:UseCount><tt:NodeToken>ptz_node</tt:NodeToken>"
                   "</tt:PTZConfiguration>" if self.head is not None else "")
            profiles.append(
                f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
                '<tt:VideoSourceConfiguration token="vsc"><tt:Name>VideoSource</tt:Name>'
                "<tt:UseCount>2</tt:UseCount><tt:SourceToken>vs</tt:SourceToken>"
                f'<tt:Bounds x="0" y="0" width="{self.size[0]}" height="{self.size[1]}"/>'
                f'</tt:VideoSourceConfiguration><tt:VideoEncoderConfiguration token="enc_{token}">'
                f"<tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264"
                f"</tt:Encoding><tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}"
                "</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl>"
                f"<tt:FrameRateLimit>{self.fps}</tt:FrameRateLimit><tt:EncodingInterval>1"
                "</tt:EncodingInterval><tt:BitrateLimit>600</tt:BitrateLimit></tt:RateControl>"
                "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
                f"{ptz}</trt:Profiles>")
        return "<trt:GetProfilesResponse>" + "".join(profiles) + "</trt:GetProfilesResponse>"

    def _media_uri(self, tag: str, uri: str) -> str:
        return (f"<trt:{tag}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
                "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
                f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{tag}Response>")

    def _op_GetStreamUri(self, request: Element) -> str:
        return self._media_uri("GetStreamUri", self.stream_uri(self._profile(request)))

    def _op_GetSnapshotUri(self, request: Element) -> str:
        token = self._profile(request)
        return self._media_uri("GetSnapshotUri",
                               f"{self.base_url}/onvif/snapshot?profile={token}")

    # PTZ

    def _ptz_GetStatus(self, request: Element) -> str:
        self._profile(request, ptz=True)
        head = self._head()
        moving = head.moving()
        state = {True: "MOVING", False: "IDLE"}
        return (f"<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>"
                f"{_position_xml(head.position())}</tt:Position><tt:MoveStatus><tt:PanTilt>"
                f"{state[moving['pan_tilt']]}</tt:PanTilt><tt:Zoom>{state[moving['zoom']]}"
                f"</tt:Zoom></tt:MoveStatus><tt:UtcTime>"
                f"{_utc(datetime.fromtimestamp(self.now(), UTC))}</tt:UtcTime>"
                "</tptz:PTZStatus></tptz:GetStatusResponse>")

    def _ptz_ContinuousMove(self, request: Element) -> str:
        self._profile(request, ptz=True)
        velocity = _vector(request.find(f"{{{TPTZ}}}Velocity"))
        timeout_text = request.findtext(f"{{{TPTZ}}}Timeout")
        timeout = parse_duration(timeout_text) if timeout_text else None
        try:
            self._head().continuous_move(velocity, timeout)
        except ValueError as exc:
            raise SoapFault("ter:InvalidArgVal", str(exc)) from None
        return "<tptz:ContinuousMoveResponse/>"

    def _ptz_Stop(self, request: Element) -> str:
        self._profile(request, ptz=True)
        flags = {k: (request.findtext(f"{{{TPTZ}}}{k}") or "true").strip() == "true"
                 for k in ("PanTilt", "Zoom")}
        self._head().stop(pan_tilt=flags["PanTilt"], zoom=flags["Zoom"])
        return "<tptz:StopResponse/>"

    def _move(self, request: Element, tag: str, relative: bool) -> None:
        self._profile(request, ptz=True)
        head = self._head()
        values = _vector(request.find(f"{{{TPTZ}}}{tag}"))
        base = Position() if relative else head.position()
        target = Position(**{a: values.get(a, 0.0 if relative else base.axis(a))
                             for a in ("pan", "tilt", "zoom")})
        try:
            (head.relative_move if relative else head.absolute_move)(target, _speed(request))
        except ValueError as exc:
            raise SoapFault("ter:InvalidArgVal", str(exc)) from None

    def _ptz_RelativeMove(self, request: Element) -> str:
        self._move(request, "Translation", relative=True)
        return "<tptz:RelativeMoveResponse/>"

    def _ptz_AbsoluteMove(self, request: Element) -> str:
        self._move(request, "Position", relative=False)
        return "<tptz:AbsoluteMoveResponse/>"

    def _ptz_GetPresets(self, request: Element) -> str:
        self._profile(request, ptz=True)
        return "<tptz:GetPresetsResponse>" + "".join(
            f"<tptz:Preset token={quoteattr(p.token)}><tt:Name>{escape(p.name)}</tt:Name>"
            f"<tt:PTZPosition>{_position_xml(p.position)}</tt:PTZPosition></tptz:Preset>"
            for p in self._head().presets()
        ) + "</tptz:GetPresetsResponse>"

    def _ptz_SetPreset(self, request: Element) -> str:
        self._profile(request, ptz=True)
        name = (request.findtext(f"{{{TPTZ}}}PresetName") or "").strip()
        token = (request.findtext(f"{{{TPTZ}}}PresetToken") or "").strip() or None
        if len(name) > 64:
            raise SoapFault("ter:InvalidArgVal", "preset name too long")
        try:
            token = self._head().set_preset(name, token)
        except UnknownPreset:
            raise SoapFault("ter:InvalidArgVal", "no such preset", detail="ter:NoToken") from None
        except PresetLimitReached:
            raise SoapFault("ter:Action", "too many presets",
                            detail="ter:TooManyPresets", code="env:Receiver",
                            status=500) from None
        return f"<tptz:SetPresetResponse><tptz:PresetToken>{escape(token)}</tptz:PresetToken>" \
               "</tptz:SetPresetResponse>"

    def _preset_token(self, request: Element) -> str:
        return (request.findtext(f"{{{TPTZ}}}PresetToken") or "").strip()

    def _ptz_GotoPreset(self, request: Element) -> str:
        self._profile(request, ptz=True)
        try:
            self._head().goto_preset(self._preset_token(request), _speed(request))
        except UnknownPreset:
            raise SoapFault("ter:InvalidArgVal", "no such preset", detail="ter:NoToken") from None
        return "<tptz:GotoPresetResponse/>"

    def _ptz_RemovePreset(self, request: Element) -> str:
        self._profile(request, ptz=True)
        try:
            self._head().remove_preset(self._preset_token(request))
        except UnknownPreset:
            raise SoapFault("ter:InvalidArgVal", "no such preset", detail="ter:NoToken") from None
        return "<tptz:RemovePresetResponse/>"

    def _ptz_GotoHomePosition(self, request: Element) -> str:
        self._profile(request, ptz=True)
        self._head().goto_home(_speed(request))
        return "<tptz:GotoHomePositionResponse/>"

    def _ptz_SetHomePosition(self, request: Element) -> str:
        self._profile(request, ptz=True)
        self._head().set_home()
        return "<tptz:SetHomePositionResponse/>"

    # Snapshot

    def snapshot_jpeg(self) -> bytes:
        if self._snapshot is not None:
            return self._snapshot()
        import io

        from PIL import Image

        from tools.camera_sim.scene import Scene

        scene = Scene(self.name, (), *self.size)
        if self.head is not None:
            where = self.head.position()
            image = Image.frombytes("RGB", self.size, scene.frame(
                datetime.now(UTC), time.monotonic(), (where.pan, where.tilt, where.zoom)))
        else:
            image = scene.snapshot()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        return out.getvalue()

    def basic_auth_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user.encode(), self.user.encode())
                and hmac.compare_digest(password.encode(), self.password.encode()))


class _Handler(BaseHTTPRequestHandler):
    owner: OnvifCamera
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("onvif http: " + format, *args)

    def _reply(self, status: int, body: bytes, content_type: str,
               extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, b"", "text/plain")
            return
        body = self.rfile.read(length)
        digest = self.owner.http_digest
        if digest is not None and not digest.check("POST", self.headers.get("Authorization")):
            self.owner.http_challenges += 1
            self._reply(401, b"", "text/plain", {"WWW-Authenticate": digest.challenge()})
            return
        status, reply = self.owner.handle(self.path.split("?", 1)[0], body)
        self._reply(status, reply, "application/soap+xml; charset=utf-8")

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/onvif/snapshot":
            self._reply(404, b"", "text/plain")
            return
        if not self.owner.basic_auth_ok(self.headers.get("Authorization")):
            self._reply(401, b"", "text/plain",
                        {"WWW-Authenticate": 'Basic realm="gtv-camera-sim"'})
            return
        self._reply(200, self.owner.snapshot_jpeg(), "image/jpeg")
