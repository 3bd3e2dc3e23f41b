"""Audit log: append-only at every level, secrets masked, request context captured."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import aio_pika
import pytest
from audit.consumers import record_event
from audit.models import AppendOnlyError, AuditEntry
from audit.services import client_ip, mask_secrets, record
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings

from shared_kernel.bus import DOMAIN_EVENTS, declare_topology, domain_events_queue
from shared_kernel.correlation import reset_correlation_id, set_correlation_id
from shared_kernel.events import (
    AlertAcknowledged,
    AlertAcknowledgedV1,
    AlertUpdated,
    EventEnvelope,
    RecordingAccessed,
    TenantCreated,
    UserActivityRecorded,
    new_event,
)

pytestmark = pytest.mark.django_db


def _entry(**overrides: object) -> AuditEntry:
    fields: dict[str, object] = {
        "action": "camera.update",
        "object_type": "camera",
        "object_id": str(uuid.uuid4()),
        "tenant_id": uuid.uuid4(),
        "before": {"name": "old"},
        "after": {"name": "new"},
    }
    fields.update(overrides)
    return record(**fields)  # type: ignore[arg-type]


def test_record_masks_secret_keys_and_url_credentials() -> None:
    entry = _entry(
        before={"rtsp_url": "rtsp://admin:hunter2@10.0.0.5/stream", "name": "Cam 1"},
        after={
            "rtsp_url_encrypted": "gAAAAABk...",
            "password": "hunter2",
            "metadata": {"api_token": "abc", "note": "see rtsp://root:hunter2@cam/1"},
            "tags": [{"client_secret": "xyz"}],
            "id": uuid.UUID(int=1),
        },
    )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.before == {"rtsp_url": "***", "name": "Cam 1"}
    assert entry.after["rtsp_url_encrypted"] == "***"
    assert entry.after["password"] == "***"
    assert entry.after["metadata"] == {"api_token": "***", "note": "see rtsp://***:***@cam/1"}
    assert entry.after["tags"] == [{"client_secret": "***"}]
    assert entry.after["id"] == str(uuid.UUID(int=1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT before::text, after::text FROM admin.audit_entries")
        raw = " ".join(r for row in cursor.fetchall() for r in row)
    assert "hunter2" not in raw


def test_mask_secrets_leaves_empty_secret_fields_visible_as_empty() -> None:
    assert mask_secrets({"password": "", "token": None}) == {"password": "", "token": None}


def test_record_takes_ip_user_agent_and_correlation_id_from_context() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 test",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    token = set_correlation_id("req-abc-123")
    try:
        entry = _entry(request=request, username="ana")
    finally:
        reset_correlation_id(token)
    entry.refresh_from_db()
    # The peer is not a trusted proxy, so its X-Forwarded-For is ignored.
    assert entry.ip == "203.0.113.7"
    assert entry.user_agent == "Mozilla/5.0 test"
    assert entry.correlation_id == "req-abc-123"
    assert entry.username == "ana"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_forwarded_for_is_used_only_behind_a_trusted_proxy() -> None:
    factory = RequestFactory()
    behind_proxy = factory.get(
        "/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9, 10.9.9.9"
    )
    # Rightmost untrusted hop: the spoofable leftmost entry is not believed.
    assert client_ip(behind_proxy) == "198.51.100.9"
    direct = factory.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(direct) == "192.0.2.1"
    garbage = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(garbage) == "10.1.2.3"


def test_record_uses_the_actor_username_snapshot(django_user_model) -> None:
    user = django_user_model.objects.create_superuser("root-admin", "r@example.org", "pw-Long-123")
    entry = _entry(actor=user, tenant_id=None)
    assert entry.username == "root-admin"
    assert entry.actor_id == user.pk


def test_orm_update_and_delete_are_refused() -> None:
    entry = _entry()
    entry.action = "tampered"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "camera.update"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE admin.audit_entries SET action = 'tampered' WHERE id = %s",
        "UPDATE admin.audit_entries SET after = '{}'::jsonb WHERE id = %s",
        "DELETE FROM admin.audit_entries WHERE id = %s",
    ],
)
def test_raw_sql_update_and_delete_are_refused(sql: str) -> None:
    """Refused by the service's database role (no such privilege); the triggers refuse
    even the table's owner (test_db_roles.py). Both answer insufficient_privilege."""
    entry = _entry()
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert refused.value.__cause__.sqlstate == "42501"  # type: ignore[union-attr]
    assert AuditEntry.objects.get(pk=entry.pk).action == "camera.update"


