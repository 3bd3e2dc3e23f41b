"""``python -m streaming_service.workers.notifier``: alert notifications.

Consumes ``notifications.email`` (every alert, ``alerts.#``) and sends an email through
SMTP; consumes ``notifications.sms`` (``alerts.*.high`` and ``alerts.*.critical``) and
hands a short text to an ``SmsSender`` (the default posts JSON to a webhook, the usual
shape of SMS gateways). Recipients are configured per tenant, and only per tenant: an
alert never reaches another prefeitura's recipients.

Delivery goes through ``shared_kernel.bus.EventConsumer``: a failed send is retried a
bounded number of times, then dead-lettered; a redelivered event is not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from shared_kernel import bus
from shared_kernel.events import AlertRaised, AlertUpdated, EventEnvelope
from shared_kernel.redis_pool import async_redis
from streaming_service.settings import NotificationSettings
from streaming_service.workers.process import run_worker

log = logging.getLogger(__name__)

EMAIL_QUEUE = "notifications.email"
SMS_QUEUE = "notifications.sms"


class EmailSender(Protocol):
    async def send(self, recipients: list[str], subject: str, body: str) -> None: ...


class SmsSender(Protocol):
    async def send(self, recipients: list[str], text: str, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


class SmtpEmailSender:
    """``smtplib`` in a worker thread, one connection per message, with a timeout."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def _send_sync(self, message: EmailMessage) -> None:
        cfg = self._config
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password)
            smtp.send_message(message)

    async def send(self, recipients: list[str], subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._send_sync, message)


class WebhookSmsSender:
    """POSTs ``{"to": [...], "message": "...", "event": {...}}`` to the gateway."""

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, recipients: list[str], text: str, event: dict[str, Any]) -> None:
        response = await self._client.post(
            self._url, json={"to": recipients, "message": text, "event": event},
            headers=self._headers)
        response.raise_for_status()

    async def close(self) -> None:
        await self._client.aclose()


def recipients_for(table: dict[str, list[str]], tenant_id: object) -> list[str]:
    return list(table.get(str(tenant_id)) or [])


def email_content(alert: AlertRaised) -> tuple[str, str]:
    subject = f"[GT-Vision] {alert.severity.upper()} alert: plate {alert.plate}"
    body = "\n".join([
        f"A watchlisted plate was seen: {alert.plate}",
        f"Severity: {alert.severity}",
        f"Reason: {alert.reason or '-'}",
        f"Camera: {alert.camera_id}",
        f"Time (UTC): {alert.raised_at.isoformat()}",
        f"Alert id: {alert.alert_id}",
        "",
        "Acknowledge it in the GT-Vision dashboard.",
    ])
    return subject, body


def sms_text(alert: AlertRaised) -> str:
    return (f"GT-Vision {alert.severity.upper()}: plate {alert.plate} at camera "
            f"{str(alert.camera_id)[:8]} - {alert.reason or 'watchlist'}")[:160]


def update_email_content(update: AlertUpdated) -> tuple[str, str]:
    if update.change == "retracted":
        subject = (f"[GT-Vision] alert withdrawn: plate {update.previous_plate} "
                   f"was read as {update.plate}")
        first = (f"The alert on plate {update.previous_plate} is withdrawn: a closer read of "
                 f"the vehicle gave {update.plate}, which is not on the watchlist.")
    else:
        subject = (f"[GT-Vision] {update.severity.upper()} alert corrected: plate "
                   f"{update.plate} (was {update.previous_plate})")
        first = (f"The plate of this alert was corrected to {update.plate} "
                 f"(first read: {update.previous_plate}); it is still a watchlist hit.")
    body = "\n".join([
        first,
        f"Severity: {update.severity}",
        f"Reason: {update.reason or '-'}",
        f"Camera: {update.camera_id}",
        f"Time (UTC): {update.updated_at.isoformat()}",
        f"Alert id: {update.alert_id}",
    ])
    return subject, body


def update_sms_text(update: AlertUpdated) -> str:
    if update.change == "retracted":
        return (f"GT-Vision: alert on plate {update.previous_plate} withdrawn "
                f"(read as {update.plate})")[:160]
    return (f"GT-Vision {update.severity.upper()}: alert plate corrected to {update.plate} "
            f"(was {update.previous_plate}) at camera {str(update.camera_id)[:8]}")[:160]


