"""Validation of camera input that is pure Python (no Django): RTSP URLs and metadata."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

MAX_RTSP_URL_LENGTH = 2048
MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 8
ALLOWED_SCHEMES = frozenset({"rtsp", "rtsps"})
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")
_FORBIDDEN_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\<>\"{}|^`]")


class InvalidRtspUrl(ValueError):
    """The value is not an acceptable camera URL."""


def validate_rtsp_url(value: Any) -> str:
    """Return ``value`` when it is an rtsp:// or rtsps:// URL with a host; raise otherwise.

    Error messages never include the URL itself: it may carry credentials.
    """
    if not isinstance(value, str):
        raise InvalidRtspUrl("must be a string")
    if not value:
        raise InvalidRtspUrl("must not be empty")
    if len(value) > MAX_RTSP_URL_LENGTH:
        raise InvalidRtspUrl(f"must be at most {MAX_RTSP_URL_LENGTH} characters")
    if _FORBIDDEN_CHARS.search(value):
        raise InvalidRtspUrl("must not contain whitespace, control or unsafe characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidRtspUrl("is not a valid URL") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise InvalidRtspUrl("scheme must be rtsp or rtsps")
    if not value.lower().startswith(f"{parts.scheme.lower()}://"):
        raise InvalidRtspUrl("must look like rtsp://host[:port]/path")
    host = parts.hostname
    if not host:
        raise InvalidRtspUrl("host is required")
    if ":" in host:
        if not _IPV6.match(host):
            raise InvalidRtspUrl("host is not a valid IPv6 address")
    elif not _HOSTNAME.match(host):
        raise InvalidRtspUrl("host is not a valid hostname or address")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidRtspUrl("port must be between 1 and 65535")
    if parts.fragment:
        raise InvalidRtspUrl("must not have a fragment")
    return value


class InvalidMetadata(ValueError):
    pass


def validate_metadata(value: Any) -> dict[str, Any]:
    """A JSON object of bounded size and nesting depth."""
    if not isinstance(value, dict):
        raise InvalidMetadata("must be a JSON object")
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidMetadata("must be plain JSON") from exc
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise InvalidMetadata(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise InvalidMetadata(f"must nest at most {MAX_METADATA_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


MAX_POLYGON_VERTICES = 500


class InvalidGeometry(ValueError):
    """The value is not an acceptable zone polygon."""


def _position(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise InvalidGeometry(f"{where} must be a [longitude, latitude] pair of numbers")
    try:
        lng, lat = float(value[0]), float(value[1])
    except OverflowError:
        raise InvalidGeometry(f"{where} is outside -180..180 / -90..90") from None
    if not (-180.0 <= lng <= 180.0) or not (-90.0 <= lat <= 90.0):
        raise InvalidGeometry(f"{where} is outside -180..180 / -90..90")
    return lng, lat


def validate_zone_geometry(value: Any) -> dict[str, Any]:
    """A GeoJSON Polygon with one closed outer ring (``[lng, lat]`` positions, 4 to
    ``MAX_POLYGON_VERTICES`` of them, at least three distinct); holes are not used by zones.
    Returns the normalised polygon (floats)."""
    if not isinstance(value, dict) or set(value) != {"type", "coordinates"}:
        raise InvalidGeometry('must be {"type": "Polygon", "coordinates": [[[lng, lat], ...]]}')
    if value["type"] != "Polygon":
        raise InvalidGeometry("type must be Polygon")
    rings = value["coordinates"]
    if not isinstance(rings, list) or len(rings) != 1:
        raise InvalidGeometry("coordinates must hold exactly one ring")
    ring = rings[0]
    if not isinstance(ring, list) or not 4 <= len(ring) <= MAX_POLYGON_VERTICES:
        raise InvalidGeometry(f"the ring must have 4 to {MAX_POLYGON_VERTICES} positions")
    points = [_position(p, f"position {i}") for i, p in enumerate(ring)]
    if points[0] != points[-1]:
        raise InvalidGeometry("the ring must be closed (last position equal to the first)")
    if len(set(points)) < 3:
        raise InvalidGeometry("the ring must have at least three distinct positions")
    return {"type": "Polygon", "coordinates": [[[lng, lat] for lng, lat in points]]}
