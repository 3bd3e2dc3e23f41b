"""A stream's first run reports the segments no run of its own reported: the one an
ffmpeg killed with its replica was writing (fMP4, playable), finished ones listed in that
run's CSV, and those whose upload failed. Nothing in the directory is reported twice."""

from __future__ import annotations

import uuid
from pathlib import Path

from streaming_service.domain.ports import CompletedSegment
from streaming_service.domain.stream import StreamSource
from streaming_service.infrastructure.engines.ffmpeg.engine import FFmpegEngine, _Stream


async def test_leftover_segments_of_a_dead_run_are_reported_once(tmp_path: Path) -> None:
    reported: list[CompletedSegment] = []

    async def on_segment(segment: CompletedSegment) -> None:
        reported.append(segment)

    engine = FFmpegEngine(tmp_path, on_segment=on_segment)
    source = StreamSource(camera_id=uuid.uuid4(), tenant_id=uuid.uuid4(),
                          url="rtsp://10.0.0.1/s", record=True, segment_seconds=10)
    stream = _Stream(engine, source)
    record_dir = engine.record_dir(source.camera_id)
    record_dir.mkdir(parents=True)
    # The dead run "dead1234": one segment finished (listed), one cut by the kill.
    (record_dir / "20261205T212000Z_dead1234.mp4").write_bytes(b"finished")
    (record_dir / "20261205T212010Z_dead1234.mp4").write_bytes(b"cut short")
    (record_dir / ".dead1234.csv").write_text(
        "20261205T212000Z_dead1234.mp4,0.000000,10.000000\n")
    (record_dir / "20261205T212020Z_dead1234.mp4").write_bytes(b"")  # nothing written

    await stream._collect_leftovers()
    by_name = {s.path.name: s for s in reported}
    assert sorted(by_name) == ["20261205T212000Z_dead1234.mp4",
                               "20261205T212010Z_dead1234.mp4"]
    finished = by_name["20261205T212000Z_dead1234.mp4"]
    assert (finished.ended_at - finished.started_at).total_seconds() == 10
    assert by_name["20261205T212010Z_dead1234.mp4"].camera_id == source.camera_id
    assert not list(record_dir.glob(".*.csv"))

    await stream._collect_leftovers()  # the files stay (the sink kept them): not again
    assert len(reported) == 2
