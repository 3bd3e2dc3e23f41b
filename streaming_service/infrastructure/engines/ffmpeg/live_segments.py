"""The FFmpeg engine's live HLS segments on this host, as wall-clock spans: what event
clips (``recording_mode = events``) are cut from.

ffmpeg writes ``seg_<n>.ts`` under a temporary name and renames it when the segment is
finished (``temp_file``), so a segment's modification time is its end; its start is the
previous segment's end (the first one's, its end minus the HLS target duration). Finished
segments stay on disk a while after leaving the playlist (``hls_delete_threshold``).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from streaming_service.domain.ai.ports import LiveSegment
from streaming_service.infrastructure.engines.ffmpeg.engine import live_dir

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
