"""The recording keeper and stream ownership with in-memory ports: continuous cameras kept
streamed by the lease holder, mode changes applied by every replica to its own streams,
stops and recording switches through another process done by the camera's owner."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet

from shared_kernel.crypto import CredentialCipher
from streaming_service.application.audit import AuditTrail
from streaming_service.application.recording_keeper import RecordingKeeper
from streaming_service.application.streams import StreamControl
from streaming_service.domain.errors import MediaEngineError, StreamNotRunning
from streaming_service.domain.ports import CameraRecord, OwnerAction, OwnerCommand, OwnerReply
from tests.unit.streaming.fakes import (
    FakeCache,
    FakeCameras,
    FakeEngine,
    FakeLease,
    FakeOutbox,
    FakeSessions,
    FakeSigner,
    FakeTelemetry,
    MemoryOwnership,
)

CIPHER = CredentialCipher(Fernet.generate_key().decode())


def _keeper(cameras: FakeCameras, lease: FakeLease, *, cache: FakeCache | None = None,
            ownership: MemoryOwnership | None = None) -> tuple[RecordingKeeper, FakeEngine]:
    cipher = CIPHER
    for camera_id, camera in list(cameras.cameras.items()):
        if not camera.rtsp_url_encrypted:
            cameras.cameras[camera_id] = CameraRecord(**{
                **camera.__dict__, "rtsp_url_encrypted": cipher.encrypt("rtsp://10.0.0.1/s")})
    sessions: Any = FakeSessions()
    outbox, engine, cache = FakeOutbox(), FakeEngine(), cache or FakeCache()
    streams = StreamControl(sessions=sessions, cameras=cameras, engine=engine, cache=cache,
                            outbox=outbox, cipher=cipher, signer=FakeSigner(),
                            metrics=FakeTelemetry(),
                            audit=AuditTrail(sessions=sessions, outbox=outbox),
                            ownership=ownership)
    keeper = RecordingKeeper(cameras=cameras, streams=streams, cache=cache, lease=lease,
                             interval_seconds=0.01)
    return keeper, engine


def _two_processes(
    cameras: FakeCameras, *, a_leases: bool = False, b_leases: bool = False,
) -> tuple[FakeCache, MemoryOwnership, tuple[RecordingKeeper, FakeEngine],
           tuple[RecordingKeeper, FakeEngine]]:
    """Two API processes ("a", "b") sharing the status cache and the ownership table;
    ``*_leases``: whether each holds the keeper's lease."""
    cache, owners = FakeCache(), MemoryOwnership()
    a = _keeper(cameras, FakeLease(granted=a_leases), cache=cache, ownership=owners.replica("a"))
    b = _keeper(cameras, FakeLease(granted=b_leases), cache=cache, ownership=owners.replica("b"))
    return cache, owners, a, b


def _camera(mode: str, status: str = "active") -> CameraRecord:
    return CameraRecord(id=uuid.uuid4(), tenant_id=uuid.uuid4(), rtsp_url_encrypted="",
                        recording_mode=mode, status=status)


async def test_the_lease_holder_starts_continuous_and_events_cameras_only() -> None:
    cameras = FakeCameras()
    continuous = cameras.add(_camera("continuous"))
    events = cameras.add(_camera("events"))
    cameras.add(_camera("off"))
    cameras.add(_camera("continuous", status="disabled"))
    keeper, engine = _keeper(cameras, FakeLease(granted=True))
    await keeper.tick()
    started = {s.camera_id: s.record for s in engine.started}
    # Events cameras stream (live segments for event clips) without recording.
    assert started == {continuous.id: True, events.id: False}
    await keeper.tick()
    assert len(engine.started) == 2, "a running stream is left to the engine"


async def test_without_the_lease_nothing_is_started() -> None:
    cameras = FakeCameras()
    cameras.add(_camera("continuous"))
    keeper, engine = _keeper(cameras, FakeLease(granted=False))
    await keeper.tick()
    assert engine.started == []


async def test_a_mode_change_switches_recording_on_a_running_stream() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    keeper, engine = _keeper(cameras, FakeLease(granted=False))
    await keeper._streams.start(camera.id, camera.tenant_id)
    await keeper.tick()  # first sight: remembered, nothing applied
    assert engine.recording == {}
    cameras.cameras[camera.id] = CameraRecord(**{**cameras.cameras[camera.id].__dict__,
                                                 "recording_mode": "continuous"})
    await keeper.tick()
    assert engine.recording == {camera.id: True}


