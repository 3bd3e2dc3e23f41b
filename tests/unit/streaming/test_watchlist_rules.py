"""Watchlist and plate-query rules of the AI context (pure domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared_kernel.plates import PlateNumber
from streaming_service.application.ai.detections import alert_routing_key, crop_key
from streaming_service.domain.ai.watchlist import (
    InvalidPlateQuery,
    PlateQuery,
    PlateQueryKind,
    entry_matches,
    is_active,
    plate_neighbour_keys,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_exact_query_covers_both_layouts() -> None:
    query = PlateQuery.parse("abc-1234")
    assert query.kind is PlateQueryKind.EXACT
    assert set(query.forms) == {"ABC1234", "ABC1C34"}


def test_mercosul_plate_without_old_twin_has_one_form() -> None:
    assert PlateQuery.parse("ABC1Z23").forms == ("ABC1Z23",)


@pytest.mark.parametrize(("raw", "forms"), [
    ("ABC*", ("ABC",)),
    ("abc1*", ("ABC1",)),
    ("ABC1D*", ("ABC13", "ABC1D")),
    ("ABC13*", ("ABC13", "ABC1D")),
    ("ABC1Z*", ("ABC1Z",)),
])
def test_prefix_queries(raw: str, forms: tuple[str, ...]) -> None:
    query = PlateQuery.parse(raw)
    assert query.kind is PlateQueryKind.PREFIX and query.forms == forms


def test_similar_query() -> None:
    query = PlateQuery.parse("~ABC1D23")
    assert query.kind is PlateQueryKind.SIMILAR
    assert set(query.forms) == {"ABC1D23", "ABC1323"}
    assert PlateQuery.parse("~ABC1").forms == ("ABC1",)


@pytest.mark.parametrize("raw", ["", "*", "~", "~AB", "NOTAPLATE", "A%*", "~ABC1D234"])
def test_bad_queries_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPlateQuery):
        PlateQuery.parse(raw)


def test_active_window_is_half_open() -> None:
    assert is_active(None, None, NOW)
    assert is_active(NOW, None, NOW)
    assert not is_active(NOW + timedelta(seconds=1), None, NOW)
    assert not is_active(None, NOW, NOW)
    assert is_active(None, NOW + timedelta(seconds=1), NOW)


def test_entries_match_across_layouts_and_wildcards() -> None:
    assert entry_matches("ABC1234", PlateNumber("ABC1C34"))
    assert entry_matches("ABC1C34", PlateNumber("ABC1234"))
    assert entry_matches("ABC*", PlateNumber("ABC9J99"))
    assert entry_matches("ABC1?34", PlateNumber("ABC1C34"))
    assert not entry_matches("XYZ*", PlateNumber("ABC1234"))


def test_alert_routing_key_matches_the_bus_bindings() -> None:
    import re
    import uuid

    tenant = uuid.uuid4()
    key = alert_routing_key(tenant, "critical")
    assert key == f"alerts.{tenant}.critical"
    assert re.fullmatch(r"alerts\.[^.]+\.(high|critical)", key)


def test_crop_keys_are_per_tenant_camera_and_day() -> None:
    import uuid

    tenant, camera, det = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2025, 1, 1, 1, 30, tzinfo=UTC)
    assert crop_key(tenant, camera, at, det) == f"{tenant}/{camera}/2025/01/01/{det}.jpg"


def test_neighbour_keys_are_shared_exactly_by_plates_one_character_apart() -> None:
    def share(a: str, b: str) -> bool:
        return bool(set(plate_neighbour_keys(a)) & set(plate_neighbour_keys(b)))

    assert plate_neighbour_keys("ABC1D23") == (
        "_BC1D23", "A_C1D23", "AB_1D23", "ABC_D23", "ABC1_23", "ABC1D_3", "ABC1D2_")
    assert share("ABC1D23", "ABC1D23") and share("ABC1D23", "A8C1D23")
    assert share("ABC1D23", "ABC1023")  # the fifth position: the layouts' difference
    assert not share("ABC1D23", "A8C1D28") and not share("ABC1D23", "BAC1D23")


def test_a_similar_query_of_a_whole_plate_looks_up_both_layouts_keys() -> None:
    keys = PlateQuery.parse("~abc-1d23").neighbour_keys
    assert "ABC1_23" in keys and "ABC13_3" in keys and "ABC1D2_" in keys  # both layouts
    assert PlateQuery.parse("~ABC1D").neighbour_keys == ()  # partial: trigram search
    assert PlateQuery.parse("ABC1D23").neighbour_keys == ()