def test_bypassing_the_queryset_guard_is_still_refused_by_the_database() -> None:
    entry = _entry()
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(action="tampered")
    assert refused.value.__cause__.sqlstate == "42501"  # type: ignore[union-attr]


def test_deleting_a_user_keeps_their_entries_with_the_username_snapshot(
    django_user_model,
) -> None:
    user = django_user_model.objects.create_superuser("leaving", "l@example.org", "pw-Long-123")
    entry = _entry(actor=user, tenant_id=None)
    user.delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor_id is None
    assert entry.username == "leaving"


# --- Audit of other services' events: RecordingAccessed, AlertAcknowledged ------------


def _recording_accessed(action: str = "playback", **overrides: Any) -> EventEnvelope:
    payload = RecordingAccessed(
        tenant_id=overrides.pop("tenant_id", uuid.uuid4()),
        user_id=overrides.pop("user_id", uuid.uuid4()),
        camera_id=uuid.uuid4(),
        action=action,  # type: ignore[arg-type]
        recording_id=uuid.uuid4(),
        export_id=uuid.uuid4() if action == "export" else None,
        ip="198.51.100.23",
        **overrides,
    )
    return new_event(payload, producer="streaming_service", tenant_id=payload.tenant_id,
                     correlation_id="corr-stream-1")


def test_recording_playback_event_becomes_one_audit_entry(django_user_model) -> None:
    user = django_user_model.objects.create_superuser("auditor", "a@example.org", "pw-Long-123")
    envelope = _recording_accessed(user_id=user.pk)
    entry = record_event(envelope)
    assert entry is not None
    assert record_event(envelope) is None, "a redelivery writes nothing"
    assert AuditEntry.objects.filter(event_id=envelope.event_id).count() == 1
    entry.refresh_from_db()
    payload = envelope.payload
    assert entry.action == "recording.playback"
    assert entry.object_type == "recording"
    assert entry.object_id == payload["recording_id"]
    assert entry.tenant_id == envelope.tenant_id
    assert entry.actor_id == user.pk and entry.username == "auditor"
    assert entry.ip == "198.51.100.23"
    assert entry.occurred_at == envelope.occurred_at
    assert entry.correlation_id in ("", "corr-stream-1")


def test_export_and_alert_ack_events_are_audited_and_other_events_ignored() -> None:
    export = _recording_accessed("export")
    entry = record_event(export)
    assert entry is not None and entry.action == "recording.export"
    assert entry.object_type == "export" and entry.object_id == export.payload["export_id"]
    # The user is unknown to the admin service (deleted?): the id is the username.
    assert entry.actor_id is None and entry.username == export.payload["user_id"]

    ack = AlertAcknowledged(alert_id=uuid.uuid4(), tenant_id=uuid.uuid4(), user_id=uuid.uuid4(),
                            acknowledged_at=datetime.now(UTC), ip="203.0.113.9",
                            user_agent="Console/1.0")
    entry = record_event(new_event(ack, producer="streaming_service", tenant_id=ack.tenant_id))
    assert entry is not None and entry.action == "alert.acknowledge"
    assert entry.object_type == "alert" and entry.object_id == str(ack.alert_id)
    assert (entry.ip, entry.user_agent) == ("203.0.113.9", "Console/1.0")
    assert "ip" not in entry.after
    # Version 1 (no address), still in an outbox or a queue during an upgrade.
    old = AlertAcknowledgedV1(alert_id=uuid.uuid4(), tenant_id=uuid.uuid4(),
                              user_id=uuid.uuid4(), acknowledged_at=datetime.now(UTC))
    entry = record_event(new_event(old, producer="streaming_service", tenant_id=old.tenant_id))
    assert entry is not None and entry.action == "alert.acknowledge" and entry.ip is None

    other = TenantCreated(tenant_id=uuid.uuid4(), name="X", slug="x")
    assert record_event(new_event(other, producer="admin_service")) is None
    # A vote correcting an alert is the system's doing, not a user's: nothing to audit.
    corrected = AlertUpdated(
        alert_id=uuid.uuid4(), detection_id=uuid.uuid4(), watchlist_entry_id=uuid.uuid4(),
        camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(), change="retracted", plate="ABC1D23",
        previous_plate="ABC1D28", severity="high", reason="", updated_at=datetime.now(UTC))
    assert record_event(new_event(corrected, producer="streaming_service",
                                  tenant_id=corrected.tenant_id)) is None


