"""MediaMTX adapter: the v3 control-API client, the MediaEngine built on it, and the
payloads MediaMTX sends back to us (recording-segment hook, HTTP auth callback).

The control API is specified in ``mediamtx-openapi.yaml``; the contract tests in
``tests/integration/streaming/test_mediamtx_contract.py`` check every request this
module sends against that document. Camera RTSP URLs carry credentials: they go to
MediaMTX in request bodies only, never into a log line, an exception message or a URL
handed to a client. MediaMTX connects to the camera itself, so the camera's address is
checked against the camera network policy here, before MediaMTX is asked, and MediaMTX
gets the URL pinned to the checked address (it never resolves the name itself).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from shared_kernel.auth import Role, TokenClaims
from shared_kernel.camera_network import DEFAULT_POLICY, CameraNetworkPolicy
from shared_kernel.masking import mask_url, mask_urls_in_text
from streaming_service.domain.errors import (
    MediaEngineError,
    MediaEngineNotFound,
    MediaEngineRejected,
    MediaEngineUnavailable,
)
from streaming_service.domain.ports import CompletedSegment, SegmentSink, StatusSink
from streaming_service.domain.stream import Backoff, StreamSource, StreamState, StreamStatus
from streaming_service.infrastructure.camera_address import connectable_url

logger = logging.getLogger(__name__)

PATH_PREFIX = "cam-"
DEFAULT_RETENTION_DAYS = 90
# MediaMTX's recordPath placeholders; the segment hook parses file names written with it.
RECORD_FILE_PATTERN = "%Y-%m-%d_%H-%M-%S-%f"
_RECORD_STAMP_FORMAT = "%Y-%m-%d_%H-%M-%S-%f"
# Names MediaMTX accepts for a path (conf.IsValidPathName): no leading/trailing slash.
_VALID_PATH_NAME = re.compile(r"^[A-Za-z0-9_.~\-][A-Za-z0-9_.~\-/]*$")


# --------------------------------------------------------------------------------------
# Names and URLs
# --------------------------------------------------------------------------------------


def path_name(camera_id: uuid.UUID) -> str:
    """The MediaMTX path that carries one camera's stream."""
    return f"{PATH_PREFIX}{camera_id}"


def camera_id_from_path_name(name: str) -> uuid.UUID | None:
    """The camera behind a MediaMTX path name, or None when the path is not one of ours."""
    if not name.startswith(PATH_PREFIX):
        return None
    try:
        return uuid.UUID(name[len(PATH_PREFIX) :])
    except ValueError:
        return None


def _quoted(name: str) -> str:
    if not name or not _VALID_PATH_NAME.match(name) or name.endswith("/"):
        raise ValueError(f"invalid MediaMTX path name: {name!r}")
    return quote(name, safe="")


# --------------------------------------------------------------------------------------
# Response models (tolerant: MediaMTX adds fields between releases)
# --------------------------------------------------------------------------------------


class _ApiModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class PathSourceInfo(_ApiModel):
    type: str = ""
    id: str = ""


class PathReaderInfo(_ApiModel):
    type: str = ""
    id: str = ""


class PathTrackInfo(_ApiModel):
    codec: str = ""


