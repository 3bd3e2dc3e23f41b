"""Client of MediaMTX's playback server: the recorded spans of a path (``GET /list``) and
a span as one MP4 file (``GET /get``), as ``mediamtx-playback-openapi.yaml`` specifies
them (the contract tests in ``tests/integration/streaming/test_mediamtx_playback.py``
check every request against that document). Event clips (``recording_mode = events``)
are cut with it from the short recording buffer MediaMTX keeps of events-mode cameras.

Bounded everywhere: each request has a timeout, a download stops at ``max_bytes``, and a
span that is not completely recorded yet is asked for again at most until
``ready_wait_seconds`` have passed (then :class:`ClipNotReady`: the caller tries later).
The playback server authorises every request (``playback`` action): with MediaMTX's HTTP
auth this service's own hook answers it (``engines.mediamtx.http``), so the client sends
the configured user and password as HTTP Basic credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from streaming_service.domain.ports import ClipNotReady, ClipSpan, ClipUnavailable

logger = logging.getLogger(__name__)

CONTIGUOUS_GAP_SECONDS = 1.0
"""Two listed spans this close are one recording (MediaMTX splits at segment borders)."""


@dataclass(frozen=True)
class RecordedSpan:
    """One entry of ``/list``: a stretch of recording without gaps."""

    start: datetime
    duration_seconds: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_seconds)


def rfc3339(moment: datetime) -> str:
    """A UTC RFC 3339 date-time with microseconds (``format: date-time``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def covered(spans: list[RecordedSpan], start: datetime, end: datetime
            ) -> tuple[datetime, datetime] | None:
    """The part of ``[start, end]`` the contiguous recording overlapping it covers, or None
    when nothing overlaps. The recording may begin after ``start`` (the stream started
    then) and, while it is still being written, end before ``end``."""
    chain: tuple[datetime, datetime] | None = None
    gap = timedelta(seconds=CONTIGUOUS_GAP_SECONDS)
    for span in sorted(spans, key=lambda s: s.start):
        if span.end <= start or span.start >= end:
            if chain is not None and span.start >= end:
                break
            continue
        if chain is None:
            chain = (span.start, span.end)
        elif span.start <= chain[1] + gap:
            chain = (chain[0], max(chain[1], span.end))
        else:
            break  # a gap inside the window: keep the first stretch
    if chain is None:
        return None
    return max(start, chain[0]), min(end, chain[1])


class MediaMtxPlayback:
    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
        ready_wait_seconds: float = 10.0,
        retry_seconds: float = 1.0,
        partial_after_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._ready_wait = ready_wait_seconds
        self._retry = retry_seconds
        self._partial_after = timedelta(seconds=partial_after_seconds)
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), auth=auth,
                                       timeout=httpx.Timeout(timeout_seconds),
                                       transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_spans(self, path: str, *, start: datetime | None = None
                         ) -> list[RecordedSpan]:
        """``GET /list``: the path's recorded spans (none: an empty list)."""
        params = {"path": path}
        if start is not None:
            params["start"] = rfc3339(start)
        try:
            response = await self._http.get("/list", params=params)
        except httpx.HTTPError as exc:
            raise ClipUnavailable(f"MediaMTX playback unreachable ({type(exc).__name__})"
                                  ) from exc
        if response.status_code == 404:
            return []
        _raise_for(response, "list")
        try:
            body: Any = response.json()
            return [RecordedSpan(start=datetime.fromisoformat(str(e["start"])),
                                 duration_seconds=float(e["duration"]))
                    for e in body if isinstance(e, dict)]
        except (ValueError, KeyError, TypeError) as exc:
            raise ClipUnavailable("MediaMTX playback /list answered an unexpected body"
                                  ) from exc

    async def download(self, path: str, start: datetime, duration_seconds: float,
                       output: Path) -> int:
        """``GET /get`` (``format=mp4``) of ``duration_seconds`` from ``start`` into
        ``output``; returns its size. Stops (ClipUnavailable) past ``max_bytes``."""
        params = {"path": path, "start": rfc3339(start),
                  "duration": f"{duration_seconds:.3f}", "format": "mp4"}
        size = 0
        try:
            async with self._http.stream("GET", "/get", params=params) as response:
                if response.status_code == 404:
                    raise ClipNotReady("MediaMTX has no recording of the span yet")
                if not response.is_success:
                    await response.aread()
                    _raise_for(response, "get")
                with output.open("wb") as sink:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self._max_bytes:
                            raise ClipUnavailable(
                                f"the clip exceeds {self._max_bytes} bytes")
                        sink.write(chunk)
        except httpx.HTTPError as exc:
            output.unlink(missing_ok=True)
            raise ClipUnavailable(f"MediaMTX playback download failed ({type(exc).__name__})"
                                  ) from exc
        except ClipUnavailable:
            output.unlink(missing_ok=True)
            raise
        return size

    async def cut(self, path: str, start: datetime, end: datetime, output: Path
                  ) -> ClipSpan:
        """The span ``[start, end]`` of ``path`` as an MP4 in ``output``: waits (bounded)
        until the recording covers its end, then downloads it. Once ``end`` is
        ``partial_after_seconds`` in the past, what the recording has of the span is cut
        (the stream went down inside it)."""
        deadline = time.monotonic() + self._ready_wait
        while True:
            spans = await self.list_spans(path)
            part = covered(spans, start, end)
            if part is not None and (
                    part[1] >= end or datetime.now(UTC) >= end + self._partial_after):
                break  # complete, or the recording stopped inside the span long ago
            if time.monotonic() + self._retry > deadline:
                if part is None:
                    raise ClipNotReady("MediaMTX has not recorded the span yet")
                raise ClipNotReady(
                    f"MediaMTX has recorded the span up to {rfc3339(part[1])} only")
            await asyncio.sleep(self._retry)
        begin, finish = part
        if part[1] <= part[0]:
            raise ClipUnavailable("no recorded video in the span")
        await self.download(path, begin, (finish - begin).total_seconds(), output)
        return ClipSpan(begin, finish)


def _raise_for(response: httpx.Response, operation: str) -> None:
    if response.is_success:
        return
    try:
        message = str(response.json().get("error", ""))[:200]
    except (ValueError, AttributeError):
        message = ""
    logger.warning("MediaMTX playback refused", extra={
        "operation": operation, "status": response.status_code, "error": message})
    if response.status_code in (401, 403):
        raise ClipUnavailable(f"MediaMTX playback {operation}: not authorised "
                              f"(HTTP {response.status_code})")
    raise ClipUnavailable(f"MediaMTX playback {operation}: HTTP {response.status_code}"
                          + (f": {message}" if message else ""))
