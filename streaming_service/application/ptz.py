"""Steering a camera (issue 12): continuous, relative and absolute moves, presets and
home, for operators and above, one user at a time per camera.

Every command:

1. finds the camera in the caller's tenant (another tenant's answers 404) with an ONVIF
   PTZ endpoint (else 409 ``ptz_not_available``);
2. counts against the caller's rate limit (429 ``ptz_rate_limited``);
3. takes or refreshes the camera's control lock (409 ``ptz_locked`` naming the holder;
   the lock expires after ``lock_ttl`` seconds without a command, and a user of a higher
   role may take it over);
4. is written to the audit trail (actor, camera, command, preset) *before* it is sent:
   a command that cannot be audited is not sent (503);
5. goes to the camera through the ``PtzDevices`` port.

A continuous move has a deadline (at most ``max_move_seconds``): the camera is told
(ONVIF ``Timeout``) and this process sends ``Stop`` at the deadline as well, for cameras
that ignore the timeout, so a client that vanishes mid-move never leaves a camera
spinning. A new move or a stop replaces the pending stop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.auth import Role, TokenClaims
from shared_kernel.crypto import CredentialCipher
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.errors import (
    CameraNotFound,
    InvalidPtzCommand,
    PtzLocked,
    PtzNotAvailable,
    PtzRateLimited,
)
from streaming_service.domain.ptz import (
    LockHolder,
    OnvifEndpoint,
    PtzDevices,
    PtzLocks,
    PtzPosition,
    PtzPreset,
    PtzTarget,
    PtzVector,
    RateLimiter,
    check_speed,
)
from streaming_service.infrastructure.db.models import Camera

log = logging.getLogger(__name__)

PRESET_NAME_MAX = 64


def rank_of(claims: TokenClaims) -> int:
    """The caller's highest role as a number (viewer 1 … superadmin 4)."""
    for rank, role in ((4, Role.SUPERADMIN), (3, Role.TENANT_ADMIN), (2, Role.OPERATOR),
                       (1, Role.VIEWER)):
        if claims.has_at_least(role):
            return rank
    return 0


