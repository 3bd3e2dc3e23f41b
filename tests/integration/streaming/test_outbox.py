"""The streaming service's transactional outbox and its relay, against real PostgreSQL and
RabbitMQ: an event commits with its change or not at all, survives a broker outage, and
reaches consumers exactly once even with two relays draining side by side.

These tests use a database of their own, so the app's in-process relay (other tests)
never races them for rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kernel import bus
from shared_kernel.crypto import CredentialCipher, mask_rtsp_url
from shared_kernel.events import (
    AlertRaised,
    CameraRegistered,
    EventEnvelope,
    StreamStopped,
    TenantCreated,
    new_event,
    parse_event,
)
from shared_kernel.outbox_relay import (
    AmqpRelayPublisher,
    BrokerUnavailable,
    OutboxRelay,
    RelaySettings,
)
from shared_kernel.settings import PROJECT_ROOT
from streaming_service.application.audit import AuditTrail
from streaming_service.application.camera_projection import CameraProjection
from streaming_service.application.events import record_event
from streaming_service.application.exports import Exports
from streaming_service.infrastructure.db.models import Export, OutboxEvent
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.infrastructure.object_store import FilesystemObjectStore
from streaming_service.infrastructure.outbox import (
    OutboxNotInTransaction,
    PgNotifyListener,
    RelayMetrics,
    SqlOutbox,
    SqlOutboxStore,
)
from streaming_service.settings import StreamingSettings
from tests.integration.streaming.conftest import migrate_streaming_database
from tools import db_roles

UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/"


@pytest.fixture(scope="module")
def outbox_settings(amqp_url: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[StreamingSettings]:
    with db_roles.private_database("gtvision_test_outbox") as name:
        migrate_streaming_database(name)
        root = tmp_path_factory.mktemp("outbox")
        yield StreamingSettings(streaming_db_name=name, amqp_url=amqp_url, db_pool_size=4,
                                media_root=root / "media", object_store_root=root / "objects")


@pytest.fixture(scope="module")
async def db(outbox_settings: StreamingSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(outbox_settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def sessions(db: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(db)


@pytest.fixture
async def clean_outbox(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Each test starts with nothing pending (a test may leave rows behind on purpose)."""
    async with sessions() as session, session.begin():
        await session.execute(OutboxEvent.__table__.delete())


def make_relay(settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession], *,
               amqp_url: str | None = None, batch_size: int = 100,
               listener: bool = False, **kwargs: Any) -> OutboxRelay:
    return OutboxRelay(
        store=SqlOutboxStore(
            sessions,
            listener=PgNotifyListener(settings.sync_database_url) if listener else None),
        publisher=AmqpRelayPublisher(amqp_url or settings.amqp_url, connect_timeout=2.0),
        observer=RelayMetrics(StreamingMetrics()),
        settings=RelaySettings(batch_size=batch_size, **kwargs),
    )


@dataclass
class Consumer:
    """Counts deliveries per event id from ``domain.events`` and ``notifications``."""

    deliveries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def count(self, event_id: uuid.UUID | str) -> int:
        return len(self.deliveries.get(str(event_id), []))

    async def wait_for(self, event_ids: list[str], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if all(self.count(e) for e in event_ids):
                return
            await asyncio.sleep(0.05)
        missing = [e for e in event_ids if not self.count(e)]
        raise AssertionError(f"{len(missing)} events never arrived")


@pytest.fixture
async def consumer(amqp_url: str) -> AsyncIterator[Consumer]:
    result = Consumer()
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    await bus.declare_topology(channel)

    def on(where: str) -> Any:
        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                envelope = parse_event(message.body)
                result.deliveries.setdefault(str(envelope.event_id), []).append(
                    (where, message.routing_key or ""))
        return on_message

    for exchange_name, key in ((bus.DOMAIN_EVENTS, ""), (bus.NOTIFICATIONS, "alerts.#")):
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(await channel.get_exchange(exchange_name), routing_key=key)
        await queue.consume(on(exchange_name))
    yield result
    await connection.close()


async def seed_camera(sessions: async_sessionmaker[AsyncSession],
                      settings: StreamingSettings) -> tuple[uuid.UUID, uuid.UUID]:
    cipher = CredentialCipher(settings.camera_credentials_key.get_secret_value())
    tenant_id, camera_id = uuid.uuid4(), uuid.uuid4()
    projection = CameraProjection(sessions)
    await projection.handle(new_event(
        TenantCreated(tenant_id=tenant_id, name="Prefeitura", slug=tenant_id.hex[:8]),
        producer="tests", tenant_id=tenant_id))
    url = "rtsp://admin:pw@10.0.0.9/stream"
    await projection.handle(new_event(
        CameraRegistered(camera_id=camera_id, tenant_id=tenant_id, name="Cam",
                         rtsp_url_encrypted=cipher.encrypt(url),
                         rtsp_url_masked=mask_rtsp_url(url)),
        producer="tests", tenant_id=tenant_id))
    return tenant_id, camera_id


async def outbox_rows(sessions: async_sessionmaker[AsyncSession],
                      event_id: uuid.UUID | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.created_at)
    if event_id is not None:
        query = query.where(OutboxEvent.event_id == event_id)
    async with sessions() as session:
        return list((await session.execute(query)).scalars().all())


async def stopped_events(sessions: async_sessionmaker[AsyncSession], count: int
                         ) -> list[str]:
    """``count`` committed events, each in a transaction of its own (as the use cases do)."""
    outbox, ids = SqlOutbox(), []
    tenant_id = uuid.uuid4()
    for _ in range(count):
        async with sessions() as session, session.begin():
            envelope = await outbox.add(
                session, StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant_id),
                tenant_id=tenant_id)
        ids.append(str(envelope.event_id))
    return ids


