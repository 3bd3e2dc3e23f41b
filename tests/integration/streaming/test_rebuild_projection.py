"""Rebuilding the camera projection from the admin service's export endpoint (its
documented contract served by a stand-in; the real endpoint lives in admin_service)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from shared_kernel.crypto import CredentialCipher
from streaming_service.infrastructure.db.models import Camera
from streaming_service.rebuild_projection import rebuild


async def test_rebuild_pages_through_the_export_and_respects_revisions(
    streaming_settings: Any, app_services: Any, cipher: CredentialCipher, seed_camera: Any
) -> None:
    newer = await seed_camera(revision=9)  # the projection already has a newer revision
    tenant = uuid.uuid4()
    fresh, gone = uuid.uuid4(), uuid.uuid4()

    def row(camera_id: uuid.UUID, tenant_id: uuid.UUID, revision: int, name: str,
            decommissioned: bool = False) -> dict[str, Any]:
        return {"camera_id": str(camera_id), "tenant_id": str(tenant_id), "name": name,
                "rtsp_url_encrypted": cipher.encrypt("rtsp://u:p@h/s"),
                "rtsp_url_masked": "rtsp://***:***@h/s", "recording_mode": "continuous",
                "retention_days": 30, "lpr_enabled": True, "status": "active",
                "revision": revision, "decommissioned": decommissioned}

    pages = {
        1: {"count": 3, "next": "page2", "results": [
            row(fresh, tenant, 1, "fresh"), row(newer.camera_id, newer.tenant_id, 2, "old")]},
        2: {"count": 3, "next": None, "results": [row(gone, tenant, 3, "gone", True),
                                                  {"camera_id": "broken"}]},
    }
    seen_auth: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/cidades/cameras/export/"
        seen_auth.append(request.headers["authorization"])
        return httpx.Response(200, json=pages[int(request.url.params["page"])])

    report = await rebuild(streaming_settings, "http://admin.test", "svc-token", page_size=2,
                           transport=httpx.MockTransport(handler))
    assert (report.seen, report.applied, report.decommissioned, report.invalid) == (4, 1, 1, 1)
    assert seen_auth == ["Bearer svc-token", "Bearer svc-token"]
    async with app_services.sessions() as session:
        rows = {c.id: c for c in (await session.execute(
            select(Camera).where(Camera.id.in_([fresh, gone, newer.camera_id])))).scalars()}
    assert rows[fresh].name == "fresh" and rows[fresh].recording_mode == "continuous"
    assert rows[newer.camera_id].revision == 9
    assert rows[gone].decommissioned_at is not None
