"""The camera network policy at connect time: every adapter that connects to a camera
(the FFmpeg and MediaMTX engines, snapshots and thumbnails, the LPR frame source) asks
here for the URL to hand to ffmpeg or MediaMTX.

The camera's host is resolved here, every address it resolves to is checked against the
policy (``shared_kernel.camera_network``), and the URL comes back with its host replaced
by the checked address: the process that connects makes no DNS lookup of its own, so a
name that answers differently a second later (DNS rebinding) cannot take it elsewhere.
"""

from __future__ import annotations

import logging
import uuid

from shared_kernel.camera_network import (
    DEFAULT_POLICY,
    AddressNotAllowed,
    CameraAddressError,
    CameraNetworkPolicy,
)
from streaming_service.domain.errors import CameraSourceRefused
from streaming_service.domain.stream import StreamFailure

log = logging.getLogger(__name__)


async def connectable_url(url: str, policy: CameraNetworkPolicy = DEFAULT_POLICY, *,
                          camera_id: uuid.UUID | None = None) -> str:
    """``url`` with its host pinned to a checked address; ``CameraSourceRefused`` with
    ``address_not_allowed`` (the policy refuses an address) or ``unreachable`` (the name
    does not resolve) otherwise. The result holds the credentials: never log it."""
    try:
        vetted = await policy.avet_url(url)
    except CameraAddressError as exc:
        failure = (StreamFailure.ADDRESS_NOT_ALLOWED if isinstance(exc, AddressNotAllowed)
                   else StreamFailure.UNREACHABLE)
        log.warning("camera address refused", extra={
            "camera_id": str(camera_id) if camera_id else None, "failure": failure.value,
            "reason": str(exc), "address": getattr(exc, "address", None),
            "rule": getattr(exc, "rule", None)})
        details = {"camera_id": str(camera_id)} if camera_id else {}
        raise CameraSourceRefused(failure, details) from None
    return vetted.url


def is_local_file(source: str) -> bool:
    """A frame source that is a file this service wrote (an absolute path: a live HLS
    playlist, a recording), not a camera: it needs no network check. Anything else is a
    camera URL and goes through :func:`connectable_url` (which refuses every scheme but
    rtsp/rtsps, so ffmpeg's other protocols cannot be reached through a camera URL)."""
    return source.startswith("/")
