"""“Testar conexão”: can this service reach a camera URL, and what does it send?

An admin types an RTSP URL before saving a camera; the probe connects the way every
camera connection does (the camera network policy first, then ffprobe with a timeout) and
answers the first video stream's codec, size and frame rate, or one of the stable
``StreamFailure`` codes — never ffmpeg's own text. Each probe is audited with the masked
URL: it makes this service connect to an address a user chose.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Protocol

from shared_kernel.masking import mask_url
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.domain.stream import StreamFailure


@dataclass(frozen=True)
class ProbedStream:
    video_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    format_name: str | None


class ProbeFailed(Exception):
    """The URL could not be probed; ``failure`` says why, in the codes clients see."""

    def __init__(self, failure: StreamFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


class StreamProber(Protocol):
    async def __call__(self, url: str) -> ProbedStream:
        """The URL's first video stream, or :class:`ProbeFailed`."""
        ...


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    stream: ProbedStream | None = None
    reason: StreamFailure | None = None


class CameraProbe:
    def __init__(self, *, probe: StreamProber, audit: AuditTrail, max_concurrent: int = 4) -> None:
        self._probe = probe
        self._audit = audit
        # Each probe is an ffprobe process: a bound, so a busy form cannot fork a hundred.
        self._slots = asyncio.Semaphore(max_concurrent)

    async def run(self, url: str, *, tenant_id: uuid.UUID | None, actor: Actor) -> ProbeOutcome:
        async with self._slots:
            try:
                stream = await self._probe(url)
            except ProbeFailed as failed:
                outcome = ProbeOutcome(ok=False, reason=failed.failure)
            else:
                if stream.video_codec is None:
                    outcome = ProbeOutcome(ok=False, reason=StreamFailure.NOT_A_STREAM)
                else:
                    outcome = ProbeOutcome(ok=True, stream=stream)
        await self._audit.record(
            actor, "camera.probe", object_type="camera_url", object_id=None,
            tenant_id=tenant_id,
            after={"url": mask_url(url), "ok": outcome.ok,
                   "reason": outcome.reason.value if outcome.reason else None})
        return outcome
