"""The FFmpeg engine's live HLS segments on this host, as wall-clock spans: what event
clips (``recording_mode = events``) are cut from.

ffmpeg writes ``seg_<n>.ts`` under a temporary name and renames it when the segment is
finished (``temp_file``), so a segment's modification time is its end; its start is the
previous segment's end (the first one's, its end minus the HLS target duration). Finished
segments stay on disk a while after leaving the playlist (``hls_delete_threshold``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from streaming_service.domain.ai.ports import LiveSegment
from streaming_service.domain.ports import ClipSpan, ClipUnavailable
from streaming_service.infrastructure.engines.ffmpeg.engine import live_dir
from streaming_service.infrastructure.ffmpeg_tools import concat_segments

_SEGMENT = re.compile(r"^seg_(\d+)\.ts$")


class HlsLiveSegments:
    def __init__(self, media_root: Path, *, target_seconds: float = 1.0) -> None:
        self._root = media_root
        self._target = target_seconds

    def segments(self, camera_id: uuid.UUID) -> list[LiveSegment]:
        directory = live_dir(self._root, camera_id)
        numbered: list[tuple[int, Path, float]] = []
        try:
            entries = list(directory.iterdir())
        except OSError:
            return []
        for path in entries:
            match = _SEGMENT.match(path.name)
            if match is None:
                continue
            try:
                stat = path.stat()
            except OSError:  # deleted by ffmpeg meanwhile
                continue
            if stat.st_size > 0:
                numbered.append((int(match.group(1)), path, stat.st_mtime))
        numbered.sort()
        result: list[LiveSegment] = []
        previous_end: float | None = None
        for _, path, end in numbered:
            start = previous_end if previous_end is not None and previous_end < end \
                else end - self._target
            result.append(LiveSegment(path, start, end))
            previous_end = end
        return result


async def cut_live_clip(segments: list[LiveSegment], start: datetime, end: datetime,
                        output: Path) -> ClipSpan:
    """Join the finished live segments overlapping ``[start, end]`` into ``output`` (stream
    copy). The segments are copied first: ffmpeg may delete them any moment."""
    begin_at, end_at = start.timestamp(), end.timestamp()
    chosen = [s for s in segments if s.end > begin_at and s.start < end_at]
    if not chosen:
        raise ClipUnavailable("no live video around the detection")
    workdir = Path(tempfile.mkdtemp(prefix="live-", dir=output.parent))
    try:
        copies = []
        for index, segment in enumerate(chosen):
            copy = workdir / f"{index:04d}.ts"
            shutil.copyfile(segment.path, copy)
            copies.append(copy)
        begin = max(begin_at, chosen[0].start)
        finish = min(end_at, chosen[-1].end)
        await concat_segments(copies, output, start_offset=max(0.0, begin_at - chosen[0].start),
                              duration=max(0.1, finish - begin))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ClipSpan(datetime.fromtimestamp(begin, UTC), datetime.fromtimestamp(finish, UTC))
