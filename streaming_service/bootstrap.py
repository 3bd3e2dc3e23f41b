"""The streaming service's composition root: settings → adapters → use cases.

:func:`bootstrap` builds one :class:`Services` container — the media engine named by the
settings, the object store, the outbox, the audit trail, every use case of the streaming
and AI contexts — and every entry point calls it: the API (``main.create_app``) and each
worker (``workers/*``). Tests pass their own adapters by name.

Media engines are plugins (``infrastructure/engines/<name>``): each package brings its
:class:`~streaming_service.domain.ports.MediaEngine` adapter and the HTTP endpoints it
needs from this service (the FFmpeg engine's live HLS, MediaMTX's hooks). Adding an engine
is one package and one line in :data:`ENGINES`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared_kernel.auth import (
    REVOCATION_PREFIX,
    AsyncRedisDenylist,
    CoalescingDenylist,
    JWTVerifier,
)
from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.crypto import CredentialCipher
from shared_kernel.redis_pool import async_redis
from shared_kernel.tracked_reads import TrackedReads
from streaming_service.application.ai.alerts import Alerts
from streaming_service.application.ai.data_lifecycle import DataLifecycle
from streaming_service.application.ai.detections import DetectionRecorder, Detections
from streaming_service.application.ai.event_clips import EventClips
from streaming_service.application.ai.live_hub import LiveHub
from streaming_service.application.ai.lpr_settings import TenantLprSettings
from streaming_service.application.ai.watchlists import Watchlists
from streaming_service.application.audit import AuditTrail
from streaming_service.application.camera_probe import (
    CameraProbe,
    ProbedStream,
    ProbeFailed,
    StreamProber,
)
from streaming_service.application.exports import Exports, SegmentConcatenator
from streaming_service.application.media_access import MediaAccess
from streaming_service.application.ptz import PtzControl
from streaming_service.application.recordings import Recordings
from streaming_service.application.reports import Reports
from streaming_service.application.snapshots import FrameGrabber, GrabbedFrame, Snapshots
from streaming_service.application.streams import StreamControl
from streaming_service.application.thumbnails import (
    SourceResolver,
    ThumbnailGrabber,
    Thumbnails,
)
from streaming_service.domain.ai.ports import LiveFeed, PlateRecogniser, RecentPlates
from streaming_service.domain.ports import (
    CameraDirectory,
    MediaEngine,
    ObjectStore,
    Outbox,
    ReportRenderer,
)
from streaming_service.domain.ptz import PtzDevices
from streaming_service.infrastructure.audit_window import RedisViewWindow
from streaming_service.infrastructure.broker_probe import BrokerProbe
from streaming_service.infrastructure.db.models import Camera
from streaming_service.infrastructure.db.repository import SqlCameraDirectory
from streaming_service.infrastructure.db.session import create_engine, create_sessionmaker
from streaming_service.infrastructure.engines import EnginePlugin
from streaming_service.infrastructure.engines import ffmpeg as ffmpeg_engine
from streaming_service.infrastructure.engines import mediamtx as mediamtx_engine
from streaming_service.infrastructure.engines.ffmpeg.engine import live_playlist
from streaming_service.infrastructure.live_feed import RedisLiveFeed
from streaming_service.infrastructure.media_token import MediaTokenSigner
from streaming_service.infrastructure.metrics import StreamingMetrics
from streaming_service.infrastructure.outbox import SqlOutbox
from streaming_service.infrastructure.ptz import OnvifPtzDevices, RedisPtzLocks, RedisRateLimiter
from streaming_service.infrastructure.recent_plates import RedisRecentPlates
from streaming_service.infrastructure.redis_lease import RedisClaims
from streaming_service.infrastructure.report_pdf import ReportlabPdfRenderer
from streaming_service.infrastructure.stream_ownership import RedisStreamOwnership
from streaming_service.infrastructure.stream_status import RedisStreamStatusCache
from streaming_service.settings import API_PREFIX, StreamingSettings

log = logging.getLogger(__name__)

ENGINES: dict[str, EnginePlugin] = {
    ffmpeg_engine.PLUGIN.name: ffmpeg_engine.PLUGIN,
    mediamtx_engine.PLUGIN.name: mediamtx_engine.PLUGIN,
}


@dataclass
class Services:
    """Everything the entry points use, built once by :func:`bootstrap`."""

    settings: StreamingSettings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Any
    broker: BrokerProbe
    outbox: Outbox
    store: ObjectStore
    engine: MediaEngine
    engine_plugin: EnginePlugin
    cipher: CredentialCipher
    address_policy: CameraNetworkPolicy
    verifier: JWTVerifier
    denylist: AsyncRedisDenylist
    # The token checks' and the stream statuses' reads, answered in process while Redis
    # tracks their keys for it (the API's lifespan runs its loop; without it every read
    # asks Redis).
    tracked_reads: TrackedReads
    # The live sockets' periodic token re-checks, one round trip per check for them all.
    live_denylist: CoalescingDenylist
    signer: MediaTokenSigner
    metrics: StreamingMetrics
    cache: RedisStreamStatusCache
    audit: AuditTrail
    media_access: MediaAccess
    cameras: CameraDirectory
    streams: StreamControl
    recordings: Recordings
    exports: Exports
    snapshots: Snapshots
    thumbnails: Thumbnails
    camera_probe: CameraProbe
    reports: Reports
    report_renderer: ReportRenderer
    ptz: PtzControl
    # The AI context.
    live: LiveFeed
    live_hub: LiveHub
    recorder: DetectionRecorder
    recent_plates: RecentPlates
    watchlists: Watchlists
    alerts: Alerts
    detections: Detections
    lpr_settings: TenantLprSettings
    clips: EventClips
    recogniser: PlateRecogniser | None
    """None until a model is configured: the recognise endpoint then answers 503."""
    data_lifecycle: DataLifecycle
    """LGPD: plate-read retention, data-subject exports and erasure."""
    owns_redis: bool = True

    async def close(self) -> None:
        """Release what :func:`bootstrap` opened (engine, broker, Redis, the pool)."""
        await self.exports.close()
        await self.live_hub.close()
        await self.ptz.close()
        for what, closing in (("media engine", self.engine.close()),
                              ("stream ownership", self.streams.release_owned()),
                              ("broker probe", self.broker.close())):
            try:
                await closing
            except Exception as exc:
                log.warning("shutdown step failed", extra={"step": what,
                                                           "error": repr(exc)[:300]})
        await self.recordings.close()
        if self.owns_redis:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        await self.db.dispose()


def engine_plugin(settings: StreamingSettings) -> EnginePlugin:
    try:
        return ENGINES[settings.engine]
    except KeyError:
        raise ValueError(f"unknown media engine {settings.engine!r} "
                         f"(GTV_ENGINE: one of {', '.join(sorted(ENGINES))})") from None


def build_object_store(settings: StreamingSettings) -> ObjectStore:
    from streaming_service.infrastructure import object_store

    if settings.object_store == "s3":
        s3: ObjectStore = object_store.S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure, region=settings.s3_region,
            bucket_prefix=settings.s3_bucket_prefix,
            public_url=settings.s3_public_url or None,
        )
        return s3
    fs: ObjectStore = object_store.FilesystemObjectStore(
        settings.object_store_root,
        secret=settings.media_token_secret.get_secret_value(),
        base_url=f"{settings.public_base_url.rstrip('/')}{API_PREFIX}/media",
    )
    return fs


async def ffmpeg_concat(
    segments: Sequence[Path], output: Path, *, start_offset: float, duration: float
) -> None:
    from streaming_service.infrastructure.ffmpeg_tools import concat_segments

    await concat_segments(list(segments), output, start_offset=start_offset,
                          duration=duration or None)


def ffmpeg_grabber(policy: CameraNetworkPolicy) -> FrameGrabber:
    """Snapshots with ffmpeg; a camera source is checked against ``policy`` first."""

    async def grab(source: str, output: Path) -> GrabbedFrame:
        from streaming_service.infrastructure.ffmpeg_tools import grab_frame

        return await grab_frame(source, output, address_policy=policy)

    return grab


def ffmpeg_thumbnailer(policy: CameraNetworkPolicy) -> ThumbnailGrabber:
    """Thumbnails with ffmpeg; a camera source is checked against ``policy`` first."""

    async def thumbnail(source: str, *, width: int) -> bytes:
        from streaming_service.infrastructure.ffmpeg_tools import snapshot

        return await snapshot(source, width=width, address_policy=policy)

    return thumbnail


def ffprobe_prober(policy: CameraNetworkPolicy, *, timeout: float = 12.0) -> StreamProber:
    """“Testar conexão” with ffprobe; the URL is checked against ``policy`` first."""

    async def probe_url(url: str) -> ProbedStream:
        from streaming_service.domain.errors import CameraSourceRefused
        from streaming_service.infrastructure.ffmpeg_tools import MediaToolError, probe

        try:
            info = await probe(url, timeout=timeout, address_policy=policy)
        except (MediaToolError, CameraSourceRefused) as exc:
            raise ProbeFailed(exc.failure) from None
        return ProbedStream(video_codec=info.video_codec, width=info.width,
                            height=info.height, fps=info.fps, format_name=info.format_name)

    return probe_url


def live_source_resolver(settings: StreamingSettings, cipher: CredentialCipher) -> SourceResolver:
    """A camera's frames come from the FFmpeg engine's live playlist when this host has
    it (no second connection to the camera), else from the camera itself."""

    def source_for(camera: Camera) -> str:
        playlist = live_playlist(settings.media_root, camera.id)
        if playlist.is_file():
            return str(playlist)
        return cipher.decrypt(camera.rtsp_url_encrypted)

    return source_for


def default_recogniser(settings: StreamingSettings | None = None) -> PlateRecogniser:
    """The shipped plate recogniser with the configured reader, device and precision; its models
    load on first use."""
    from streaming_service.infrastructure.recogniser import default_recogniser as build

    settings = settings or StreamingSettings()
    recogniser: PlateRecogniser = build(
        settings.lpr_reader, settings.lpr_device, settings.lpr_precision
    )
    return recogniser


def bootstrap(
    settings: StreamingSettings | None = None,
    *,
    engine: MediaEngine | None = None,
    object_store: ObjectStore | None = None,
    outbox: Outbox | None = None,
    redis_client: Any | None = None,
    concat: SegmentConcatenator | None = None,
    grab: FrameGrabber | None = None,
    recogniser: PlateRecogniser | None = None,
    prober: StreamProber | None = None,
    ptz_devices: PtzDevices | None = None,
) -> Services:
    """The service's container. Nothing connects yet: pools and clients open lazily."""
    settings = settings or StreamingSettings()
    plugin = engine_plugin(settings)
    metrics = StreamingMetrics()
    db = create_engine(settings)
    sessions = create_sessionmaker(db)
    redis = redis_client or async_redis(settings.redis_url,
                                        max_connections=settings.redis_max_connections)
    outbox = outbox or SqlOutbox()
    store = object_store or build_object_store(settings)
    cipher = CredentialCipher(settings.camera_credentials_key.get_secret_value())
    address_policy = settings.camera_network_policy()
    signer = MediaTokenSigner(settings.media_token_secret.get_secret_value(),
                              settings.media_token_ttl_seconds)
    tracked_reads = TrackedReads(redis, [
        REVOCATION_PREFIX, *RedisStreamStatusCache.tracked_prefixes(settings.redis_prefix)])
    denylist = AsyncRedisDenylist(redis, tracked_reads)
    live = RedisLiveFeed(redis, prefix=settings.redis_prefix, maxlen=settings.live_maxlen,
                         replay_seconds=settings.live_replay_seconds)
    cache = RedisStreamStatusCache(redis, settings.redis_prefix, tracked_reads)
    audit = AuditTrail(sessions=sessions, outbox=outbox,
                       window=RedisViewWindow(redis, settings.redis_prefix),
                       view_window_seconds=settings.audit_view_window_seconds)
    media_engine = engine or plugin.build(settings, address_policy=address_policy)
    cameras = SqlCameraDirectory(sessions)
    recordings = Recordings(
        db=db, sessions=sessions, store=store, outbox=outbox, metrics=metrics,
        max_range=timedelta(days=settings.recordings_max_range_days),
        playback_ttl_seconds=settings.playback_url_ttl_seconds,
        gap_seconds=settings.recording_gap_seconds,
        store_concurrency=settings.recording_store_concurrency,
        store_retry_delays=settings.recording_store_retry_seconds,
    )
    # An engine in this process stores its segments in the background (its supervision
    # loops and stops never wait on uploads); MediaMTX's hook waits for the store, so a
    # failure answers 5xx and its curl tries again.
    media_engine.listen(on_segment=recordings.submit_segment if plugin.streams_in_process
                        else recordings.record_segment)
    recent_plates = RedisRecentPlates(redis, prefix=settings.redis_prefix,
                                      horizon_seconds=settings.lpr_seen_recently_minutes * 60)
    recorder = DetectionRecorder(sessions=sessions, store=store, outbox=outbox,
                                 recent=recent_plates,
                                 seen_recently_seconds=settings.lpr_seen_recently_minutes * 60)
    work_dir = settings.media_root / "work"
    return Services(
        settings=settings, db=db, sessions=sessions, redis=redis,
        broker=BrokerProbe(settings.amqp_url), outbox=outbox, store=store,
        engine=media_engine, engine_plugin=plugin, cipher=cipher,
        address_policy=address_policy,
        verifier=JWTVerifier(settings.public_key_pem(), issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience),
        denylist=denylist, tracked_reads=tracked_reads,
        live_denylist=CoalescingDenylist(denylist), signer=signer,
        metrics=metrics, cache=cache, audit=audit,
        media_access=MediaAccess(sessions=sessions, signer=signer, revocations=denylist,
                                 audit=audit),
        cameras=cameras,
        streams=StreamControl(
            sessions=sessions, cameras=cameras, engine=media_engine, cache=cache, outbox=outbox,
            cipher=cipher, signer=signer, metrics=metrics, audit=audit,
            segment_seconds=settings.segment_seconds,
            ownership=(RedisStreamOwnership(redis, settings.redis_prefix,
                                            ttl_seconds=settings.stream_owner_ttl_seconds)
                       if plugin.streams_in_process else None),
            owner_timeout_seconds=settings.stream_owner_command_timeout_seconds,
        ),
        recordings=recordings,
        exports=Exports(
            sessions=sessions, store=store, outbox=outbox, metrics=metrics,
            concat=concat or ffmpeg_concat, work_dir=work_dir,
            max_range=timedelta(hours=settings.exports_max_range_hours),
            url_ttl_seconds=settings.playback_url_ttl_seconds, audit=audit,
            max_active_per_tenant=settings.exports_max_active_per_tenant,
        ),
        snapshots=Snapshots(
            sessions=sessions, store=store, cipher=cipher,
            grab=grab or ffmpeg_grabber(address_policy), work_dir=work_dir, audit=audit,
            url_ttl_seconds=settings.playback_url_ttl_seconds,
        ),
        thumbnails=Thumbnails(
            sessions=sessions, store=store, cache=cache,
            grab=ffmpeg_thumbnailer(address_policy),
            source_for=live_source_resolver(settings, cipher), width=settings.thumbnail_width,
            history=timedelta(hours=settings.thumbnail_history_hours),
            url_ttl_seconds=settings.playback_url_ttl_seconds, audit=audit,
        ),
        camera_probe=CameraProbe(probe=prober or ffprobe_prober(address_policy), audit=audit),
        reports=Reports(sessions=sessions, audit=audit,
                        outage_gap_seconds=max(120.0, 2.0 * settings.segment_seconds)),
        report_renderer=ReportlabPdfRenderer(),
        ptz=PtzControl(
            sessions=sessions, cipher=cipher,
            devices=ptz_devices or OnvifPtzDevices(address_policy,
                                                   timeout=settings.onvif_timeout_seconds),
            locks=RedisPtzLocks(redis, settings.redis_prefix),
            limiter=RedisRateLimiter(redis, settings.redis_prefix), audit=audit,
            lock_ttl=settings.ptz_lock_ttl_seconds,
            max_move_seconds=settings.ptz_max_move_seconds,
            rate_limit=settings.ptz_rate_limit,
            rate_window_seconds=settings.ptz_rate_window_seconds,
        ),
        live=live,
        live_hub=LiveHub(live, block_ms=settings.ws_read_block_ms,
                         max_subscribers=settings.ws_max_connections,
                         max_per_user=settings.ws_max_connections_per_user,
                         queue_size=settings.ws_queue_size),
        recorder=recorder,
        recent_plates=recent_plates,
        watchlists=Watchlists(sessions=sessions, audit=audit, new_entries=recorder),
        alerts=Alerts(sessions=sessions, outbox=outbox),
        detections=Detections(sessions=sessions, store=store),
        lpr_settings=TenantLprSettings(sessions=sessions, audit=audit),
        clips=EventClips(
            sessions=sessions, store=store, engine=media_engine, audit=audit,
            work_dir=work_dir,
            pre_roll_seconds=settings.event_clip_pre_roll_seconds,
            post_roll_seconds=settings.event_clip_post_roll_seconds,
            url_ttl_seconds=settings.playback_url_ttl_seconds,
            claims=RedisClaims(redis, f"{settings.redis_prefix}event-clip:", ttl_seconds=60),
        ),
        recogniser=recogniser or default_recogniser(settings),
        data_lifecycle=DataLifecycle(sessions=sessions, store=store, audit=audit,
                                     default_retention_days=settings.lpr_retention_days),
        owns_redis=redis_client is None,
    )
