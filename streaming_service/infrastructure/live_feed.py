"""Live feed over Redis Streams: one stream per tenant, ``<prefix>live:<tenant_id>``.

Every API replica reads the same stream, so a WebSocket client gets the tenant's events
whichever replica it is connected to, and a client that reconnects with the id of the
last event it saw reads what it missed (``XREAD`` after that id). The stream is capped
(``MAXLEN ~``), trimmed by age on each append (``MINID``, ``replay_seconds``) and expires
as a whole once no event came for that long; a catch-up starts no further back than
``replay_seconds`` (``replay_from``, on Redis's clock, which stamps the ids), whatever id
a client hands back. The feed is for catching up after a reconnect, not a second,
unaudited plate history (searches are audited), and a plate erased under the LGPD
leaves it within that window.

Events are appended by the outbox relay's live lane once their transaction committed (see
``infrastructure.outbox``). ``append`` is idempotent by event id: a Lua script checks and
sets ``<prefix>live:seen:<event_id>`` (holding the entry's id, kept ``dedupe_seconds``)
and ``XADD``s in one step, so an event a relay appends again after dying before its commit
shows once.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared_kernel.events import EventEnvelope
from streaming_service.domain.ai.ports import LiveEvent

DEFAULT_MAXLEN = 10_000
DEFAULT_DEDUPE_SECONDS = 3600
DEFAULT_REPLAY_SECONDS = 900

# KEYS: stream, seen-marker; ARGV: event JSON, maxlen, marker TTL (s), replay window (ms).
# Returns the entry id.
_APPEND_ONCE = """
local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
local now_ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', now_ms - tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], id, 'EX', ARGV[3])
return id
"""


def _stream_ms(stream_id: str) -> int | None:
    """The milliseconds part of a stream id (``"1700000000000-3"``); None for ``$``."""
    head = stream_id.partition("-")[0]
    return int(head) if head.isdigit() else None


class RedisLiveFeed:
    def __init__(self, client: Any, *, prefix: str = "gtv:", maxlen: int = DEFAULT_MAXLEN,
                 dedupe_seconds: int = DEFAULT_DEDUPE_SECONDS,
                 replay_seconds: int = DEFAULT_REPLAY_SECONDS) -> None:
        self._redis = client
        self._prefix = prefix
        self._maxlen = maxlen
        self._dedupe_seconds = dedupe_seconds
        self._replay_ms = replay_seconds * 1000
        self._append_once = client.register_script(_APPEND_ONCE)

    def key(self, tenant_id: uuid.UUID) -> str:
        return f"{self._prefix}live:{tenant_id}"

    def seen_key(self, event_id: uuid.UUID) -> str:
        return f"{self._prefix}live:seen:{event_id}"

    async def append(self, envelope: EventEnvelope) -> str:
        if envelope.tenant_id is None:
            raise ValueError("a live-feed event needs a tenant")
        data = json.dumps(envelope.model_dump(mode="json"), separators=(",", ":"))
        raw = await self._append_once(
            keys=[self.key(envelope.tenant_id), self.seen_key(envelope.event_id)],
            args=[data, self._maxlen, self._dedupe_seconds, self._replay_ms],
        )
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def read(
        self, tenant_id: uuid.UUID, after: str, *, block_ms: int | None, count: int = 100
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

    async def replay_from(self, after: str) -> str:
        """``after``, or the start of the replay window when it lies before it."""
        after_ms = _stream_ms(after)
        if after_ms is None:
            return after
        seconds, microseconds = await self._redis.time()
        oldest_ms = int(seconds) * 1000 + int(microseconds) // 1000 - self._replay_ms
        return f"{oldest_ms}-0" if after_ms < oldest_ms else after

    async def last_id(self, tenant_id: uuid.UUID) -> str:
        entries = await self._redis.xrevrange(self.key(tenant_id), count=1)
        if not entries:
            return "0-0"
        entry_id = entries[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
