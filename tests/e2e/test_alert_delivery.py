"""Alerts reach a person: a real Prometheus (Debian) scrapes a real LPR-worker metrics
endpoint and evaluates deploy/prometheus/alerts.yml; the worker stops; GtvLprWorkersDown
fires; a real Alertmanager (Debian prometheus-alertmanager) with
deploy/alertmanager/alertmanager.yml delivers it to a local webhook (the on-call bridge)
and by e-mail (a local SMTP server). Test-only changes, applied to copies of the committed
files: 2 s scrape/evaluation intervals, the rules' ``for`` shortened, local addresses for
the receivers, plain SMTP. Every wait is bounded."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from prometheus_client import start_http_server

from streaming_service.workers.lpr_worker import SERVICE, LprMetrics
from tests.integration.deploy.deploy_support import DEPLOY
from tools.demo import monitoring

PROMETHEUS, ALERTMANAGER = monitoring.binaries()
AMTOOL = shutil.which("amtool")
AM_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"

pytestmark = pytest.mark.e2e
needs_binaries = pytest.mark.skipif(
    not (PROMETHEUS and ALERTMANAGER),
    reason="prometheus / prometheus-alertmanager missing (make system)")


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together, so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _wait(what: str, check: Callable[[], Any], timeout: float,
          logs: tuple[Path, ...] = ()) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-1500:]}"
                              for log in logs if log.exists())
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(0.25)


def test_amtool_accepts_the_alertmanager_config() -> None:
    if AMTOOL is None:
        pytest.skip("amtool missing (Debian prometheus-alertmanager)")
    done = subprocess.run([AMTOOL, "check-config", str(AM_CONFIG)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_routes_send_critical_to_the_pager_and_email_and_warnings_to_email() -> None:
    if AMTOOL is None:
        pytest.skip("amtool missing (Debian prometheus-alertmanager)")

    def receivers(*labels: str) -> str:
        done = subprocess.run([AMTOOL, "config", "routes", "test",
                               f"--config.file={AM_CONFIG}", *labels],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert receivers("severity=critical", "alertname=GtvLprWorkersDown") == \
        "oncall-pager,oncall-email"
    assert receivers("severity=warning", "alertname=GtvHighLatencyP95") == "ops-email"
    config = yaml.safe_load(AM_CONFIG.read_text())
    severities = {rule["labels"]["severity"]
                  for group in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
                  ["groups"] for rule in group["rules"]}
    assert severities == {"critical", "warning"}, "every severity has a route"
    assert "smtp_auth_password_file" in config["global"], "no SMTP password in the file"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[list[dict[str, Any]], int]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _process(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@needs_binaries
def test_lpr_worker_stopping_pages_the_on_call_webhook_and_email(tmp_path: Path) -> None:
    mailbox = Mailbox()
    smtp_port, am_port, prom_port, worker_port = _free_ports(4)
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    # The LPR worker's own metrics endpoint (its registry, as lpr_worker.main serves it).
    metrics = LprMetrics()
    metrics.frames.labels(SERVICE).inc()
    worker_server, worker_thread = start_http_server(worker_port, addr="127.0.0.1",
                                                     registry=metrics.registry)
    try:
        with webhook_receiver() as (hooks, hook_port):
            # The committed rules and routes (tools/demo/monitoring.py renders them for the
            # demo too), with 2 s intervals, `for: 10s` (a few slow scrapes on a busy
            # machine do not fire it: 5 s did once in CI) and local receivers.
            monitoring.write_configs(
                tmp_path, jobs={"lpr-worker": [f"127.0.0.1:{worker_port}"]},
                alertmanager_port=am_port, webhook_url=f"http://127.0.0.1:{hook_port}/oncall",
                smtp_address=f"127.0.0.1:{smtp_port}", interval="2s", pending="10s",
                group_wait="1s")
            prom, am = monitoring.commands(tmp_path, prometheus_port=prom_port,
                                           alertmanager_port=am_port)
            with _process(am, tmp_path / "alertmanager.log"), \
                    _process(prom, tmp_path / "prometheus.log"):
                api = f"http://127.0.0.1:{prom_port}/api/v1"
                logs = (tmp_path / "prometheus.log", tmp_path / "alertmanager.log")

                def query(expr: str) -> list[Any]:
                    try:
                        response = httpx.get(f"{api}/query", params={"query": expr}, timeout=5)
                        return list(response.json()["data"]["result"])
                    except (httpx.HTTPError, ValueError, KeyError):
                        return []

                # The worker is scraped and the alert is quiet while it runs.
                _wait("the LPR worker to be scraped",
                      lambda: query('up{job="lpr-worker"} == 1')
                      and query("gtv_lpr_frames_total"), 60, logs)
                time.sleep(12)  # longer than the shortened `for`
                assert query('ALERTS{alertname="GtvLprWorkersDown"}') == []
                assert hooks == []

                worker_server.shutdown()  # the LPR worker stops
                worker_server.server_close()

                firing = _wait("the webhook to receive GtvLprWorkersDown", lambda: [
                    alert for body in hooks for alert in body["alerts"]
                    if alert["labels"]["alertname"] == "GtvLprWorkersDown"
                    and alert["status"] == "firing"], 90, logs)
                assert firing[0]["labels"]["severity"] == "critical"
                assert firing[0]["annotations"]["summary"] == "No LPR worker is running"
                # The stopped endpoint also fires GtvTargetDown, in its own e-mail.
                mails = _wait("the on-call e-mail about GtvLprWorkersDown", lambda: [
                    m for rcpt, m in mailbox.messages if "plantao-ti@example.gov.br" in rcpt
                    and "GtvLprWorkersDown" in m["Subject"]], 60, logs)
                assert "CRITICAL" in mails[0]["Subject"]
    finally:
        with contextlib.suppress(Exception):
            worker_server.shutdown()
        worker_thread.join(5)
        smtp.stop()
