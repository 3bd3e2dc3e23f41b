"""Live stream status cached in Redis: ``<prefix>stream:<camera_id>`` (a JSON document)
and ``<prefix>streams:tenant:<tenant_id>`` (the set of the tenant's cameras with a
stream), so any replica answers ``GET /streams/`` without asking the engine.

A failure is stored as its code only (``error_code``); the message clients see is the
code's fixed text. Documents written before codes existed had the engine's raw text in
``error``: it is never read back."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from streaming_service.domain.stream import StreamFailure, StreamState, StreamStatus

# A status no engine has refreshed for this long is stale (its replica died).
STATUS_TTL_SECONDS = 24 * 3600
# Cameras whose last status is kept decoded (see ``RedisStreamStatusCache._decode``):
# one entry a camera with a stream, about 1 KB each.
DECODED_MAX = 16384


def status_to_dict(status: StreamStatus) -> dict[str, Any]:
    return {
        "camera_id": str(status.camera_id),
        "tenant_id": str(status.tenant_id),
        "state": status.state.value,
        "engine": status.engine,
        "started_at": status.started_at.isoformat() if status.started_at else None,
        "last_frame_at": status.last_frame_at.isoformat() if status.last_frame_at else None,
        "bitrate_kbps": status.bitrate_kbps,
        "restarts": status.restarts,
        "recording": status.recording,
        "error_code": status.error.value if status.error else None,
    }


def status_from_dict(raw: dict[str, Any]) -> StreamStatus:
    def when(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    def failure(value: Any) -> StreamFailure | None:
        if not value:
            return None
        try:
            return StreamFailure(value)
        except ValueError:
            return StreamFailure.STREAM_ERROR

    return StreamStatus(
        camera_id=uuid.UUID(raw["camera_id"]),
        tenant_id=uuid.UUID(raw["tenant_id"]),
        state=StreamState(raw["state"]),
        engine=raw.get("engine", ""),
        started_at=when(raw.get("started_at")),
        last_frame_at=when(raw.get("last_frame_at")),
        bitrate_kbps=raw.get("bitrate_kbps"),
        restarts=int(raw.get("restarts", 0)),
        recording=bool(raw.get("recording", False)),
        error=failure(raw.get("error_code")),
    )


class RedisStreamStatusCache:
    """Each stream's status under ``<prefix>stream:<camera>``, and each tenant's cameras
    with a status in the set ``<prefix>streams:tenant:<tenant>``. A tenant's statuses are
    read through ``reads`` when given (a ``TrackedReads`` over :meth:`tracked_prefixes`)."""

    def __init__(self, client: Any, prefix: str = "gtv:", reads: Any | None = None) -> None:
        self._redis = client
        self._prefix = prefix
        self._reads = reads if reads is not None else client
        self._decoded: dict[str, tuple[bytes | str, StreamStatus]] = {}

    @staticmethod
    def tracked_prefixes(prefix: str) -> list[str]:
        return [f"{prefix}stream:", f"{prefix}streams:tenant:"]

    def _key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}stream:{camera_id}"

    def _tenant_key(self, tenant_id: uuid.UUID) -> str:
        return f"{self._prefix}streams:tenant:{tenant_id}"

    async def put(self, status: StreamStatus) -> None:
        if status.state is StreamState.STOPPED:
            await self.remove(status.camera_id, status.tenant_id)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(status.camera_id), json.dumps(status_to_dict(status)),
                     ex=STATUS_TTL_SECONDS)
            pipe.sadd(self._tenant_key(status.tenant_id), str(status.camera_id))
            await pipe.execute()

    async def get(self, camera_id: uuid.UUID) -> StreamStatus | None:
        raw = await self._redis.get(self._key(camera_id))
        return status_from_dict(json.loads(raw)) if raw else None

    async def remove(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(camera_id))
            pipe.srem(self._tenant_key(tenant_id), str(camera_id))
            await pipe.execute()

    async def for_tenant(self, tenant_id: uuid.UUID) -> list[StreamStatus]:
        members = await self._reads.smembers(self._tenant_key(tenant_id))
        ids = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        if not ids:
            return []
        values = await self._reads.mget([f"{self._prefix}stream:{i}" for i in ids])
        found: list[StreamStatus] = []
        stale: list[str] = []
        for camera_id, raw in zip(ids, values, strict=True):
            if raw:
                found.append(self._decode(camera_id, raw))
            else:
                stale.append(camera_id)
        if stale:
            await self._redis.srem(self._tenant_key(tenant_id), *stale)
        return found

    def _decode(self, camera_id: str, raw: bytes | str) -> StreamStatus:
        """The status a camera's document holds, decoded once: dashboards poll a tenant's
        statuses far more often than the engines rewrite them, and the documents come back
        from the tracked reads unchanged. A status is immutable, so one object serves
        every read until the document changes; the memo keeps a camera's last document
        only, and is emptied when it holds ``DECODED_MAX`` cameras."""
        kept = self._decoded.get(camera_id)
        if kept is not None and kept[0] == raw:
            return kept[1]
        if kept is None and len(self._decoded) >= DECODED_MAX:
            self._decoded.clear()
        status = status_from_dict(json.loads(raw))
        self._decoded[camera_id] = (raw, status)
        return status

    async def count_active(self, tenant_ids: list[uuid.UUID]) -> int:
        total = 0
        for tenant_id in tenant_ids:
            total += int(await self._redis.scard(self._tenant_key(tenant_id)))
        return total
