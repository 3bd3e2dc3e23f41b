"""In-memory fakes of the streaming use cases' ports, for fast unit tests of the
application layer (the integration tests run the real adapters)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared_kernel.events import EventPayload
from streaming_service.domain.ai.ports import LiveEvent
from streaming_service.domain.errors import CameraNotFound, CameraUnavailable
from streaming_service.domain.ports import (
    CameraRecord,
    EngineUrls,
    OwnerCommand,
    OwnerCommandHandler,
    OwnerReply,
    SegmentSink,
    StatusSink,
)
from streaming_service.domain.stream import StreamSource, StreamState, StreamStatus


class FakeSession:
    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[FakeSession]:
        yield self

    def in_transaction(self) -> bool:
        return True


class FakeSessions:
    """Stands in for an ``async_sessionmaker``: ``async with sessions() as s, s.begin()``."""

    def __call__(self) -> contextlib.AbstractAsyncContextManager[FakeSession]:
        @contextlib.asynccontextmanager
        async def session() -> AsyncIterator[FakeSession]:
            yield FakeSession()

        return session()


@dataclass
class FakeOutbox:
    events: list[EventPayload] = field(default_factory=list)
    broken: bool = False

    async def add(self, session: Any, payload: EventPayload, *, tenant_id: uuid.UUID | None,
                  exchange: str = "domain.events", routing_key: str = "",
                  also_to: Sequence[tuple[str, str]] = ()) -> Any:
        if self.broken:
            raise ConnectionError("database gone")
        self.events.append(payload)
        return None

    def of(self, event_type: str) -> list[Any]:
        return [e for e in self.events if e.event_type == event_type]

    def actions(self) -> list[str]:
        return [e.action for e in self.of("UserActivityRecorded")]  # type: ignore[attr-defined]


@dataclass
class FakeEngine:
    name: str = "fake"
    started: list[StreamSource] = field(default_factory=list)
    stopped: list[uuid.UUID] = field(default_factory=list)
    recording: dict[uuid.UUID, bool] = field(default_factory=dict)
    running: dict[uuid.UUID, StreamStatus] = field(default_factory=dict)
    fail_start: bool = False
    on_status: StatusSink | None = None
    on_segment: SegmentSink | None = None

    def listen(self, *, on_status: StatusSink | None = None,
               on_segment: SegmentSink | None = None) -> None:
        self.on_status = on_status or self.on_status
        self.on_segment = on_segment or self.on_segment

    async def start(self, source: StreamSource) -> StreamStatus:
        if self.fail_start:
            raise RuntimeError(f"cannot pull {source.url}")
        self.started.append(source)
        status = StreamStatus(camera_id=source.camera_id, tenant_id=source.tenant_id,
                              state=StreamState.STARTING, engine=self.name,
                              started_at=datetime.now(UTC), recording=source.record)
        self.running[source.camera_id] = status
        return status

    async def stop(self, camera_id: uuid.UUID) -> None:
        self.stopped.append(camera_id)
        self.running.pop(camera_id, None)

    async def set_recording(self, camera_id: uuid.UUID, enabled: bool) -> None:
        self.recording[camera_id] = enabled
        status = self.running[camera_id]
        self.running[camera_id] = StreamStatus(**{**status.__dict__, "recording": enabled})

    async def status(self, camera_id: uuid.UUID) -> StreamStatus | None:
        return self.running.get(camera_id)

    def urls(self, camera_id: uuid.UUID) -> EngineUrls:
        return EngineUrls(hls=f"https://media.test/{camera_id}/index.m3u8",
                          webrtc=f"https://media.test/{camera_id}/whep")

    async def cut_clip(self, camera_id: uuid.UUID, start: Any, end: Any, output: Any) -> None:
        return None

    async def close(self) -> None:
        self.running.clear()


@dataclass
class FakeCache:
    statuses: dict[uuid.UUID, StreamStatus] = field(default_factory=dict)

    async def put(self, status: StreamStatus) -> None:
        self.statuses[status.camera_id] = status

    async def get(self, camera_id: uuid.UUID) -> StreamStatus | None:
        return self.statuses.get(camera_id)

    async def remove(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        self.statuses.pop(camera_id, None)

    async def for_tenant(self, tenant_id: uuid.UUID) -> list[StreamStatus]:
        return [s for s in self.statuses.values() if s.tenant_id == tenant_id]


@dataclass
class FakeCameras:
    cameras: dict[uuid.UUID, CameraRecord] = field(default_factory=dict)

    def add(self, camera: CameraRecord) -> CameraRecord:
        self.cameras[camera.id] = camera
        return camera

    async def get(self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *,
                  include_decommissioned: bool = False) -> CameraRecord:
        camera = self.cameras.get(camera_id)
        if (camera is None or (tenant_id is not None and camera.tenant_id != tenant_id)
                or (camera.decommissioned and not include_decommissioned)):
            raise CameraNotFound("camera not found")
        return camera

    async def streamable(self, camera_id: uuid.UUID,
                         tenant_id: uuid.UUID | None) -> CameraRecord:
        camera = await self.get(camera_id, tenant_id)
        if camera.status in ("inactive", "disabled"):
            raise CameraUnavailable(f"camera is {camera.status}")
        return camera

    async def all_streamable(self) -> list[CameraRecord]:
        return sorted((c for c in self.cameras.values()
                       if not c.decommissioned and c.status not in ("inactive", "disabled")),
                      key=lambda c: c.id)


class FakeSigner:
    def issue(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *, user_id: uuid.UUID,
              session_version: int = 0, session_id: str | None = None) -> str:
        return f"media-{user_id.hex[:6]}-{session_version}"


@dataclass
class FakeTelemetry:
    running: int = 0
    restarts: int = 0
    failures: int = 0
    unrecorded: list[str] = field(default_factory=list)

    def streams_running(self, count: int, *, engine: str) -> None:
        self.running = count

    def stream_bitrate_kbps(self, camera_id: uuid.UUID, kbps: float | None) -> None:
        return None

    def stream_restarted(self, reason: str) -> None:
        self.restarts += 1

    def stream_failed(self, reason: str) -> None:
        self.failures += 1

    def segment_recorded(self) -> None:
        return None

    def segment_failed(self) -> None:
        return None

    def event_not_recorded(self, event_type: str) -> None:
        self.unrecorded.append(event_type)


@dataclass
class FakeViewWindow:
    seen: set[str] = field(default_factory=set)

    async def first_in(self, key: str, seconds: float) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    async def forget(self, key: str) -> None:
        self.seen.discard(key)


@dataclass
class FakeLease:
    granted: bool = True
    released: int = 0

    async def acquire(self) -> bool:
        return self.granted

    async def release(self) -> None:
        self.released += 1


@dataclass
class MemoryOwnership:
    """The stream-ownership port in memory, shared by the "replicas" of a test: each
    holder's view of one table of camera -> holder. ``expire`` plays a dead holder's
    lease running out. A replica answers commands while it serves them; one that does
    not (never served, or stopped) leaves its askers without an answer."""

    table: dict[uuid.UUID, str] = field(default_factory=dict)
    holder: str = "replica-a"
    stop_requests: set[uuid.UUID] = field(default_factory=set)
    handlers: dict[str, OwnerCommandHandler] = field(default_factory=dict)

    def replica(self, holder: str) -> MemoryOwnership:
        return MemoryOwnership(table=self.table, holder=holder,
                               stop_requests=self.stop_requests, handlers=self.handlers)

    async def ask_owner(self, command: OwnerCommand, timeout_seconds: float) -> OwnerReply | None:
        owner = self.table.get(command.camera_id)
        if owner is None or owner == self.holder:
            return OwnerReply.NOT_RUNNING
        handle = self.handlers.get(owner)
        return await handle(command) if handle is not None else None

    async def serve_owner_commands(self, handle: OwnerCommandHandler,
                                   stop: asyncio.Event) -> None:
        self.handlers[self.holder] = handle
        try:
            await stop.wait()
        finally:
            del self.handlers[self.holder]

    def expire(self, holder: str) -> None:
        for camera_id in [c for c, h in self.table.items() if h == holder]:
            del self.table[camera_id]

    async def claim(self, camera_id: uuid.UUID) -> bool:
        return self.table.setdefault(camera_id, self.holder) == self.holder

    async def renew(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return {c for c in camera_ids if await self.claim(c)}

    async def release(self, camera_id: uuid.UUID) -> None:
        if self.table.get(camera_id) == self.holder:
            del self.table[camera_id]

    async def is_held(self, camera_id: uuid.UUID) -> bool:
        return camera_id in self.table

    async def request_stop(self, camera_id: uuid.UUID) -> None:
        self.stop_requests.add(camera_id)

    async def take_stop_requests(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked = self.stop_requests & set(camera_ids)
        self.stop_requests -= asked
        return asked


class MemoryLiveFeed:
    """The live-feed port in memory: per-tenant lists of events with Redis-like ids; a
    blocking read waits on a condition; ``reads`` counts the blocking reads started."""

    def __init__(self) -> None:
        self.events: dict[uuid.UUID, list[LiveEvent]] = {}
        self.blocking_reads = 0
        self.fail_next = 0
        self._changed = asyncio.Condition()
        self._seq = 0

    async def append(self, tenant_id: uuid.UUID, data: dict[str, Any]) -> str:
        self._seq += 1
        event_id = f"{1000 + self._seq}-0"
        self.events.setdefault(tenant_id, []).append(LiveEvent(event_id, data))
        async with self._changed:
            self._changed.notify_all()
        return event_id

    def _after(self, tenant_id: uuid.UUID, after: str, count: int) -> list[LiveEvent]:
        def key(event_id: str) -> tuple[int, int]:
            ms, _, seq = event_id.partition("-")
            return int(ms), int(seq or 0)
        return [e for e in self.events.get(tenant_id, []) if key(e.id) > key(after)][:count]

    async def read(self, tenant_id: uuid.UUID, after: str, *, block_ms: int | None,
                   count: int = 100) -> list[LiveEvent]:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("feed unavailable")
        found = self._after(tenant_id, after, count)
        if found or block_ms is None:
            return found
        self.blocking_reads += 1
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: bool(self._after(tenant_id, after, 1))),
                    block_ms / 1000)
        return self._after(tenant_id, after, count)

    async def last_id(self, tenant_id: uuid.UUID) -> str:
        events = self.events.get(tenant_id)
        return events[-1].id if events else "0-0"

    async def replay_from(self, after: str) -> str:
        return after
