"""Stream ownership in Redis (``domain.ports.StreamOwnership``): one key per camera,
``<prefix>stream-owner:<camera_id>`` = the holder id of the API process whose engine runs
the stream, with a short TTL its holder renews (``SET NX PX`` to take it, a compare-and-
extend script to renew it). A replica that is killed stops renewing; once the key has
expired, the recording keeper of a surviving replica takes the camera over. A stop that
reaches another replica is left for the owner as ``<prefix>stream-stop:<camera_id>``
(expiring with the lease), which the owner takes at its next renewal.

Commands (``ask_owner``): a stop or a recording switch that reaches a process whose
engine does not run the camera is pushed onto the owner's inbox,
``<prefix>stream-commands:<holder>`` (a list every API process pops with ``BLPOP``); the
owner does it and pushes its answer onto the one-off reply list the command names, which
the asker waits on. So a stop through any worker of a replica, or any replica, has ended
the owner's ffmpeg and freed the camera before it answers, and a start right after it
starts the camera again. A command carries its deadline; one its asker no longer waits
for is dropped (the workers of one host share a clock; across hosts the clocks need to
agree to a second or so)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from typing import Any

from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.domain.ports import (
    OwnerAction,
    OwnerCommand,
    OwnerCommandHandler,
    OwnerReply,
)
from streaming_service.infrastructure.redis_lease import RELEASE_SCRIPT, holder_id

log = logging.getLogger(__name__)

# How long one BLPOP blocks: under the Redis client's socket timeout, and short enough
# for the inbox loop to notice its stop event.
_POLL_SECONDS = 1.0
# An answer nobody collected (its asker gave up) is gone after this long.
_REPLY_TTL_MS = 60_000
# Below this, an ask stops waiting (BLPOP's timeout has millisecond resolution).
_MIN_WAIT_SECONDS = 0.005
# Asks of one process waiting at once (each holds a connection of the Redis pool).
MAX_WAITING_ASKS = 8

# Extend only while we still hold it; take it again when it expired and nobody took it.
_RENEW = """
local current = redis.call('get', KEYS[1])
if current == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if not current then
  return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0
