"""MediaEngine over MediaMTX: one MediaMTX path per camera.

MediaMTX connects to the camera itself, so the camera's address is checked against the
camera network policy here, before MediaMTX is asked, and MediaMTX gets the URL pinned to
the checked address (it never resolves the name itself).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from shared_kernel.masking import mask_url
from streaming_service.domain.errors import (
    MediaEngineNotFound,
    MediaEngineRejected,
)
from streaming_service.domain.ports import (
    ClipSpan,
    ClipUnavailable,
    CompletedSegment,
    EngineUrls,
    SegmentSink,
    StatusSink,
)
from streaming_service.domain.stream import StreamSource, StreamState, StreamStatus
from streaming_service.infrastructure.camera_address import connectable_url
from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient, PathInfo
from streaming_service.infrastructure.engines.mediamtx.hooks import SegmentCompleteHook
from streaming_service.infrastructure.engines.mediamtx.paths import (
    DEFAULT_RETENTION_DAYS,
    EVENT_BUFFER_DIR,
    RECORD_STAMP_FORMAT,
    path_name,
)
from streaming_service.infrastructure.engines.mediamtx.playback import MediaMtxPlayback

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# MediaEngine over MediaMTX
# --------------------------------------------------------------------------------------


@dataclass
class _Sample:
    received_bytes: int
    at_monotonic: float


class MediaMtxEngine:
    """MediaEngine that configures one MediaMTX path per camera.

    MediaMTX pulls the camera (RTSP over TCP), serves HLS (``<path>/index.m3u8`` on its
    HLS server) and WebRTC (``<path>/whep``), and records fMP4 segments to
    ``<record_root>/<tenant_id>/<path>/<timestamp>.mp4``; a finished segment is announced
    by MediaMTX's ``runOnRecordSegmentComplete`` hook (see ``SegmentCompleteHook``) and
    handed to ``on_segment`` by ``handle_segment_complete``.

    A camera with ``recording_mode = events`` (``StreamSource.event_buffer``) is recorded
    too, but only as a buffer on MediaMTX's disk: under ``<record_root>/<tenant_id>/events/``,
    deleted by MediaMTX after ``event_buffer_keep``, with no segment hook (nothing is
    uploaded; it is not a recording). ``cut_clip`` serves event clips from it through
    MediaMTX's playback server (``playback``).

    Paths live in MediaMTX, not in this process: several service replicas share them, so
    ``status`` reads everything (tenant, recording flag) back from MediaMTX, and ``close``
    leaves the streams running.
    """

    name = "mediamtx"

    def __init__(
        self,
        client: MediaMtxClient,
        *,
        record_root: str = "/recordings",
        default_retention_days: int = DEFAULT_RETENTION_DAYS,
        on_status: StatusSink | None = None,
        on_segment: SegmentSink | None = None,
        segment_hook_command: str | None = None,
        on_demand_close_after: str = "10s",
        on_demand_start_timeout: str = "10s",
        address_policy: CameraNetworkPolicy = DEFAULT_POLICY,
        hls_public_url: str = "http://127.0.0.1:8888",
        webrtc_public_url: str = "http://127.0.0.1:8889",
        playback: MediaMtxPlayback | None = None,
        event_buffer_keep: str = "10m",
    ) -> None:
        self._client = client
        self._playback = playback
        self._event_buffer_keep = event_buffer_keep
        self._hls_public_url = hls_public_url.rstrip("/")
        self._webrtc_public_url = webrtc_public_url.rstrip("/")
        self._address_policy = address_policy
        self._record_root = record_root.rstrip("/") or "/"
        self._default_retention_days = default_retention_days
        self._on_status = on_status
        self._on_segment = on_segment
        self._segment_hook_command = segment_hook_command
        self._close_after = on_demand_close_after
        self._start_timeout = on_demand_start_timeout
        self._samples: dict[uuid.UUID, _Sample] = {}

    @property
    def record_root(self) -> str:
        return self._record_root

    def path_config(self, source: StreamSource) -> dict[str, Any]:
        """The MediaMTX ``PathConf`` for a camera (holds the source URL: never log it)."""
        retention = source.retention_days or self._default_retention_days
        conf: dict[str, Any] = {
            "source": source.url,
            "rtspTransport": "tcp",
            "sourceOnDemandStartTimeout": self._start_timeout,
            "sourceOnDemandCloseAfter": self._close_after,
            "recordPath": f"{self._record_root}/{source.tenant_id}/%path/{RECORD_STAMP_FORMAT}",
            "recordFormat": "fmp4",
            "recordPartDuration": "1s",
            "recordSegmentDuration": f"{source.segment_seconds}s",
            "recordDeleteAfter": f"{retention}d",
            **_recording_flags(source.record),
        }
        if self._segment_hook_command:
            conf["runOnRecordSegmentComplete"] = self._segment_hook_command
        if source.event_buffer and not source.record:
            conf.update(self._event_buffer_conf(source.tenant_id))
        return conf

    def _event_buffer_conf(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """Record to a short local buffer for event clips: no hook (nothing uploaded),
        deleted by MediaMTX itself."""
        return {
            "record": True,
            "sourceOnDemand": False,
            "recordPath": (f"{self._record_root}/{tenant_id}/{EVENT_BUFFER_DIR}/%path/"
                           f"{RECORD_STAMP_FORMAT}"),
            "recordDeleteAfter": self._event_buffer_keep,
            "runOnRecordSegmentComplete": "",
        }

    async def start(self, source: StreamSource) -> StreamStatus:
        """Configure the camera's path. A camera whose address the policy refuses (or
        that does not resolve) raises ``CameraSourceRefused``; MediaMTX is not asked."""
        name = path_name(source.camera_id)
        pinned = await connectable_url(source.url, self._address_policy,
                                       camera_id=source.camera_id)
        conf = self.path_config(dataclasses.replace(source, url=pinned))
        logger.info(
            "configuring MediaMTX path",
            extra={
                "camera_id": str(source.camera_id),
                "path": name,
                "source": mask_url(source.url),
                "record": source.record,
            },
        )
        try:
            await self._client.replace_path(name, conf)
        except MediaEngineNotFound:
            try:
                await self._client.add_path(name, conf)
            except MediaEngineRejected as rejected:
                # Either another replica added it between our two calls (take it over) or
                # the configuration is invalid (replace finds no path: report the reason).
                try:
                    await self._client.replace_path(name, conf)
                except MediaEngineNotFound:
                    raise rejected from None
        status = await self.status(source.camera_id) or StreamStatus(
            camera_id=source.camera_id,
            tenant_id=source.tenant_id,
            state=StreamState.STARTING,
            engine=self.name,
            recording=source.record,
        )
        await self._emit(status)
        return status

    async def stop(self, camera_id: uuid.UUID) -> None:
        name = path_name(camera_id)
        tenant_id: uuid.UUID | None = None
        try:
            tenant_id = self._tenant_from_conf(await self._client.get_path_config(name))
            await self._client.delete_path(name)
        except MediaEngineNotFound:
            logger.info("MediaMTX path already absent", extra={"path": name})
        self._samples.pop(camera_id, None)
        if tenant_id is not None:
            await self._emit(
                StreamStatus(
                    camera_id=camera_id,
                    tenant_id=tenant_id,
                    state=StreamState.STOPPED,
                    engine=self.name,
                )
            )

    async def set_recording(self, camera_id: uuid.UUID, enabled: bool) -> None:
        name = path_name(camera_id)
        conf = await self._client.get_path_config(name)
        tenant_id = self._tenant_from_conf(conf)
        if _is_event_buffer(conf) and tenant_id is not None:
            if not enabled:
                return  # the buffer is not a recording: nothing to switch off
            # From buffer to recording: the recording's path, retention and hook.
            patch: dict[str, Any] = {
                "recordPath": f"{self._record_root}/{tenant_id}/%path/{RECORD_STAMP_FORMAT}",
                "recordDeleteAfter": f"{self._default_retention_days}d",
                "runOnRecordSegmentComplete": self._segment_hook_command or "",
                **_recording_flags(True),
            }
            await self._client.patch_path(name, patch)
        else:
            await self._client.patch_path(name, _recording_flags(enabled))
        logger.info(
            "MediaMTX recording switched",
            extra={"camera_id": str(camera_id), "record": enabled},
        )

    async def status(self, camera_id: uuid.UUID) -> StreamStatus | None:
        name = path_name(camera_id)
        try:
            conf = await self._client.get_path_config(name)
        except MediaEngineNotFound:
            return None
        tenant_id = self._tenant_from_conf(conf)
        if tenant_id is None:
            logger.warning("MediaMTX path not configured by this service", extra={"path": name})
            return None
        try:
            info: PathInfo | None = await self._client.get_path(name)
        except MediaEngineNotFound:
            info = None
        state, started_at, bitrate = StreamState.STARTING, None, None
        if info is not None and info.is_online:
            state, started_at = StreamState.LIVE, info.online_since
            bitrate = self._bitrate(camera_id, info)
        return StreamStatus(
            camera_id=camera_id,
            tenant_id=tenant_id,
            state=state,
            engine=self.name,
            started_at=started_at,
            bitrate_kbps=bitrate,
            recording=bool(conf.get("record")) and not _is_event_buffer(conf),
        )

    def listen(self, *, on_status: StatusSink | None = None,
               on_segment: SegmentSink | None = None) -> None:
        if on_status is not None:
            self._on_status = on_status
        if on_segment is not None:
            self._on_segment = on_segment

    def urls(self, camera_id: uuid.UUID) -> EngineUrls:
        name = path_name(camera_id)
        return EngineUrls(hls=f"{self._hls_public_url}/{name}/index.m3u8",
                          webrtc=f"{self._webrtc_public_url}/{name}/whep")

    async def cut_clip(self, camera_id: uuid.UUID, start: datetime, end: datetime,
                       output: Path) -> ClipSpan | None:
        """An event clip served by MediaMTX's playback server from the camera's buffer
        (or recording). Every replica sees MediaMTX's recordings, so never None."""
        if self._playback is None:
            raise ClipUnavailable("the MediaMTX playback server is not configured")
        return await self._playback.cut(path_name(camera_id), start, end, output)

    async def close(self) -> None:
        self._samples.clear()
        await self._client.aclose()
        if self._playback is not None:
            await self._playback.aclose()

    async def handle_segment_complete(
        self, hook: SegmentCompleteHook, local_root: Path | None = None
    ) -> CompletedSegment:
        """Turn MediaMTX's segment-complete hook into a CompletedSegment for ``on_segment``."""
        segment = hook.to_completed_segment(self._record_root, local_root)
        if self._on_segment is not None:
            await self._on_segment(segment)
        return segment

    # -- helpers ----------------------------------------------------------------------

    def _tenant_from_conf(self, conf: Mapping[str, Any]) -> uuid.UUID | None:
        record_path = str(conf.get("recordPath") or "")
        prefix = f"{self._record_root}/"
        if not record_path.startswith(prefix):
            return None
        try:
            return uuid.UUID(record_path[len(prefix) :].split("/", 1)[0])
        except ValueError:
            return None

    def _bitrate(self, camera_id: uuid.UUID, info: PathInfo) -> float | None:
        now = time.monotonic()
        current = _Sample(info.received_bytes, now)
        previous = self._samples.get(camera_id)
        self._samples[camera_id] = current
        if previous is None or now <= previous.at_monotonic:
            return None
        delta = current.received_bytes - previous.received_bytes
        if delta < 0:  # counter reset: the source reconnected
            return None
        return round(delta * 8 / 1000 / (now - previous.at_monotonic), 1)

    async def _emit(self, status: StreamStatus) -> None:
        if self._on_status is not None:
            await self._on_status(status)


def _is_event_buffer(conf: Mapping[str, Any]) -> bool:
    return f"/{EVENT_BUFFER_DIR}/%path/" in str(conf.get("recordPath") or "")


def _recording_flags(record: bool) -> dict[str, Any]:
    # An on-demand source is pulled only while someone watches, and the recorder does not
    # count as a viewer: a recording camera must be pulled all the time.
    return {"record": record, "sourceOnDemand": not record}