class PtzControl:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cipher: CredentialCipher,
        devices: PtzDevices,
        locks: PtzLocks,
        limiter: RateLimiter,
        audit: AuditTrail,
        lock_ttl: float = 30.0,
        max_move_seconds: float = 5.0,
        rate_limit: int = 30,
        rate_window_seconds: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._devices = devices
        self._locks = locks
        self._limiter = limiter
        self._audit = audit
        self.lock_ttl = lock_ttl
        self.max_move_seconds = max_move_seconds
        self._rate = (rate_limit, rate_window_seconds)
        self._stops: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sleep = sleep  # how the auto-stop waits for its deadline (tests hold it)

    # --- the lock ------------------------------------------------------------------

    async def lock_holder(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> LockHolder | None:
        await self._endpoint(camera_id, tenant_id)
        return await self._locks.holder(camera_id)

    async def take_lock(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, claims: TokenClaims,
                        actor: Actor, *, takeover: bool = False) -> LockHolder:
        await self._endpoint(camera_id, tenant_id)
        await self._limit(actor)
        previous = await self._locks.holder(camera_id)
        holder = await self._lock(camera_id, claims, takeover=takeover)
        taken_over = previous is not None and previous.user_id != claims.user_id
        await self._audit.record(
            actor, "ptz.lock.takeover" if taken_over else "ptz.lock", object_type="camera",
            object_id=camera_id, tenant_id=tenant_id,
            before={"holder": str(previous.user_id), "holder_username": previous.username}
            if taken_over and previous is not None else None)
        return holder

    async def release_lock(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                           claims: TokenClaims) -> bool:
        await self._endpoint(camera_id, tenant_id)
        return await self._locks.release(camera_id, claims.user_id)

    # --- reading -------------------------------------------------------------------

    async def status(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> PtzPosition:
        endpoint = await self._endpoint(camera_id, tenant_id)
        async with self._devices(endpoint) as device:
            return await device.status()

    async def presets(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> list[PtzPreset]:
        endpoint = await self._endpoint(camera_id, tenant_id)
        async with self._devices(endpoint) as device:
            return await device.presets()

    # --- commands ------------------------------------------------------------------

    async def move(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, claims: TokenClaims,
                   actor: Actor, velocity: PtzVector, *, seconds: float | None = None) -> float:
        """Start a continuous move; returns the deadline in seconds (then it stops)."""
        deadline = self.max_move_seconds if seconds is None else seconds
        if not 0 < deadline <= self.max_move_seconds:
            raise InvalidPtzCommand(
                f"a continuous move lasts more than 0 and at most {self.max_move_seconds} s",
                {"field": "timeout_seconds", "max": self.max_move_seconds})
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "move", {
            "pan": velocity.pan, "tilt": velocity.tilt, "zoom": velocity.zoom,
            "timeout_seconds": deadline})
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            if velocity.is_still:
                await device.stop()
                return 0.0
            await device.continuous_move(velocity, timeout=deadline)
        self._stops[camera_id] = asyncio.create_task(
            self._stop_at(camera_id, endpoint, deadline), name=f"ptz-stop-{camera_id}")
        return deadline

    async def stop(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, claims: TokenClaims,
                   actor: Actor) -> None:
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "stop", None)
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            await device.stop()

    async def relative_move(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                            claims: TokenClaims, actor: Actor, delta: PtzVector,
                            speed: float | None = None) -> None:
        check_speed(speed)
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "relative_move", {
            "pan": delta.pan, "tilt": delta.tilt, "zoom": delta.zoom, "speed": speed})
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            await device.relative_move(delta, speed=speed)

    async def absolute_move(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                            claims: TokenClaims, actor: Actor, target: PtzTarget,
                            speed: float | None = None) -> None:
        check_speed(speed)
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "absolute_move", {
            "pan": target.pan, "tilt": target.tilt, "zoom": target.zoom, "speed": speed})
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            await device.absolute_move(target, speed=speed)

    async def home(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, claims: TokenClaims,
                   actor: Actor, speed: float | None = None) -> None:
        check_speed(speed)
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "home",
                                       {"speed": speed})
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            await device.goto_home(speed=speed)

    async def set_preset(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                         claims: TokenClaims, actor: Actor, name: str,
                         token: str | None = None) -> PtzPreset:
        name = name.strip()
        if not name or len(name) > PRESET_NAME_MAX:
            raise InvalidPtzCommand(f"a preset name has 1 to {PRESET_NAME_MAX} characters",
                                    {"field": "name"})
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "preset.set",
                                       {"name": name, "token": token})
        async with self._devices(endpoint) as device:
            created = await device.set_preset(name, token)
        return PtzPreset(token=created, name=name)

    async def goto_preset(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                          claims: TokenClaims, actor: Actor, token: str,
                          speed: float | None = None) -> None:
        check_speed(speed)
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "preset.goto",
                                       {"token": token, "speed": speed})
        self._cancel_stop(camera_id)
        async with self._devices(endpoint) as device:
            await device.goto_preset(token, speed=speed)

    async def remove_preset(self, camera_id: uuid.UUID, tenant_id: uuid.UUID,
                            claims: TokenClaims, actor: Actor, token: str) -> None:
        endpoint = await self._command(camera_id, tenant_id, claims, actor, "preset.remove",
                                       {"token": token})
        async with self._devices(endpoint) as device:
            await device.remove_preset(token)

    async def pending_stop(self, camera_id: uuid.UUID) -> None:
        """Wait for the camera's scheduled auto-stop, if any (tests, shutdown)."""
        task = self._stops.get(camera_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Stop every camera still moving on a deadline of this process, then return."""
        tasks = list(self._stops.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._stops.clear()

    # --- internals -----------------------------------------------------------------

    async def _endpoint(self, camera_id: uuid.UUID, tenant_id: uuid.UUID) -> OnvifEndpoint:
        async with self._sessions() as session:
            row = (await session.execute(
                select(Camera.onvif_encrypted, Camera.ptz, Camera.decommissioned_at)
                .where(Camera.id == camera_id, Camera.tenant_id == tenant_id)
            )).one_or_none()
        if row is None or row.decommissioned_at is not None:
            raise CameraNotFound("camera not found", {"camera_id": str(camera_id)})
        if not row.ptz or not row.onvif_encrypted:
            raise PtzNotAvailable("this camera has no ONVIF PTZ control",
                                  {"camera_id": str(camera_id)})
        try:
            return OnvifEndpoint.from_json(self._cipher.decrypt(row.onvif_encrypted))
        except ValueError:
            log.error("unreadable ONVIF endpoint", extra={"camera_id": str(camera_id)})
            raise PtzNotAvailable("this camera's ONVIF settings cannot be read",
                                  {"camera_id": str(camera_id)}) from None

    async def _limit(self, actor: Actor) -> None:
        limit, window = self._rate
        if not await self._limiter.allow(f"ptz:{actor.user_id}", limit=limit,
                                         window_seconds=window):
            raise PtzRateLimited("too many PTZ commands; slow down",
                                 {"limit": limit, "window_seconds": window})

    async def _lock(self, camera_id: uuid.UUID, claims: TokenClaims, *,
                    takeover: bool = False) -> LockHolder:
        me = LockHolder(user_id=claims.user_id, username=claims.username, rank=rank_of(claims))
        holder = await self._locks.acquire(camera_id, me, ttl=self.lock_ttl, takeover=takeover)
        if holder.user_id != me.user_id:
            raise PtzLocked("another user is steering this camera", {
                "holder": {"user_id": str(holder.user_id), "username": holder.username,
                           "expires_in": round(holder.expires_in, 1)},
                "can_take_over": me.rank > holder.rank})
        return holder

    async def _command(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, claims: TokenClaims,
                       actor: Actor, command: str, arguments: dict[str, Any] | None
                       ) -> OnvifEndpoint:
        endpoint = await self._endpoint(camera_id, tenant_id)
        await self._limit(actor)
        await self._lock(camera_id, claims)
        after = {"command": command, **{k: v for k, v in (arguments or {}).items()
                                        if v is not None}}
        await self._audit.record(actor, f"ptz.{command}", object_type="camera",
                                 object_id=camera_id, tenant_id=tenant_id, after=after)
        return endpoint

    def _cancel_stop(self, camera_id: uuid.UUID) -> None:
        task = self._stops.pop(camera_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _stop_at(self, camera_id: uuid.UUID, endpoint: OnvifEndpoint,
                       deadline: float) -> None:
        try:
            await self._sleep(deadline)
        finally:
            # Runs on cancellation at shutdown too (close()), never when replaced: a
            # replacing command pops the task first, so it is no longer ours to stop.
            if self._stops.get(camera_id) is asyncio.current_task():
                self._stops.pop(camera_id, None)
                try:
                    async with self._devices(endpoint) as device:
                        await device.stop()
                except Exception as exc:
                    log.warning("PTZ auto-stop failed", extra={
                        "camera_id": str(camera_id), "error": repr(exc)[:200]})
