"""Stream ownership in the real Redis: one holder per camera, renewed by it, free again
when its holder stops renewing, stop requests taken once by the owner, and commands
handed to the owner and answered through Redis lists."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from streaming_service.domain.ports import OwnerAction, OwnerCommand, OwnerReply
from streaming_service.infrastructure.stream_ownership import RedisStreamOwnership


async def test_one_owner_per_camera_until_its_lease_runs_out(redis_client: Any) -> None:
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    a = RedisStreamOwnership(redis_client, prefix, ttl_seconds=1.0, holder="a")
    b = RedisStreamOwnership(redis_client, prefix, ttl_seconds=1.0, holder="b")
    camera = uuid.uuid4()
    assert await a.claim(camera)
    assert await a.claim(camera), "claiming again extends our own lease"
    assert not await b.claim(camera)
    assert await b.is_held(camera)
    assert await a.renew([camera]) == {camera}
    assert await b.renew([camera]) == set(), "b cannot renew what a holds"
    await asyncio.sleep(1.3)  # a died: it renewed no more
    assert not await a.is_held(camera)
    assert await b.claim(camera)
    assert await a.renew([camera]) == set(), "taken over: a learns it lost the camera"
    await b.release(camera)
    assert not await b.is_held(camera)
    assert await a.renew([camera]) == {camera}, "free again: renewing takes it back"


async def test_a_stop_request_is_taken_once(redis_client: Any) -> None:
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    owner = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="a")
    other = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="b")
    asked, quiet = uuid.uuid4(), uuid.uuid4()
    await other.request_stop(asked)
    assert await owner.take_stop_requests([asked, quiet]) == {asked}
    assert await owner.take_stop_requests([asked, quiet]) == set()


async def test_a_command_is_done_by_the_owner_and_answered(redis_client: Any) -> None:
    prefix = f"gtv-test-{uuid.uuid4().hex[:8]}:"
    owner = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="a")
    other = RedisStreamOwnership(redis_client, prefix, ttl_seconds=5.0, holder="b")
    camera, free = uuid.uuid4(), uuid.uuid4()
    assert await owner.claim(camera)
    done: list[OwnerCommand] = []

    async def handle(command: OwnerCommand) -> OwnerReply:
        done.append(command)
        if command.action is OwnerAction.RECORDING_OFF:
            raise RuntimeError("the engine broke")
        return OwnerReply.DONE

    # Nobody serves a's inbox yet: the asker gets no answer once its time is up, and the
    # command it left is dropped unanswered when a starts serving (its asker is gone).
    assert await other.ask_owner(OwnerCommand(camera, OwnerAction.STOP), 1.0) is None
    stop = asyncio.Event()
    serving = asyncio.create_task(owner.serve_owner_commands(handle, stop))
    try:
        # Junk in the inbox (or a reply list that is not one) is dropped, not obeyed, and
        # the loop goes on.
        inbox = f"{prefix}stream-commands:a"
        live = time.time() + 30
        reply_to = f"{prefix}stream-reply:junk"
        await redis_client.rpush(
            inbox, "not json", b"\xff\xfe not utf-8",
            json.dumps({"camera_id": str(camera), "action": "stop",
                        "reply_to": "gtv:stream-owner:x", "deadline": live}),
            json.dumps({"camera_id": 5, "action": "stop", "reply_to": reply_to,
                        "deadline": live}),
            json.dumps({"camera_id": [str(camera)], "action": "stop", "reply_to": reply_to,
                        "deadline": live}),
            json.dumps({"camera_id": str(camera), "action": "stop", "reply_to": reply_to,
                        "deadline": float("nan")}),
            json.dumps({"camera_id": str(camera), "action": "stop", "reply_to": reply_to,
                        "deadline": 10 ** 400}),
            json.dumps({"camera_id": str(camera), "action": "explode", "reply_to": reply_to,
                        "deadline": live}))
        command = OwnerCommand(camera, OwnerAction.RECORDING_ON)
        assert await other.ask_owner(command, 5.0) is OwnerReply.DONE
        assert done == [command], "only the live command was handed to the owner"
        assert await other.ask_owner(OwnerCommand(camera, OwnerAction.RECORDING_OFF),
                                     5.0) is OwnerReply.FAILED
        # No other process holds it: nothing to ask.
        assert await other.ask_owner(OwnerCommand(free, OwnerAction.STOP),
                                     5.0) is OwnerReply.NOT_RUNNING
        assert await owner.ask_owner(OwnerCommand(camera, OwnerAction.STOP),
                                     5.0) is OwnerReply.NOT_RUNNING
        assert len(done) == 2
        assert not await redis_client.exists("gtv:stream-owner:x", reply_to)
    finally:
        stop.set()
        await asyncio.wait_for(serving, timeout=5)
