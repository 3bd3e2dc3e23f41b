"""MediaMTX as the media engine (production): one MediaMTX path per camera, configured
through its v3 control API (:mod:`.client`, :mod:`.engine`). MediaMTX calls this service
back (:mod:`.http`): to authorise every read of a path, and when a recording segment is
complete (:mod:`.hooks`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared_kernel.camera_network import CameraNetworkPolicy
from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient
from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
from streaming_service.infrastructure.engines.mediamtx.hooks import segment_hook_command
from streaming_service.infrastructure.engines.mediamtx.playback import MediaMtxPlayback

if TYPE_CHECKING:
    from fastapi import APIRouter

    from streaming_service.settings import StreamingSettings


class MediaMtxPlugin:
    name = "mediamtx"
    streams_in_process = False

    def build(self, settings: StreamingSettings, *,
              address_policy: CameraNetworkPolicy) -> MediaMtxEngine:
        password = settings.mediamtx_api_password
        client = MediaMtxClient(
            settings.mediamtx_api_url, timeout_seconds=settings.mediamtx_api_timeout_seconds,
            username=settings.mediamtx_api_user,
            password=password.get_secret_value() if password else None,
        )
        playback_password = (settings.mediamtx_playback_password
                             or settings.mediamtx_hook_token).get_secret_value()
        playback = MediaMtxPlayback(
            settings.mediamtx_playback_url, username=settings.mediamtx_playback_user or None,
            password=playback_password,
            timeout_seconds=settings.mediamtx_playback_timeout_seconds,
            max_bytes=settings.mediamtx_playback_max_bytes,
        ) if settings.mediamtx_playback_url else None
        return MediaMtxEngine(
            client, record_root=settings.mediamtx_record_root,
            segment_hook_command=segment_hook_command(settings.mediamtx_segment_hook_url),
            address_policy=address_policy,
            hls_public_url=settings.mediamtx_hls_public_url,
            webrtc_public_url=settings.mediamtx_webrtc_public_url,
            playback=playback,
            event_buffer_keep=f"{settings.mediamtx_event_buffer_minutes}m",
        )

    def routers(self) -> Sequence[APIRouter]:
        from streaming_service.infrastructure.engines.mediamtx.http import router

        return [router]


PLUGIN = MediaMtxPlugin()