# --- writing -------------------------------------------------------------------------------


async def test_rolled_back_change_writes_no_event(
    sessions: async_sessionmaker[AsyncSession], clean_outbox: None
) -> None:
    outbox = SqlOutbox()
    tenant_id = uuid.uuid4()
    payload = StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant_id)
    envelope: EventEnvelope | None = None
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            envelope = await outbox.add(session, payload, tenant_id=tenant_id)
            raise RuntimeError("the change failed after the event was added")
    assert envelope is not None
    assert await outbox_rows(sessions, envelope.event_id) == []

    # A change the database refuses at commit takes its event with it.
    export_id = uuid.uuid4()
    now = datetime.now(UTC)

    def export() -> Export:
        return Export(id=export_id, tenant_id=tenant_id, camera_id=uuid.uuid4(),
                      range_start=now - timedelta(hours=1), range_end=now,
                      status="pending", requested_by=uuid.uuid4())

    async with sessions() as session, session.begin():
        session.add(export())
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(export())
            envelope = await outbox.add(session, payload, tenant_id=tenant_id)
    assert await outbox_rows(sessions, envelope.event_id) == []


async def test_adding_outside_a_transaction_is_refused(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenant_id = uuid.uuid4()
    async with sessions() as session:
        with pytest.raises(OutboxNotInTransaction):
            await SqlOutbox().add(
                session, StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant_id),
                tenant_id=tenant_id)


# --- broker down -----------------------------------------------------------------------------


async def test_broker_down_change_commits_event_pending_then_delivered_once(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer, tmp_path: Path,
) -> None:
    tenant_id, camera_id = await seed_camera(sessions, outbox_settings)

    async def never_called(*_: Any, **__: Any) -> None:
        raise AssertionError("no segments to concatenate")

    store = FilesystemObjectStore(tmp_path / "objects", secret="outbox-test-signing-secret")
    outbox = SqlOutbox()
    exports = Exports(sessions=sessions, store=store,
                      outbox=outbox, metrics=StreamingMetrics(), concat=never_called,
                      work_dir=tmp_path / "work", audit=AuditTrail(sessions=sessions,
                                                                   outbox=outbox))
    now = datetime.now(UTC)
    try:
        export = await exports.request(tenant_id=tenant_id, camera_id=camera_id,
                                       start=now - timedelta(hours=1), end=now,
                                       user_id=uuid.uuid4(), ip="10.1.2.3")
        await exports.wait_idle()
    finally:
        await exports.close()

    # The broker is unreachable: the export exists, its audit event waits in the outbox.
    down = make_relay(outbox_settings, sessions, amqp_url=UNREACHABLE_AMQP)
    with pytest.raises(BrokerUnavailable):
        await down.drain_once()
    await down.close()
    async with sessions() as session:
        assert (await session.get(Export, export.id)) is not None
    [row] = await outbox_rows(sessions)
    assert row.event_type == "RecordingAccessed"
    assert row.envelope["payload"]["export_id"] == str(export.id)
    assert row.published_at is None
    assert row.attempts == 1 and row.last_error

    # The broker is back: the relay delivers it, once.
    relay = make_relay(outbox_settings, sessions)
    try:
        assert await relay.drain_once() == 1
        assert await relay.drain_once() == 0
    finally:
        await relay.close()
    await consumer.wait_for([str(row.event_id)])
    await asyncio.sleep(0.3)
    assert consumer.count(row.event_id) == 1
    [published] = await outbox_rows(sessions)
    assert published.published_at is not None and published.last_error is None


