"""The camera projection consumer over real RabbitMQ: fast, idempotent, ordered by
revision, malformed events dead-lettered, decommissioning final."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aio_pika
from sqlalchemy import func, select

from shared_kernel import bus
from shared_kernel.crypto import CredentialCipher
from shared_kernel.events import (
    CameraDecommissioned,
    CameraRegistered,
    CameraUpdated,
    new_event,
)
from streaming_service.application.camera_projection import CameraProjection
from streaming_service.infrastructure.consumers import QUEUE, start_projection_consumer
from streaming_service.infrastructure.db.models import Camera, ProcessedEvent


def camera_event(cls: Any, cipher: CredentialCipher, camera_id: uuid.UUID,
                 tenant_id: uuid.UUID, revision: int, name: str) -> Any:
    return new_event(cls(
        camera_id=camera_id, tenant_id=tenant_id, name=name,
        rtsp_url_encrypted=cipher.encrypt("rtsp://u:p@cam.local/s"),
        rtsp_url_masked="rtsp://***:***@cam.local/s", revision=revision,
    ), producer="admin_service", tenant_id=tenant_id)


async def camera_row(services: Any, camera_id: uuid.UUID) -> Camera | None:
    async with services.sessions() as session:
        return (await session.execute(
            select(Camera).where(Camera.id == camera_id))).scalar_one_or_none()


async def test_events_through_rabbitmq_reach_the_projection_quickly_and_bad_ones_dlq(
    amqp_url: str, app_services: Any, cipher: CredentialCipher
) -> None:
    projection = CameraProjection(app_services.sessions)
    running = await start_projection_consumer(amqp_url, projection, retry_delay=0.05)
    connection = await bus.connect(amqp_url)
    try:
        publisher = await bus.EventPublisher.open(connection)
        camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
        registered = camera_event(CameraRegistered, cipher, camera_id, tenant_id, 1, "Praça")
        sent = time.monotonic()
        await publisher.publish(registered)
        while await camera_row(app_services, camera_id) is None:
            assert time.monotonic() - sent < 15.0, "the camera never became usable"
            await asyncio.sleep(0.02)

        # Redelivery of the same event id, then an update and a stale one out of order.
        await publisher.publish(registered)
        await publisher.publish(camera_event(CameraUpdated, cipher, camera_id, tenant_id, 3, "v3"))
        await publisher.publish(camera_event(CameraUpdated, cipher, camera_id, tenant_id, 2, "v2"))

        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"type": "CameraRegistered", "payload": "nope"}'),
            routing_key=QUEUE.name)
        dlq = await channel.declare_queue(f"{QUEUE.name}.dlq", durable=True)
        deadline = time.monotonic() + 5
        dead_bodies: list[bytes] = []
        # Other tests on the session's vhost may have dead-lettered messages here too.
        while not any(b"nope" in body for body in dead_bodies) and time.monotonic() < deadline:
            dead = await dlq.get(fail=False, no_ack=True)
            if dead is None:
                await asyncio.sleep(0.05)
            else:
                dead_bodies.append(dead.body)
        assert any(b"nope" in body for body in dead_bodies)

        # Bounded generously: on a loaded CI machine the consumer may lag by seconds.
        deadline = time.monotonic() + 20
        while running.consumer.stats.handled < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        row = await camera_row(app_services, camera_id)
        assert row is not None and row.name == "v3" and row.revision == 3
        async with app_services.sessions() as session:
            claims = (await session.execute(
                select(func.count()).select_from(ProcessedEvent)
                .where(ProcessedEvent.event_id == registered.event_id))).scalar_one()
        assert claims == 1
    finally:
        await running.close()
        await connection.close()


async def test_duplicate_event_is_applied_once(app_services: Any, cipher: CredentialCipher) -> None:
    projection = CameraProjection(app_services.sessions)
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    event = camera_event(CameraRegistered, cipher, camera_id, tenant_id, 1, "first")
    assert await projection.handle(event) is True
    assert await projection.handle(event) is False


async def test_decommissioning_is_final_and_stops_the_stream(
    app_services: Any, cipher: CredentialCipher
) -> None:
    stopped: list[uuid.UUID] = []

    async def stop(camera_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        stopped.append(camera_id)

    projection = CameraProjection(app_services.sessions, on_decommissioned=stop)
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    await projection.handle(camera_event(CameraRegistered, cipher, camera_id, tenant_id, 1, "a"))
    await projection.handle(new_event(
        CameraDecommissioned(camera_id=camera_id, tenant_id=tenant_id, revision=2),
        producer="admin_service", tenant_id=tenant_id))
    assert stopped == [camera_id]
    # A late update must not resurrect it.
    await projection.handle(camera_event(CameraUpdated, cipher, camera_id, tenant_id, 5, "zombie"))
    row = await camera_row(app_services, camera_id)
    assert row is not None
    assert row.decommissioned_at is not None and row.status == "decommissioned"
    assert row.rtsp_url_encrypted == ""
    # An unknown camera's decommissioning leaves a tombstone that beats older registrations.
    ghost = uuid.uuid4()
    await projection.handle(new_event(
        CameraDecommissioned(camera_id=ghost, tenant_id=tenant_id, revision=4),
        producer="admin_service", tenant_id=tenant_id))
    await projection.handle(camera_event(CameraRegistered, cipher, ghost, tenant_id, 1, "late"))
    ghost_row = await camera_row(app_services, ghost)
    assert ghost_row is not None and ghost_row.decommissioned_at is not None


async def test_projection_masks_credentials_an_older_producer_left_in_the_masked_url(
    app_services: Any, cipher: CredentialCipher
) -> None:
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    event = new_event(CameraRegistered(
        camera_id=camera_id, tenant_id=tenant_id, name="Intelbras",
        rtsp_url_encrypted=cipher.encrypt("rtsp://10.0.0.9/user=admin&password=Old-Pw-1"),
        rtsp_url_masked="rtsp://10.0.0.9/user=admin&password=Old-Pw-1&channel=1",
    ), producer="admin_service", tenant_id=tenant_id)
    await CameraProjection(app_services.sessions).handle(event)
    row = await camera_row(app_services, camera_id)
    assert row is not None
    assert row.rtsp_url_masked == "rtsp://10.0.0.9/user=***&password=***&channel=1"
