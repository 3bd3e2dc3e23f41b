"""The plaintext camera password appears in no API response, admin page, log line or
database column (SPEC §3, §6): wherever the URL carries it — the userinfo, or path and
query parameters the way Intelbras/Dahua/Hikvision devices take them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cameras.models import Camera
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Pl41ntext-Secret-Zeta"
NEW_PASSWORD = "R0tated-Secret-Omega"
# (URL with the password, what rtsp_url_masked must be)
URLS = [
    (f"rtsp://operator:{PASSWORD}@10.20.30.40:554/Streaming/Channels/101",
     "rtsp://***:***@10.20.30.40:554/Streaming/Channels/101"),
    (f"rtsp://10.20.30.40:554/user=admin&password={PASSWORD}&channel=1&stream=0.sdp?",
     "rtsp://10.20.30.40:554/user=***&password=***&channel=1&stream=0.sdp?"),
    (f"rtsp://10.20.30.40/cam/realmonitor?channel=1&subtype=0&PWD={PASSWORD};token=t0k",
     "rtsp://10.20.30.40/cam/realmonitor?channel=1&subtype=0&PWD=***;token=***"),
]


def _all_database_text() -> str:
    """Every row of every table in our schemas (and public), as JSON text."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('admin', 'cidades', 'public') AND table_type = 'BASE TABLE'"
        )
        for schema, table in cursor.fetchall():
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t')  # noqa: S608
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.parametrize(("url", "masked"), URLS, ids=["userinfo", "path", "query"])
def test_camera_password_never_leaves_in_clear(
    url: str, masked: str, tenant_a: Any, superadmin: Any, client_for: Any,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    api = client_for(tenant_a.tenant_admin)
    bodies: list[str] = []

    created = api.post("/api/cidades/cameras/", {"name": "Gate", "rtsp_url": url},
                       format="json")
    assert created.status_code == 201
    camera_id = created.json()["id"]
    bodies.append(created.content.decode())
    assert "rtsp_url" not in created.json()
    assert created.json()["rtsp_url_masked"] == masked
    bodies.append(api.get("/api/cidades/cameras/").content.decode())
    bodies.append(api.get(f"/api/cidades/cameras/{camera_id}/").content.decode())
    updated = api.patch(f"/api/cidades/cameras/{camera_id}/",
                        {"rtsp_url": url.replace(PASSWORD, NEW_PASSWORD)}, format="json")
    assert updated.status_code == 200
    bodies.append(updated.content.decode())
    # A rejected URL is not echoed either.
    bad = api.post("/api/cidades/cameras/",
                   {"name": "Bad", "rtsp_url": f"http://u:{PASSWORD}@x/y"}, format="json")
    assert bad.status_code == 400
    bodies.append(bad.content.decode())
    bodies.append(client_for(superadmin).get("/api/admin/audit-logs/").content.decode()
                  if _has_audit_api() else "")

    admin = Client()
    admin.force_login(superadmin)
    for path in ("/admin/cameras/camera/", f"/admin/cameras/camera/{camera_id}/change/",
                 "/admin/audit/auditentry/"):
        page = admin.get(path)
        assert page.status_code == (200 if "cameras" in path else page.status_code), path
        bodies.append(page.content.decode())

    database = _all_database_text()
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    out = capsys.readouterr()
    for secret in (PASSWORD, NEW_PASSWORD):
        for where, text in (("api/admin", "\n".join(bodies)), ("database", database),
                            ("logs", logs), ("stdout", out.out), ("stderr", out.err)):
            assert secret not in text, f"{secret} leaked in {where}"
    # ...while the stored ciphertext still decrypts to the current URL.
    assert Camera.objects.get(pk=camera_id).rtsp_url() == url.replace(PASSWORD, NEW_PASSWORD)


def _has_audit_api() -> bool:
    from django.urls import NoReverseMatch, resolve

    try:
        resolve("/api/admin/audit-logs/")
        return True
    except (NoReverseMatch, Exception):
        return False
