"""The RabbitMQ adapter against a real broker (a private vhost per test session)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import redis.asyncio as aioredis

from shared_kernel import bus
from shared_kernel.events import EventEnvelope, TenantCreated, new_event

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def connection(
    isolated_amqp_url: str,
) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    conn = await bus.connect(isolated_amqp_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    try:
        yield client
    finally:
        await client.aclose()


def _event() -> EventEnvelope:
    tenant = uuid.uuid4()
    return new_event(
        TenantCreated(tenant_id=tenant, name="Recife", slug=f"recife-{tenant.hex[:6]}"),
        producer="test", tenant_id=tenant,
    )


async def _wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _drain(channel: aio_pika.abc.AbstractChannel, name: str) -> list[bytes]:
    """Take every message now in ``name`` (acknowledging them)."""
    queue = await channel.get_queue(name)
    bodies = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        bodies.append(message.body)
    return bodies


async def _consumer(connection, redis_client, handler, name: str, **kw):  # type: ignore[no-untyped-def]
    channel = await connection.channel()
    spec = bus.domain_events_queue(name)
    queues = await bus.declare_topology(channel, (spec,))
    consumer = bus.EventConsumer(
        channel, queues[spec.name], handler, name=name,
        idempotency=bus.RedisIdempotencyStore(redis_client, ttl_seconds=600), **kw,
    )
    await consumer.start()
    return channel, consumer


async def test_topology_declares_queues_with_ttl_and_dead_letter(connection) -> None:  # type: ignore[no-untyped-def]
    channel = await connection.channel()
    await bus.declare_topology(channel)
    for spec in bus.WORK_QUEUES:
        await channel.declare_queue(spec.name, passive=True)
        await channel.declare_queue(f"{spec.name}.dlq", passive=True)
    # Re-declaring with the same arguments is idempotent.
    await bus.declare_topology(channel)


async def test_published_event_reaches_consumer_once_even_if_redelivered(
    connection, redis_client  # type: ignore[no-untyped-def]
) -> None:
    received: list[EventEnvelope] = []

    async def handler(envelope: EventEnvelope) -> None:
        received.append(envelope)

    name = f"t{uuid.uuid4().hex[:8]}"
    _, consumer = await _consumer(connection, redis_client, handler, name)
    publisher = await bus.EventPublisher.open(connection)
    event = _event()
    await publisher.publish(event)
    await publisher.publish(event)  # at-least-once delivery: the same event again
    await _wait_for(lambda: consumer.stats.handled + consumer.stats.duplicates == 2)
    assert [e.event_id for e in received] == [event.event_id]
    assert received[0].typed_payload() == event.typed_payload()
    assert consumer.stats.duplicates == 1
    await consumer.stop()


async def test_malformed_message_goes_to_dead_letter_queue(connection, redis_client) -> None:  # type: ignore[no-untyped-def]
    async def handler(envelope: EventEnvelope) -> None:
        raise AssertionError("must not be called")

    name = f"t{uuid.uuid4().hex[:8]}"
    channel, consumer = await _consumer(connection, redis_client, handler, name)
    exchange = await channel.get_exchange(bus.DOMAIN_EVENTS)
    await exchange.publish(aio_pika.Message(b'{"type": "Nope"}'), routing_key="")
    await _wait_for(lambda: consumer.stats.dead_lettered == 1)
    dlq = f"{name}.domain.events.dlq"
    await _wait_for_count(channel, dlq, 1)
    await consumer.stop()


async def _wait_for_count(channel, queue: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    seen: list[bytes] = []
    for _ in range(100):
        seen += await _drain(channel, queue)
        if len(seen) >= expected:
            break
        await asyncio.sleep(0.05)
    assert len(seen) == expected, f"{queue} had {len(seen)} messages, expected {expected}"


async def test_failing_handler_is_retried_then_dead_lettered(connection, redis_client) -> None:  # type: ignore[no-untyped-def]
    attempts: list[int] = []

    async def handler(envelope: EventEnvelope) -> None:
        attempts.append(1)
        raise RuntimeError("database down")

    name = f"t{uuid.uuid4().hex[:8]}"
    channel, consumer = await _consumer(
        connection, redis_client, handler, name, max_retries=2, retry_delay=0.01
    )
    publisher = await bus.EventPublisher.open(connection)
    await publisher.publish(_event())
    await _wait_for(lambda: consumer.stats.dead_lettered == 1)
    assert len(attempts) == 3  # first try + 2 retries
    await _wait_for_count(channel, f"{name}.domain.events.dlq", 1)
    await consumer.stop()


async def test_handler_recovering_on_retry_handles_event_once(connection, redis_client) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    async def handler(envelope: EventEnvelope) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")

    name = f"t{uuid.uuid4().hex[:8]}"
    _, consumer = await _consumer(
        connection, redis_client, handler, name, max_retries=3, retry_delay=0.01
    )
    publisher = await bus.EventPublisher.open(connection)
    await publisher.publish(_event())
    await _wait_for(lambda: consumer.stats.handled == 1)
    assert len(calls) == 2 and consumer.stats.retried == 1 and consumer.stats.dead_lettered == 0
    await consumer.stop()


async def test_concurrent_copies_of_one_event_run_the_handler_once(
    connection, redis_client  # type: ignore[no-untyped-def]
) -> None:
    calls: list[str] = []

    async def slow_handler(envelope: EventEnvelope) -> None:
        calls.append(str(envelope.event_id))
        await asyncio.sleep(0.3)

    name = f"t{uuid.uuid4().hex[:8]}"
    _, consumer = await _consumer(
        connection, redis_client, slow_handler, name, retry_delay=0.05
    )
    publisher = await bus.EventPublisher.open(connection)
    event = _event()
    for _ in range(3):
        await publisher.publish(event)
    await _wait_for(lambda: consumer.stats.handled == 1 and consumer.stats.duplicates == 2)
    assert calls == [str(event.event_id)]
    await consumer.stop()
