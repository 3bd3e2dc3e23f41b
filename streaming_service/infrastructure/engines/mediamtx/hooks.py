"""What MediaMTX sends back to us: the recording-segment hook (``runOnRecordSegmentComplete``)
and the HTTP auth callback (``authHTTPAddress``).
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from streaming_service.domain.ports import CompletedSegment
from streaming_service.infrastructure.engines.mediamtx.paths import (
    RECORD_STAMP_FORMAT,
    camera_id_from_path_name,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# runOnRecordSegmentComplete hook
# --------------------------------------------------------------------------------------


def segment_hook_command(url: str) -> str:
    """A ``runOnRecordSegmentComplete`` command that posts the hook's variables to ``url``.

    MediaMTX substitutes ``$MTX_*`` in the command before running it.
    """
    body = (
        '{"MTX_PATH":"$MTX_PATH","MTX_SEGMENT_PATH":"$MTX_SEGMENT_PATH",'
        '"MTX_SEGMENT_DURATION":"$MTX_SEGMENT_DURATION"}'
    )
    return (
        f"curl -fsS -m 10 --retry 3 -X POST -H 'Content-Type: application/json' -d '{body}' {url}"
    )


_HOOK_VARIABLES = ("MTX_PATH", "MTX_SEGMENT_PATH", "MTX_SEGMENT_DURATION")


class SegmentCompleteHook(BaseModel):
    """The variables of MediaMTX's ``runOnRecordSegmentComplete``: ``MTX_PATH``,
    ``MTX_SEGMENT_PATH`` and ``MTX_SEGMENT_DURATION`` (also accepted in snake case)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    path: str = Field(validation_alias=AliasChoices("MTX_PATH", "path"), min_length=1)
    segment_path: str = Field(
        validation_alias=AliasChoices("MTX_SEGMENT_PATH", "segment_path"), min_length=1
    )
    segment_duration: timedelta = Field(
        validation_alias=AliasChoices("MTX_SEGMENT_DURATION", "segment_duration")
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SegmentCompleteHook:
        return cls.model_validate({k: env[k] for k in _HOOK_VARIABLES if k in env})

    @field_validator("segment_duration", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_duration(value)
        return value

    @property
    def camera_id(self) -> uuid.UUID | None:
        return camera_id_from_path_name(self.path)

    def to_completed_segment(
        self, record_root: str, local_root: Path | None = None
    ) -> CompletedSegment:
        """The segment as the upload use case needs it.

        ``record_root`` is where MediaMTX writes (as in the path's ``recordPath``);
        ``local_root`` is where this process sees the same directory (a shared volume
        may be mounted elsewhere). Raises ValueError for a path that is not ours or a
        file outside the recording root.
        """
        camera_id = self.camera_id
        if camera_id is None:
            raise ValueError(f"not a camera path: {self.path!r}")
        root = PurePosixPath(record_root)
        segment = PurePosixPath(self.segment_path)
        if ".." in segment.parts or not segment.is_relative_to(root):
            raise ValueError("segment file is outside the recording root")
        relative = segment.relative_to(root)
        if len(relative.parts) != 3 or relative.parts[1] != self.path:
            raise ValueError("segment file does not follow <root>/<tenant>/<path>/<file>")
        try:
            tenant_id = uuid.UUID(relative.parts[0])
        except ValueError as exc:
            raise ValueError("segment file has no tenant directory") from exc
        started_at = datetime.strptime(segment.stem, RECORD_STAMP_FORMAT).replace(tzinfo=UTC)
        local = (local_root or Path(record_root)).joinpath(*relative.parts)
        return CompletedSegment(
            camera_id=camera_id,
            tenant_id=tenant_id,
            path=local,
            started_at=started_at,
            ended_at=started_at + self.segment_duration,
        )


_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text: str) -> timedelta:
    """Seconds (``"60.016"``) or a Go duration (``"1m0.5s"``) as MediaMTX prints them."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _GO_DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"not a duration: {text!r}") from None
        seconds = sum(float(n) * _GO_UNITS[u] for n, u in parts)
    # Negative, NaN, infinite, or beyond what timedelta holds (OverflowError, a 500).
    if not 0 <= seconds <= _MAX_DURATION_SECONDS:
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(seconds=seconds)


_MAX_DURATION_SECONDS = timedelta.max.total_seconds() // 2


# --------------------------------------------------------------------------------------
# HTTP auth callback (authMethod: http)

# --------------------------------------------------------------------------------------


class MediaMtxAuthAction(enum.StrEnum):
    PUBLISH = "publish"
    READ = "read"
    PLAYBACK = "playback"
    API = "api"
    METRICS = "metrics"
    PPROF = "pprof"


class MediaMtxAuthRequest(BaseModel):
    """Body MediaMTX POSTs to ``authHTTPAddress`` before letting a client act on a path."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: str = ""
    password: str = ""
    token: str = ""
    ip: str = ""
    action: MediaMtxAuthAction
    path: str = ""
    protocol: str = ""
    id: str | None = None
    query: str = ""

    @field_validator("user", "password", "token", "ip", "path", "protocol", "query", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    def bearer_token(self) -> str | None:
        """The viewer's JWT: MediaMTX's ``token`` (Authorization: Bearer), else a
        ``token``/``jwt`` query parameter (HLS players), else the password (RTSP clients
        that can only send user/password)."""
        if self.token:
            return self.token
        query = parse_qs(self.query.lstrip("?"))
        for key in ("token", "jwt"):
            if query.get(key) and query[key][0]:
                return query[key][0]
        return self.password or None
