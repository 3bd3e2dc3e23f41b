"""Use cases of live streams: start, stop, recording on/off, and the engine's status
reports. The camera's RTSP URL is decrypted here and only here, right before it is handed
to the engine; URLs given back to clients are built from the engine's public paths and
a media token, never from the camera URL.

``StreamStarted``, ``StreamStopped`` and ``StreamFailed`` go through the outbox (see
``application.events.record_event``): recorded durably, published by the relay. What a
user does here is audited (``application.audit``): a live view before its URLs are handed
out, a stream started or stopped and recording switched on or off as they happen."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.crypto import CredentialCipher
from shared_kernel.events import StreamFailed, StreamStarted, StreamStopped
from shared_kernel.lifecycle import sleep_until_stopped
from streaming_service.application.audit import Actor, AuditTrail
from streaming_service.application.events import record_event
from streaming_service.domain.errors import (
    CameraSourceRefused,
    MediaEngineError,
    StreamNotRunning,
)
from streaming_service.domain.ports import (
    CameraDirectory,
    CameraRecord,
    MediaEngine,
    MediaTokenIssuer,
    Outbox,
    OwnerAction,
    OwnerCommand,
    OwnerReply,
    StreamOwnership,
    StreamStatusCache,
    StreamTelemetry,
)
from streaming_service.domain.stream import (
    StreamFailure,
    StreamSource,
    StreamState,
    StreamStatus,
)

log = logging.getLogger(__name__)

ACTIVE_STATES = (StreamState.STARTING, StreamState.LIVE, StreamState.RECONNECTING)


@dataclass(frozen=True)
class StreamUrls:
    hls_url: str
    webrtc_url: str | None


@dataclass(frozen=True)
class StartedStream:
    status: StreamStatus
    urls: StreamUrls | None
    """None when no user asked (the recording keeper): nobody to hand URLs to."""


class StreamControl:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        cameras: CameraDirectory,
        engine: MediaEngine,
        cache: StreamStatusCache,
        outbox: Outbox,
        cipher: CredentialCipher,
        signer: MediaTokenIssuer,
        metrics: StreamTelemetry,
        audit: AuditTrail,
        segment_seconds: int = 60,
        ownership: StreamOwnership | None = None,
        owner_timeout_seconds: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._cameras = cameras
        self.engine = engine
        self._cache = cache
        self._outbox = outbox
        self._cipher = cipher
        self._signer = signer
        self._metrics = metrics
        self._audit = audit
        self._segment_seconds = segment_seconds
        # None: one API process runs every stream (the demo, tests), nothing to share.
        self._ownership = ownership
        # How long a stop or a recording switch waits for the replica running the stream.
        self._owner_timeout = owner_timeout_seconds
        # Cameras this process claimed (their ownership leases it renews).
        self._owned: set[uuid.UUID] = set()
        # One lock per camera: a start, a stop, a recording switch and another process's
        # command on one camera run one after another in this process (a command that
        # came while a start awaited the engine would find nothing running yet and free
        # the camera the start had just claimed).
        self._camera_locks: dict[uuid.UUID, asyncio.Lock] = {}
        # Cameras a renewal took again after this process had freed them (see there).
        self._strays: set[uuid.UUID] = set()
        # The engine reports its streams' state changes here.
        engine.listen(on_status=self.on_status)
        # Cameras this instance's engine runs (the gauge of active streams).
        self._running: set[uuid.UUID] = set()
        metrics.streams_running(0, engine=engine.name)

    # --- URLs ----------------------------------------------------------------------------

    def urls_for(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, viewer: Actor) -> StreamUrls:
        """The engine's URLs with a media token of ``viewer``'s (cut when their sessions
        are, or their login session ends)."""
        token = urlencode({"token": self._signer.issue(
            camera_id, tenant_id, user_id=viewer.user_id,
            session_version=viewer.session_version, session_id=viewer.session_id)})
        urls = self.engine.urls(camera_id)
        return StreamUrls(
            hls_url=f"{urls.hls}{'&' if '?' in urls.hls else '?'}{token}",
            webrtc_url=(f"{urls.webrtc}{'&' if '?' in urls.webrtc else '?'}{token}"
                        if urls.webrtc else None),
        )

    # --- use cases -----------------------------------------------------------------------

    async def start(
        self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *, actor: Actor | None = None
    ) -> StartedStream:
        """Start (or keep) the camera's stream. Idempotent: a running stream is left alone
        and its URLs are returned again. With an ``actor``, the live view is audited
        (once per audit window) before anything starts, and a stream this call starts is
        audited as ``stream.start``."""
        camera = await self._cameras.streamable(camera_id, tenant_id)
        if actor is not None:
            await self._audit.record_view(actor, "live.view", object_type="camera",
                                          object_id=camera.id, tenant_id=camera.tenant_id)
        async with self._lock(camera.id):
            return await self._start_locked(camera, actor)

    async def _start_locked(self, camera: CameraRecord, actor: Actor | None) -> StartedStream:
        previous = await self._cache.get(camera.id)
        if not await self._claim(camera.id):
            # Another live replica runs this camera's stream: it is not started a second
            # time here (two ffmpegs would fight over one live playlist and record every
            # segment twice). Its URLs are the same from any replica.
            status = previous or StreamStatus(
                camera_id=camera.id, tenant_id=camera.tenant_id, state=StreamState.STARTING,
                engine=self.engine.name)
            urls = (self.urls_for(camera.id, camera.tenant_id, actor)
                    if actor is not None else None)
            return StartedStream(status=status, urls=urls)
        source = StreamSource(
            camera_id=camera.id,
            tenant_id=camera.tenant_id,
            url=self._cipher.decrypt(camera.rtsp_url_encrypted),
            record=camera.recording_mode == "continuous",
            event_buffer=camera.recording_mode == "events",
            segment_seconds=self._segment_seconds,
        )
        try:
            status = await self.engine.start(source)
        except CameraSourceRefused as refused:
            # The camera's address is refused (or does not resolve): nothing runs, and
            # the status, the event and the API answer all carry the failure's code.
            await self._release(camera.id)
            await self.on_status(StreamStatus(
                camera_id=camera.id, tenant_id=camera.tenant_id, state=StreamState.FAILED,
                engine=self.engine.name, error=refused.failure,
                restarts=previous.restarts if previous is not None else 0))
            raise
        except Exception as exc:
            await self._release(camera.id)
            # The engine's error may quote the source URL; never echo it.
            log.error("engine failed to start stream",
                      extra={"camera_id": str(camera.id), "error_type": type(exc).__name__})
            raise MediaEngineError(
                "the media engine could not start the stream", {"camera_id": str(camera.id)}
            ) from exc
        await self._cache.put(status)
        self._running.add(camera.id)
        self._metrics.streams_running(len(self._running), engine=self.engine.name)
        if previous is None or previous.state not in ACTIVE_STATES:
            await record_event(
                self._sessions, self._outbox,
                StreamStarted(camera_id=camera.id, tenant_id=camera.tenant_id,
                              engine=self.engine.name,
                              hls_url=_without_query(self.engine.urls(camera.id).hls)),
                tenant_id=camera.tenant_id, metrics=self._metrics,
            )
            if actor is not None:
                await self._audit.record(actor, "stream.start", object_type="camera",
                                         object_id=camera.id, tenant_id=camera.tenant_id)
        log.info("stream started", extra={"camera_id": str(camera.id),
                                           "tenant_id": str(camera.tenant_id)})
        urls = self.urls_for(camera.id, camera.tenant_id, actor) if actor is not None else None
        return StartedStream(status=status, urls=urls)

    async def stop(
        self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, *, reason: str = "requested",
        include_decommissioned: bool = False, actor: Actor | None = None,
    ) -> None:
        camera = await self._cameras.get(camera_id, tenant_id,
                                         include_decommissioned=include_decommissioned)
        await self.stop_known(camera.id, camera.tenant_id, reason=reason)
        if actor is not None:
            await self._audit.record(actor, "stream.stop", object_type="camera",
                                     object_id=camera.id, tenant_id=camera.tenant_id,
                                     after={"reason": reason})

    async def stop_if_running(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *,
                              reason: str = "decommissioned") -> None:
        """Stop the camera's stream if this instance's engine runs it (a camera was
        decommissioned: every replica hears it and stops what it runs)."""
        if await self.engine.status(camera_id) is not None:
            await self.stop_known(camera_id, tenant_id, reason=reason)

    async def stop_known(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *, reason: str) -> None:
        """Stop a camera whose ownership is already established (internal callers)."""
        async with self._lock(camera_id):
            await self._stop_locked(camera_id, tenant_id, reason=reason)

    async def _stop_locked(self, camera_id: uuid.UUID, tenant_id: uuid.UUID, *,
                           reason: str) -> None:
        was = await self._cache.get(camera_id)
        if (self._ownership is not None and await self.engine.status(camera_id) is None
                and await self._ownership.is_held(camera_id)):
            # Another process runs it: it stops its ffmpeg and frees the camera before
            # this returns, so a start right after this one starts it again. One that
            # does not answer stops it at its next renewal (or loses it with its lease).
            reply = await self._ownership.ask_owner(
                OwnerCommand(camera_id, OwnerAction.STOP), self._owner_timeout)
            if reply is None or reply is OwnerReply.FAILED:
                log.warning("the process running a stream did not stop it; left as a request",
                            extra={"camera_id": str(camera_id),
                                   "reply": reply.value if reply else "none"})
                await self._ownership.request_stop(camera_id)
        try:
            await self.engine.stop(camera_id)
        except Exception as exc:
            log.error("engine failed to stop stream",
                      extra={"camera_id": str(camera_id), "error_type": type(exc).__name__})
            raise MediaEngineError("the media engine could not stop the stream",
                                   {"camera_id": str(camera_id)}) from exc
        await self._cache.remove(camera_id, tenant_id)
        self._running.discard(camera_id)
        await self._release(camera_id)
        self._metrics.streams_running(len(self._running), engine=self.engine.name)
        if was is not None:
            await record_event(
                self._sessions, self._outbox,
                StreamStopped(camera_id=camera_id, tenant_id=tenant_id, reason=reason),
                tenant_id=tenant_id, metrics=self._metrics,
            )

    async def set_recording(
        self, camera_id: uuid.UUID, tenant_id: uuid.UUID | None, enabled: bool, *,
        actor: Actor | None = None,
    ) -> StreamStatus:
        camera = await self._cameras.streamable(camera_id, tenant_id)
        async with self._lock(camera.id):
            if self._ownership is not None and await self.engine.status(camera.id) is None:
                status = await self._set_recording_on_owner(camera.id, enabled)
            else:
                status = await self._set_recording_here(camera.id, enabled)
        if actor is not None:
            await self._audit.record(actor, "recording.start" if enabled else "recording.stop",
                                     object_type="camera", object_id=camera.id,
                                     tenant_id=camera.tenant_id)
        return status

    async def _set_recording_here(self, camera_id: uuid.UUID, enabled: bool) -> StreamStatus:
        current = await self.engine.status(camera_id)
        if current is None or current.state not in ACTIVE_STATES:
            raise StreamNotRunning("start the stream before recording it",
                                   {"camera_id": str(camera_id)})
        try:
            await self.engine.set_recording(camera_id, enabled)
        except Exception as exc:
            raise MediaEngineError("the media engine could not change recording",
                                   {"camera_id": str(camera_id)}) from exc
        status = await self.engine.status(camera_id) or current
        await self._cache.put(status)
        return status

    async def _set_recording_on_owner(self, camera_id: uuid.UUID, enabled: bool) -> StreamStatus:
        """Recording switched by the process whose engine runs the stream (it reports the
        new status to the shared cache before it answers)."""
        assert self._ownership is not None
        action = OwnerAction.RECORDING_ON if enabled else OwnerAction.RECORDING_OFF
        reply = await self._ownership.ask_owner(OwnerCommand(camera_id, action),
                                                self._owner_timeout)
        status = await self._cache.get(camera_id)
        if reply is OwnerReply.NOT_RUNNING or (
                reply is OwnerReply.DONE and (status is None
                                              or status.state not in ACTIVE_STATES)):
            raise StreamNotRunning("start the stream before recording it",
                                   {"camera_id": str(camera_id)})
        if reply is not OwnerReply.DONE or status is None:
            raise MediaEngineError("the media engine could not change recording",
                                   {"camera_id": str(camera_id),
                                    "reason": "no answer" if reply is None else reply.value})
        return status

    # --- ownership (several replicas or workers) -----------------------------------------

    def _lock(self, camera_id: uuid.UUID) -> asyncio.Lock:
        return self._camera_locks.setdefault(camera_id, asyncio.Lock())

    async def _claim(self, camera_id: uuid.UUID) -> bool:
        """Whether this process may run the camera's stream (claimed, or already ours).
        An engine that already runs it here keeps it, whatever the lease says."""
        if self._ownership is None:
            return True
        if await self._ownership.claim(camera_id):
            self._owned.add(camera_id)
            return True
        return await self.engine.status(camera_id) is not None

    async def _release(self, camera_id: uuid.UUID) -> None:
        if self._ownership is not None and camera_id in self._owned:
            self._owned.discard(camera_id)
            try:
                await self._ownership.release(camera_id)
            except Exception as exc:  # it expires by itself
                log.warning("could not release a stream's ownership",
                            extra={"camera_id": str(camera_id),
                                   "error_type": type(exc).__name__})

    async def release_owned(self) -> None:
        """At shutdown, once the engine has stopped every stream: free our cameras now
        rather than when their leases run out (another process starts them at once, and
        commands stop coming to an inbox nobody reads)."""
        for camera_id in sorted(self._owned, key=str):
            if await self.engine.status(camera_id) is None:  # not one whose stop failed
                await self._release(camera_id)

    async def has_live_owner(self, camera_id: uuid.UUID) -> bool:
        """Whether some live replica (this one included) runs the camera's stream. A
        stream whose replica died keeps its last status in the cache; this says it is
        orphaned."""
        if self._ownership is None:
            return True
        return await self._ownership.is_held(camera_id)

    async def renew_ownership(self) -> None:
        """Extend the leases of the streams this process's engine runs (every replica,
        every few seconds). One taken by another replica meanwhile (this one could not
        reach Redis for longer than the lease) is given up here: the engine stops it.
        Renewing comes first and waits for no camera's lock: a camera busy with a start or
        a stop is looked at again at the next renewal."""
        if self._ownership is None or not (self._owned or self._strays):
            return
        owned = sorted(self._owned, key=str)
        held = await self._ownership.renew(owned) if owned else set()
        # Renewing takes a missing key again (Redis lost it): one this process freed while
        # the renewal ran is a stray, freed again once nothing here works on its camera.
        strays, self._strays = (held | self._strays) - self._owned, set()
        for camera_id in strays:
            if self._lock(camera_id).locked():
                self._strays.add(camera_id)
            elif camera_id not in self._owned:
                await self._ownership.release(camera_id)
        for camera_id in owned:
            if camera_id in held or camera_id not in self._owned:
                continue
            if self._lock(camera_id).locked():
                continue
            async with self._lock(camera_id):
                self._owned.discard(camera_id)
                if await self.engine.status(camera_id) is None:
                    continue
                log.warning("another replica took over a stream this one ran; stopping ours",
                            extra={"camera_id": str(camera_id)})
                await self._stop_engine_stream(camera_id, "a stream taken over elsewhere")
                self._running.discard(camera_id)
        for camera_id in await self._ownership.take_stop_requests(sorted(self._owned, key=str)):
            if self._lock(camera_id).locked():
                await self._ownership.request_stop(camera_id)  # busy: taken next time
                continue
            async with self._lock(camera_id):
                await self._stop_for_another(camera_id)

    async def _stop_for_another(self, camera_id: uuid.UUID) -> bool:
        """Stop our stream of ``camera_id`` for another process (which clears the status
        and announces the stop); True once stopped and the camera freed."""
        log.info("stopping a stream on another process's request",
                 extra={"camera_id": str(camera_id)})
        if not await self._stop_engine_stream(camera_id, "a stream asked to stop"):
            return False
        self._running.discard(camera_id)
        await self._release(camera_id)
        status = await self._cache.get(camera_id)
        if status is not None:  # our last report raced the request
            await self._cache.remove(camera_id, status.tenant_id)
        self._metrics.streams_running(len(self._running), engine=self.engine.name)
        return True

    async def handle_owner_command(self, command: OwnerCommand) -> OwnerReply:
        """Do what another process asked of the stream our engine runs."""
        async with self._lock(command.camera_id):
            return await self._owner_command_locked(command)

    async def _owner_command_locked(self, command: OwnerCommand) -> OwnerReply:
        camera_id = command.camera_id
        if await self.engine.status(camera_id) is None:
            await self._release(camera_id)  # a claim of ours with nothing running: free it
            return OwnerReply.NOT_RUNNING
        if command.action is OwnerAction.STOP:
            return OwnerReply.DONE if await self._stop_for_another(camera_id) else OwnerReply.FAILED
        try:
            await self._set_recording_here(camera_id, command.action is OwnerAction.RECORDING_ON)
        except StreamNotRunning:
            return OwnerReply.NOT_RUNNING
        except MediaEngineError:
            log.warning("could not switch recording on another process's request",
                        extra={"camera_id": str(camera_id)})
            return OwnerReply.FAILED
        return OwnerReply.DONE

    async def serve_owner_commands(self, stop: asyncio.Event) -> None:
        """Answer other processes' commands for our streams until ``stop``."""
        if self._ownership is not None:
            await self._ownership.serve_owner_commands(self.handle_owner_command, stop)

    async def _stop_engine_stream(self, camera_id: uuid.UUID, what: str) -> bool:
        """Stop the engine's stream of ``camera_id``; False (logged) when it failed."""
        try:
            await self.engine.stop(camera_id)
        except Exception as exc:
            log.warning(f"could not stop {what}",
                        extra={"camera_id": str(camera_id), "error_type": type(exc).__name__})
            return False
        return True

    async def keep_ownership(self, stop: asyncio.Event, interval_seconds: float) -> None:
        """:meth:`renew_ownership` every ``interval_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.renew_ownership()
            except Exception as exc:
                log.warning("renewing stream ownership failed",
                            extra={"error_type": type(exc).__name__})
            await sleep_until_stopped(stop, interval_seconds)

    async def statuses(self, tenant_id: uuid.UUID) -> list[StreamStatus]:
        return await self._cache.for_tenant(tenant_id)

    async def on_status(self, status: StreamStatus) -> None:
        """The engine's report of a state change (reconnecting, live again, failed)."""
        previous = await self._cache.get(status.camera_id)
        await self._cache.put(status)
        if status.bitrate_kbps is not None:
            self._metrics.stream_bitrate_kbps(status.camera_id, status.bitrate_kbps)
        if status.state in ACTIVE_STATES:
            self._running.add(status.camera_id)
        else:
            self._running.discard(status.camera_id)
            self._metrics.stream_bitrate_kbps(status.camera_id, None)
        self._metrics.streams_running(len(self._running), engine=self.engine.name)
        changed = previous is None or previous.state != status.state
        if not changed:
            return
        if status.state in (StreamState.RECONNECTING, StreamState.FAILED):
            failure = status.error or StreamFailure.STREAM_ERROR
            if status.state is StreamState.RECONNECTING:
                self._metrics.stream_restarted(failure.value)
            else:
                self._metrics.stream_failed(failure.value)
            await record_event(
                self._sessions, self._outbox,
                StreamFailed(
                    camera_id=status.camera_id, tenant_id=status.tenant_id,
                    code=failure.value, message=failure.message,
                    attempt=status.restarts,
                    will_retry=status.state is StreamState.RECONNECTING,
                ),
                tenant_id=status.tenant_id, metrics=self._metrics,
            )
        log.info("stream state changed",
                 extra={"camera_id": str(status.camera_id), "state": status.state.value,
                        "restarts": status.restarts})



def _without_query(url: str) -> str:
    return url.split("?", 1)[0]
