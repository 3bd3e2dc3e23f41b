"""ffmpeg's failures become stable codes with fixed messages; the status cache and the
``StreamFailed`` event carry only those, never the engine's own text."""

from __future__ import annotations

import json
import typing
import uuid

import pytest

from shared_kernel.events import (
    InvalidEvent,
    StreamFailed,
    StreamFailedV1,
    StreamFailureCode,
    new_event,
    parse_event,
)
from streaming_service.domain.stream import StreamFailure, StreamState, StreamStatus
from streaming_service.infrastructure.ffmpeg_failures import classify_ffmpeg_failure
from streaming_service.infrastructure.stream_status import status_from_dict, status_to_dict

# What ffmpeg 5.1 writes (masked as the engine logs it), and the code it means.
STDERR = [
    (["[tcp @ 0x55] Connection to tcp://127.0.0.1:40123?timeout=3000000 failed: "
      "Connection refused", "rtsp://127.0.0.1:40123/x: Connection refused"], 1, 0.3,
     StreamFailure.UNREACHABLE),
    (["[tcp @ 0x55] Failed to resolve hostname cam.city: Name or service not known",
      "rtsp://cam.city/x: Input/output error"], 1, 0.2, StreamFailure.UNREACHABLE),
    (["[tcp @ 0x55] Connection to tcp://10.0.0.9:554 failed: No route to host"], 1, 3.0,
     StreamFailure.UNREACHABLE),
    (["[rtsp @ 0x56] method DESCRIBE failed: 401 Unauthorized",
      "rtsp://***:***@127.0.0.1:41877/solo: Server returned 401 Unauthorized "
      "(authorization failed)"], 1, 0.3, StreamFailure.AUTH_FAILED),
    (["rtsp://h/x: Server returned 403 Forbidden (access denied)"], 1, 0.3,
     StreamFailure.AUTH_FAILED),
    (["rtsp://127.0.0.1:41975/x: Invalid data found when processing input"], 1, 0.3,
     StreamFailure.NOT_A_STREAM),
    (["[rtsp @ 0x55] CSeq 1 expected, 0 received.",
      "rtsp://127.0.0.1:36909/x: Invalid data found when processing input"], 1, 0.2,
     StreamFailure.NOT_A_STREAM),
    (["[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found",
      "rtsp://***:***@127.0.0.1:41877/nosuch: Server returned 404 Not Found"], 1, 0.3,
     StreamFailure.NOT_A_STREAM),
    (["Stream map '0:v:0' matches no streams."], 1, 1.0, StreamFailure.NOT_A_STREAM),
    # A peer that never answers: ffmpeg says "Invalid data" after its I/O timeout.
    (["rtsp://127.0.0.1:39057/x: Invalid data found when processing input"], 1, 5.2,
     StreamFailure.TIMEOUT),
    (["[tcp @ 0x55] Connection to tcp://10.0.0.9:554 failed: Connection timed out"], 1,
     5.0, StreamFailure.TIMEOUT),
    ([], 0, 30.0, StreamFailure.UNREACHABLE),  # the camera ended the session
    (["something nobody expected"], 1, 1.0, StreamFailure.STREAM_ERROR),
    ([], -9, 1.0, StreamFailure.STREAM_ERROR),
]


@pytest.mark.parametrize(("lines", "returncode", "elapsed", "expected"), STDERR)
def test_ffmpeg_stderr_is_classified(lines: list[str], returncode: int, elapsed: float,
                                     expected: StreamFailure) -> None:
    assert classify_ffmpeg_failure(lines, returncode=returncode, elapsed=elapsed,
                                   io_timeout=5.0) is expected


def test_words_inside_the_camera_url_do_not_decide_the_code() -> None:
    lines = ["rtsp://h:4010/forbidden/timed out/401/x: Connection refused"]
    assert classify_ffmpeg_failure(lines, returncode=1) is StreamFailure.UNREACHABLE


def test_every_failure_has_a_fixed_message_and_is_an_event_code() -> None:
    assert {f.value for f in StreamFailure} == set(typing.get_args(StreamFailureCode))
    for failure in StreamFailure:
        assert failure.message.endswith(".") and "{" not in failure.message


def _status(**changes: object) -> StreamStatus:
    base = StreamStatus(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(),
                        state=StreamState.RECONNECTING, engine="ffmpeg", restarts=2,
                        error=StreamFailure.AUTH_FAILED)
    return StreamStatus(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_the_status_cache_stores_only_the_code() -> None:
    status = _status()
    stored = status_to_dict(status)
    assert stored["error_code"] == "auth_failed" and "error" not in stored
    assert status_from_dict(json.loads(json.dumps(stored))) == status


def test_an_old_cached_status_with_engine_text_never_shows_it() -> None:
    old = status_to_dict(_status(error=None))
    old["error"] = "ffmpeg exited with code 1: rtsp://10.0.0.9:6379/x: Invalid data found"
    assert status_from_dict(old).error is None
    old["error_code"] = "something-new"
    assert status_from_dict(old).error is StreamFailure.STREAM_ERROR


def test_stream_failed_v2_carries_a_code_and_v1_events_still_parse() -> None:
    camera_id, tenant_id = uuid.uuid4(), uuid.uuid4()
    v2 = StreamFailed(camera_id=camera_id, tenant_id=tenant_id, code="timeout",
                      message=StreamFailure.TIMEOUT.message, attempt=3, will_retry=True)
    parsed = parse_event(new_event(v2, producer="streaming_service").to_json())
    assert (parsed.type, parsed.version) == ("StreamFailed", 2)
    assert parsed.typed_payload() == v2
    v1 = StreamFailedV1(camera_id=camera_id, tenant_id=tenant_id, reason="old text",
                        attempt=1, will_retry=False)
    assert parse_event(new_event(v1, producer="streaming_service").to_json()).version == 1
    raw = json.loads(new_event(v2, producer="streaming_service").to_json())
    raw["payload"]["code"] = "Connection refused"
    with pytest.raises(InvalidEvent):
        parse_event(json.dumps(raw))