async def test_relay_backs_off_while_broker_is_down_and_recovers(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer,
) -> None:
    ids = await stopped_events(sessions, 3)
    real = AmqpRelayPublisher(outbox_settings.amqp_url)
    calls = {"failed": 0}

    class DownThenUp:
        """The broker refuses the first three attempts, then accepts."""

        async def publish(self, envelope: EventEnvelope, *, exchange: str,
                          routing_key: str) -> None:
            if calls["failed"] < 3:
                calls["failed"] += 1
                raise ConnectionError("broker unreachable")
            await real.publish(envelope, exchange=exchange, routing_key=routing_key)

        async def close(self) -> None:
            await real.close()

    relay = OutboxRelay(store=SqlOutboxStore(sessions), publisher=DownThenUp(),
                        settings=RelaySettings(poll_interval=0.2, backoff_initial=0.05,
                                               backoff_max=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await consumer.wait_for(ids)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert calls["failed"] == 3
    assert all(consumer.count(i) == 1 for i in ids)
    assert all(r.published_at is not None for r in await outbox_rows(sessions))


# --- delivery ----------------------------------------------------------------------------------


async def test_relay_publishes_each_event_once_to_its_exchange(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer,
) -> None:
    ids = await stopped_events(sessions, 25)
    tenant_id = uuid.uuid4()
    alert = AlertRaised(
        alert_id=uuid.uuid4(), detection_id=uuid.uuid4(), watchlist_entry_id=uuid.uuid4(),
        camera_id=uuid.uuid4(), tenant_id=tenant_id, plate="ABC1D23", severity="high",
        reason="stolen", raised_at=datetime.now(UTC))
    async with sessions() as session, session.begin():
        raised = await SqlOutbox().add(session, alert, tenant_id=tenant_id)
    async with sessions() as session, session.begin():
        notice = await SqlOutbox().add(session, alert, tenant_id=tenant_id,
                                       exchange=bus.NOTIFICATIONS,
                                       routing_key=f"alerts.{tenant_id}.high")
    relay = make_relay(outbox_settings, sessions, batch_size=10)
    try:
        assert await relay.drain_once() == 27
        assert await relay.drain_once() == 0
    finally:
        await relay.close()
    await consumer.wait_for([*ids, str(raised.event_id), str(notice.event_id)])
    await asyncio.sleep(0.3)
    assert all(consumer.count(i) == 1 for i in ids)
    assert consumer.deliveries[str(raised.event_id)] == [(bus.DOMAIN_EVENTS, "")]
    assert consumer.deliveries[str(notice.event_id)] == [
        (bus.NOTIFICATIONS, f"alerts.{tenant_id}.high")]


async def test_two_relays_in_parallel_publish_no_duplicates(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer,
) -> None:
    ids = await stopped_events(sessions, 120)
    relays = [make_relay(outbox_settings, sessions, batch_size=7) for _ in range(2)]
    try:
        counts = await asyncio.gather(*(r.drain_once() for r in relays))
    finally:
        for relay in relays:
            await relay.close()
    assert sum(counts) == 120
    await consumer.wait_for(ids, timeout=20)
    await asyncio.sleep(0.5)
    assert sorted(consumer.count(i) for i in ids) == [1] * 120
    async with sessions() as session:
        pending = (await session.execute(select(func.count()).select_from(OutboxEvent)
                                         .where(OutboxEvent.published_at.is_(None)))).scalar()
    assert pending == 0


async def test_relay_wakes_on_commit_without_waiting_for_the_poll(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer,
) -> None:
    relay = make_relay(outbox_settings, sessions, listener=True, poll_interval=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.5)  # first drain done; now sleeping on LISTEN
        tenant_id = uuid.uuid4()
        assert await record_event(
            sessions, SqlOutbox(), StreamStopped(camera_id=uuid.uuid4(), tenant_id=tenant_id),
            tenant_id=tenant_id)
        [row] = await outbox_rows(sessions)
        await consumer.wait_for([str(row.event_id)], timeout=5)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def test_relay_command_drains_once_and_reports_a_broker_outage(
    outbox_settings: StreamingSettings, sessions: async_sessionmaker[AsyncSession],
    clean_outbox: None, consumer: Consumer,
) -> None:
    import os

    ids = await stopped_events(sessions, 3)
    command = [sys.executable, "-m", "streaming_service.workers.outbox_relay", "--once"]
    env = {**os.environ, "GTV_STREAMING_DB_NAME": str(outbox_settings.streaming_db_name)}

    down = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, timeout=60, cwd=PROJECT_ROOT,
        env={**env, "GTV_AMQP_URL": UNREACHABLE_AMQP})
    assert down.returncode == 1
    assert all(r.published_at is None for r in await outbox_rows(sessions))

    up = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, timeout=60, cwd=PROJECT_ROOT,
        env={**env, "GTV_AMQP_URL": outbox_settings.amqp_url})
    assert up.returncode == 0, up.stderr.decode()[-2000:]
    await consumer.wait_for(ids)
    assert all(r.published_at is not None for r in await outbox_rows(sessions))