class PathInfo(_ApiModel):
    """A path's runtime state (``GET /v3/paths/get/{name}``, schema ``Path``).

    Newer MediaMTX releases report ``online``/``inboundBytes``/``tracks2`` and keep the
    deprecated ``ready``/``bytesReceived``/``tracks``; both generations are read.
    """

    name: str = ""
    conf_name: str = Field(default="", alias="confName")
    source: PathSourceInfo | None = None
    ready: bool = False
    ready_time: datetime | None = Field(default=None, alias="readyTime")
    online: bool | None = None
    online_time: datetime | None = Field(default=None, alias="onlineTime")
    tracks: list[str] = Field(default_factory=list)
    tracks2: list[PathTrackInfo] = Field(default_factory=list)
    bytes_received: int = Field(default=0, alias="bytesReceived")
    inbound_bytes: int | None = Field(default=None, alias="inboundBytes")
    readers: list[PathReaderInfo] = Field(default_factory=list)

    @field_validator("tracks", "tracks2", "readers", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def is_online(self) -> bool:
        return self.online if self.online is not None else self.ready

    @property
    def online_since(self) -> datetime | None:
        return self.online_time or self.ready_time

    @property
    def received_bytes(self) -> int:
        return self.inbound_bytes if self.inbound_bytes is not None else self.bytes_received

    @property
    def codecs(self) -> list[str]:
        return [t.codec for t in self.tracks2] if self.tracks2 else list(self.tracks)


class RecordingSegmentInfo(_ApiModel):
    start: datetime


class RecordingInfo(_ApiModel):
    """Recorded segments MediaMTX still holds on its disk for one path."""

    name: str = ""
    segments: list[RecordingSegmentInfo] = Field(default_factory=list)

    @field_validator("segments", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


# --------------------------------------------------------------------------------------
# Control-API client
# --------------------------------------------------------------------------------------


class MediaMtxClient:
    """Async client of MediaMTX's v3 control API.

    Every call has a timeout. Connection failures (the request never reached MediaMTX, so
    any method is safe to resend) are retried a bounded number of times with backoff and
    a log line each; everything else is translated once into a domain error:
    404 → ``MediaEngineNotFound``, 400 → ``MediaEngineRejected`` (with MediaMTX's own
    message, credentials masked), other failures → ``MediaEngineError`` /
    ``MediaEngineUnavailable``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = 5.0,
        max_attempts: int = 3,
        backoff: Backoff | None = None,
        username: str | None = None,
        password: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff(initial_seconds=0.2, factor=2.0, max_seconds=2.0)
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            auth=auth,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> MediaMtxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- path configuration -----------------------------------------------------------

    async def add_path(self, name: str, conf: Mapping[str, Any]) -> None:
        await self._call("POST", f"/v3/config/paths/add/{_quoted(name)}", json=dict(conf))

    async def patch_path(self, name: str, conf: Mapping[str, Any]) -> None:
        await self._call("PATCH", f"/v3/config/paths/patch/{_quoted(name)}", json=dict(conf))

    async def replace_path(self, name: str, conf: Mapping[str, Any]) -> None:
        await self._call("POST", f"/v3/config/paths/replace/{_quoted(name)}", json=dict(conf))

    async def delete_path(self, name: str) -> None:
        await self._call("DELETE", f"/v3/config/paths/delete/{_quoted(name)}")

    async def get_path_config(self, name: str) -> dict[str, Any]:
        return _as_dict(await self._call("GET", f"/v3/config/paths/get/{_quoted(name)}"))

    async def list_path_configs(self) -> list[dict[str, Any]]:
        return await self._list_all("/v3/config/paths/list")

    async def get_global_config(self) -> dict[str, Any]:
        return _as_dict(await self._call("GET", "/v3/config/global/get"))

    # -- runtime state ----------------------------------------------------------------

    async def get_path(self, name: str) -> PathInfo:
        return PathInfo.model_validate(await self._call("GET", f"/v3/paths/get/{_quoted(name)}"))

    async def list_paths(self) -> list[PathInfo]:
        return [PathInfo.model_validate(i) for i in await self._list_all("/v3/paths/list")]

    # -- recordings on MediaMTX's disk ------------------------------------------------

    async def list_recordings(self) -> list[RecordingInfo]:
        items = await self._list_all("/v3/recordings/list")
        return [RecordingInfo.model_validate(i) for i in items]

    async def get_recordings(self, name: str) -> RecordingInfo:
        body = await self._call("GET", f"/v3/recordings/get/{_quoted(name)}")
        return RecordingInfo.model_validate(body)

    async def delete_recording_segment(self, name: str, start: datetime | str) -> None:
        stamp = start if isinstance(start, str) else _rfc3339(start)
        await self._call(
            "DELETE", "/v3/recordings/deletesegment", params={"path": name, "start": stamp}
        )

    # -- plumbing ---------------------------------------------------------------------

    async def _list_all(self, url: str, items_per_page: int = 100) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 0
        while True:
            body = _as_dict(
                await self._call("GET", url, params={"page": page, "itemsPerPage": items_per_page})
            )
            items.extend(i for i in body.get("items") or [] if isinstance(i, dict))
            page += 1
            if page >= int(body.get("pageCount") or 0):
                return items

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        response = await self._send(method, url, json=json, params=params)
        if response.is_success:
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError as exc:
                raise MediaEngineError(f"MediaMTX {method} {url}: response is not JSON") from exc
        raise _translate(method, url, response)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, url, json=json, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                attempt += 1
                if attempt >= self._max_attempts:
                    logger.error(
                        "MediaMTX unreachable, giving up",
                        extra={"method": method, "url": url, "attempts": attempt},
                    )
                    raise MediaEngineUnavailable(
                        f"MediaMTX unreachable after {attempt} attempts ({type(exc).__name__})"
                    ) from exc
                delay = self._backoff.delay(attempt - 1)
                logger.warning(
                    "MediaMTX unreachable, retrying",
                    extra={"method": method, "url": url, "attempt": attempt, "delay_s": delay},
                )
                await asyncio.sleep(delay)
                continue
            except httpx.TimeoutException as exc:
                # The request may have been applied: not resent, reported as unavailable.
                raise MediaEngineUnavailable(f"MediaMTX {method} {url} timed out") from exc
            except httpx.HTTPError as exc:
                raise MediaEngineUnavailable(
                    f"MediaMTX {method} {url} failed: {type(exc).__name__}"
                ) from exc
            logger.debug(
                "MediaMTX call",
                extra={"method": method, "url": url, "status": response.status_code},
            )
            return response


def _translate(method: str, url: str, response: httpx.Response) -> MediaEngineError:
    message = mask_urls_in_text(_error_message(response))
    where = f"MediaMTX {method} {url}"
    if response.status_code == 404:
        return MediaEngineNotFound(message or "not found", {"operation": where})
    if response.status_code == 400:
        return MediaEngineRejected(message or "invalid request", {"operation": where})
    if response.status_code in (401, 403):
        return MediaEngineError(
            f"{where}: not authorised to use the control API", {"status": response.status_code}
        )
    return MediaEngineError(f"{where}: HTTP {response.status_code}: {message}".rstrip(": "))


def _error_message(response: httpx.Response) -> str:
    """The ``error`` field of MediaMTX's ``Error`` schema, else a bounded text excerpt."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return ""


def _as_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MediaEngineError("MediaMTX answered with an unexpected JSON shape")
    return value


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


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
    ) -> None:
        self._client = client
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
            "recordPath": f"{self._record_root}/{source.tenant_id}/%path/{RECORD_FILE_PATTERN}",
            "recordFormat": "fmp4",
            "recordPartDuration": "1s",
            "recordSegmentDuration": f"{source.segment_seconds}s",
            "recordDeleteAfter": f"{retention}d",
            **_recording_flags(source.record),
        }
        if self._segment_hook_command:
            conf["runOnRecordSegmentComplete"] = self._segment_hook_command
        return conf

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
        await self._client.patch_path(path_name(camera_id), _recording_flags(enabled))
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
            recording=bool(conf.get("record")),
        )

    def hls_path(self, camera_id: uuid.UUID) -> str:
        return f"{path_name(camera_id)}/index.m3u8"

    def webrtc_path(self, camera_id: uuid.UUID) -> str | None:
        return f"{path_name(camera_id)}/whep"

    async def close(self) -> None:
        self._samples.clear()
        await self._client.aclose()

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