class AlertNotifier:
    """Event handlers of the two queues: ``AlertRaised`` and ``AlertUpdated`` (the
    correction or withdrawal of an alert raised on a provisional read) are sent, anything
    else is ignored."""

    def __init__(self, *, email: EmailSender | None, sms: SmsSender | None,
                 email_recipients: dict[str, list[str]],
                 sms_recipients: dict[str, list[str]]) -> None:
        self._email = email
        self._sms = sms
        self._email_to = email_recipients
        self._sms_to = sms_recipients

    async def on_email(self, envelope: EventEnvelope) -> None:
        if self._email is None:
            return
        update = _update(envelope)
        if update is not None:
            to = recipients_for(self._email_to, update.tenant_id)
            if to:
                await self._email.send(to, *update_email_content(update))
                log.info("alert update emailed", extra={"alert_id": str(update.alert_id),
                                                        "recipients": len(to)})
            return
        alert = _alert(envelope)
        if alert is None:
            return
        to = recipients_for(self._email_to, alert.tenant_id)
        if not to:
            log.info("no email recipients for tenant", extra={"tenant_id": str(alert.tenant_id)})
            return
        subject, body = email_content(alert)
        await self._email.send(to, subject, body)
        log.info("alert emailed", extra={"alert_id": str(alert.alert_id), "recipients": len(to)})

    async def on_sms(self, envelope: EventEnvelope) -> None:
        if self._sms is None:
            return
        update = _update(envelope)
        if update is not None:
            to = recipients_for(self._sms_to, update.tenant_id)
            if to:
                await self._sms.send(to, update_sms_text(update),
                                     update.model_dump(mode="json"))
                log.info("alert update texted", extra={"alert_id": str(update.alert_id),
                                                       "recipients": len(to)})
            return
        alert = _alert(envelope)
        if alert is None:
            return
        to = recipients_for(self._sms_to, alert.tenant_id)
        if not to:
            log.info("no SMS recipients for tenant", extra={"tenant_id": str(alert.tenant_id)})
            return
        await self._sms.send(to, sms_text(alert), alert.model_dump(mode="json"))
        log.info("alert texted", extra={"alert_id": str(alert.alert_id), "recipients": len(to)})


def _update(envelope: EventEnvelope) -> AlertUpdated | None:
    if envelope.type != AlertUpdated.event_type:
        return None
    payload = envelope.typed_payload()
    return payload if isinstance(payload, AlertUpdated) else None


def _alert(envelope: EventEnvelope) -> AlertRaised | None:
    if envelope.type != AlertRaised.event_type:
        return None
    payload = envelope.typed_payload()
    return payload if isinstance(payload, AlertRaised) else None


@dataclass
class RunningNotifier:
    connection: Any
    consumers: list[bus.EventConsumer]

    async def close(self) -> None:
        for consumer in self.consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        await self.connection.close()


async def start_notifier(amqp_url: str, notifier: AlertNotifier, idempotency: Any, *,
                         retry_delay: float = 0.5) -> RunningNotifier:
    connection = await bus.connect(amqp_url)
    channel = await connection.channel()
    queues = await bus.declare_topology(channel)
    consumers = [
        bus.EventConsumer(channel, queues[EMAIL_QUEUE], notifier.on_email,
                          name="notifier.email", idempotency=idempotency,
                          retry_delay=retry_delay),
        bus.EventConsumer(channel, queues[SMS_QUEUE], notifier.on_sms,
                          name="notifier.sms", idempotency=idempotency,
                          retry_delay=retry_delay),
    ]
    for consumer in consumers:
        await consumer.start(prefetch=8)
    return RunningNotifier(connection, consumers)


def notifier_from_settings(settings: NotificationSettings) -> AlertNotifier:
    email = SmtpEmailSender(SmtpConfig(
        host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds))
    sms: SmsSender | None = None
    if settings.sms_webhook_url:
        sms = WebhookSmsSender(settings.sms_webhook_url,
                               token=settings.sms_webhook_token.get_secret_value(),
                               timeout=settings.sms_timeout_seconds)
    return AlertNotifier(email=email, sms=sms,
                         email_recipients=settings.alert_email_recipients,
                         sms_recipients=settings.alert_sms_recipients)


async def run(settings: NotificationSettings, stop: asyncio.Event) -> None:
    redis = async_redis(settings.redis_url)
    running = await start_notifier(settings.amqp_url, notifier_from_settings(settings),
                                   bus.RedisIdempotencyStore(redis))
    try:
        await stop.wait()
    finally:
        await running.close()
        await redis.aclose()


def main() -> None:
    settings = NotificationSettings()
    run_worker(lambda stop: run(settings, stop),
               service="streaming_service.notifier", log_level=settings.log_level)


if __name__ == "__main__":
    main()
