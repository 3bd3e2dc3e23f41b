"""The MediaMTX adapter against MediaMTX's published control-API contract.

A spec-driven stand-in (``mediamtx_standin``) serves the API over real HTTP on
127.0.0.1; it rejects and records any request that does not validate against
``mediamtx-openapi.yaml`` and answers only with spec-shaped bodies. Each test ends by
asserting that nothing the client sent was invalid.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from shared_kernel.auth import Role, TokenClaims
from shared_kernel.camera_network import CameraNetworkPolicy
from streaming_service.domain.errors import (
    CameraSourceRefused,
    MediaEngineNotFound,
    MediaEngineRejected,
    MediaEngineUnavailable,
)
from streaming_service.domain.stream import Backoff, StreamSource, StreamState, StreamStatus
from streaming_service.infrastructure.engines.mediamtx import engine as mediamtx_module
from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient, PathInfo
from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
from streaming_service.infrastructure.engines.mediamtx.hooks import (
    MediaMtxAuthAction,
    MediaMtxAuthRequest,
    SegmentCompleteHook,
    segment_hook_command,
)
from streaming_service.infrastructure.engines.mediamtx.paths import path_name
from tests.integration.streaming.mediamtx_standin import (
    SHARED_SPEC_PATH,
    VENDORED_SPEC_PATH,
    MediaMtxStandIn,
    free_port,
    load_spec,
    serve,
)

CAMERA_URL = "rtsp://admin:s3cr3t-Pa55@10.20.30.40:554/Streaming/Channels/101"
# The camera network the tests' cameras live on, allowed as an operator would.
CAMERA_NETWORKS = CameraNetworkPolicy.from_strings(allowed=["10.20.30.0/24"])
FAST_RETRY = Backoff(initial_seconds=0.01, factor=2.0, max_seconds=0.05)


@pytest.fixture(scope="module")
def standin_server() -> Iterator[tuple[MediaMtxStandIn, str]]:
    standin = MediaMtxStandIn(load_spec())
    with serve(standin.app) as url:
        yield standin, url


@pytest.fixture
async def mediamtx(
    standin_server: tuple[MediaMtxStandIn, str],
) -> AsyncIterator[tuple[MediaMtxStandIn, MediaMtxClient]]:
    standin, url = standin_server
    standin.reset()
    client = MediaMtxClient(url, timeout_seconds=5.0, backoff=FAST_RETRY)
    try:
        yield standin, client
    finally:
        await client.aclose()
    assert standin.state.invalid_responses == [], "the stand-in answered outside the spec"


def _assert_all_requests_valid(standin: MediaMtxStandIn) -> None:
    assert standin.state.calls, "no request reached the stand-in"
    assert standin.state.invalid_requests == []


def _source(camera_id: uuid.UUID, tenant_id: uuid.UUID, record: bool = False) -> StreamSource:
    return StreamSource(
        camera_id=camera_id,
        tenant_id=tenant_id,
        url=CAMERA_URL,
        record=record,
        segment_seconds=60,
        retention_days=30,
    )


def test_the_mediamtx_spec_itself_is_a_valid_openapi_document() -> None:
    validate(load_spec())


@pytest.mark.skipif(not SHARED_SPEC_PATH.exists(), reason="no ../shared reference copy here")
def test_the_vendored_spec_is_the_shared_reference_copy() -> None:
    assert VENDORED_SPEC_PATH.read_bytes() == SHARED_SPEC_PATH.read_bytes()


async def test_client_add_get_patch_delete_roundtrip_validates_against_spec(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    await client.add_path("cam-test", {"source": CAMERA_URL, "sourceOnDemand": True})
    conf = await client.get_path_config("cam-test")
    assert conf["source"] == CAMERA_URL
    assert conf["sourceOnDemand"] is True
    assert conf["name"] == "cam-test"

    await client.patch_path("cam-test", {"record": True})
    assert (await client.get_path_config("cam-test"))["record"] is True

    await client.replace_path("cam-test", {"source": CAMERA_URL})
    assert (await client.get_path_config("cam-test"))["record"] is False  # defaults again

    assert [c["name"] for c in await client.list_path_configs()] == ["cam-test"]
    path = await client.get_path("cam-test")
    assert path.name == "cam-test"
    assert not path.is_online
    assert [p.name for p in await client.list_paths()] == ["cam-test"]

    global_conf = await client.get_global_config()
    assert "apiAddress" in global_conf

    await client.delete_path("cam-test")
    with pytest.raises(MediaEngineNotFound):
        await client.get_path_config("cam-test")
    _assert_all_requests_valid(standin)


async def test_list_calls_follow_pagination(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    names = [f"cam-page-{i:03d}" for i in range(105)]
    for name in names:
        standin.state.confs[name] = {"source": "publisher"}
    assert [c["name"] for c in await client.list_path_configs()] == names
    assert len(await client.list_paths()) == 105
    pages = [c for c in standin.state.calls if c[1] == "/v3/config/paths/list"]
    assert len(pages) == 2
    _assert_all_requests_valid(standin)


async def test_not_found_becomes_a_domain_error(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    with pytest.raises(MediaEngineNotFound, match="path not found"):
        await client.patch_path("cam-missing", {"record": True})
    with pytest.raises(MediaEngineNotFound):
        await client.delete_path("cam-missing")
    with pytest.raises(MediaEngineNotFound):
        await client.get_path("cam-missing")
    with pytest.raises(MediaEngineNotFound):
        await client.get_recordings("cam-missing")
    _assert_all_requests_valid(standin)


async def test_bad_request_keeps_mediamtx_message_with_credentials_masked(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    await client.add_path("cam-dup", {"source": "publisher"})
    with pytest.raises(MediaEngineRejected, match="path already exists"):
        await client.add_path("cam-dup", {"source": "publisher"})

    with pytest.raises(MediaEngineRejected) as caught:
        await client.add_path("cam-bad", {"source": "ftp://admin:s3cr3t-Pa55@10.0.0.1/x"})
    assert "invalid source" in caught.value.message
    assert "s3cr3t-Pa55" not in str(caught.value)
    assert caught.value.code == "media_engine_rejected"
    _assert_all_requests_valid(standin)


async def test_a_request_outside_the_spec_is_caught_by_the_stand_in(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    """The check itself works: a misspelt field fails validation (MediaMTX rejects it too)."""
    standin, client = mediamtx
    with pytest.raises(MediaEngineRejected):
        await client.add_path("cam-typo", {"sourceOnDemmand": True})
    assert len(standin.state.invalid_requests) == 1
    standin.state.invalid_requests.clear()


async def test_recordings_list_get_and_delete_segment(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    standin.add_recording("cam-rec", "2026-01-02T03:04:05.123456Z")
    standin.add_recording("cam-rec", "2026-01-02T03:05:05Z")
    recordings = await client.list_recordings()
    assert [r.name for r in recordings] == ["cam-rec"]
    rec = await client.get_recordings("cam-rec")
    first = rec.segments[0].start
    assert first == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

    await client.delete_recording_segment("cam-rec", first)
    assert len((await client.get_recordings("cam-rec")).segments) == 1
    with pytest.raises(MediaEngineNotFound):
        await client.delete_recording_segment("cam-rec", first)
    _assert_all_requests_valid(standin)


async def test_connection_refused_is_retried_a_bounded_number_of_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0

    class CountingTransport(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return await super().handle_async_request(request)

    closed_port = free_port()
    client = MediaMtxClient(
        f"http://127.0.0.1:{closed_port}",
        max_attempts=3,
        backoff=FAST_RETRY,
        transport=CountingTransport(),
    )
    caplog.set_level(logging.WARNING, logger="streaming_service.infrastructure.engines.mediamtx")
    started = time.monotonic()
    try:
        with pytest.raises(MediaEngineUnavailable, match="after 3 attempts"):
            await client.get_path("cam-x")
    finally:
        await client.aclose()
    assert attempts == 3
    assert time.monotonic() - started < 2.0
    retries = [r for r in caplog.records if r.getMessage() == "MediaMTX unreachable, retrying"]
    assert len(retries) == 2


async def test_engine_start_status_record_stop_flow(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    reported: list[StreamStatus] = []

    async def on_status(status: StreamStatus) -> None:
        reported.append(status)

    engine = MediaMtxEngine(client, record_root="/recordings", on_status=on_status,
                            address_policy=CAMERA_NETWORKS)
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    name = path_name(camera_id)

    status = await engine.start(_source(camera_id, tenant_id))
    assert status.state is StreamState.STARTING
    assert status.tenant_id == tenant_id
    assert status.engine == "mediamtx"
    assert not status.recording
    conf = standin.state.confs[name]
    assert conf["source"] == CAMERA_URL
    assert conf["sourceOnDemand"] is True
    assert conf["rtspTransport"] == "tcp"
    assert conf["recordFormat"] == "fmp4"
    assert conf["recordSegmentDuration"] == "60s"
    assert conf["recordDeleteAfter"] == "30d"
    assert conf["recordPath"] == f"/recordings/{tenant_id}/%path/%Y-%m-%d_%H-%M-%S-%f"

    # Idempotent: a second start replaces the same path.
    await engine.start(_source(camera_id, tenant_id))
    assert list(standin.state.confs) == [name]

    standin.set_online(name, inbound_bytes=1_000_000, readers=2)
    live = await engine.status(camera_id)
    assert live is not None
    assert live.state is StreamState.LIVE
    assert live.started_at == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    standin.set_online(name, inbound_bytes=1_250_000, readers=2)
    later = await engine.status(camera_id)
    assert later is not None and later.bitrate_kbps is not None and later.bitrate_kbps > 0

    await engine.set_recording(camera_id, True)
    assert standin.state.confs[name]["record"] is True
    # A recording camera is pulled continuously: the recorder is not a viewer.
    assert standin.state.confs[name]["sourceOnDemand"] is False
    recording = await engine.status(camera_id)
    assert recording is not None and recording.recording

    urls = engine.urls(camera_id)
    assert urls.hls == f"http://127.0.0.1:8888/{name}/index.m3u8"
    assert urls.webrtc == f"http://127.0.0.1:8889/{name}/whep"
    assert "s3cr3t" not in urls.hls + str(urls.webrtc)

    await engine.stop(camera_id)
    assert name not in standin.state.confs
    assert await engine.status(camera_id) is None
    await engine.stop(camera_id)  # stopping twice is harmless
    assert [s.state for s in reported] == [
        StreamState.STARTING,
        StreamState.STARTING,
        StreamState.STOPPED,
    ]
    with pytest.raises(MediaEngineNotFound):
        await engine.set_recording(camera_id, True)
    _assert_all_requests_valid(standin)


async def test_engine_start_with_recording_pulls_continuously_and_sets_the_hook(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    standin, client = mediamtx
    hook = segment_hook_command("http://streaming:8001/internal/mediamtx/segments")
    engine = MediaMtxEngine(client, segment_hook_command=hook,
                            address_policy=CAMERA_NETWORKS)
    camera_id = uuid.uuid4()
    status = await engine.start(_source(camera_id, uuid.uuid4(), record=True))
    assert status.recording
    conf = standin.state.confs[path_name(camera_id)]
    assert conf["record"] is True
    assert conf["sourceOnDemand"] is False
    assert "$MTX_SEGMENT_PATH" in conf["runOnRecordSegmentComplete"]
    _assert_all_requests_valid(standin)


async def test_an_events_camera_is_buffered_on_mediamtx_disk_but_not_recorded(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    """recording_mode = events: MediaMTX records a short local buffer (the event clips'
    source, served by its playback server) with no segment hook (nothing uploaded); it
    is not a recording for the service, and turning recording on makes it one."""
    standin, client = mediamtx
    hook = segment_hook_command("http://streaming:8001/internal/mediamtx/segments")
    engine = MediaMtxEngine(client, segment_hook_command=hook, record_root="/recordings",
                            address_policy=CAMERA_NETWORKS, event_buffer_keep="10m")
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    status = await engine.start(dataclasses.replace(_source(camera_id, tenant_id),
                                                    event_buffer=True))
    assert not status.recording
    name = path_name(camera_id)
    conf = standin.state.confs[name]
    assert conf["record"] is True and conf["sourceOnDemand"] is False
    assert conf["recordPath"].startswith(f"/recordings/{tenant_id}/events/%path/")
    assert conf["recordDeleteAfter"] == "10m"
    assert conf["runOnRecordSegmentComplete"] == ""
    assert (await engine.status(camera_id)).recording is False  # type: ignore[union-attr]

    await engine.set_recording(camera_id, False)  # the buffer stays
    assert standin.state.confs[name]["record"] is True
    await engine.set_recording(camera_id, True)
    conf = standin.state.confs[name]
    assert conf["recordPath"].startswith(f"/recordings/{tenant_id}/%path/")
    assert "$MTX_SEGMENT_PATH" in conf["runOnRecordSegmentComplete"]
    assert conf["recordDeleteAfter"].endswith("d")
    assert (await engine.status(camera_id)).recording is True  # type: ignore[union-attr]
    _assert_all_requests_valid(standin)


async def test_engine_reports_an_invalid_source_instead_of_a_missing_path(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MediaMTX's own validation stays the last line: what it rejects is reported as
    rejected. (The camera network policy refuses such a source first; it is bypassed
    here so that MediaMTX gets to see it.)"""
    standin, client = mediamtx

    async def unchecked(url: str, *_args: object, **_kwargs: object) -> str:
        return url

    monkeypatch.setattr(mediamtx_module, "connectable_url", unchecked)
    engine = MediaMtxEngine(client)
    bad = StreamSource(uuid.uuid4(), uuid.uuid4(), url="ftp://user:pw-Secret@cam/1")
    with pytest.raises(MediaEngineRejected, match="invalid source") as caught:
        await engine.start(bad)
    assert "pw-Secret" not in str(caught.value)
    _assert_all_requests_valid(standin)


