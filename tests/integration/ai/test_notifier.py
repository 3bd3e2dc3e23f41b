"""Alert notifications: AlertRaised on the ``notifications`` exchange → an email at a real
local SMTP server (aiosmtpd) and, for high/critical alerts, a POST at a real local HTTP
webhook receiver. Runs in a RabbitMQ vhost of its own."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

from shared_kernel import bus
from shared_kernel.bus import InMemoryIdempotencyStore
from shared_kernel.events import AlertRaised, AlertUpdated, EventEnvelope, new_event
from shared_kernel.outbox_relay import AmqpRelayPublisher
from streaming_service.application.ai.detections import alert_routing_key
from streaming_service.workers.notifier import (
    AlertNotifier,
    RunningNotifier,
    SmtpConfig,
    SmtpEmailSender,
    WebhookSmsSender,
    start_notifier,
)

TENANT = uuid.uuid4()
OTHER_TENANT = uuid.uuid4()
UNCONFIGURED_TENANT = uuid.uuid4()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            received.append({"body": json.loads(self.rfile.read(length)),
                             "auth": self.headers.get("authorization")})
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def vhost_url() -> Iterator[str]:
    vhost = f"gtv-test-notify-{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                       timeout=60)

    ctl("add_vhost", vhost)
    ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    finally:
        ctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
async def notifier(smtp: tuple[Mailbox, int], webhook: tuple[list[dict[str, Any]], str],
                   vhost_url: str) -> AsyncIterator[RunningNotifier]:
    _, port = smtp
    _, url = webhook
    sms = WebhookSmsSender(url, token="sms-token")
    handlers = AlertNotifier(
        email=SmtpEmailSender(SmtpConfig(host="127.0.0.1", port=port,
                                         sender="alerts@gtv.test", timeout=5)),
        sms=sms,
        email_recipients={str(TENANT): ["ops@city.test", "chief@city.test"]},
        sms_recipients={str(TENANT): ["+5511999990000"], str(OTHER_TENANT): ["+5511888880000"]},
    )
    running = await start_notifier(vhost_url, handlers, InMemoryIdempotencyStore())
    yield running
    await running.close()
    await sms.close()


@pytest.fixture(scope="module")
async def publisher(vhost_url: str) -> AsyncIterator[AmqpRelayPublisher]:
    pub = AmqpRelayPublisher(vhost_url)
    yield pub
    await pub.close()


def _alert(severity: str, plate: str, tenant: uuid.UUID = TENANT) -> EventEnvelope:
    return new_event(AlertRaised(
        alert_id=uuid.uuid4(), detection_id=uuid.uuid4(), watchlist_entry_id=uuid.uuid4(),
        camera_id=uuid.uuid4(), tenant_id=tenant, plate=plate, severity=severity,  # type: ignore[arg-type]
        reason="stolen vehicle", raised_at=datetime.now(UTC),
    ), producer="test", tenant_id=tenant)


async def _eventually(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_high_alert_is_emailed_and_texted(
    notifier: RunningNotifier, publisher: AmqpRelayPublisher, smtp: tuple[Mailbox, int],
    webhook: tuple[list[dict[str, Any]], str],
) -> None:
    mailbox, _ = smtp
    received, _ = webhook
    envelope = _alert("high", "ABC1D23")
    await publisher.publish(envelope, exchange=bus.NOTIFICATIONS,
                            routing_key=alert_routing_key(TENANT, "high"))
    await _eventually(lambda: any("ABC1D23" in m[1]["Subject"] for m in mailbox.messages))
    rcpts, message = next(m for m in mailbox.messages if "ABC1D23" in m[1]["Subject"])
    assert sorted(rcpts) == ["chief@city.test", "ops@city.test"]
    assert message["From"] == "alerts@gtv.test" and "HIGH" in message["Subject"]
    assert "stolen vehicle" in message.get_payload()
    await _eventually(lambda: any(r["body"]["event"]["plate"] == "ABC1D23" for r in received))
    sms = next(r for r in received if r["body"]["event"]["plate"] == "ABC1D23")
    assert sms["body"]["to"] == ["+5511999990000"] and sms["auth"] == "Bearer sms-token"
    assert len(sms["body"]["message"]) <= 160


async def test_low_alert_is_emailed_but_not_texted_and_duplicates_are_sent_once(
    notifier: RunningNotifier, publisher: AmqpRelayPublisher, smtp: tuple[Mailbox, int],
    webhook: tuple[list[dict[str, Any]], str],
) -> None:
    mailbox, _ = smtp
    received, _ = webhook
    envelope = _alert("low", "LOW1A23")
    for _ in range(2):  # a redelivery
        await publisher.publish(envelope, exchange=bus.NOTIFICATIONS,
                                routing_key=alert_routing_key(TENANT, "low"))
    await _eventually(lambda: any("LOW1A23" in m[1]["Subject"] for m in mailbox.messages))
    await asyncio.sleep(0.5)
    assert sum("LOW1A23" in m[1]["Subject"] for m in mailbox.messages) == 1
    assert not any(r["body"]["event"]["plate"] == "LOW1A23" for r in received)


async def test_alerts_of_a_tenant_without_recipients_reach_nobody(
    notifier: RunningNotifier, publisher: AmqpRelayPublisher, smtp: tuple[Mailbox, int],
    webhook: tuple[list[dict[str, Any]], str],
) -> None:
    mailbox, _ = smtp
    received, _ = webhook
    await publisher.publish(_alert("critical", "NOB0D10", UNCONFIGURED_TENANT),
                            exchange=bus.NOTIFICATIONS,
                            routing_key=alert_routing_key(UNCONFIGURED_TENANT, "critical"))
    marker = _alert("critical", "MRK1A23", OTHER_TENANT)
    await publisher.publish(marker, exchange=bus.NOTIFICATIONS,
                            routing_key=alert_routing_key(OTHER_TENANT, "critical"))
    await _eventually(lambda: any(r["body"]["event"]["plate"] == "MRK1A23" for r in received))
    await asyncio.sleep(0.5)
    assert not any("NOB0D10" in m[1]["Subject"] for m in mailbox.messages)
    assert not any(r["body"]["event"]["plate"] == "NOB0D10" for r in received)
    texted = next(r for r in received if r["body"]["event"]["plate"] == "MRK1A23")
    assert texted["body"]["to"] == ["+5511888880000"], "only that tenant's own recipients"


async def test_a_corrected_and_a_withdrawn_alert_are_emailed_and_texted_as_updates(
    notifier: RunningNotifier, publisher: AmqpRelayPublisher, smtp: tuple[Mailbox, int],
    webhook: tuple[list[dict[str, Any]], str],
) -> None:
    mailbox, _ = smtp
    received, _ = webhook
    for change, plate, previous in (("corrected", "COR1A23", "COR1A28"),
                                    ("retracted", "RET1B23", "RET1B28")):
        update = new_event(AlertUpdated(
            alert_id=uuid.uuid4(), detection_id=uuid.uuid4(), watchlist_entry_id=uuid.uuid4(),
            camera_id=uuid.uuid4(), tenant_id=TENANT, change=change,  # type: ignore[arg-type]
            plate=plate, previous_plate=previous, severity="high", reason="stolen vehicle",
            updated_at=datetime.now(UTC),
        ), producer="test", tenant_id=TENANT)
        await publisher.publish(update, exchange=bus.NOTIFICATIONS,
                                routing_key=alert_routing_key(TENANT, "high"))
    await _eventually(lambda: any("RET1B28" in m[1]["Subject"] for m in mailbox.messages)
                      and any("COR1A23" in m[1]["Subject"] for m in mailbox.messages))
    corrected = next(m[1] for m in mailbox.messages if "COR1A23" in m[1]["Subject"])
    assert "corrected" in corrected["Subject"] and "COR1A28" in corrected["Subject"]
    withdrawn = next(m[1] for m in mailbox.messages if "RET1B28" in m[1]["Subject"])
    assert "withdrawn" in withdrawn["Subject"]
    await _eventually(lambda: {r["body"]["event"].get("change") for r in received}
                      >= {"corrected", "retracted"})
    texts = {r["body"]["event"]["change"]: r["body"]["message"] for r in received
             if r["body"]["event"].get("change")}
    assert "COR1A23" in texts["corrected"] and "withdrawn" in texts["retracted"]


def test_a_catch_all_recipient_is_refused_by_the_settings() -> None:
    from pydantic import ValidationError

    from streaming_service.settings import NotificationSettings

    with pytest.raises(ValidationError, match="keyed by tenant id"):
        NotificationSettings(alert_email_recipients={"*": ["everyone@city.test"]})
    assert NotificationSettings(alert_sms_recipients={str(TENANT).upper(): ["+55"]}) \
        .alert_sms_recipients == {str(TENANT): ["+55"]}
