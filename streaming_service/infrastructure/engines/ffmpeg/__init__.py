"""The embedded FFmpeg engine: one supervised ffmpeg per stream pulls the camera, writes
live HLS under ``<media_root>/live/<camera_id>/`` (served by :mod:`.http`) and records
fMP4 segments. The default where no MediaMTX runs, and the engine the demo and the
end-to-end tests drive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared_kernel.camera_network import CameraNetworkPolicy
from streaming_service.infrastructure.engines.ffmpeg.engine import (
    FFmpegEngine,
    FFmpegEngineOptions,
)

if TYPE_CHECKING:
    from fastapi import APIRouter

    from streaming_service.settings import StreamingSettings


class FFmpegPlugin:
    name = "ffmpeg"
    streams_in_process = True

    def build(self, settings: StreamingSettings, *,
              address_policy: CameraNetworkPolicy) -> FFmpegEngine:
        from streaming_service.settings import API_PREFIX

        return FFmpegEngine(
            media_root=settings.media_root,
            options=FFmpegEngineOptions(ffmpeg=settings.ffmpeg_binary),
            address_policy=address_policy,
            public_base_url=f"{settings.public_base_url.rstrip('/')}{API_PREFIX}",
        )

    def routers(self) -> Sequence[APIRouter]:
        from streaming_service.infrastructure.engines.ffmpeg.http import router

        return [router]


PLUGIN = FFmpegPlugin()
