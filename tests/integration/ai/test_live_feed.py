"""The live feed on the real Redis: a reconnecting client catches up within the replay
window and no further back, whatever id it hands back, and appends trim what is older
(a plate erased under the LGPD, or simply old, does not stay replayable)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from shared_kernel.events import EventEnvelope
from streaming_service.infrastructure.live_feed import RedisLiveFeed
from streaming_service.settings import StreamingSettings

WINDOW_S = 60


def _envelope(tenant_id: uuid.UUID, plate: str) -> EventEnvelope:
    return EventEnvelope(type="PlateDetected", version=1, occurred_at=datetime.now(UTC),
                         tenant_id=tenant_id, correlation_id="test", producer="test",
                         payload={"plate": plate})


async def test_catch_up_reaches_back_only_as_far_as_the_replay_window(
    redis_client: Any, streaming_settings: StreamingSettings,
) -> None:
    feed = RedisLiveFeed(redis_client, prefix=streaming_settings.redis_prefix,
                         replay_seconds=WINDOW_S)
    tenant_id = uuid.uuid4()
    key = feed.key(tenant_id)
    now_ms = int(time.time() * 1000)
    for age_s, plate in ((3600, "OLD1A11"), (WINDOW_S + 5, "OLD2B22"), (10, "NEW3C33")):
        data = json.dumps(_envelope(tenant_id, plate).model_dump(mode="json"))
        await redis_client.xadd(key, {"e": data}, id=f"{now_ms - age_s * 1000}-0")

    for after in ("0-0", "0", f"{now_ms - 7200 * 1000}-5"):
        start = await feed.replay_from(after)
        events = await feed.read(tenant_id, start, block_ms=None)
        assert [e.data["payload"]["plate"] for e in events] == ["NEW3C33"], after
    recent = f"{now_ms - 20 * 1000}-0"
    assert await feed.replay_from(recent) == recent
    assert await feed.replay_from("$") == "$"

    await feed.append(_envelope(tenant_id, "NOW4D44"))
    plates = [json.loads(fields[b"e"])["payload"]["plate"]
              for _id, fields in await redis_client.xrange(key)]
    assert plates == ["NEW3C33", "NOW4D44"]  # the append trimmed the older ones
    # A tenant with no event for the whole window keeps nothing.
    assert 0 < await redis_client.pttl(key) <= WINDOW_S * 1000
