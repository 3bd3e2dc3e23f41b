"""Media engines, one package each: the :class:`~streaming_service.domain.ports.MediaEngine`
adapter and the HTTP endpoints the engine needs from this service.

``bootstrap.ENGINES`` maps ``GTV_ENGINE`` to a package's :data:`PLUGIN`: ``ffmpeg`` (the
embedded engine: supervised ffmpeg processes, live HLS served by this service) and
``mediamtx`` (MediaMTX through its control API; it calls back for auth and finished
recording segments).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from shared_kernel.camera_network import CameraNetworkPolicy
from streaming_service.domain.ports import MediaEngine

if TYPE_CHECKING:
    from fastapi import APIRouter

    from streaming_service.settings import StreamingSettings


class EnginePlugin(Protocol):
    name: str
    streams_in_process: bool
    """The engine runs each stream inside the API process that started it (FFmpeg): with
    several replicas, each camera is owned by one of them (``domain.ports.StreamOwnership``)
    and taken over when its replica dies. False where the engine is a server of its own
    (MediaMTX) that any replica drives."""

    def build(self, settings: StreamingSettings, *,
              address_policy: CameraNetworkPolicy) -> MediaEngine:
        """The engine these settings describe (nothing connects yet)."""
        ...

    def routers(self) -> Sequence[APIRouter]:
        """The engine's HTTP endpoints on this service (its live files, its hooks)."""
        ...