async def test_run_gives_the_lease_back_when_stopped() -> None:
    cameras = FakeCameras()
    lease = FakeLease(granted=True)
    keeper, _ = _keeper(cameras, lease)
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert lease.released == 1


async def test_a_stream_another_replica_runs_is_not_started_twice() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("continuous"))
    _, _, (first, engine_a), (second, engine_b) = _two_processes(cameras, a_leases=True)
    await first.tick()
    assert [s.camera_id for s in engine_a.started] == [camera.id]
    # A viewer's start lands on the other replica: it hands out the stream, runs nothing.
    started = await second._streams.start(camera.id, camera.tenant_id)
    assert started.status.camera_id == camera.id
    assert engine_b.started == []


async def test_the_keeper_takes_over_the_stream_of_a_dead_replica() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("continuous"))
    cache, owners, (dead, engine_a), (survivor, engine_b) = _two_processes(
        cameras, a_leases=True, b_leases=True)
    await dead.tick()
    assert len(engine_a.started) == 1
    await survivor.tick()  # the owner is alive: its stream is left alone
    assert engine_b.started == []
    owners.expire("a")  # replica a was killed: its lease ran out, its status stayed
    assert (await cache.get(camera.id)) is not None
    await survivor.tick()
    assert [s.camera_id for s in engine_b.started] == [camera.id]
    assert owners.table[camera.id] == "b"


async def test_a_replica_that_lost_its_stream_to_another_stops_its_copy() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("continuous"))
    owners = MemoryOwnership()
    keeper, engine = _keeper(cameras, FakeLease(granted=True),
                             ownership=owners.replica("a"))
    await keeper.tick()
    owners.table[camera.id] = "b"  # a was cut off from Redis past its lease; b took over
    await keeper._streams.renew_ownership()
    assert engine.stopped == [camera.id]


async def test_a_stop_the_owner_does_not_answer_is_left_for_its_renewal() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    cache, owners, (owner, engine_a), (other, engine_b) = _two_processes(cameras)
    await owner._streams.start(camera.id, camera.tenant_id)
    await other._streams.stop(camera.id, camera.tenant_id)
    assert engine_b.started == []
    assert (await cache.get(camera.id)) is None
    assert engine_a.stopped == []  # not yet: the owner takes the request when it renews
    await owner._streams.renew_ownership()
    assert engine_a.stopped == [camera.id]
    assert camera.id not in owners.table
    await owner._streams.renew_ownership()
    assert engine_a.stopped == [camera.id], "a request is taken once"


async def _serving(keeper: RecordingKeeper) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(keeper._streams.serve_owner_commands(stop))
    await asyncio.sleep(0)
    return stop, task


async def test_a_stop_through_another_process_has_stopped_the_owners_stream_when_it_returns(
) -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    cache, owners, (owner, engine_a), (other, engine_b) = _two_processes(cameras)
    stop, serving = await _serving(owner)
    try:
        await owner._streams.start(camera.id, camera.tenant_id)
        await other._streams.stop(camera.id, camera.tenant_id)
        assert engine_a.stopped == [camera.id]
        assert camera.id not in owners.table and not owners.stop_requests
        assert (await cache.get(camera.id)) is None
        # A start right after the stop, through the same other process, starts it there.
        await other._streams.start(camera.id, camera.tenant_id)
        assert [s.camera_id for s in engine_b.started] == [camera.id]
        assert owners.table[camera.id] == "b"
    finally:
        stop.set()
        await serving


async def test_recording_switched_through_another_process_is_switched_by_the_owner() -> None:
    cameras = FakeCameras()
    camera, idle = cameras.add(_camera("off")), cameras.add(_camera("off"))
    _, _, (owner, engine_a), (other, engine_b) = _two_processes(cameras)
    stop, serving = await _serving(owner)
    try:
        await owner._streams.start(camera.id, camera.tenant_id)
        status = await other._streams.set_recording(camera.id, camera.tenant_id, True)
        assert status.recording is True
        assert engine_a.recording == {camera.id: True} and engine_b.recording == {}
        with pytest.raises(StreamNotRunning):
            await other._streams.set_recording(idle.id, idle.tenant_id, True)
    finally:
        stop.set()
        await serving
    # The owner no longer answers (it is dying): a clear engine error, nothing switched.
    with pytest.raises(MediaEngineError):
        await other._streams.set_recording(camera.id, camera.tenant_id, False)
    assert engine_a.recording == {camera.id: True}


