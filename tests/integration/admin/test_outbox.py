"""Transactional outbox: events commit with the change, and only then."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import aio_pika
import pytest
import redis.asyncio as aioredis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from outbox.models import OutboxEvent
from outbox.relay import PostgresOutboxStore, build_relay
from outbox.services import OutboxNotInTransaction, enqueue

from shared_kernel.bus import DOMAIN_EVENTS, EventConsumer, RedisIdempotencyStore, declare_topology
from shared_kernel.correlation import reset_correlation_id, set_correlation_id
from shared_kernel.events import EventEnvelope, TenantCreated, parse_event
from shared_kernel.outbox_relay import OutboxRelay, RelaySettings

REDIS_URL: str = settings.REDIS_URL


def _payload(name: str = "Campinas") -> TenantCreated:
    return TenantCreated(tenant_id=uuid.uuid4(), name=name, slug=name.lower())


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_enqueue_in_a_rolled_back_transaction_leaves_no_event() -> None:
    with pytest.raises(_Rollback), transaction.atomic():
        enqueue(_payload(), tenant_id=None)
        raise _Rollback
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_enqueue_in_a_committed_transaction_stores_a_valid_envelope() -> None:
    payload = _payload()
    token = set_correlation_id("corr-outbox-1")
    try:
        with transaction.atomic():
            event = enqueue(payload, tenant_id=payload.tenant_id)
    finally:
        reset_correlation_id(token)
    stored = OutboxEvent.objects.get()
    assert stored.event_id == event.event_id
    assert stored.published_at is None
    assert stored.event_type == "TenantCreated"
    assert stored.tenant_id == payload.tenant_id
    envelope = parse_event(__import__("json").dumps(stored.envelope))
    assert envelope.event_id == stored.event_id
    assert envelope.producer == "admin_service"
    assert envelope.correlation_id == "corr-outbox-1"
    assert envelope.typed_payload() == payload


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused() -> None:
    with pytest.raises(OutboxNotInTransaction):
        enqueue(_payload(), tenant_id=None)
    assert OutboxEvent.objects.count() == 0


# --- The relay: RabbitMQ down, then back; exactly-once to a deduping consumer ----------

UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/"


def _enqueue_committed(count: int) -> list[uuid.UUID]:
    ids = []
    for i in range(count):
        with transaction.atomic():
            ids.append(enqueue(_payload(f"City{i}"), tenant_id=None).event_id)
    return ids


async def _declare_probe_queue(amqp_url: str) -> str:
    """A queue bound to the domain.events fanout, declared before anything is published."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel)
        name = f"probe.{uuid.uuid4().hex[:8]}"
        queue = await channel.declare_queue(name, durable=False, auto_delete=False)
        exchange = await channel.get_exchange(DOMAIN_EVENTS)
        await queue.bind(exchange)
        return name


@dataclass
class Received:
    deliveries: list[str] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)
    duplicates: int = 0


async def _consume(amqp_url: str, queue_name: str, expected: int, idle: float = 1.0) -> Received:
    """Consume the probe queue with the real EventConsumer (deduping through Redis)
    until ``expected`` distinct events arrived and the queue stayed idle ``idle`` s."""
    received = Received()
    redis_client = aioredis.from_url(REDIS_URL)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)

        async def handler(envelope: EventEnvelope) -> None:
            received.handled.append(str(envelope.event_id))

        consumer = EventConsumer(
            channel, queue, handler, name=f"test-{queue_name}",
            idempotency=RedisIdempotencyStore(redis_client, ttl_seconds=600),
        )
        original = consumer.on_message

        async def counting(message: Any) -> None:
            received.deliveries.append(message.message_id)
            await original(message)

        consumer.on_message = counting  # type: ignore[method-assign]
        # prefetch=1: EventConsumer's dedupe is check-then-mark, so two copies of one
        # event handled concurrently (aio-pika runs callbacks as tasks) would both pass.
        await consumer.start(prefetch=1)
        deadline = asyncio.get_running_loop().time() + 20
        last = -1
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(idle)
            if len(received.handled) >= expected and len(received.deliveries) == last:
                break
            last = len(received.deliveries)
        await consumer.stop()
        received.duplicates = consumer.stats.duplicates
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
        await redis_client.aclose()
    return received


def _pending() -> int:
    return OutboxEvent.objects.filter(published_at__isnull=True).count()


