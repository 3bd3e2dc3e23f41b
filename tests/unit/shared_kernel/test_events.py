import contextlib
import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared_kernel.correlation import reset_correlation_id, set_correlation_id
from shared_kernel.events import (
    CATALOGUE,
    CameraDecommissioned,
    InvalidEvent,
    PlateDetected,
    TenantCreated,
    new_event,
    parse_event,
)


def _tenant_created() -> TenantCreated:
    return TenantCreated(tenant_id=uuid.uuid4(), name="Campinas", slug="campinas")


def test_round_trip_keeps_envelope_and_payload() -> None:
    payload = _tenant_created()
    event = new_event(payload, producer="admin_service", tenant_id=payload.tenant_id)
    parsed = parse_event(event.to_json())
    assert parsed == event
    assert parsed.typed_payload() == payload
    assert parsed.type == "TenantCreated" and parsed.version == 1


def test_correlation_id_is_taken_from_context() -> None:
    token = set_correlation_id("req-123")
    try:
        event = new_event(_tenant_created(), producer="admin_service")
    finally:
        reset_correlation_id(token)
    assert event.correlation_id == "req-123"


def test_unknown_type_is_rejected() -> None:
    event = new_event(_tenant_created(), producer="admin_service")
    raw = json.loads(event.to_json())
    raw["type"] = "SomethingElse"
    with pytest.raises(InvalidEvent, match="unknown event type"):
        parse_event(json.dumps(raw))


def test_unsupported_version_is_rejected_with_known_versions() -> None:
    event = new_event(_tenant_created(), producer="admin_service")
    raw = json.loads(event.to_json())
    raw["version"] = 7
    with pytest.raises(InvalidEvent, match=r"unsupported version 7 .*\[1\]"):
        parse_event(json.dumps(raw))


def test_payload_must_match_its_schema() -> None:
    event = new_event(
        CameraDecommissioned(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4()),
        producer="admin_service",
    )
    raw = json.loads(event.to_json())
    raw["payload"]["camera_id"] = "not-a-uuid"
    with pytest.raises(InvalidEvent, match="bad CameraDecommissioned payload"):
        parse_event(json.dumps(raw))


def test_extra_payload_fields_are_rejected() -> None:
    event = new_event(_tenant_created(), producer="admin_service")
    raw = json.loads(event.to_json())
    raw["payload"]["surprise"] = 1
    with pytest.raises(InvalidEvent):
        parse_event(json.dumps(raw))


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"42", b'{"type": "TenantCreated"}'])
def test_malformed_bodies_raise_invalid_event(body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        parse_event(body)


@given(st.binary(max_size=200))
def test_parse_never_raises_anything_but_invalid_event(body: bytes) -> None:
    with contextlib.suppress(InvalidEvent):
        parse_event(body)


def test_confidence_is_bounded() -> None:
    with pytest.raises(ValueError):
        PlateDetected(
            detection_id=uuid.uuid4(), camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(),
            plate="ABC1D23", confidence=1.5, detected_at=datetime.now(UTC),
        )


def test_catalogue_keys_match_their_models() -> None:
    for (event_type, version), model in CATALOGUE.items():
        assert model.event_type == event_type
        assert model.version == version
