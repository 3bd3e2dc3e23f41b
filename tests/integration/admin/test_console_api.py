"""What the dashboard's admin console needs from the admin service: zone polygons, the
audit log as CSV (itself audited) and a prefeitura's usage."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from audit.models import AuditEntry
from audit.services import record

from tests.factories import CameraFactory

pytestmark = pytest.mark.django_db

ZONES = "/api/cidades/zones/"
SQUARE = {"type": "Polygon",
          "coordinates": [[[-47.06, -22.90], [-47.05, -22.90], [-47.05, -22.91],
                           [-47.06, -22.91], [-47.06, -22.90]]]}


def test_a_zone_keeps_its_polygon_and_the_change_is_audited(client_for: Any,
                                                            tenant_a: Any) -> None:
    admin = client_for(tenant_a.tenant_admin)
    created = admin.post(ZONES, {"name": "Centro", "geometry": SQUARE}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["geometry"] == SQUARE
    zone_id = created.json()["id"]
    assert admin.get(f"{ZONES}{zone_id}/").json()["geometry"] == SQUARE
    entry = AuditEntry.objects.get(object_type="zone", action="create")
    assert entry.after["geometry"] == SQUARE
    cleared = admin.patch(f"{ZONES}{zone_id}/", {"geometry": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["geometry"] is None


def test_a_zone_polygon_is_edited_and_the_zone_deleted_with_before_and_after_audited(
    client_for: Any, tenant_a: Any, tenant_b: Any
) -> None:
    admin = client_for(tenant_a.tenant_admin)
    zone_id = admin.post(ZONES, {"name": "Centro", "geometry": SQUARE}, format="json").json()["id"]
    moved = {"type": "Polygon",
             "coordinates": [[[-47.07, -22.90], [-47.05, -22.90], [-47.05, -22.92],
                              [-47.07, -22.90]]]}
    edited = admin.patch(f"{ZONES}{zone_id}/", {"geometry": moved}, format="json")
    assert edited.status_code == 200 and edited.json()["geometry"] == moved
    update = AuditEntry.objects.get(object_type="zone", action="update")
    assert update.before["geometry"] == SQUARE and update.after["geometry"] == moved
    other = client_for(tenant_b.tenant_admin)
    assert other.patch(f"{ZONES}{zone_id}/", {"geometry": SQUARE},
                       format="json").status_code == 404
    assert other.delete(f"{ZONES}{zone_id}/").status_code == 404
    assert client_for(tenant_a.operator).delete(f"{ZONES}{zone_id}/").status_code == 403
    assert admin.delete(f"{ZONES}{zone_id}/").status_code == 204
    assert admin.get(f"{ZONES}{zone_id}/").status_code == 404
    assert AuditEntry.objects.get(object_type="zone", action="delete").before["geometry"] == moved


@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": [-47.0, -22.9]},
    {"type": "Polygon", "coordinates": [[[-47.0, -22.9], [-47.1, -22.9], [-47.1, -23.0]]]},
    {"type": "Polygon", "coordinates": [[[-47.0, -22.9], [-47.1, -22.9], [-47.1, -23.0],
                                         [-47.2, -23.0]]]},
    {"type": "Polygon", "coordinates": [[[-47.0, -95.0], [-47.1, -22.9], [-47.1, -23.0],
                                         [-47.0, -95.0]]]},
    {"type": "Polygon", "coordinates": [[["a", -22.9], [-47.1, -22.9], [-47.1, -23.0],
                                         ["a", -22.9]]]},
    {"type": "Polygon", "coordinates": [[[-47.0, -22.9]] * 4]},
    "POLYGON((0 0, 1 0, 1 1, 0 0))",
])
def test_a_zone_polygon_that_is_not_a_closed_ring_is_a_400(client_for: Any, tenant_a: Any,
                                                           geometry: Any) -> None:
    response = client_for(tenant_a.tenant_admin).post(
        ZONES, {"name": "Bad", "geometry": geometry}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert "geometry" in response.json()["error"]["details"]
    assert not AuditEntry.objects.filter(object_type="zone").exists()


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_audit_csv_holds_the_filtered_tenant_entries_and_is_audited(
    client_for: Any, tenant_a: Any, tenant_b: Any
) -> None:
    record(action="create", object_type="camera", object_id="c1", tenant_id=tenant_a.tenant.id,
           username="ana", after={"name": "=HYPERLINK(1)"})
    record(action="delete", object_type="user", object_id="u1", tenant_id=tenant_a.tenant.id,
           username="ana")
    record(action="create", object_type="camera", object_id="c2", tenant_id=tenant_b.tenant.id,
           username="bob")
    rows = _csv(client_for(tenant_a.tenant_admin).get(
        "/api/admin/audit-logs/export/", {"object_type": "camera"}))
    assert [(r["object_id"], r["username"]) for r in rows] == [("c1", "ana")]
    # A spreadsheet formula stays text.
    assert rows[0]["after"].startswith("{") and "=HYPERLINK" in rows[0]["after"]
    export = AuditEntry.objects.get(action="audit.export")
    assert export.username == tenant_a.tenant_admin.username
    assert export.tenant_id == tenant_a.tenant.id
    assert export.after == {"filters": {"object_type": "camera"}, "rows": 1, "truncated": False}
    # The export shows up in the next export.
    rows = _csv(client_for(tenant_a.tenant_admin).get(
        "/api/admin/audit-logs/export/", {"action": "audit.export"}))
    assert len(rows) == 1


def test_a_formula_cell_is_quoted_as_text(client_for: Any, tenant_a: Any) -> None:
    record(action="create", object_type="camera", object_id="=cmd|' /C calc'!A0",
           tenant_id=tenant_a.tenant.id, username="ana")
    rows = _csv(client_for(tenant_a.tenant_admin).get("/api/admin/audit-logs/export/",
                                                      {"username": "ana"}))
    assert rows[0]["object_id"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_audit_csv_is_refused_below_tenant_admin(client_for: Any, tenant_a: Any,
                                                 role: str) -> None:
    response = client_for(tenant_a.by_role(role)).get("/api/admin/audit-logs/export/")
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="audit.export").exists()


def test_audit_csv_with_a_bad_filter_is_a_400(client_for: Any, tenant_a: Any) -> None:
    response = client_for(tenant_a.tenant_admin).get("/api/admin/audit-logs/export/",
                                                     {"from": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_prefeitura_usage_counts_cameras_and_users(client_for: Any, superadmin: Any,
                                                   tenant_a: Any, tenant_b: Any) -> None:
    CameraFactory(tenant=tenant_a.tenant, name="One", lpr_enabled=True)
    CameraFactory(tenant=tenant_a.tenant, name="Two", status="maintenance")
    gone = CameraFactory(tenant=tenant_a.tenant, name="Gone")
    client_for(superadmin).delete(f"/api/cidades/cameras/{gone.pk}/")
    usage = client_for(superadmin).get(f"/api/cidades/prefeituras/{tenant_a.tenant.id}/usage/")
    assert usage.status_code == 200, usage.content
    assert usage.json() == {"tenant": str(tenant_a.tenant.id), "cameras": 2,
                            "cameras_active": 1, "lpr_cameras": 1, "users": 3,
                            "users_active": 3}
    refused = client_for(tenant_a.tenant_admin).get(
        f"/api/cidades/prefeituras/{tenant_a.tenant.id}/usage/")
    assert refused.status_code == 403