def _recording_flags(record: bool) -> dict[str, Any]:
    # An on-demand source is pulled only while someone watches, and the recorder does not
    # count as a viewer: a recording camera must be pulled all the time.
    return {"record": record, "sourceOnDemand": not record}


# --------------------------------------------------------------------------------------
# runOnRecordSegmentComplete hook
# --------------------------------------------------------------------------------------


def segment_hook_command(url: str) -> str:
    """A ``runOnRecordSegmentComplete`` command that posts the hook's variables to ``url``.

    MediaMTX substitutes ``$MTX_*`` in the command before running it.
    """
    body = (
        '{"MTX_PATH":"$MTX_PATH","MTX_SEGMENT_PATH":"$MTX_SEGMENT_PATH",'
        '"MTX_SEGMENT_DURATION":"$MTX_SEGMENT_DURATION"}'
    )
    return (
        f"curl -fsS -m 10 --retry 3 -X POST -H 'Content-Type: application/json' -d '{body}' {url}"
    )


_HOOK_VARIABLES = ("MTX_PATH", "MTX_SEGMENT_PATH", "MTX_SEGMENT_DURATION")


class SegmentCompleteHook(BaseModel):
    """The variables of MediaMTX's ``runOnRecordSegmentComplete``: ``MTX_PATH``,
    ``MTX_SEGMENT_PATH`` and ``MTX_SEGMENT_DURATION`` (also accepted in snake case)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    path: str = Field(validation_alias=AliasChoices("MTX_PATH", "path"), min_length=1)
    segment_path: str = Field(
        validation_alias=AliasChoices("MTX_SEGMENT_PATH", "segment_path"), min_length=1
    )
    segment_duration: timedelta = Field(
        validation_alias=AliasChoices("MTX_SEGMENT_DURATION", "segment_duration")
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SegmentCompleteHook:
        return cls.model_validate({k: env[k] for k in _HOOK_VARIABLES if k in env})

    @field_validator("segment_duration", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_duration(value)
        return value

    @property
    def camera_id(self) -> uuid.UUID | None:
        return camera_id_from_path_name(self.path)

    def to_completed_segment(
        self, record_root: str, local_root: Path | None = None
    ) -> CompletedSegment:
        """The segment as the upload use case needs it.

        ``record_root`` is where MediaMTX writes (as in the path's ``recordPath``);
        ``local_root`` is where this process sees the same directory (a shared volume
        may be mounted elsewhere). Raises ValueError for a path that is not ours or a
        file outside the recording root.
        """
        camera_id = self.camera_id
        if camera_id is None:
            raise ValueError(f"not a camera path: {self.path!r}")
        root = PurePosixPath(record_root)
        segment = PurePosixPath(self.segment_path)
        if ".." in segment.parts or not segment.is_relative_to(root):
            raise ValueError("segment file is outside the recording root")
        relative = segment.relative_to(root)
        if len(relative.parts) != 3 or relative.parts[1] != self.path:
            raise ValueError("segment file does not follow <root>/<tenant>/<path>/<file>")
        try:
            tenant_id = uuid.UUID(relative.parts[0])
        except ValueError as exc:
            raise ValueError("segment file has no tenant directory") from exc
        started_at = datetime.strptime(segment.stem, _RECORD_STAMP_FORMAT).replace(tzinfo=UTC)
        local = (local_root or Path(record_root)).joinpath(*relative.parts)
        return CompletedSegment(
            camera_id=camera_id,
            tenant_id=tenant_id,
            path=local,
            started_at=started_at,
            ended_at=started_at + self.segment_duration,
        )


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text: str) -> timedelta:
    """Seconds (``"60.016"``) or a Go duration (``"1m0.5s"``) as MediaMTX prints them."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _GO_DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"not a duration: {text!r}") from None
        seconds = sum(float(n) * _GO_UNITS[u] for n, u in parts)
    # Negative, NaN, infinite, or beyond what timedelta holds (OverflowError, a 500).
    if not 0 <= seconds <= _MAX_DURATION_SECONDS:
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=seconds)