end
return 0
"""


class RedisStreamOwnership:
    def __init__(self, client: Any, prefix: str = "gtv:", *, ttl_seconds: float = 15.0,
                 holder: str | None = None) -> None:
        self._redis = client
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self.holder = holder or holder_id()
        self._asking = asyncio.Semaphore(MAX_WAITING_ASKS)

    def _key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}stream-owner:{camera_id}"

    async def claim(self, camera_id: uuid.UUID) -> bool:
        key = self._key(camera_id)
        if await self._redis.set(key, self.holder, nx=True, px=self._ttl_ms):
            return True
        return bool(await self._redis.eval(_RENEW, 1, key, self.holder, self._ttl_ms))

    async def renew(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        held = set()
        for camera_id in camera_ids:
            if await self._redis.eval(_RENEW, 1, self._key(camera_id), self.holder,
                                      self._ttl_ms):
                held.add(camera_id)
        return held

    async def release(self, camera_id: uuid.UUID) -> None:
        await self._redis.eval(RELEASE_SCRIPT, 1, self._key(camera_id), self.holder)

    async def is_held(self, camera_id: uuid.UUID) -> bool:
        return bool(await self._redis.exists(self._key(camera_id)))

    def _stop_key(self, camera_id: uuid.UUID) -> str:
        return f"{self._prefix}stream-stop:{camera_id}"

    async def request_stop(self, camera_id: uuid.UUID) -> None:
        await self._redis.set(self._stop_key(camera_id), "1", px=self._ttl_ms)

    async def take_stop_requests(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked = set()
        for camera_id in camera_ids:
            if await self._redis.getdel(self._stop_key(camera_id)) is not None:
                asked.add(camera_id)
        return asked

    def _inbox(self, holder: str) -> str:
        return f"{self._prefix}stream-commands:{holder}"

    @property
    def _reply_prefix(self) -> str:
        return f"{self._prefix}stream-reply:"

    async def ask_owner(self, command: OwnerCommand, timeout_seconds: float) -> OwnerReply | None:
        deadline = time.time() + timeout_seconds
        try:
            # Each waiting ask holds a pooled connection: a bounded number of them, so an
            # owner that does not answer cannot starve this process's other Redis work.
            async with asyncio.timeout(timeout_seconds):
                await self._asking.acquire()
        except TimeoutError:
            return None
        try:
            return await self._ask(command, deadline)
        finally:
            self._asking.release()

    async def _ask(self, command: OwnerCommand, deadline: float) -> OwnerReply | None:
        owner = await self._redis.get(self._key(command.camera_id))
        if owner is None:
            return OwnerReply.NOT_RUNNING
        owner = _text(owner)
        if owner == self.holder:
            return OwnerReply.NOT_RUNNING  # ours, yet our engine does not run it
        reply_to = f"{self._reply_prefix}{uuid.uuid4().hex}"
        message = json.dumps({"camera_id": str(command.camera_id),
                              "action": command.action.value, "reply_to": reply_to,
                              "deadline": deadline})
        inbox = self._inbox(owner)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(inbox, message)
            pipe.pexpire(inbox, max(self._ttl_ms, int((deadline - time.time()) * 1000)))
            await pipe.execute()
        while (left := deadline - time.time()) > _MIN_WAIT_SECONDS:
            # Whole milliseconds, never 0 (BLPOP's "wait for ever").
            wait = round(min(_POLL_SECONDS, left), 3)
            answer = await self._redis.blpop([reply_to], timeout=wait)
            if answer is not None:
                with contextlib.suppress(ValueError):
                    return OwnerReply(_text(answer[1]))
                return OwnerReply.FAILED
        return None

    async def serve_owner_commands(self, handle: OwnerCommandHandler,
                                   stop: asyncio.Event) -> None:
        """Pop this process's inbox until ``stop``; each command runs as its own task (a
        stop waits for ffmpeg to exit, which must not hold up a recording switch)."""
        inbox = self._inbox(self.holder)
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            try:
                popped = await self._redis.blpop([inbox], timeout=_POLL_SECONDS)
            except Exception as exc:
                log.warning("reading the stream command inbox failed",
                            extra={"error_type": type(exc).__name__})
                await sleep_until_stopped(stop, _POLL_SECONDS)
                continue
            if popped is None:
                continue
            parsed = _parse(popped[1], self._reply_prefix)
            if parsed is None:
                log.warning("dropped a malformed stream command")
                continue
            command, reply_to, deadline = parsed
            if time.time() > deadline:
                log.info("dropped a stream command its sender no longer waits for",
                         extra={"camera_id": str(command.camera_id),
                                "action": command.action.value})
                continue
            task = asyncio.create_task(self._answer(handle, command, reply_to),
                                       name=f"stream-command-{command.camera_id}")
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    async def _answer(self, handle: OwnerCommandHandler, command: OwnerCommand,
                      reply_to: str) -> None:
        try:
            reply = await handle(command)
        except Exception as exc:
            log.warning("a stream command failed", extra={
                "camera_id": str(command.camera_id), "action": command.action.value,
                "error_type": type(exc).__name__})
            reply = OwnerReply.FAILED
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(reply_to, reply.value)
                pipe.pexpire(reply_to, _REPLY_TTL_MS)
                await pipe.execute()
        except Exception as exc:
            log.warning("could not answer a stream command",
                        extra={"camera_id": str(command.camera_id),
                               "error_type": type(exc).__name__})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse(message: Any, reply_prefix: str) -> tuple[OwnerCommand, str, float] | None:
    """A command from the inbox, its reply list and its deadline; None when malformed in
    any way (the loop must outlive whatever lands in the list), or when it would have us
    write anywhere but a reply list."""
    try:
        fields = json.loads(message)
        camera_id, action = fields["camera_id"], fields["action"]
        reply_to, deadline = fields["reply_to"], fields["deadline"]
        if not (isinstance(camera_id, str) and isinstance(action, str)
                and isinstance(reply_to, str) and isinstance(deadline, int | float)):
            return None
        command = OwnerCommand(camera_id=uuid.UUID(camera_id), action=OwnerAction(action))
        deadline = float(deadline)  # an integer of 400 digits overflows here
    # UnicodeDecodeError is a ValueError.
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    if not reply_to.startswith(reply_prefix) or not math.isfinite(deadline):
        return None
    return command, reply_to, deadline
