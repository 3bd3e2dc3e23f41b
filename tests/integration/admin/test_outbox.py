"""Transactional outbox: events commit with the change, and only then."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from outbox.models import OutboxEvent
from outbox.services import OutboxNotInTransaction, enqueue
from shared_kernel.correlation import reset_correlation_id, set_correlation_id
from shared_kernel.events import TenantCreated, parse_event


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