def test_streaming_user_activity_becomes_one_audit_entry(django_user_model) -> None:
    user = django_user_model.objects.create_superuser("watcher", "w@example.org", "pw-Long-123")
    tenant_id, camera_id = uuid.uuid4(), uuid.uuid4()
    envelope = new_event(
        UserActivityRecorded(tenant_id=tenant_id, user_id=user.pk, username="watcher",
                             action="live.view", object_type="camera",
                             object_id=str(camera_id), after={"token": "secret-value"},
                             ip="203.0.113.9", user_agent="Mozilla/5.0 (wall)"),
        producer="streaming_service", tenant_id=tenant_id)
    entry = record_event(envelope)
    assert entry is not None
    assert record_event(envelope) is None, "a redelivery writes nothing"
    entry.refresh_from_db()
    assert (entry.action, entry.object_type, entry.object_id) == (
        "live.view", "camera", str(camera_id))
    assert entry.tenant_id == tenant_id and entry.actor_id == user.pk
    assert (entry.ip, entry.user_agent) == ("203.0.113.9", "Mozilla/5.0 (wall)")
    assert entry.after == {"token": "***"}, "secrets are masked like every other entry"
    assert entry.occurred_at == envelope.occurred_at


async def _publish_raw(amqp_url: str, bodies: list[bytes]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_topology(channel, (domain_events_queue("admin"),))
        exchange = await channel.get_exchange(DOMAIN_EVENTS)
        for body in bodies:
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="",
            )


async def _dlq_depth(amqp_url: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(
            f"{domain_events_queue('admin').name}.dlq", durable=True, passive=True
        )
        return int(dlq.declaration_result.message_count or 0)


@pytest.mark.django_db(transaction=True)
def test_consumer_audits_a_twice_delivered_event_once_and_dead_letters_garbage(
    isolated_amqp_url: str,
) -> None:
    # A vhost of its own: every publisher declares the admin's queue, so events other
    # tests published to the session's vhost would wait in it.
    amqp_url = isolated_amqp_url
    playback = _recording_accessed()
    ack = new_event(
        AlertAcknowledged(alert_id=uuid.uuid4(), tenant_id=uuid.uuid4(), user_id=uuid.uuid4(),
                          acknowledged_at=datetime.now(UTC)),
        producer="streaming_service",
    )
    asyncio.run(_publish_raw(amqp_url, [b"{}"]))  # declares the queue; garbage first
    dlq_before = asyncio.run(_dlq_depth(amqp_url))
    asyncio.run(_publish_raw(amqp_url, [
        playback.to_json(), playback.to_json(), ack.to_json(),
        b"not json at all", b'{"type": "Nope", "version": 1}',
    ]))

    out = StringIO()
    call_command("consume_domain_events", "--amqp-url", amqp_url, "--idle-exit", "1.0",
                 "--prefetch", "1", stdout=out)

    assert AuditEntry.objects.filter(event_id=playback.event_id).count() == 1
    # The event's correlation id follows it into the audit log.
    assert AuditEntry.objects.get(event_id=playback.event_id).correlation_id == "corr-stream-1"
    assert AuditEntry.objects.filter(event_id=ack.event_id, action="alert.acknowledge").count() == 1
    assert AuditEntry.objects.filter(action__startswith="recording.").count() == 1
    assert asyncio.run(_dlq_depth(amqp_url)) == dlq_before + 3
    assert "duplicates 1" in out.getvalue()
