"""A small asynchronous ONVIF client (SOAP 1.2 over httpx) for the calls GT-Vision
makes: device information, capabilities, media profiles and URIs (admin onboarding) and
PTZ (the streaming service).

Why not ``onvif-zeep-async``: it installs from PyPI, but brings zeep, lxml, aiohttp and
ciso8601 into both services and parses the ONVIF WSDLs at start-up, for the dozen
operations used here; the requests below are the ones those WSDLs produce (see
docs/onvif_ptz.md). Every request carries a WS-Security UsernameToken digest with a
fresh nonce and a ``Created`` time corrected by the camera's clock offset (cameras refuse
tokens too far from their own clock; ``sync_clock()`` measures it), and every URL the
client connects to (the configured one and the XAddrs the camera answers with) is
checked against the camera network policy first, and connected to by the checked
address.

Some firmwares (older Hikvision, Intelbras/Dahua OEM builds) also want HTTP Digest
authentication, on top of WS-Security or instead of it: when a camera answers 401 with a
``WWW-Authenticate: Digest`` challenge, the request is sent again with HTTP Digest, and
every later request of the client carries it (``http_digest``, which callers remember
per device and pass back with ``http_digest=True``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import httpx

from shared_kernel.camera_network import (
    DEFAULT_POLICY,
    AddressNotAllowed,
    CameraAddressError,
    CameraNetworkPolicy,
    async_system_resolve,
    with_host,
)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TT = "http://www.onvif.org/ver10/schema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
NONCE_ENCODING = ("http://docs.oasis-open.org/wss/2004/01/"
                  "oasis-200401-soap-message-security-1.0#Base64Binary")
HTTP_SCHEMES = {"http": 80, "https": 443}
MAX_RESPONSE_BYTES = 1024 * 1024


class OnvifError(Exception):
    """The camera could not do what was asked (the message is safe to show)."""


class OnvifUnreachable(OnvifError):
    pass


class OnvifNotAuthorized(OnvifError):
    pass


class OnvifFault(OnvifError):
    def __init__(self, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason or "the camera refused the request")
        self.subcodes = subcodes


@dataclass(frozen=True)
class DeviceInformation:
    manufacturer: str
    model: str
    firmware_version: str
    serial_number: str
    hardware_id: str


@dataclass(frozen=True)
class Capabilities:
    media_url: str | None
    ptz_url: str | None


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str | None
    width: int | None
    height: int | None
    ptz: bool


@dataclass(frozen=True)
class PtzStatus:
    pan: float | None
    tilt: float | None
    zoom: float | None
    moving: bool
    utc_time: str | None


@dataclass(frozen=True)
class PtzPresetInfo:
    token: str
    name: str


def password_digest(nonce: bytes, created: str, password: str) -> str:
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324
    return base64.b64encode(raw).decode()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(element: Element, *path: str) -> Element | None:
    """The first descendant path by local names (namespaces vary between vendors)."""
    current: Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in current if _local(c.tag) == name), None)
    return current


def _text(element: Element, *path: str) -> str | None:
    found = _find(element, *path)
    return found.text.strip() if found is not None and found.text else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _vector_xml(tag: str, pan: float | None, tilt: float | None, zoom: float | None,
                prefix: str = "tptz") -> str:
    inner = ""
    if pan is not None or tilt is not None:
        inner += f'<tt:PanTilt x="{pan or 0.0:.6f}" y="{tilt or 0.0:.6f}"/>'
    if zoom is not None:
        inner += f'<tt:Zoom x="{zoom:.6f}"/>'
    return f"<{prefix}:{tag}>{inner}</{prefix}:{tag}>" if inner else ""


def _speed_xml(speed: float | None) -> str:
    return _vector_xml("Speed", speed, speed, speed) if speed is not None else ""


def _digest_challenge(response: httpx.Response) -> bool:
    return any(value.strip().lower().startswith("digest")
               for value in response.headers.get_list("www-authenticate"))


class OnvifClient:
    """One camera's ONVIF endpoint. Use as ``async with OnvifClient(...) as client``."""

    def __init__(self, device_url: str, user: str, password: str, *,
                 timeout: float = 5.0, policy: CameraNetworkPolicy = DEFAULT_POLICY,
                 clock_offset: float = 0.0, capabilities: Capabilities | None = None,
                 http_digest: bool = False) -> None:
        self.device_url, self.user, self.password = device_url, user, password
        self.policy, self.timeout, self.clock_offset = policy, timeout, clock_offset
        self.http_digest = http_digest
        # One instance, so its last challenge (nonce) is reused: one request per call.
        self._digest = httpx.DigestAuth(user, password)
        self._http: httpx.AsyncClient | None = None
        # Known from an earlier session with this device (callers may cache it).
        self._capabilities = capabilities

    async def __aenter__(self) -> OnvifClient:
        self._http = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                       trust_env=False)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- transport -----------------------------------------------------------------

    async def _vetted(self, url: str) -> tuple[str, str]:
        """``url`` with its host replaced by a checked address, and the Host header."""
        try:
            parts = urlsplit(url)
            port = parts.port or HTTP_SCHEMES.get(parts.scheme.lower(), 0)
        except ValueError:
            raise OnvifError("the ONVIF address is not a valid URL") from None
        if parts.scheme.lower() not in HTTP_SCHEMES or not parts.hostname:
            raise OnvifError("the ONVIF address must be an http(s) URL with a host")
        try:
            try:
                found: list[str] = [str(ipaddress.ip_address(parts.hostname))]
            except ValueError:
                found = await async_system_resolve(parts.hostname, port,
                                                   self.policy.dns_timeout)
            if not found:
                raise OnvifUnreachable("the camera host resolves to no address")
            address = self.policy.check_address(found[0])
            for other in found[1:]:
                self.policy.check_address(other)
        except AddressNotAllowed:
            raise OnvifError("the ONVIF address is not in a network cameras may use") from None
        except CameraAddressError:
            raise OnvifUnreachable("the camera host does not resolve") from None
        return with_host(url, address), parts.netloc.rpartition("@")[2]

    def _security(self) -> str:
        nonce = os.urandom(16)
        now = datetime.fromtimestamp(time.time() + self.clock_offset, UTC)
        created = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        return (f'<s:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" '
                's:mustUnderstand="true"><wsse:UsernameToken>'
                f"<wsse:Username>{escape(self.user)}</wsse:Username>"
                f'<wsse:Password Type="{DIGEST}">'
                f"{password_digest(nonce, created, self.password)}</wsse:Password>"
                f'<wsse:Nonce EncodingType="{NONCE_ENCODING}">'
                f"{base64.b64encode(nonce).decode()}</wsse:Nonce>"
                f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken>"
                "</wsse:Security></s:Header>")

    async def call(self, url: str, body: str, *, authenticate: bool = True) -> Element:
        """POST one SOAP request; the first element of the response body."""
        if self._http is None:
            raise RuntimeError("use OnvifClient as an async context manager")
        target, host = await self._vetted(url)
        envelope = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP}" '
                    f'xmlns:tds="{TDS}" xmlns:trt="{TRT}" xmlns:tptz="{TPTZ}" xmlns:tt="{TT}">'
                    f"{self._security() if authenticate else ''}<s:Body>{body}</s:Body>"
                    "</s:Envelope>")
        response = await self._post(target, host, envelope.encode())
        if (response.status_code == 401 and not self.http_digest
                and _digest_challenge(response)):
            self.http_digest = True
            response = await self._post(target, host, envelope.encode())
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise OnvifError("the camera's answer is too large")
        if response.status_code == 401:
            raise OnvifNotAuthorized("the camera refused the credentials")
        try:
            root = ElementTree.fromstring(response.content)  # noqa: S314 (expat >= 2.4 limits entity expansion; no external entities)
        except ElementTree.ParseError:
            raise OnvifError(f"the camera answered HTTP {response.status_code} "
                             "without SOAP") from None
        answer = _find(root, "Body")
        first = next(iter(answer), None) if answer is not None else None
        if first is None:
            raise OnvifError("the camera's answer has no body")
        if _local(first.tag) == "Fault":
            subcodes = tuple(
                (e.text or "").strip().rpartition(":")[2]
                for e in first.iter() if _local(e.tag) == "Value")
            reason = next(((e.text or "").strip() for e in first.iter()
                           if _local(e.tag) == "Text"), "")
            if "NotAuthorized" in subcodes:
                raise OnvifNotAuthorized("the camera refused the credentials")
            raise OnvifFault(subcodes, reason)
        if response.status_code != 200:
            raise OnvifError(f"the camera answered HTTP {response.status_code}")
        return first

    async def _post(self, target: str, host: str, content: bytes) -> httpx.Response:
        assert self._http is not None
        try:
            return await self._http.post(
                target, content=content,
                auth=self._digest if self.http_digest else httpx.USE_CLIENT_DEFAULT,
                headers={"Content-Type": "application/soap+xml; charset=utf-8", "Host": host})
        except httpx.HTTPError:
            raise OnvifUnreachable("the camera did not answer") from None
        except (httpx.InvalidURL, ValueError, UnicodeError):
            raise OnvifError("the ONVIF address is not a valid URL") from None

    # --- device --------------------------------------------------------------------

    async def system_time(self) -> datetime:
        reply = await self.call(self.device_url, "<tds:GetSystemDateAndTime/>",
                                authenticate=False)
        utc = _find(reply, "SystemDateAndTime", "UTCDateTime")
        if utc is None:
            raise OnvifError("the camera did not report its UTC time")
        try:
            parts = [int(_text(utc, *path) or "") for path in (
                ("Date", "Year"), ("Date", "Month"), ("Date", "Day"),
                ("Time", "Hour"), ("Time", "Minute"), ("Time", "Second"))]
            year, month, day, hour, minute, second = parts
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise OnvifError("the camera reported an invalid time") from None

    async def sync_clock(self) -> float:
        """Measure the camera's clock offset (seconds, camera minus here) and sign the
        following requests with it; returns the offset."""
        before = time.time()
        camera = await self.system_time()
        self.clock_offset = camera.timestamp() - (before + time.time()) / 2
        return self.clock_offset

    async def device_information(self) -> DeviceInformation:
        reply = await self.call(self.device_url, "<tds:GetDeviceInformation/>")
        return DeviceInformation(*(_text(reply, k) or "" for k in (
            "Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")))

    async def capabilities(self) -> Capabilities:
        if self._capabilities is None:
            reply = await self.call(self.device_url,
                                    "<tds:GetCapabilities><tds:Category>All</tds:Category>"
                                    "</tds:GetCapabilities>", authenticate=False)
            self._capabilities = Capabilities(
                media_url=_text(reply, "Capabilities", "Media", "XAddr"),
                ptz_url=_text(reply, "Capabilities", "PTZ", "XAddr"))
        return self._capabilities

    async def _media_url(self) -> str:
        url = (await self.capabilities()).media_url
        if not url:
            raise OnvifError("the camera has no media service")
        return url

    async def _ptz_url(self) -> str:
        url = (await self.capabilities()).ptz_url
        if not url:
            raise OnvifError("the camera has no PTZ service")
        return url

    # --- media ---------------------------------------------------------------------

    async def profiles(self) -> list[MediaProfile]:
        reply = await self.call(await self._media_url(), "<trt:GetProfiles/>")
        found = []
        for profile in reply:
            if _local(profile.tag) != "Profiles":
                continue
            width = _text(profile, "VideoEncoderConfiguration", "Resolution", "Width")
            height = _text(profile, "VideoEncoderConfiguration", "Resolution", "Height")
            found.append(MediaProfile(
                token=profile.get("token", ""), name=_text(profile, "Name") or "",
                encoding=_text(profile, "VideoEncoderConfiguration", "Encoding"),
                width=int(width) if width and width.isdigit() else None,
                height=int(height) if height and height.isdigit() else None,
                ptz=_find(profile, "PTZConfiguration") is not None))
        return found

    async def stream_uri(self, profile: str) -> str:
        reply = await self.call(await self._media_url(), (
            "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
            "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
            f"<trt:ProfileToken>{escape(profile)}</trt:ProfileToken></trt:GetStreamUri>"))
        uri = _text(reply, "MediaUri", "Uri")
        if not uri:
            raise OnvifError("the camera gave no stream URI")
        return uri

    async def snapshot_uri(self, profile: str) -> str | None:
        try:
            reply = await self.call(await self._media_url(), (
                f"<trt:GetSnapshotUri><trt:ProfileToken>{escape(profile)}</trt:ProfileToken>"
                "</trt:GetSnapshotUri>"))
        except OnvifFault:
            return None
        return _text(reply, "MediaUri", "Uri")

    # --- PTZ -----------------------------------------------------------------------

    async def _ptz(self, operation: str, profile: str, inner: str = "") -> Element:
        return await self.call(await self._ptz_url(), (
            f"<tptz:{operation}><tptz:ProfileToken>{escape(profile)}</tptz:ProfileToken>"
            f"{inner}</tptz:{operation}>"))

    async def ptz_status(self, profile: str) -> PtzStatus:
        reply = await self._ptz("GetStatus", profile)
        pan_tilt = _find(reply, "PTZStatus", "Position", "PanTilt")
        zoom = _find(reply, "PTZStatus", "Position", "Zoom")
        moving = any((_text(reply, "PTZStatus", "MoveStatus", k) or "IDLE") == "MOVING"
                     for k in ("PanTilt", "Zoom"))
        return PtzStatus(
            pan=_float(pan_tilt.get("x")) if pan_tilt is not None else None,
            tilt=_float(pan_tilt.get("y")) if pan_tilt is not None else None,
            zoom=_float(zoom.get("x")) if zoom is not None else None,
            moving=moving, utc_time=_text(reply, "PTZStatus", "UtcTime"))

    async def continuous_move(self, profile: str, *, pan: float, tilt: float, zoom: float,
                              timeout: float | None = None) -> None:
        limit = f"<tptz:Timeout>PT{timeout:.3f}S</tptz:Timeout>" if timeout else ""
        await self._ptz("ContinuousMove", profile,
                        _vector_xml("Velocity", pan, tilt, zoom) + limit)

    async def stop(self, profile: str) -> None:
        await self._ptz("Stop", profile,
                        "<tptz:PanTilt>true</tptz:PanTilt><tptz:Zoom>true</tptz:Zoom>")

    async def relative_move(self, profile: str, *, pan: float, tilt: float, zoom: float,
                            speed: float | None = None) -> None:
        await self._ptz("RelativeMove", profile,
                        _vector_xml("Translation", pan, tilt, zoom) + _speed_xml(speed))

    async def absolute_move(self, profile: str, *, pan: float | None, tilt: float | None,
                            zoom: float | None, speed: float | None = None) -> None:
        await self._ptz("AbsoluteMove", profile,
                        _vector_xml("Position", pan, tilt, zoom) + _speed_xml(speed))

    async def presets(self, profile: str) -> list[PtzPresetInfo]:
        reply = await self._ptz("GetPresets", profile)
        return [PtzPresetInfo(token=p.get("token", ""), name=_text(p, "Name") or "")
                for p in reply if _local(p.tag) == "Preset"]

    async def set_preset(self, profile: str, name: str, token: str | None = None) -> str:
        inner = f"<tptz:PresetName>{escape(name)}</tptz:PresetName>"
        if token:
            inner += f"<tptz:PresetToken>{escape(token)}</tptz:PresetToken>"
        reply = await self._ptz("SetPreset", profile, inner)
        created = _text(reply, "PresetToken")
        if not created:
            raise OnvifError("the camera returned no preset token")
        return created

    async def goto_preset(self, profile: str, token: str, speed: float | None = None) -> None:
        await self._ptz("GotoPreset", profile,
                        f"<tptz:PresetToken>{escape(token)}</tptz:PresetToken>"
                        + _speed_xml(speed))

    async def remove_preset(self, profile: str, token: str) -> None:
        await self._ptz("RemovePreset", profile,
                        f"<tptz:PresetToken>{escape(token)}</tptz:PresetToken>")

    async def goto_home(self, profile: str, speed: float | None = None) -> None:
        await self._ptz("GotoHomePosition", profile, _speed_xml(speed))
