"""End to end: a simulated RTSP camera shows vehicles with known plates → an LPR worker
(ffmpeg frame sampling, shipped YOLOv8 ONNX detector, PP-OCR, tracker) records them →
they are stored and searchable, and arrive on the tenant's WebSocket; a watchlisted plate
raises an alert on its first confident read — before the tracker's vote announces the
vehicle — exactly once, that arrives and is acknowledged; another tenant's client sees
nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.crypto import CredentialCipher
from streaming_service.domain.ai.detection import TrackerConfig
from streaming_service.domain.ai.ports import FrameSource
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.db.models.ai import CameraAssignment
from streaming_service.infrastructure.frame_source import FfmpegFrameSource
from streaming_service.infrastructure.leases import PostgresCameraLeases
from streaming_service.workers.lpr_worker import CameraSource, LprWorker
from tests.integration.conftest import SIM_SIZE

from .conftest import Server

pytestmark = pytest.mark.slow


@pytest.fixture
async def lpr_camera(
    sessions: async_sessionmaker[AsyncSession], camera_urls: dict[str, str],
    streaming_settings: Any, make_caller: Any,
) -> AsyncIterator[tuple[Any, uuid.UUID]]:
    operator = make_caller("operator")
    cipher = CredentialCipher(streaming_settings.camera_credentials_key.get_secret_value())
    camera_id = uuid.uuid4()
    async with sessions() as session:
        session.add(Camera(
            id=camera_id, tenant_id=operator.tenant_id, name="Av. Paulista LPR",
            rtsp_url_encrypted=cipher.encrypt(camera_urls["cam1"]),
            rtsp_url_masked="rtsp://***@127.0.0.1/cam1", recording_mode="off",
            retention_days=90, lpr_enabled=True, status="active", revision=1))
        await session.commit()
    try:
        yield operator, camera_id
    finally:
        async with sessions() as session:
            await session.execute(delete(CameraAssignment))
            await session.execute(delete(Camera).where(Camera.id == camera_id))
            await session.commit()


async def _collect(ws: Any, into: list[tuple[float, dict[str, Any]]]) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") not in {"ping", "welcome"}:
                into.append((time.time(), message))


def _raised_before_a_confirming_vote(messages: list[tuple[float, dict[str, Any]]]) -> set[str]:
    """Detections alerted on a first read, before their vote, and not retracted by it.

    By design a vote may also retract such an alert (a misread, two vehicles taken for
    one), or raise one itself (no read before it was confident): on a loaded machine,
    with frames dropped, both happen, so the test waits for a vehicle that shows the
    early alert the worker exists to give."""
    order = [(m["type"], m["payload"].get("detection_id")) for _, m in messages]
    retracted = {m["payload"]["detection_id"] for _, m in messages
                 if m["type"] == "AlertUpdated" and m["payload"]["change"] == "retracted"}
    return {
        detection for kind, detection in order
        if kind == "AlertRaised" and detection not in retracted
        and ("PlateDetected", detection) in order
        and order.index(("AlertRaised", detection)) < order.index(("PlateDetected", detection))
    }


async def test_camera_to_websocket(server: Server, http: httpx.AsyncClient, streaming_settings: Any,
                                   sessions: async_sessionmaker[AsyncSession],
                                   lpr_camera: tuple[Any, uuid.UUID], make_caller: Any) -> None:
    operator, camera_id = lpr_camera
    stranger = make_caller("viewer")
    wl = (await http.post("/api/ai/watchlists/", headers=operator.headers,
                          json={"name": "Wanted"})).json()
    await http.post(f"/api/ai/watchlists/{wl['id']}/entries/", headers=operator.headers,
                    json={"plate": "BRA2E19", "severity": "critical", "reason": "robbery"})

    mine: list[tuple[float, dict[str, Any]]] = []
    theirs: list[tuple[float, dict[str, Any]]] = []
    ws_mine = await websockets.connect(f"{server.ws_url}/ws/alerts?token={operator.token}")
    ws_theirs = await websockets.connect(f"{server.ws_url}/ws/alerts?token={stranger.token}")
    readers = [asyncio.create_task(_collect(ws_mine, mine)),
               asyncio.create_task(_collect(ws_theirs, theirs))]

    def source(camera: CameraSource) -> FrameSource:
        return FfmpegFrameSource(camera.url, fps=4, width=SIM_SIZE[0], height=SIM_SIZE[1],
                                 address_policy=streaming_settings.camera_network_policy())

    worker = LprWorker(
        worker_id="e2e", leases=PostgresCameraLeases(sessions, lease_seconds=10),
        sessions=sessions, recogniser=server.app.state.services.recogniser,
        recorder=server.app.state.services.recorder, source_factory=source,
        cipher=CredentialCipher(streaming_settings.camera_credentials_key.get_secret_value()),
        max_cameras=1,
        tracker_config=TrackerConfig(
            provisional_min_confidence=streaming_settings.lpr_provisional_min_confidence),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            types = {(m["type"], m["payload"].get("plate")) for _, m in mine}
            if {("PlateDetected", "ABC1D23"), ("AlertRaised", "BRA2E19")} <= types \
                    and _raised_before_a_confirming_vote(mine):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"not received in time: {[m for _, m in mine]}")
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)

    detected = [m for _, m in mine if m["type"] == "PlateDetected"]
    assert {m["payload"]["camera_id"] for m in detected} == {str(camera_id)}
    # Each passing vehicle is reported once, not once per frame.
    plates = [m["payload"]["plate"] for m in detected]
    assert len(plates) == len(set(plates))
    # Published → delivered to the socket within a second.
    for received_at, message in mine:
        sent = datetime.fromisoformat(message["occurred_at"]).timestamp()
        assert received_at - sent < 1.0, message["type"]

    found = await http.get("/api/ai/detections/", headers=operator.headers,
                           params={"plate": "ABC1D23", "camera_id": str(camera_id)})
    assert found.json()["count"] >= 1
    crop_url = found.json()["results"][0]["crop_url"]
    crop = await http.get(crop_url, headers=operator.headers)
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"

    # The alert acknowledged here was raised on the vehicle's first confident read (on the
    # socket before the vote's PlateDetected) and confirmed by the vote.
    early = _raised_before_a_confirming_vote(mine)
    alert = next(m for _, m in mine
                 if m["type"] == "AlertRaised" and m["payload"]["detection_id"] in early)
    # Never a duplicate: one alert per (vehicle, watchlist entry); a changed read is an
    # AlertUpdated of the same alert.
    raised = [(m["payload"]["detection_id"], m["payload"]["watchlist_entry_id"])
              for _, m in mine if m["type"] == "AlertRaised"]
    assert len(raised) == len(set(raised))
    for update in (m for _, m in mine if m["type"] == "AlertUpdated"):
        assert update["payload"]["alert_id"] in {
            m["payload"]["alert_id"] for _, m in mine if m["type"] == "AlertRaised"}
    ack = await http.post(f"/api/ai/alerts/{alert['payload']['alert_id']}/ack",
                          headers=operator.headers)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"

    await asyncio.sleep(0.5)
    for ws in (ws_mine, ws_theirs):
        await ws.close()
    for task in readers:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    acknowledged = [m for _, m in mine if m["type"] == "AlertAcknowledged"]
    assert acknowledged
    # Every screen of the tenant hears of it; the operator's address stays in the audit log.
    assert all("ip" not in m["payload"] for m in acknowledged)
    assert theirs == [], "another tenant's client must see nothing"