_MAX_DURATION_SECONDS = timedelta.max.total_seconds() // 2


# --------------------------------------------------------------------------------------
# HTTP auth callback (authMethod: http)
# --------------------------------------------------------------------------------------


class MediaMtxAuthAction(enum.StrEnum):
    PUBLISH = "publish"
    READ = "read"
    PLAYBACK = "playback"
    API = "api"
    METRICS = "metrics"
    PPROF = "pprof"


class MediaMtxAuthRequest(BaseModel):
    """Body MediaMTX POSTs to ``authHTTPAddress`` before letting a client act on a path."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: str = ""
    password: str = ""
    token: str = ""
    ip: str = ""
    action: MediaMtxAuthAction
    path: str = ""
    protocol: str = ""
    id: str | None = None
    query: str = ""

    @field_validator("user", "password", "token", "ip", "path", "protocol", "query", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    def bearer_token(self) -> str | None:
        """The viewer's JWT: MediaMTX's ``token`` (Authorization: Bearer), else a
        ``token``/``jwt`` query parameter (HLS players), else the password (RTSP clients
        that can only send user/password)."""
        if self.token:
            return self.token
        query = parse_qs(self.query.lstrip("?"))
        for key in ("token", "jwt"):
            if query.get(key) and query[key][0]:
                return query[key][0]
        return self.password or None


@dataclass(frozen=True)
class AuthDecision:
    allowed: bool
    status_code: int
    reason: str


def decide_auth(
    request: MediaMtxAuthRequest,
    claims: TokenClaims | None,
    camera_tenant_id: uuid.UUID | None,
) -> AuthDecision:
    """Allow or deny a MediaMTX auth callback. Pure: the caller verifies the token
    (signature, expiry, denylist) into ``claims`` and looks up the tenant owning the
    camera of ``request.path`` (None when unknown).

    Only viewers (and above) of the camera's tenant may read or play back its path.
    Nobody may publish: MediaMTX pulls cameras itself. API, metrics and pprof are left to
    MediaMTX's internal users (``authHTTPExclude``), so they are denied here.
    """
    if request.action not in (MediaMtxAuthAction.READ, MediaMtxAuthAction.PLAYBACK):
        return AuthDecision(False, 403, f"action {request.action.value} is not allowed")
    if claims is None:
        # 401 makes MediaMTX ask the client for credentials.
        return AuthDecision(False, 401, "a valid token is required")
    if camera_id_from_path_name(request.path) is None or camera_tenant_id is None:
        return AuthDecision(False, 403, "unknown path")
    if not claims.has_at_least(Role.VIEWER):
        return AuthDecision(False, 403, "no viewer role")
    if claims.tenant_id != camera_tenant_id:
        # A superadmin's token names no tenant: their live views go through the API with
        # an explicit, audited tenant choice and come back with a media token.
        return AuthDecision(False, 403, "camera belongs to another tenant")
    return AuthDecision(True, 200, "ok")
