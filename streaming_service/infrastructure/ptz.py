"""Adapters of the PTZ ports (``domain/ptz.py``): the ONVIF camera (through
``shared_kernel.onvif``), the per-camera control lock and the per-user rate limit in
Redis."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.onvif import (
    Capabilities,
    OnvifClient,
    OnvifError,
    OnvifFault,
    OnvifNotAuthorized,
    OnvifUnreachable,
)
from streaming_service.domain.errors import PtzDeviceError, PtzPresetNotFound
from streaming_service.domain.ptz import (
    LockHolder,
    OnvifEndpoint,
    PtzPosition,
    PtzPreset,
    PtzTarget,
    PtzVector,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class OnvifPtzDevices:
    """Opens ONVIF PTZ sessions (the ``PtzDevices`` port). Remembers, per device URL,
    the camera's clock offset (measured when it refuses a token, then the command is
    sent once more), its service addresses, its PTZ profile and whether it wants HTTP
    Digest authentication, so a command is one request to the camera."""

    def __init__(self, policy: CameraNetworkPolicy, *, timeout: float = 3.0) -> None:
        self.policy, self.timeout = policy, timeout
        self._offsets: dict[str, float] = {}
        self._capabilities: dict[str, Capabilities] = {}
        self._profiles: dict[str, str] = {}
        self._http_digest: set[str] = set()

    @asynccontextmanager
    async def __call__(self, endpoint: OnvifEndpoint) -> AsyncIterator[OnvifPtzDevice]:
        client = OnvifClient(endpoint.url, endpoint.username, endpoint.password,
                             timeout=self.timeout, policy=self.policy,
                             clock_offset=self._offsets.get(endpoint.url, 0.0),
                             capabilities=self._capabilities.get(endpoint.url),
                             http_digest=endpoint.http_digest
                             or endpoint.url in self._http_digest)
        async with client:
            yield OnvifPtzDevice(client, endpoint, self)

    def remember(self, url: str, client: OnvifClient, capabilities: Capabilities | None,
                 profile: str | None) -> None:
        self._offsets[url] = client.clock_offset
        if client.http_digest:
            self._http_digest.add(url)
        if capabilities is not None:
            self._capabilities[url] = capabilities
        if profile:
            self._profiles[url] = profile


class OnvifPtzDevice:
    def __init__(self, client: OnvifClient, endpoint: OnvifEndpoint,
                 devices: OnvifPtzDevices) -> None:
        self._client, self._endpoint, self._devices = client, endpoint, devices

    async def _profile(self) -> str:
        if self._endpoint.profile:
            return self._endpoint.profile
        known = self._devices._profiles.get(self._endpoint.url)
        if known:
            return known
        profiles = await self._client.profiles()
        chosen = next((p.token for p in profiles if p.ptz), None)
        if chosen is None:
            raise PtzDeviceError("the camera has no PTZ profile")
        self._devices.remember(self._endpoint.url, self._client, None, chosen)
        return chosen

    async def _run(self, call: Callable[[str], Awaitable[T]]) -> T:
        try:
            try:
                result = await call(await self._profile())
            except OnvifNotAuthorized:
                # Cameras refuse a token whose Created is far from their clock: measure
                # the offset, then try once more.
                await self._client.sync_clock()
                result = await call(await self._profile())
        except OnvifNotAuthorized:
            raise PtzDeviceError("the camera refused the ONVIF credentials") from None
        except OnvifFault as fault:
            if "NoToken" in fault.subcodes:
                raise PtzPresetNotFound("no such preset on this camera") from None
            raise PtzDeviceError("the camera refused the command",
                                 {"fault": list(fault.subcodes)[-1:]}) from None
        except OnvifUnreachable:
            raise PtzDeviceError("the camera did not answer") from None
        except OnvifError as exc:
            raise PtzDeviceError(str(exc)) from None
        capabilities = await self._client.capabilities()
        self._devices.remember(self._endpoint.url, self._client, capabilities, None)
        return result

    async def status(self) -> PtzPosition:
        status = await self._run(self._client.ptz_status)
        return PtzPosition(pan=status.pan, tilt=status.tilt, zoom=status.zoom,
                           moving=status.moving)

    async def continuous_move(self, velocity: PtzVector, *, timeout: float) -> None:
        await self._run(lambda p: self._client.continuous_move(
            p, pan=velocity.pan, tilt=velocity.tilt, zoom=velocity.zoom, timeout=timeout))

    async def stop(self) -> None:
        await self._run(self._client.stop)

    async def relative_move(self, delta: PtzVector, *, speed: float | None) -> None:
        await self._run(lambda p: self._client.relative_move(
            p, pan=delta.pan, tilt=delta.tilt, zoom=delta.zoom, speed=speed))

    async def absolute_move(self, target: PtzTarget, *, speed: float | None) -> None:
        await self._run(lambda p: self._client.absolute_move(
            p, pan=target.pan, tilt=target.tilt, zoom=target.zoom, speed=speed))

    async def presets(self) -> list[PtzPreset]:
        found = await self._run(self._client.presets)
        return [PtzPreset(token=p.token, name=p.name) for p in found]

    async def set_preset(self, name: str, token: str | None) -> str:
        return await self._run(lambda p: self._client.set_preset(p, name, token))

    async def goto_preset(self, token: str, *, speed: float | None) -> None:
        await self._run(lambda p: self._client.goto_preset(p, token, speed))

    async def remove_preset(self, token: str) -> None:
        await self._run(lambda p: self._client.remove_preset(p, token))

    async def goto_home(self, *, speed: float | None) -> None:
        await self._run(lambda p: self._client.goto_home(p, speed))


# Take the lock when it is free, ours, or held by a lower rank and a takeover is asked
# for; return the holder afterwards and its remaining milliseconds.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current then
  local holder = cjson.decode(current)
  if holder['user_id'] ~= ARGV[1]
     and not (ARGV[4] == '1' and tonumber(ARGV[5]) > tonumber(holder['rank'])) then
    return {current, redis.call('PTTL', KEYS[1])}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {ARGV[2], tonumber(ARGV[3])}
"""

