"""Event clips with the MediaMTX engine: the playback client against MediaMTX's playback
contract (``mediamtx-playback-openapi.yaml``), over real HTTP.

The stand-in (``mediamtx_playback_standin``) validates every request against the
document, refuses unknown parameters and wrong credentials, lists a recording that is
still being written, and answers ``/get`` with a real MP4 cut by a real ffmpeg from a real
H.264 recording. The clips written are checked with ffprobe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from streaming_service.domain.ports import ClipNotReady, ClipUnavailable
from streaming_service.infrastructure.engines.mediamtx.client import MediaMtxClient
from streaming_service.infrastructure.engines.mediamtx.engine import MediaMtxEngine
from streaming_service.infrastructure.engines.mediamtx.paths import path_name
from streaming_service.infrastructure.engines.mediamtx.playback import (
    MediaMtxPlayback,
    RecordedSpan,
    covered,
)
from streaming_service.infrastructure.ffmpeg_tools import probe
from tests.integration.streaming.mediamtx_playback_standin import (
    PLAYBACK_SPEC_PATH,
    SHARED_PLAYBACK_SPEC_PATH,
    PlaybackStandIn,
    load_playback_spec,
    make_recording,
)
from tests.integration.streaming.mediamtx_standin import serve

USER, PASSWORD = "gtv-clips", "hook-token-0123456789"
RECORDING_SECONDS = 40


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("rec") / "camera.mp4", RECORDING_SECONDS)


@pytest.fixture
def standin() -> Iterator[tuple[PlaybackStandIn, str]]:
    server = PlaybackStandIn(user=USER, password=PASSWORD, lag_seconds=2.0)
    with serve(server.app) as url:
        yield server, url
    assert server.state.invalid_responses == [], "the stand-in answered outside the spec"


def _playback(url: str, **options: float) -> MediaMtxPlayback:
    return MediaMtxPlayback(url, username=USER, password=PASSWORD,
                            retry_seconds=options.pop("retry_seconds", 0.5),
                            ready_wait_seconds=options.pop("ready_wait_seconds", 15.0),
                            **options)  # type: ignore[arg-type]


def _engine(playback: MediaMtxPlayback) -> MediaMtxEngine:
    # The control API is not used by cut_clip: nothing listens there.
    return MediaMtxEngine(MediaMtxClient("http://127.0.0.1:9", timeout_seconds=1.0),
                          playback=playback)


@pytest.mark.skipif(not SHARED_PLAYBACK_SPEC_PATH.exists(), reason="no ../shared copy here")
def test_the_vendored_playback_contract_is_the_reference() -> None:
    assert PLAYBACK_SPEC_PATH.read_bytes() == SHARED_PLAYBACK_SPEC_PATH.read_bytes()


async def test_the_engine_cuts_an_eight_second_clip_once_the_span_is_recorded(
    standin: tuple[PlaybackStandIn, str], recording: Path, tmp_path: Path,
) -> None:
    server, url = standin
    camera_id = uuid.uuid4()
    now = datetime.now(UTC)
    server.add_recording(path_name(camera_id), now - timedelta(seconds=20), recording,
                         RECORDING_SECONDS)
    # A plate read 5 s ago: the post-roll ends now, and MediaMTX has written it up to 2 s
    # ago only; the client waits until the recording covers the span.
    detected = now - timedelta(seconds=5)
    engine = _engine(_playback(url))
    try:
        output = tmp_path / "clip.mp4"
        span = await engine.cut_clip(camera_id, detected - timedelta(seconds=3),
                                     detected + timedelta(seconds=5), output)
    finally:
        await engine.close()
    assert span is not None
    assert span.start == detected - timedelta(seconds=3)
    assert span.end == detected + timedelta(seconds=5)
    lists = [q for p, q in server.state.calls if p == "/list"]
    assert len(lists) >= 2, "the incomplete span was asked for again"
    info = await probe(output)
    assert info.video_codec == "h264" and info.width == 320
    assert info.duration_seconds is not None
    assert 7.5 <= info.duration_seconds <= 8.6, info.duration_seconds
    assert server.state.invalid_requests == []
    assert server.state.refused_auth == 0


async def test_the_client_sends_the_parameters_of_the_contract(
    standin: tuple[PlaybackStandIn, str], recording: Path, tmp_path: Path,
) -> None:
    server, url = standin
    server.lag_seconds = 0.0
    camera_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(seconds=30)
    server.add_recording(path_name(camera_id), start, recording, RECORDING_SECONDS)
    playback = _playback(url)
    try:
        await playback.cut(path_name(camera_id), start + timedelta(seconds=10),
                           start + timedelta(seconds=18), tmp_path / "clip.mp4")
        await playback.list_spans(path_name(camera_id), start=start)
    finally:
        await playback.aclose()
    spec = load_playback_spec()["paths"]
    for route, query in server.state.calls:
        parameters = {p["name"]: p for p in spec[route]["get"]["parameters"]}
        assert set(query) <= set(parameters), (route, query)
        assert {n for n, p in parameters.items() if p.get("required")} <= set(query)
        for name, value in query.items():
            schema = parameters[name]["schema"]
            if "enum" in schema:
                assert value in schema["enum"]
            if schema.get("format") == "date-time":
                assert datetime.fromisoformat(value).tzinfo is not None
    gets = [q for p, q in server.state.calls if p == "/get"]
    assert len(gets) == 1 and gets[0]["format"] == "mp4"
    assert float(gets[0]["duration"]) == pytest.approx(8.0)
    assert gets[0]["path"] == path_name(camera_id)
    assert {p for p, _ in server.state.calls} == {"/list", "/get"}
    assert server.state.invalid_requests == []
    # The stand-in does refuse what the contract does not allow (a control).
    async with httpx.AsyncClient(base_url=url, auth=(USER, PASSWORD)) as raw:
        for query in ({"path": "x", "start": "2026-01-01T00:00:00Z", "format": "mkv",
                       "duration": "8"},
                      {"path": "x", "start": "2026-01-01T00:00:00Z"},
                      {"path": "x", "start": "2026-01-01T00:00:00Z", "duration": "8",
                       "seconds": "8"}):
            assert (await raw.get("/get", params=query)).status_code == 400, query
    assert len(server.state.invalid_requests) == 3


async def test_a_span_not_recorded_in_time_is_not_ready(
    standin: tuple[PlaybackStandIn, str], recording: Path, tmp_path: Path,
) -> None:
    server, url = standin
    camera_id = uuid.uuid4()
    now = datetime.now(UTC)
    server.add_recording(path_name(camera_id), now - timedelta(seconds=10), recording,
                         RECORDING_SECONDS)
    playback = _playback(url, ready_wait_seconds=1.0, retry_seconds=0.3)
    output = tmp_path / "clip.mp4"
    try:
        with pytest.raises(ClipNotReady):  # its end is 30 s in the future
            await playback.cut(path_name(camera_id), now, now + timedelta(seconds=30), output)
        with pytest.raises(ClipNotReady):  # nothing recorded for this camera
            await playback.cut(path_name(uuid.uuid4()), now - timedelta(seconds=8), now,
                               output)
    finally:
        await playback.aclose()
    assert not output.exists()
    assert server.state.invalid_requests == []


async def test_wrong_credentials_and_oversized_clips_are_refused(
    standin: tuple[PlaybackStandIn, str], recording: Path, tmp_path: Path,
) -> None:
    server, url = standin
    server.lag_seconds = 0.0
    camera_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(seconds=30)
    server.add_recording(path_name(camera_id), start, recording, RECORDING_SECONDS)
    span = (start + timedelta(seconds=5), start + timedelta(seconds=13))
    output = tmp_path / "clip.mp4"
    intruder = MediaMtxPlayback(url, username=USER, password="wrong")
    try:
        with pytest.raises(ClipUnavailable, match="not authorised"):
            await intruder.cut(path_name(camera_id), *span, output)
    finally:
        await intruder.aclose()
    assert server.state.refused_auth == 1
    small = _playback(url, max_bytes=4096)
    try:
        with pytest.raises(ClipUnavailable, match="exceeds"):
            await small.cut(path_name(camera_id), *span, output)
    finally:
        await small.aclose()
    assert not output.exists(), "a partial download is not left behind"


def test_covered_spans() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    spans = [RecordedSpan(at(0), 60), RecordedSpan(at(60.2), 60), RecordedSpan(at(200), 10)]
    assert covered(spans, at(57), at(65)) == (at(57), at(65)), "across a segment border"
    assert covered(spans, at(118), at(126)) == (at(118), at(120.2)), "recording stopped"
    assert covered(spans, at(197), at(205)) == (at(200), at(205)), "stream started late"
    assert covered(spans, at(150), at(158)) is None
    assert covered([], at(0), at(8)) is None
