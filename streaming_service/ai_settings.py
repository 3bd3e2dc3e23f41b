"""Settings of the AI context (LPR, live alerts, notifications), env prefix ``GTV_``."""

from __future__ import annotations

import uuid

from pydantic import Field, SecretStr, field_validator

from streaming_service.settings import StreamingSettings


class AiSettings(StreamingSettings):
    # Uploads to POST /api/ai/lpr/recognize (their size: lpr_upload_max_bytes, in
    # StreamingSettings, which the body size limit reads).
    lpr_upload_max_pixels: int = Field(default=40_000_000, ge=10_000)

    # Live feed (Redis Stream per tenant) and WebSocket.
    live_maxlen: int = Field(default=10_000, ge=100)
    ws_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # How soon a live socket notices its token revoked (logout, deactivation, demotion).
    ws_revocation_check_seconds: float = Field(default=2.0, gt=0, le=60)
    ws_read_block_ms: int = Field(default=1000, ge=50, le=30_000)

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
    # Workers export Prometheus metrics on this port (0: off).
    metrics_port: int = Field(default=9200, ge=0, le=65535)

    # Notifications: SMTP email and an SMS/webhook gateway.
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