@pytest.mark.parametrize("url", [
    "rtsp://u:pw-Secret@127.0.0.1:6379/", "rtsp://169.254.169.254/latest/meta-data",
    "rtsp://localhost:5432/", "rtsp://10.99.0.1/cam", "ftp://user:pw-Secret@cam/1",
])
async def test_engine_refuses_a_camera_outside_the_camera_networks_before_asking_mediamtx(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient], url: str,
) -> None:
    standin, client = mediamtx
    engine = MediaMtxEngine(client, address_policy=CAMERA_NETWORKS)
    with pytest.raises(CameraSourceRefused) as refused:
        await engine.start(StreamSource(uuid.uuid4(), uuid.uuid4(), url=url))
    assert refused.value.code == "address_not_allowed"
    assert "pw-Secret" not in str(refused.value)
    assert standin.state.calls == []


async def test_mediamtx_gets_the_camera_url_pinned_to_the_checked_address(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
) -> None:
    """MediaMTX never resolves the camera's name itself: a name that answers differently
    the next time (DNS rebinding) cannot send it elsewhere."""
    standin, client = mediamtx
    engine = MediaMtxEngine(client, address_policy=CameraNetworkPolicy.from_strings(
        allowed=["127.0.0.0/8", "::1/128"]))
    camera_id = uuid.uuid4()
    await engine.start(StreamSource(camera_id, uuid.uuid4(),
                                    url="rtsp://u:p@localhost:8554/cam1?"))
    source = standin.state.confs[path_name(camera_id)]["source"]
    assert source in ("rtsp://u:p@127.0.0.1:8554/cam1?", "rtsp://u:p@[::1]:8554/cam1?")