@pytest.mark.django_db(transaction=True)
def test_broker_down_keeps_events_pending_then_every_event_arrives_exactly_once(
    amqp_url: str,
) -> None:
    probe = asyncio.run(_declare_probe_queue(amqp_url))
    ids = _enqueue_committed(25)
    assert _pending() == 25

    with pytest.raises(CommandError, match="events stay pending"):
        call_command("run_outbox_relay", "--once", "--amqp-url", UNREACHABLE_AMQP)
    assert _pending() == 25, "nothing may be lost or marked while the broker is down"

    out = StringIO()
    call_command("run_outbox_relay", "--once", "--amqp-url", amqp_url, "--batch-size", "7",
                 stdout=out)
    assert out.getvalue().strip() == "published 25"
    assert _pending() == 0
    # The first event's failed attempt (no broker) is counted; every event went out once.
    attempts = sorted(e.attempts for e in OutboxEvent.objects.all())
    assert attempts == [1] * 24 + [2]

    received = asyncio.run(_consume(amqp_url, probe, expected=25))
    assert sorted(received.handled) == sorted(str(i) for i in ids)
    assert len(received.deliveries) == 25

    # Nothing left to publish: a second relay run publishes nothing again.
    out = StringIO()
    call_command("run_outbox_relay", "--once", "--amqp-url", amqp_url, stdout=out)
    assert out.getvalue().strip() == "published 0"


class _CrashAfterPublish(PostgresOutboxStore):
    """Simulates a relay that dies after the broker confirmed but before the commit."""

    async def _record(self, conn: Any, batch: Any) -> None:
        raise RuntimeError("relay process killed")


@pytest.mark.django_db(transaction=True)
def test_relay_crash_between_publish_and_mark_redelivers_and_consumer_dedupes(
    amqp_url: str,
) -> None:
    probe = asyncio.run(_declare_probe_queue(amqp_url))
    ids = _enqueue_committed(5)

    crashing = build_relay(
        amqp_url, store=_CrashAfterPublish(PostgresOutboxStore.from_django()._conninfo))
    result = asyncio.run(crashing.run_once())
    assert result.failed and "killed" in result.error
    assert _pending() == 5, "the claim rolled back: the events are still pending"

    relay = build_relay(amqp_url)
    assert asyncio.run(relay.run_once()).published == 5
    assert _pending() == 0

    received = asyncio.run(_consume(amqp_url, probe, expected=5))
    assert len(received.deliveries) == 10, "each event went out twice (at-least-once)"
    assert sorted(received.handled) == sorted(str(i) for i in ids), "handled once each"
    assert received.duplicates == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_never_publish_an_event_twice(amqp_url: str) -> None:
    probe = asyncio.run(_declare_probe_queue(amqp_url))
    ids = _enqueue_committed(60)

    async def two_relays() -> list[int]:
        relays = [build_relay(amqp_url, settings=RelaySettings(batch_size=3))
                  for _ in range(2)]
        results = await asyncio.gather(*(r.run_once() for r in relays))
        assert not any(r.failed for r in results)
        return [r.published for r in results]

    counts = asyncio.run(two_relays())
    assert sum(counts) == 60
    assert _pending() == 0

    received = asyncio.run(_consume(amqp_url, probe, expected=60))
    assert len(received.deliveries) == 60, "no event was published by both relays"
    assert sorted(received.handled) == sorted(str(i) for i in ids)
    assert received.duplicates == 0


@pytest.mark.django_db(transaction=True)
def test_running_relay_wakes_on_notify_and_backs_off_while_broker_is_down(
    amqp_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    probe = asyncio.run(_declare_probe_queue(amqp_url))
    down = build_relay(UNREACHABLE_AMQP,
                       settings=RelaySettings(backoff_initial=0.05, backoff_max=0.2))
    _enqueue_committed(2)

    async def run_for(relay: OutboxRelay, seconds: float) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    with caplog.at_level(logging.WARNING, logger="shared_kernel.outbox_relay"):
        asyncio.run(run_for(down, 1.0))
    retries = [r for r in caplog.records
               if r.getMessage() == "outbox relay could not publish; events stay pending"]
    assert len(retries) >= 3
    assert max(r.retry_in_s for r in retries) == 0.2, "the backoff is capped"
    assert _pending() == 2

    # A poll far longer than the test: only NOTIFY can wake it in time.
    up = build_relay(amqp_url, settings=RelaySettings(poll_interval=30.0))

    async def relay_then_enqueue() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(up.run(stop))
        for _ in range(50):
            await asyncio.sleep(0.1)
            if up.published_total >= 2:
                break
        # Committed while the relay sleeps on LISTEN.
        await asyncio.to_thread(_enqueue_committed_closing, 3)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if up.published_total >= 5:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(relay_then_enqueue())
    assert up.published_total == 5
    assert _pending() == 0
    received = asyncio.run(_consume(amqp_url, probe, expected=5))
    assert len(set(received.handled)) == 5


def _enqueue_committed_closing(count: int) -> None:
    from django.db import connection

    try:
        _enqueue_committed(count)
    finally:
        connection.close()
