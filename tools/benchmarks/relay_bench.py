"""Outbox relay throughput against raw aio-pika publishing with confirms, same broker.

    python tools/benchmarks/relay_bench.py [--events 5000] [--rounds 3]

With a database and a RabbitMQ vhost of its own, it commits ``--events`` events to the
streaming service's outbox (one insert batch), then times the broker lane of the relay
(``OutboxRelay.drain_once``: claim, publish with confirms, mark, commit) publishing all of
them. The floor is aio-pika itself publishing the same envelopes to the same exchange on
one channel with publisher confirms, the best way it can: a sliding window of ``--window``
confirms in flight (the relay's ``max_in_flight``). A queue bound to the exchange receives
everything, so the broker really routes each message; it is purged between runs. Raw and
relay runs alternate; each rate is the best of ``--rounds`` (the median is shown too), and
the CPU time the publishing process spent per event is reported beside it: on a shared,
loaded machine the wall-clock rates swing with the neighbours' load, the CPU cost much
less. Prints a markdown section and writes ``var/bench/relay.md``. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


async def _raw(amqp_url: str, envelopes: list[EventEnvelope],
               window: int) -> tuple[float, float]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(bus.DOMAIN_EVENTS, ensure=False)
        in_flight = asyncio.Semaphore(window)

        async def publish(envelope: EventEnvelope) -> None:
            async with in_flight:
                await exchange.publish(bus.to_message(envelope), routing_key="bench")

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(publish(e) for e in envelopes))
        return time.perf_counter() - started, time.process_time() - cpu


class _Sequential(SqlOutboxStore):
    """The store as a relay that cannot overlap claims sees it (the drain before
    pipelining): claim, publish, commit, one batch after another."""

    overlapping_claims = False


async def _relay(settings: StreamingSettings, envelopes: list[EventEnvelope],
                 batch_size: int, *, pipelined: bool = True) -> tuple[float, float]:
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
        relay = OutboxRelay(store=(SqlOutboxStore if pipelined else _Sequential)(sessions),
                            publisher=AmqpRelayPublisher(settings.amqp_url),
                            settings=RelaySettings(batch_size=batch_size))
        started, cpu = time.perf_counter(), time.process_time()
        published = await relay.drain_once()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await relay.close()
        if published != len(envelopes):
            raise RuntimeError(f"relay published {published} of {len(envelopes)}")
        return elapsed, cpu
    finally:
        await db.dispose()


async def _bench(args: argparse.Namespace, settings: StreamingSettings) -> list[str]:
    await _bind_queue(settings.amqp_url)
    raw: list[tuple[float, float]] = []
    relay: list[tuple[float, float]] = []
    sequential: list[tuple[float, float]] = []
    loads: list[float] = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        envelopes = _envelopes(args.events)
        raw.append(await _raw(settings.amqp_url, envelopes, args.window))
        assert await _purge(settings.amqp_url) >= args.events
        relay.append(await _relay(settings, _envelopes(args.events), args.batch_size))
        assert await _purge(settings.amqp_url) >= args.events
        sequential.append(await _relay(settings, _envelopes(args.events), args.batch_size,
                                       pipelined=False))
        assert await _purge(settings.amqp_url) >= args.events
    loads.append(os.getloadavg()[0])
    n = args.events
    raw_rate, relay_rate = n / min(w for w, _ in raw), n / min(w for w, _ in relay)
    raw_median = n / statistics.median(w for w, _ in raw)
    relay_median = n / statistics.median(w for w, _ in relay)
    raw_cpu = min(c for _, c in raw) / n * 1e6
    relay_cpu = min(c for _, c in relay) / n * 1e6
    seq_rate, seq_median = n / min(w for w, _ in sequential), n / statistics.median(
        w for w, _ in sequential)
    seq_cpu = min(c for _, c in sequential) / n * 1e6
    pairs = ", ".join(f"{r[0] / q[0]:.2f}" for r, q in zip(raw, relay, strict=True))
    return [
        "## Outbox relay throughput (broker lane)",
        "",
        f"- Machine: {machine_line()}; 1-minute load average during the rounds "
        f"{min(loads):.1f} to {max(loads):.1f}",
        f"- {n} events per run, {args.rounds} rounds, raw and relays alternating; relay "
        f"batch {args.batch_size}; raw aio-pika window {args.window} confirms in flight",
        "",
        "| publisher | events/s (best) | events/s (median) | vs raw (best / median) "
        "| CPU µs per event (publishing process, least) |",
        "|---|---|---|---|---|",
        f"| raw aio-pika, publisher confirms | {raw_rate:,.0f} | {raw_median:,.0f} | 1.00 "
        f"| {raw_cpu:.0f} |",
        f"| outbox relay (claim, publish, mark, commit) | {relay_rate:,.0f} | "
        f"{relay_median:,.0f} | {relay_rate / raw_rate:.2f} / {relay_median / raw_median:.2f} "
        f"| {relay_cpu:.0f} |",
        f"| the same relay, sequential drain (no overlapping claims: the admin store's way) "
        f"| {seq_rate:,.0f} | {seq_median:,.0f} | {seq_rate / raw_rate:.2f} / "
        f"{seq_median / raw_median:.2f} | {seq_cpu:.0f} |",
        "",
        f"Relay vs raw per round (each pair back to back): {pairs}.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
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