async def test_camera_credentials_never_reach_the_logs(
    mediamtx: tuple[MediaMtxStandIn, MediaMtxClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin, client = mediamtx
    caplog.set_level(logging.DEBUG)
    engine = MediaMtxEngine(client, address_policy=CAMERA_NETWORKS)
    camera_id = uuid.uuid4()
    await engine.start(_source(camera_id, uuid.uuid4()))
    await engine.set_recording(camera_id, True)
    await engine.status(camera_id)
    await engine.stop(camera_id)

    assert any("10.20.30.40" in str(r.__dict__.get("source", "")) for r in caplog.records)
    for record in caplog.records:
        assert "s3cr3t-Pa55" not in record.getMessage()
        assert "s3cr3t-Pa55" not in repr(record.__dict__)
    _assert_all_requests_valid(standin)


# -- payloads MediaMTX sends us ----------------------------------------------------------


def test_segment_complete_hook_becomes_a_completed_segment() -> None:
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    name = path_name(camera_id)
    hook = SegmentCompleteHook.from_env(
        {
            "MTX_PATH": name,
            "MTX_SEGMENT_PATH": f"/recordings/{tenant_id}/{name}/2026-03-04_05-06-07-250000.mp4",
            "MTX_SEGMENT_DURATION": "60.5",
            "RTSP_PORT": "8554",
        }
    )
    segment = hook.to_completed_segment("/recordings")
    assert segment.camera_id == camera_id
    assert segment.tenant_id == tenant_id
    assert segment.started_at == datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
    assert segment.ended_at - segment.started_at == timedelta(seconds=60.5)
    assert str(segment.path) == f"/recordings/{tenant_id}/{name}/2026-03-04_05-06-07-250000.mp4"

    moved = hook.to_completed_segment("/recordings", local_root=Path("/mnt/mtx"))
    assert str(moved.path).startswith("/mnt/mtx/")

    go_style = SegmentCompleteHook.model_validate(
        {
            "path": name,
            "segment_path": f"/recordings/{tenant_id}/{name}/2026-03-04_05-06-07-250000.mp4",
            "segment_duration": "1m0.5s",
        }
    )
    assert go_style.segment_duration == timedelta(seconds=60.5)


@pytest.mark.parametrize(
    "segment_path",
    [
        "/recordings/../etc/passwd",
        "/elsewhere/{tenant}/{name}/2026-03-04_05-06-07-250000.mp4",
        "/recordings/not-a-tenant/{name}/2026-03-04_05-06-07-250000.mp4",
        "/recordings/{tenant}/cam-other/2026-03-04_05-06-07-250000.mp4",
        "/recordings/{tenant}/{name}/garbage.mp4",
    ],
)
def test_segment_hook_rejects_foreign_or_malformed_paths(segment_path: str) -> None:
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    name = path_name(camera_id)
    hook = SegmentCompleteHook(
        path=name,
        segment_path=segment_path.format(tenant=tenant_id, name=name),
        segment_duration=timedelta(seconds=60),
    )
    with pytest.raises(ValueError):
        hook.to_completed_segment("/recordings")


def test_segment_hook_rejects_a_path_that_is_not_a_camera() -> None:
    with pytest.raises(ValueError):
        SegmentCompleteHook(
            path="somebody-else", segment_path="/recordings/x", segment_duration="5"
        ).to_completed_segment("/recordings")


def _claims(tenant_id: uuid.UUID | None, *roles: Role) -> TokenClaims:
    return TokenClaims(
        user_id=uuid.uuid4(), tenant_id=tenant_id, roles=roles, jti="j", exp=2_000_000_000
    )


def test_auth_callback_payload_parses_and_finds_the_token() -> None:
    body = {
        "user": "",
        "password": "",
        "token": "",
        "ip": "10.0.0.9",
        "action": "read",
        "path": "cam-x",
        "protocol": "hls",
        "id": None,
        "query": "token=abc.def.ghi",
    }
    request = MediaMtxAuthRequest.model_validate(body)
    assert request.action is MediaMtxAuthAction.READ
    assert request.bearer_token() == "abc.def.ghi"
    assert MediaMtxAuthRequest(action="read", token="t1", password="p").bearer_token() == "t1"
    assert MediaMtxAuthRequest(action="read", password="p").bearer_token() == "p"
    assert MediaMtxAuthRequest(action="read").bearer_token() is None


async def test_engine_reads_are_allowed_for_viewers_of_the_camera_tenant_only(
    app_services: Any, seed_camera: Any,
) -> None:
    """The media-access policy behind MediaMTX's auth hook (one policy for every engine)."""
    from streaming_service.application.audit import Actor
    from streaming_service.application.media_access import MediaAction
    from streaming_service.domain.errors import MediaAccessDenied

    camera = await seed_camera()
    tenant, other = camera.tenant_id, uuid.uuid4()
    access = app_services.media_access

    async def decide(action: MediaAction, claims: TokenClaims | None,
                     camera_id: uuid.UUID | None = camera.camera_id) -> int:
        try:
            await access.allow_engine_read(
                action=action, camera_id=camera_id, media_token=None, claims=claims,
                actor=Actor(user_id=claims.user_id) if claims else None)
        except MediaAccessDenied as denied:
            return 401 if denied.needs_credentials else 403
        return 200

    assert await decide(MediaAction.READ, _claims(tenant, Role.VIEWER)) == 200
    assert await decide(MediaAction.PLAYBACK, _claims(tenant, Role.OPERATOR)) == 200
    # A superadmin's token names no tenant: it reads through an audited tenant choice in
    # the API (a media token), never straight from MediaMTX.
    assert await decide(MediaAction.READ, _claims(None, Role.SUPERADMIN)) == 403
    assert await decide(MediaAction.READ, _claims(other, Role.TENANT_ADMIN)) == 403
    assert await decide(MediaAction.READ, None) == 401
    assert await decide(MediaAction.READ, _claims(tenant)) == 403  # no role
    assert await decide(MediaAction.READ, _claims(tenant, Role.VIEWER), uuid.uuid4()) == 403
    assert await decide(MediaAction.READ, _claims(tenant, Role.VIEWER), None) == 403
    for action in (MediaAction.PUBLISH, MediaAction.OTHER):
        assert await decide(action, _claims(tenant, Role.TENANT_ADMIN)) == 403


def test_path_state_parsing_tolerates_nulls_old_fields_and_new_fields() -> None:
    old_release = PathInfo.model_validate(
        {
            "name": "cam-a",
            "ready": True,
            "readyTime": None,
            "tracks": None,
            "source": None,
            "bytesReceived": 42,
            "readers": None,
            "somethingNew": {"x": 1},
        }
    )
    assert old_release.is_online and old_release.received_bytes == 42
    assert old_release.codecs == [] and old_release.readers == []
    new_release = PathInfo.model_validate(
        {
            "name": "cam-a",
            "ready": False,
            "online": True,
            "inboundBytes": 7,
            "bytesReceived": 0,
            "tracks2": [{"codec": "H265", "codecProps": {"width": 1}}],
        }
    )
    assert new_release.is_online and new_release.received_bytes == 7
    assert new_release.codecs == ["H265"]