_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['user_id'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _holder(raw: bytes | str, ttl_ms: int) -> LockHolder:
    data: dict[str, Any] = json.loads(raw)
    return LockHolder(user_id=uuid.UUID(data["user_id"]), username=str(data["username"]),
                      rank=int(data["rank"]), expires_in=max(0, ttl_ms) / 1000)


class RedisPtzLocks:
    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)

    def _key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}ptz:lock:{camera_id}"

    async def acquire(self, camera_id: uuid.UUID, holder: LockHolder, *, ttl: float,
                      takeover: bool) -> LockHolder:
        value = json.dumps({"user_id": str(holder.user_id), "username": holder.username,
                            "rank": holder.rank})
        raw, ttl_ms = await self._acquire(
            keys=[self._key(camera_id)],
            args=[str(holder.user_id), value, max(1, round(ttl * 1000)),
                  "1" if takeover else "0", holder.rank])
        return _holder(raw, int(ttl_ms))

    async def holder(self, camera_id: uuid.UUID) -> LockHolder | None:
        key = self._key(camera_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            raw, ttl_ms = await pipe.get(key).pttl(key).execute()
        return None if raw is None else _holder(raw, int(ttl_ms))

    async def release(self, camera_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return bool(await self._release(keys=[self._key(camera_id)], args=[str(user_id)]))


class RedisRateLimiter:
    """At most ``limit`` hits per key in a window that opens with the key's first hit
    (so a burst cannot straddle two fixed windows and get twice the limit)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis, self._prefix = redis, prefix

    async def allow(self, key: str, *, limit: int, window_seconds: float) -> bool:
        name = f"{self._prefix}rate:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            _, count = await (pipe.set(name, 0, nx=True, px=max(1, round(window_seconds * 1000)))
                              .incr(name).execute())
        return int(count) <= limit
