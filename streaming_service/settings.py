"""Settings of the streaming service (env prefix ``GTV_``), on top of the shared ones.

:class:`StreamingSettings` is the service's one settings object: the API, the AI context
and every worker read it (built once, in the composition root). The notifier's mail and
SMS gateways have their own object, :class:`NotificationSettings`, read only by the
notifier worker.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator

from shared_kernel.settings import PROJECT_ROOT, CommonSettings

# Where the service's HTTP API lives behind the gateways.
API_PREFIX = "/api/streaming"


class StreamingSettings(CommonSettings):
    service_name: str = "streaming_service"

    # Media engine: the embedded FFmpeg engine unless a MediaMTX is configured.
    # A key of bootstrap.ENGINES: "ffmpeg" or "mediamtx".
    engine: str = "ffmpeg"
    mediamtx_api_url: str = "http://127.0.0.1:9997"
    mediamtx_hls_public_url: str = "http://127.0.0.1:8888"
    mediamtx_webrtc_public_url: str = "http://127.0.0.1:8889"
    mediamtx_api_timeout_seconds: float = 5.0
    mediamtx_api_user: str | None = None
    mediamtx_api_password: SecretStr | None = None
    # Where MediaMTX writes recordings, and where this process sees that directory.
    mediamtx_record_root: str = "/recordings"
    mediamtx_record_local_root: Path | None = None
    # URL MediaMTX's segment hook posts to (this service, on the internal network).
    mediamtx_segment_hook_url: str = "http://streaming:8001/api/streaming/mediamtx/segment-complete"
    # Shared secret MediaMTX presents on its hooks (X-GTV-Hook-Token, or as the password of
    # HTTP Basic auth where MediaMTX cannot add a header: authHTTPAddress). Empty: the hook
    # endpoints refuse every call.
    mediamtx_hook_token: SecretStr = SecretStr("")
    # MediaMTX's playback server (event clips of recording_mode = events are fetched from
    # it; empty: no clips). Its requests are authorised like any playback: with
    # authMethod http by this service's auth hook, which accepts this user with the hook
    # token as password (mediamtx_playback_password, when set, replaces the token: for
    # MediaMTX's internal users). Empty user: no credentials sent.
    mediamtx_playback_url: str = "http://127.0.0.1:9996"
    mediamtx_playback_user: str = "gtv-clips"
    mediamtx_playback_password: SecretStr | None = None
    mediamtx_playback_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mediamtx_playback_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # How long MediaMTX keeps the local buffer of events-mode cameras (minutes).
    mediamtx_event_buffer_minutes: int = Field(default=10, ge=2, le=1440)
    media_root: Path = PROJECT_ROOT / "var" / "media"
    ffmpeg_binary: str = "ffmpeg"
    segment_seconds: int = Field(default=60, ge=2, le=3600)

    # Object storage.
    object_store: Literal["filesystem", "s3"] = "filesystem"
    object_store_root: Path = PROJECT_ROOT / "var" / "objects"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket_prefix: str = ""
    # Where browsers fetch presigned recording/clip URLs when the S3 endpoint is internal
    # (``minio:9000``): the gateway's origin and the path HAProxy's be_objects serves,
    # e.g. https://vms.example.gov.br/objects. Empty: the URLs name s3_endpoint itself.
    s3_public_url: str = ""

    # URLs handed to clients: absolute when a public base URL is set, else relative.
    public_base_url: str = ""
    media_token_secret: SecretStr = SecretStr("")
    media_token_ttl_seconds: int = Field(default=300, ge=10, le=86400)
    playback_url_ttl_seconds: int = Field(default=600, ge=10, le=86400)

    # Database: the shared cluster, as the streaming service's least-privilege role; the
    # migrations (``python -m streaming_service.migrate``) connect as the owner of its
    # schemas instead (deploy/postgres/roles.sql). A separate database name only for
    # tests and the demo; it applies to both URLs.
    database_url: str = "postgresql://gtv_streaming@127.0.0.1:5432/gtvision"
    migration_database_url: str = "postgresql://gtv_streaming_owner@127.0.0.1:5432/gtvision"
    streaming_db_name: str | None = None
    db_pool_size: int = 10
    db_echo: bool = False
    # A pooled connection idle longer than this is pinged before use, so one the server
    # dropped meanwhile (a restart, a failover, an idle timeout) is replaced instead of
    # failing a request. One busy within it is used as it is: a ping is a transaction of
    # its own (three round trips), a tenth of a plate search's CPU when paid on every
    # checkout. 0 pings every checkout.
    db_ping_after_idle_seconds: float = Field(default=1.0, ge=0.0, le=3600.0)

    # Redis keys are prefixed so tests (and several deployments) never collide.
    redis_prefix: str = "gtv:"
    # Connections of one process's Redis pool; callers beyond it wait for a free one.
    redis_max_connections: int = Field(default=64, ge=4, le=10_000)

    # Views repeated by players and walls (live playlists, thumbnails, a superadmin's tenant
    # choice) are audited once per user, object and window; 0 audits every request.
    audit_view_window_seconds: float = Field(default=300.0, ge=0, le=86_400)
    # Request bodies, counted as they arrive (api/middleware.py); above: 413. JSON bodies
    # are small; the LPR upload (POST /api/ai/lpr/recognize) may carry an image of
    # lpr_upload_max_bytes plus its multipart framing.
    api_max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    lpr_upload_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    # Recordings API limits.
    recordings_max_range_days: int = Field(default=31, ge=1, le=3650)
    exports_max_range_hours: int = Field(default=24, ge=1, le=24 * 31)
    # Exports a tenant may have pending or running at once (each is an ffmpeg job).
    exports_max_active_per_tenant: int = Field(default=2, ge=1, le=100)
    page_size_default: int = 50
    page_size_max: int = 500
    retention_interval_seconds: int = 3600
    # LGPD: days plate reads (detections) and their crops are kept, unless the tenant set
    # its own (PUT /api/ai/data-policy); reads an alert points at stay while the alert does.
    lpr_retention_days: int = Field(default=90, ge=1, le=3650)

    # In-process background work (off by default: run the workers as their own processes).
    run_projection_consumer: bool = False
    # The outbox relay (``python -m streaming_service.workers.outbox_relay``) may also run
    # inside each API process; any number of relays never publish a row twice.
    outbox_relay_in_process: bool = False
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)
    outbox_poll_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    outbox_backoff_max_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Periodic thumbnails of live streams (``python -m streaming_service.workers.thumbnailer``).
    thumbnail_interval_seconds: float = Field(default=60.0, ge=1, le=86_400)
    thumbnail_width: int = Field(default=320, ge=32, le=1920)
    # Timestamped thumbnails (objects and rows) older than this are pruned.
    thumbnail_history_hours: int = Field(default=24, ge=1, le=24 * 365)
    # Each API instance listens for CameraDecommissioned to stop the streams it runs.
    stream_control_listener: bool = True
    # Keep continuous-recording cameras streamed with no viewer, and apply recording-mode
    # changes to running streams (one replica at a time, under a short Redis lease).
    recording_keeper: bool = True
    recording_keeper_interval_seconds: float = Field(default=5.0, ge=0.2, le=3600)
    # With an engine that runs streams inside the API process (FFmpeg), each camera is
    # owned by one replica under a Redis lease of this length, renewed every third of it;
    # the keeper takes a dead replica's cameras over once their leases expired.
    stream_owner_ttl_seconds: float = Field(default=15.0, ge=1, le=600)
    # A stop or a recording switch that reaches a process (worker or replica) other than
    # the stream's owner is done by the owner; the request waits this long for it.
    stream_owner_command_timeout_seconds: float = Field(default=10.0, ge=1, le=120)
    # Consecutive recording segments at least this far apart leave a reported gap
    # (``RecordingGap`` event, ``GET /recordings/gaps``).
    recording_gap_seconds: float = Field(default=5.0, gt=0, le=86_400)
    # Finished segments stored (uploaded and registered) at once: every camera cuts its
    # segment on the same minute boundary, so a hundred arrive together; the rest wait
    # their turn instead of all taking database connections. A failed store is tried
    # again after each of these delays before the segment is left for the next restart.
    recording_store_concurrency: int = Field(default=4, ge=1, le=64)
    recording_store_retry_seconds: tuple[Annotated[float, Field(ge=0, le=60)], ...] = Field(
        default=(1.0, 4.0, 10.0), max_length=6)

    # PTZ control (ONVIF; docs/onvif_ptz.md). The control lock expires after this many
    # seconds without a command; a continuous move stops after at most ptz_max_move_seconds
    # (the client's deadline); each user may send ptz_rate_limit commands per window.
    ptz_lock_ttl_seconds: float = Field(default=30.0, ge=1, le=3600)
    ptz_max_move_seconds: float = Field(default=5.0, gt=0, le=60)
    ptz_rate_limit: int = Field(default=30, ge=1, le=10_000)
    ptz_rate_window_seconds: float = Field(default=10.0, ge=1, le=3600)
    onvif_timeout_seconds: float = Field(default=3.0, gt=0, le=60)

    # --- AI context: plate recognition, the live feed and its WebSocket ---------------
    # Uploads to POST /api/ai/lpr/recognize (their size: lpr_upload_max_bytes, above,
    # which the body size limit reads).
    lpr_upload_max_pixels: int = Field(default=40_000_000, ge=10_000)
    # Plate reader: "ppocr" (PP-OCRv4 recognition fine-tuned on plates for the crop and
    # the original of rapidocr-onnxruntime for the second view, with plate grammar
    # decoding) or "plate-cnn" (GT-Vision's own plate network, read by
    # infrastructure/plate_cnn.py; experimental, weaker than ppocr: docs/models.md).
    # Device for the detector and reader: "cpu", or "cuda" through
    # onnxruntime's CUDA provider when the installed onnxruntime has it (else the CPU).
    lpr_reader: Literal["plate-cnn", "ppocr"] = "ppocr"
    lpr_device: Literal["cpu", "cuda"] = "cpu"
    # Network precision: "int8" (the shipped quantized detector and PP-OCR files: about
    # 61 ms a frame on one core against 106 ms) or "fp32". On the evaluation set int8
    # read 287 of 300 frames and fp32 282, neither with a confident misread
    # (docs/models.md).
    # int8 is a CPU optimisation: where the CUDA provider runs the detector, it runs the
    # fp32 file.
    lpr_precision: Literal["fp32", "int8"] = "int8"
    # Frames of all the cameras a worker holds read together, up to this many per pass
    # (an accelerator's lever: one launch for many frames). 1 reads each frame on its
    # own, the right choice on a CPU. A batch waits at most lpr_batch_window_ms to fill.
    lpr_batch_size: int = Field(default=1, ge=1, le=256)
    lpr_batch_window_ms: float = Field(default=20.0, ge=0, le=1000)

    # Live feed (Redis Stream per tenant) and WebSocket.
    live_maxlen: int = Field(default=10_000, ge=100)
    # How far back a reconnecting live client may catch up (and the feed keeps events).
    live_replay_seconds: int = Field(default=900, ge=60, le=86_400)
    ws_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # How soon a live socket notices its token revoked (logout, deactivation, demotion).
    ws_revocation_check_seconds: float = Field(default=2.0, gt=0, le=60)
    ws_read_block_ms: int = Field(default=1000, ge=50, le=30_000)
    # Live sockets one API process serves (one feed reader per tenant fans out to them);
    # the next one is closed with 1013 "try again later". Each socket buffers at most
    # ws_queue_size events; a client that falls further behind is closed the same way
    # and catches up from the feed when it reconnects with its last event id.
    ws_max_connections: int = Field(default=2000, ge=1)
    # Live sockets one user may hold on one API process (tabs, a video wall's screens);
    # the next one is closed with 4429. One token cannot take a replica's every place.
    ws_max_connections_per_user: int = Field(default=50, ge=1)
    ws_queue_size: int = Field(default=1000, ge=10)

    # LPR workers.
    lpr_worker_id: str = ""
    lpr_lease_seconds: float = Field(default=30.0, gt=1)
    lpr_max_cameras_per_worker: int = Field(default=8, ge=1)
    lpr_sample_fps: float = Field(default=4.0, gt=0, le=30)
    lpr_frame_width: int = Field(default=1280, ge=160)
    lpr_frame_height: int = Field(default=720, ge=120)
    # The same plate on the same camera is reported once per window (restarted while the
    # vehicle stays in view), so a parked car does not alert every few seconds.
    lpr_dedupe_window_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # A single read at least this confident is matched against the watchlists at once,
    # before the tracker's vote (alerts in well under a second); the vote then confirms,
    # corrects or retracts. 1.0 effectively waits for the vote.
    lpr_provisional_min_confidence: float = Field(default=0.5, ge=0, le=1)
    # A watchlist entry added now is matched against the plates seen in the last this
    # many minutes (a parked or passing car already de-duplicated), alerting once.
    lpr_seen_recently_minutes: float = Field(default=10.0, ge=0, le=24 * 60)
    # recording_mode = events: a clip around each plate detection, cut from the live
    # segments of the FFmpeg engine by the API process that runs the camera's stream.
    event_clips: bool = True
    event_clip_pre_roll_seconds: float = Field(default=3.0, ge=0, le=20)
    event_clip_post_roll_seconds: float = Field(default=5.0, ge=0, le=60)
    # Workers export Prometheus metrics on this port (0: off).
    metrics_port: int = Field(default=9200, ge=0, le=65535)


    @property
    def async_database_url(self) -> str:
        """``GTV_DATABASE_URL`` in asyncpg form, with ``GTV_STREAMING_DB_NAME`` applied."""
        return database_url_for(self.database_url, self.streaming_db_name, driver="asyncpg")

    @property
    def sync_database_url(self) -> str:
        """The same database for tools that want a libpq URL (psql, pg_isready)."""
        return database_url_for(self.database_url, self.streaming_db_name, driver=None)

    @property
    def async_migration_database_url(self) -> str:
        """``GTV_MIGRATION_DATABASE_URL`` (the owner) in asyncpg form, for Alembic."""
        return database_url_for(
            self.migration_database_url, self.streaming_db_name, driver="asyncpg")


class NotificationSettings(CommonSettings):
    """The alert notifier's gateways and recipients (``workers.notifier``)."""

    # SMTP email and an SMS/webhook gateway.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    smtp_from: str = "alerts@gt-vision.local"
    # JSON object {"<tenant uuid>": ["a@x", "b@y"]}. Per tenant only: there is no catch-all,
    # which would hand one prefeitura's alerts to another's recipients.
    alert_email_recipients: dict[str, list[str]] = Field(default_factory=dict)
    sms_webhook_url: str = ""
    sms_webhook_token: SecretStr = SecretStr("")
    sms_timeout_seconds: float = 10.0
    # JSON object {"<tenant uuid>": ["+5511..."]}, per tenant only.
    alert_sms_recipients: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("alert_email_recipients", "alert_sms_recipients")
    @classmethod
    def _per_tenant_only(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        normalised: dict[str, list[str]] = {}
        for key, recipients in value.items():
            try:
                tenant = str(uuid.UUID(key))
            except ValueError:
                raise ValueError(
                    f"alert recipients are keyed by tenant id, got {key!r}: a catch-all "
                    "would send one prefeitura's alerts to another's recipients") from None
            normalised[tenant] = list(recipients)
        return normalised


def database_url_for(url: str, db_name: str | None, *, driver: str | None) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    if driver:
        scheme = f"{scheme}+{driver}"
    path = f"/{db_name}" if db_name else parts.path
    return urlunsplit((scheme, parts.netloc, path, parts.query, parts.fragment))
