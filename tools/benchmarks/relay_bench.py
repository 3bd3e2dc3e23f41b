"""Outbox relay throughput against raw aio-pika publishing with confirms, same broker.

    python tools/benchmarks/relay_bench.py [--events 5000] [--rounds 3]

With a database and a RabbitMQ vhost of its own, it commits ``--events`` events to the
streaming service's outbox (one insert batch), then times the broker lane of the relay
(``OutboxRelay.drain_once``: claim, publish with confirms, mark, commit) publishing all of
them. The floor is aio-pika itself publishing the same envelopes to the same exchange on
one channel with publisher confirms, the best way it can: a sliding window of ``--window``
confirms in flight (the relay's ``max_in_flight``). A queue bound to the exchange receives
everything, so the broker really routes each message; it is purged between runs. Each
measurement is the best of ``--rounds``. Prints a markdown section and writes
``var/bench/relay.md``. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from shared_kernel import bus  # noqa: E402
from shared_kernel.events import EventEnvelope, StreamStopped, new_event  # noqa: E402
from shared_kernel.outbox_relay import AmqpRelayPublisher, OutboxRelay, RelaySettings  # noqa: E402
from streaming_service.infrastructure.db.models import OutboxEvent  # noqa: E402
from streaming_service.infrastructure.db.session import (  # noqa: E402
    create_engine,
    create_sessionmaker,
)
from streaming_service.infrastructure.outbox import SqlOutboxStore  # noqa: E402
from streaming_service.settings import StreamingSettings  # noqa: E402
from tools.benchmarks.common import (  # noqa: E402
    machine_line,
    private_database,
    private_vhost,
    publish_report,
)

BENCH_QUEUE = "bench.relay"


def _envelopes(n: int) -> list[EventEnvelope]:
    tenant = uuid.uuid4()
    return [new_event(StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant),
                      producer="streaming_service", tenant_id=tenant) for _ in range(n)]


async def _bind_queue(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await bus.declare_topology(channel)
        queue = await channel.declare_queue(BENCH_QUEUE, durable=True)
        await queue.bind(bus.DOMAIN_EVENTS, routing_key="#")


async def _purge(amqp_url: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(BENCH_QUEUE, durable=True)
        count = queue.declaration_result.message_count
        await queue.purge()
        return int(count or 0)


async def _raw(amqp_url: str, envelopes: list[EventEnvelope], window: int) -> float:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(bus.DOMAIN_EVENTS, ensure=False)
        in_flight = asyncio.Semaphore(window)

        async def publish(envelope: EventEnvelope) -> None:
            async with in_flight:
                await exchange.publish(bus.to_message(envelope), routing_key="bench")

        started = time.perf_counter()
        await asyncio.gather(*(publish(e) for e in envelopes))
        return time.perf_counter() - started


async def _relay(settings: StreamingSettings, envelopes: list[EventEnvelope],
                 batch_size: int) -> float:
    db = create_engine(settings)
    sessions = create_sessionmaker(db)
    try:
        async with sessions() as session, session.begin():
            await session.execute(OutboxEvent.__table__.delete())
            await session.execute(insert(OutboxEvent), [
                {"id": uuid.uuid4(), "event_id": e.event_id, "event_type": e.type,
                 "version": e.version, "tenant_id": e.tenant_id, "exchange": bus.DOMAIN_EVENTS,
                 "routing_key": "bench", "envelope": e.model_dump(mode="json"), "attempts": 0}
                for e in envelopes])
        relay = OutboxRelay(store=SqlOutboxStore(sessions),
                            publisher=AmqpRelayPublisher(settings.amqp_url),
                            settings=RelaySettings(batch_size=batch_size))
        started = time.perf_counter()
        published = await relay.drain_once()
        elapsed = time.perf_counter() - started
        await relay.close()
        if published != len(envelopes):
            raise RuntimeError(f"relay published {published} of {len(envelopes)}")
        return elapsed
    finally:
        await db.dispose()


async def _bench(args: argparse.Namespace, settings: StreamingSettings) -> list[str]:
    await _bind_queue(settings.amqp_url)
    raw: list[float] = []
    relay: list[float] = []
    for _ in range(args.rounds):
        envelopes = _envelopes(args.events)
        raw.append(await _raw(settings.amqp_url, envelopes, args.window))
        assert await _purge(settings.amqp_url) >= args.events
        relay.append(await _relay(settings, _envelopes(args.events), args.batch_size))
        assert await _purge(settings.amqp_url) >= args.events
    raw_rate, relay_rate = args.events / min(raw), args.events / min(relay)
    return [
        "## Outbox relay throughput (broker lane)",
        "",
        f"- Machine: {machine_line()}",
        f"- {args.events} events per run, best of {args.rounds}; relay batch "
        f"{args.batch_size}; raw aio-pika window {args.window} confirms in flight",
        "",
        "| publisher | events/s (best) | events/s (median) | vs raw |",
        "|---|---|---|---|",
        f"| raw aio-pika, publisher confirms | {raw_rate:,.0f} | "
        f"{args.events / statistics.median(raw):,.0f} | 1.00 |",
        f"| outbox relay (claim, publish, mark, commit) | {relay_rate:,.0f} | "
        f"{args.events / statistics.median(relay):,.0f} | {relay_rate / raw_rate:.2f} |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=RelaySettings().batch_size)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "relay.md")
    args = parser.parse_args()
    from streaming_service.migrate import upgrade

    run = uuid.uuid4().hex[:8]
    db_name = f"gtv_bench_relay_{run}"
    with private_database(db_name), private_vhost(f"gtv-bench-relay-{run}") as amqp_url:
        settings = StreamingSettings(streaming_db_name=db_name, amqp_url=amqp_url)
        upgrade(settings.async_migration_database_url)
        rows = asyncio.run(_bench(args, settings))
    publish_report(rows, args.out)


if __name__ == "__main__":
    main()
