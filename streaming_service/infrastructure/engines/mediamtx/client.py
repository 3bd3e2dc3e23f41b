"""The MediaMTX v3 control-API client and the API's payloads.

The control API is specified in ``mediamtx-openapi.yaml``; the contract tests in
``tests/integration/streaming/test_mediamtx_contract.py`` check every request this module
sends against that document. Camera RTSP URLs carry credentials: they go to MediaMTX in
request bodies only, never into a log line, an exception message or a URL handed out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared_kernel.masking import mask_urls_in_text
from streaming_service.domain.errors import (
    MediaEngineError,
    MediaEngineNotFound,
    MediaEngineRejected,
    MediaEngineUnavailable,
)
from streaming_service.domain.stream import Backoff
from streaming_service.infrastructure.engines.mediamtx.paths import quoted_path_name as _q

logger = logging.getLogger(__name__)

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
        await self._call("POST", f"/v3/config/paths/add/{_q(name)}", json=dict(conf))

    async def patch_path(self, name: str, conf: Mapping[str, Any]) -> None:
        await self._call("PATCH", f"/v3/config/paths/patch/{_q(name)}", json=dict(conf))

    async def replace_path(self, name: str, conf: Mapping[str, Any]) -> None:
        await self._call("POST", f"/v3/config/paths/replace/{_q(name)}", json=dict(conf))

    async def delete_path(self, name: str) -> None:
        await self._call("DELETE", f"/v3/config/paths/delete/{_q(name)}")

    async def get_path_config(self, name: str) -> dict[str, Any]:
        return _as_dict(await self._call("GET", f"/v3/config/paths/get/{_q(name)}"))

    async def list_path_configs(self) -> list[dict[str, Any]]:
        return await self._list_all("/v3/config/paths/list")

    async def get_global_config(self) -> dict[str, Any]:
        return _as_dict(await self._call("GET", "/v3/config/global/get"))

    # -- runtime state ----------------------------------------------------------------

    async def get_path(self, name: str) -> PathInfo:
        return PathInfo.model_validate(await self._call("GET", f"/v3/paths/get/{_q(name)}"))

    async def list_paths(self) -> list[PathInfo]:
        return [PathInfo.model_validate(i) for i in await self._list_all("/v3/paths/list")]

    # -- recordings on MediaMTX's disk ------------------------------------------------

    async def list_recordings(self) -> list[RecordingInfo]:
        items = await self._list_all("/v3/recordings/list")
        return [RecordingInfo.model_validate(i) for i in items]

    async def get_recordings(self, name: str) -> RecordingInfo:
        body = await self._call("GET", f"/v3/recordings/get/{_q(name)}")
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
