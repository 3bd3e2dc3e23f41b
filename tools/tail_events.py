"""``python -m tools.tail_events``: print the domain events flowing through RabbitMQ.

Binds a private, auto-deleted queue to the ``domain.events`` fanout exchange (it takes a
copy of every event and steals nothing from the services' own queues) and prints one JSON
line per event: type, version, tenant, correlation id, producer and payload. Camera URLs on
the bus are already encrypted; nothing here decrypts them.

    python -m tools.tail_events                 # until Ctrl-C
    python -m tools.tail_events --count 5 --timeout 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys

from shared_kernel import bus
from shared_kernel.events import InvalidEvent, parse_event


async def tail(amqp_url: str, count: int | None, timeout: float | None) -> int:
    connection = await bus.connect(amqp_url)
    seen = 0
    try:
        channel = await connection.channel()
        await bus.declare_topology(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(bus.DOMAIN_EVENTS)
        print(json.dumps({"listening": bus.DOMAIN_EVENTS}), flush=True)
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        async with queue.iterator() as messages:
            while count is None or seen < count:
                now = asyncio.get_running_loop().time()
                remaining = None if deadline is None else deadline - now
                if remaining is not None and remaining <= 0:
                    break
                try:
                    message = await asyncio.wait_for(messages.__anext__(), timeout=remaining)
                except TimeoutError:
                    break
                async with message.process():
                    try:
                        event = parse_event(message.body)
                        line = {
                            "type": event.type, "version": event.version,
                            "event_id": str(event.event_id),
                            "tenant_id": str(event.tenant_id) if event.tenant_id else None,
                            "correlation_id": event.correlation_id,
                            "producer": event.producer,
                            "occurred_at": event.occurred_at.isoformat(),
                            "payload": event.payload,
                        }
                    except InvalidEvent as exc:
                        line = {"invalid": str(exc)[:300]}
                print(json.dumps(line, default=str), flush=True)
                seen += 1
    finally:
        await connection.close()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tail_events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url",
                        default=os.environ.get("GTV_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--count", type=int, help="stop after this many events")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail(args.amqp_url, args.count, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
