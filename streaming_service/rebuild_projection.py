"""``python -m streaming_service.rebuild_projection --admin-url URL --token TOKEN``

Rebuilds the camera projection from the admin service (after data loss, or to repair
drift). The public camera API never returns ``rtsp_url``, so this reads the internal,
superadmin/service-only export endpoint ``GET /api/cidades/cameras/export/``, paginated
like every list (``?page=&page_size=``), which must answer::

    {"count": 123, "next": "<url or null>", "results": [
        {"camera_id": "<uuid>", "tenant_id": "<uuid>", "name": "...",
         "rtsp_url_encrypted": "<Fernet token, the value stored by the admin service>",
         "rtsp_url_masked": "rtsp://***:***@host/path",
         "recording_mode": "off|continuous|events", "retention_days": 90,
         "lpr_enabled": false, "status": "active", "latitude": null, "longitude": null,
         "location_id": null, "zone_id": null, "revision": 7,
         "decommissioned": false}, ...]}

i.e. exactly the ``CameraRegistered`` payload plus ``decommissioned``, including
decommissioned cameras. Rows are upserted with the same revision rule as the events (a
newer projection row is never rolled back), so running it while events flow is safe.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from shared_kernel.events import CameraDecommissioned, CameraSnapshot
from shared_kernel.logging import configure_logging
from streaming_service.application.camera_projection import decommission_camera, upsert_camera
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.settings import StreamingSettings

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/cidades/cameras/export/"


@dataclass
class RebuildReport:
    seen: int = 0
    applied: int = 0
    decommissioned: int = 0
    invalid: int = 0


async def fetch_pages(
    client: httpx.AsyncClient, page_size: int, max_pages: int = 100_000
) -> Any:
    page = 1
    while page <= max_pages:
        response = await client.get(EXPORT_PATH, params={"page": page, "page_size": page_size})
        response.raise_for_status()
        body = response.json()
        yield body.get("results", [])
        if not body.get("next"):
            return
        page += 1


async def rebuild(
    settings: StreamingSettings,
    admin_url: str,
    token: str,
    *,
    page_size: int = 200,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RebuildReport:
    report = RebuildReport()
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    try:
        async with httpx.AsyncClient(
            base_url=admin_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0), transport=transport,
        ) as client:
            async for results in fetch_pages(client, page_size):
                async with sessions() as session, session.begin():
                    for raw in results:
                        report.seen += 1
                        try:
                            camera = CameraSnapshot.model_validate(
                                {k: v for k, v in raw.items() if k != "decommissioned"})
                        except ValidationError:
                            report.invalid += 1
                            log.warning("skipping an invalid camera row",
                                        extra={"camera_id": str(raw.get("camera_id"))})
                            continue
                        if raw.get("decommissioned"):
                            await decommission_camera(session, CameraDecommissioned(
                                camera_id=camera.camera_id, tenant_id=camera.tenant_id,
                                revision=camera.revision))
                            report.decommissioned += 1
                        elif await upsert_camera(session, camera):
                            report.applied += 1
    finally:
        await engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", required=True)
    parser.add_argument("--token", required=True, help="a superadmin or service access token")
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.parse_args()
    settings = StreamingSettings()
    configure_logging("streaming_service.rebuild_projection", settings.log_level)
    report = asyncio.run(rebuild(settings, args.admin_url, args.token,
                                 page_size=args.page_size))
    print(f"cameras seen {report.seen}, updated {report.applied}, "
          f"decommissioned {report.decommissioned}, invalid {report.invalid}")


if __name__ == "__main__":
    main()
