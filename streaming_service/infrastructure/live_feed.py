"""Live feed over Redis Streams: one stream per tenant, ``<prefix>live:<tenant_id>``.

Every API replica reads the same stream, so a WebSocket client gets the tenant's events
whichever replica it is connected to, and a client that reconnects with the id of the
last event it saw reads what it missed (``XREAD`` after that id). The stream is capped
(``MAXLEN ~``) so it holds the recent past only.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from streaming_service.domain.ai_ports import LiveEvent

DEFAULT_MAXLEN = 10_000


class RedisLiveFeed:
    def __init__(self, client: Any, *, prefix: str = "gtv:", maxlen: int = DEFAULT_MAXLEN) -> None:
        self._redis = client
        self._prefix = prefix
        self._maxlen = maxlen

    def key(self, tenant_id: uuid.UUID) -> str:
        return f"{self._prefix}live:{tenant_id}"

    async def append(self, tenant_id: uuid.UUID, data: dict[str, Any]) -> str:
        raw = await self._redis.xadd(
            self.key(tenant_id),
            {"e": json.dumps(data, separators=(",", ":"))},
            maxlen=self._maxlen,
            approximate=True,
        )
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def read(
        self, tenant_id: uuid.UUID, after: str, *, block_ms: int, count: int = 100
    ) -> list[LiveEvent]:
        result = await self._redis.xread(
            {self.key(tenant_id): after}, count=count, block=block_ms
        )
        events: list[LiveEvent] = []
        for _stream, entries in result or []:
            for entry_id, fields in entries:
                event_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                raw = fields.get(b"e", fields.get("e"))
                if raw is None:
                    continue
                events.append(LiveEvent(id=event_id, data=json.loads(raw)))
        return events

    async def last_id(self, tenant_id: uuid.UUID) -> str:
        entries = await self._redis.xrevrange(self.key(tenant_id), count=1)
        if not entries:
            return "0-0"
        entry_id = entries[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