async def test_a_start_the_engine_refuses_leaves_the_camera_free_for_any_process() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    _, owners, (first, engine_a), (second, engine_b) = _two_processes(cameras)
    engine_a.fail_start = True
    with pytest.raises(MediaEngineError):
        await first._streams.start(camera.id, camera.tenant_id)
    assert camera.id not in owners.table
    await first._streams.renew_ownership()
    assert camera.id not in owners.table, "a failed start is not renewed"
    await second._streams.start(camera.id, camera.tenant_id)
    assert [s.camera_id for s in engine_b.started] == [camera.id]


class SlowStartEngine(FakeEngine):
    """An engine whose start awaits (a DNS lookup, the previous ffmpeg's exit) until
    ``go`` is set, before the stream exists."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def start(self, source: Any) -> Any:
        await self.go.wait()
        return await super().start(source)


async def test_a_command_that_comes_while_a_start_awaits_the_engine_waits_for_it() -> None:
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    owners = MemoryOwnership()
    owner, _ = _keeper(cameras, FakeLease(granted=False), ownership=owners.replica("a"))
    engine = SlowStartEngine()
    owner._streams.engine = engine
    starting = asyncio.create_task(owner._streams.start(camera.id, camera.tenant_id))
    await asyncio.sleep(0.01)
    assert owners.table[camera.id] == "a"  # claimed; the engine has nothing yet
    stopping = asyncio.create_task(owner._streams.handle_owner_command(
        OwnerCommand(camera.id, OwnerAction.STOP)))
    await asyncio.sleep(0.01)
    assert not stopping.done(), "the command waits for the start"
    engine.go.set()
    await starting
    assert await stopping is OwnerReply.DONE
    assert engine.stopped == [camera.id] and camera.id not in owners.table


class RacingOwnership(MemoryOwnership):
    """Renewing runs ``meanwhile`` first (a relayed stop that lands mid-renewal); like
    Redis, renewing takes a free camera again."""

    meanwhile: Any = None

    async def renew(self, camera_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        if self.meanwhile is not None:
            await self.meanwhile()
        return await super().renew(camera_ids)


async def test_a_stopping_process_frees_its_cameras() -> None:
    cameras = FakeCameras()
    first, second = cameras.add(_camera("off")), cameras.add(_camera("off"))
    owners = MemoryOwnership()
    owner, engine = _keeper(cameras, FakeLease(granted=False), ownership=owners.replica("a"))
    for camera in (first, second):
        await owner._streams.start(camera.id, camera.tenant_id)
    await owner._streams.release_owned()
    assert set(owners.table) == {first.id, second.id}, "not while their streams run"
    await engine.close()
    await owner._streams.release_owned()
    assert owners.table == {}


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
async def test_a_camera_stopped_during_a_renewal_is_not_held_again(busy: bool) -> None:
    """Renewing takes a missing key again; one this process freed meanwhile is freed
    again at once, or, while its camera is busy here, at the next renewal."""
    cameras = FakeCameras()
    camera = cameras.add(_camera("off"))
    owners = RacingOwnership(holder="a")
    owner, _ = _keeper(cameras, FakeLease(granted=False), ownership=owners)
    await owner._streams.start(camera.id, camera.tenant_id)
    lock = owner._streams._lock(camera.id)

    async def relayed_stop() -> None:
        owners.meanwhile = None
        await owner._streams.handle_owner_command(OwnerCommand(camera.id, OwnerAction.STOP))
        if busy:
            await lock.acquire()  # a start or a stop of this camera under way here

    owners.meanwhile = relayed_stop
    await owner._streams.renew_ownership()
    if busy:
        assert owners.table == {camera.id: "a"}, "left alone while the camera is busy"
        lock.release()
        await owner._streams.renew_ownership()
    assert camera.id not in owners.table
