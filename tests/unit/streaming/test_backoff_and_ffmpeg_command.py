"""Retry policy of streams, and the ffmpeg command the embedded engine runs."""

from __future__ import annotations

import uuid
from pathlib import Path

from streaming_service.domain.stream import Backoff, StreamSource
from streaming_service.infrastructure.engines.ffmpeg.engine import (
    FFmpegEngineOptions,
    build_command,
)


def test_backoff_grows_exponentially_up_to_its_ceiling() -> None:
    backoff = Backoff(initial_seconds=1.0, factor=2.0, max_seconds=10.0)
    assert [backoff.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.delay(-3) == 1.0


def test_backoff_without_max_attempts_never_gives_up() -> None:
    assert not Backoff().gives_up_after(10_000)


def test_backoff_gives_up_at_max_attempts() -> None:
    backoff = Backoff(max_attempts=3)
    assert not backoff.gives_up_after(2)
    assert backoff.gives_up_after(3)


def _source(record: bool) -> StreamSource:
    return StreamSource(uuid.uuid4(), uuid.uuid4(), "rtsp://u:secret@10.0.0.5/stream1",
                        record=record, segment_seconds=30)


def test_command_copies_video_into_live_hls_only_when_not_recording() -> None:
    command = build_command(_source(False), Path("/m/live/x"), None, "abc", FFmpegEngineOptions())
    assert command.count("rtsp://u:secret@10.0.0.5/stream1") == 1
    assert command[command.index("-rtsp_transport") + 1] == "tcp"
    assert command[command.index("-c") + 1] == "copy"
    assert "hls" in command and "/m/live/x/index.m3u8" in command
    assert "segment" not in command


def test_command_adds_fixed_length_mp4_segments_when_recording() -> None:
    command = build_command(_source(True), Path("/m/live/x"), Path("/m/rec/x"), "abc",
                            FFmpegEngineOptions())
    assert command[command.index("-segment_time") + 1] == "30"
    assert command[command.index("-segment_format") + 1] == "mp4"
    assert command[command.index("-segment_list_type") + 1] == "csv"
    assert command[-1] == "/m/rec/x/%Y%m%dT%H%M%SZ_abc.mp4"
    assert command.count("copy") == 2
