"""Fault drills on the running stack (issue 13), after tests/e2e/stack/test_stack.py:
an admin replica killed under a steady write load, RabbitMQ stopped for 30 s, PostgreSQL
restarted, and the streaming replica that serves a live, continuously recorded stream
killed. Each drill checks that nothing acknowledged is lost and that the stack heals
itself; what the clients saw (retries, the recording gap) is printed and kept in
var/bench/stack.md."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.stack.conftest import TIMINGS, Tenant, eventually, login
from tools.stack import Stack

# The session's stack fixture (images built, stack started: minutes on a cold machine)
# runs inside the first test that asks for it, so pytest's default 300 s cannot hold it.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
APPLICATION = ("admin", "admin-outbox-relay", "admin-event-consumer", "streaming",
               "streaming-event-consumer", "streaming-outbox-relay", "lpr-worker",
               "notifier", "thumbnailer", "retention")


def _host_pid(container: str) -> int:
    return int(subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", container],
                              capture_output=True, text=True, check=True).stdout)


def _restart_counts(stack: Stack) -> dict[str, int]:
    counts = {}
    for container in stack.containers():
        if container.service in APPLICATION:
            counts[container.name] = int(subprocess.run(
                ["podman", "inspect", "--format", "{{.RestartCount}}", container.name],
                capture_output=True, text=True, check=True).stdout or 0)
    return counts


def _uuids(values: list[str]) -> str:
    """A SQL list of UUID literals, each parsed first (nothing else reaches the SQL)."""
    return ",".join(f"'{uuid.UUID(value)}'" for value in values)


def _psql(stack: Stack, sql: str, ids: list[str] | None = None) -> str:
    """``sql`` in the stack's database; ``:ids`` in it becomes the list of ``ids``."""
    if ids is not None:
        sql = sql.replace(":ids", _uuids(ids))
    postgres = stack.replicas("postgres")[0].name
    return stack.exec(postgres, "psql", "-U", "gtv", "-d", "gtvision", "-tAc", sql).strip()


class Writer:
    """Creates locations one after another through HAProxy, retrying what the gateway
    could not deliver (a connection cut, 502/503/504) as a client library would."""

    def __init__(self, gateway: httpx.Client, headers: dict[str, str]) -> None:
        self.gateway, self.headers = gateway, headers
        self.run = uuid.uuid4().hex[:6]
        self.acknowledged: dict[str, str] = {}
        self.retried = 0
        self.failed: list[str] = []

    def write(self, index: int) -> None:
        name = f"drill-{self.run}-{index}"
        for _ in range(30):
            try:
                response = self.gateway.post(
                    "/api/cidades/locations/", headers=self.headers,
                    json={"name": name, "address": "Rua do Teste", "latitude": -23.55,
                          "longitude": -46.63})
            except httpx.TransportError:
                self.retried += 1
                time.sleep(0.5)
                continue
            if response.status_code == 201:
                self.acknowledged[name] = response.json()["id"]
                return
            if response.status_code in (502, 503, 504):
                self.retried += 1
                time.sleep(0.5)
                continue
            if response.status_code == 400 and "name" in response.text and self.retried:
                return  # the cut attempt had committed: stored, never acknowledged
            self.failed.append(f"{name}: {response.status_code} {response.text[:200]}")
            return
        self.failed.append(f"{name}: no answer after 30 tries")

    def stored(self) -> set[str]:
        listing = self.gateway.get("/api/cidades/locations/", headers=self.headers,
                                   params={"page_size": 500})
        assert listing.status_code == 200, listing.text
        return {item["name"] for item in listing.json()["results"]}


def test_killing_an_admin_replica_under_writes_loses_no_acknowledged_write(
    stack: Stack, gateway: httpx.Client, tenant: Tenant,
) -> None:
    writer = Writer(gateway, tenant.headers(tenant.admin_token))
    victim = stack.replicas("admin")[1].name
    for index in range(60):
        if index == 20:
            os.kill(_host_pid(victim), signal.SIGKILL)  # a crash, not a stop
        writer.write(index)
    assert writer.failed == []
    assert sorted(set(writer.acknowledged) - writer.stored()) == []
    assert len(writer.acknowledged) >= 55
    TIMINGS["admin replica killed: client retries"] = writer.retried
    # The restart policy brings the replica back, healthy.
    stack.wait_healthy(["admin"], 180)
    assert len([c for c in stack.replicas("admin") if c.state == "running"]) == 3


def test_rabbitmq_down_for_30_seconds_delays_events_and_loses_none(
    stack: Stack, gateway: httpx.Client, tenant: Tenant,
) -> None:
    """Cameras registered while RabbitMQ is down: their events wait in the admin outbox,
    and once the broker is back each one reaches the streaming projection exactly once
    (one processed_events row per event id, one projected camera per camera)."""
    before = _restart_counts(stack)
    rabbitmq = stack.replicas("rabbitmq")[0].name
    made = []
    try:
        # A clean stop takes the broker about 7 s (its management plugin waits 5 s of it):
        # a shorter grace period ends every stop in SIGKILL.
        subprocess.run(["podman", "stop", "-t", "30", rabbitmq], check=True,
                       capture_output=True, timeout=120)
        stopped = time.monotonic()
        exit_code = subprocess.run(["podman", "inspect", "--format", "{{.State.ExitCode}}",
                                    rabbitmq], capture_output=True, text=True, check=True,
                                   timeout=30).stdout.strip()
        assert exit_code == "0", f"RabbitMQ did not stop cleanly: exit {exit_code}"
        # Podman reloads its DNS server when a container of the network stops, and for a
        # moment names do not resolve; the admin then rightly refuses a camera whose host
        # does not resolve (400). This drill is about the broker: it registers cameras once
        # the camera's name resolves again from the admin replica.
        admin = stack.replicas("admin")[0].name
        eventually(lambda: subprocess.run(
            ["podman", "exec", admin, "getent", "hosts", "camera-sim"], capture_output=True,
            timeout=30, check=False).returncode == 0,
            30, "the camera simulator's name resolves after the broker stopped", 0.5)
        for index in range(3):
            camera = gateway.post(
                "/api/cidades/cameras/", headers=tenant.headers(tenant.admin_token),
                json={"name": f"Outage {uuid.uuid4().hex[:6]}-{index}",
                      "rtsp_url": f"rtsp://demo:{stack.camera_password}@camera-sim:8554/cam1",
                      "lpr_enabled": False, "recording_mode": "off"})
            assert camera.status_code == 201, camera.text  # the outbox keeps the event
            made.append(camera.json()["id"])
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
    finally:
        # The broker comes back, healthy, whatever happened: a failure here is this
        # drill's alone, and the next drill starts from a whole stack. (wait_healthy, not
        # the start's exit status, says whether it came back.)
        subprocess.run(["podman", "start", rabbitmq], check=False, capture_output=True,
                       timeout=120)
        stack.wait_healthy(["rabbitmq"], 180)
    events = _psql(stack, "SELECT event_id FROM admin.outbox_events "
                          "WHERE envelope->'payload'->>'camera_id' IN (:ids)", made).split()
    assert len(events) >= len(made), events  # at least each camera's registration

    def all_consumed() -> bool:
        pending = _psql(stack, "SELECT count(*) FROM admin.outbox_events "
                               "WHERE event_id IN (:ids) AND published_at IS NULL", events)
        consumed = _psql(stack, "SELECT count(DISTINCT event_id) FROM "
                                "streaming.processed_events WHERE event_id IN (:ids)", events)
        return pending == "0" and consumed == str(len(events))

    eventually(all_consumed, 180, "every outage event consumed after RabbitMQ came back", 2)
    # Consumed once: one processed row per event and consumer, one projected row per
    # camera (a redelivery is absorbed by the inbox, never applied twice).
    per_event = _psql(stack, "SELECT event_id, consumer, count(*) FROM "
                             "streaming.processed_events WHERE event_id IN (:ids) "
                             "GROUP BY event_id, consumer", events).splitlines()
    assert len(per_event) == len(events), per_event
    assert all(row.endswith("|1") for row in per_event), per_event
    projected = _psql(stack, "SELECT id, count(*) FROM streaming.cameras "
                             "WHERE id IN (:ids) GROUP BY id", made).splitlines()
    assert sorted(row.split("|")[0] for row in projected) == sorted(made)
    assert all(row.endswith("|1") for row in projected), projected
    TIMINGS["RabbitMQ outage: events consumed exactly once"] = float(len(events))
    assert _restart_counts(stack) == before, "workers reconnected without restarting"
    stack.wait_healthy(None, 180)


def test_postgresql_restart_is_survived_without_service_restarts(
    stack: Stack, gateway: httpx.Client, tenant: Tenant,
) -> None:
    before = _restart_counts(stack)
    postgres = stack.replicas("postgres")[0].name
    subprocess.run(["podman", "restart", "-t", "10", postgres], check=True,
                   capture_output=True, timeout=120)
    writer = Writer(gateway, tenant.headers(tenant.admin_token))

    def writes_again() -> bool:
        writer.failed.clear()
        writer.write(len(writer.acknowledged))
        return bool(writer.acknowledged)

    eventually(writes_again, 120, "a write through the gateway after the restart", 2)
    slug, password = tenant.extra["slug"], tenant.extra["password"]
    assert login(gateway, f"{slug}-operator", password)
    streams = gateway.get("/api/streaming/streams/", headers=tenant.headers())
    assert streams.status_code == 200, streams.text
    stack.wait_healthy(None, 240)
    assert _restart_counts(stack) == before


def _serving_replicas(stack: Stack) -> list[str]:
    """The streaming replicas running an ffmpeg on the camera simulator. (The pattern is
    written so that it does not match the command line of the grep, or of the shell,
    that looks for it: ``rtsp://`` itself would find them in every replica.)"""
    serving = []
    for replica in stack.replicas("streaming"):
        if replica.state != "running":
            continue
        found = subprocess.run(["podman", "exec", replica.name, "sh", "-c",
                                "grep -l -a -s '^ffmpeg.*rtsp:/[/]' /proc/[0-9]*/cmdline "
                                "|| true"],
                               capture_output=True, text=True, timeout=30, check=False)
        if found.stdout.strip():
            serving.append(replica.name)
    return serving


def _serving_replica(stack: Stack) -> str:
    serving = _serving_replicas(stack)
    assert len(serving) <= 1, f"two replicas run the same camera: {serving}"
    return serving[0] if serving else ""


def test_killing_the_streaming_replica_of_a_live_recorded_stream(
    stack: Stack, gateway: httpx.Client, tenant: Tenant,
) -> None:
    def start() -> httpx.Response | None:
        # The camera reaches the streaming service through the bus (its projection): 404
        # until then. Right after the PostgreSQL drill a replica's first new connection
        # can stall (the stack's DNS settling after the restart): 503, to be retried.
        started = gateway.post(f"/api/streaming/streams/{tenant.camera_id}/start",
                               headers=tenant.headers())
        return started if started.status_code not in (404, 503) else None

    started = eventually(start, 60, "the camera known to the streaming service")
    assert started.status_code == 200, started.text
    serving = eventually(lambda: _serving_replica(stack), 60, "a replica runs the stream")
    killed_at = datetime.now(UTC)
    os.kill(_host_pid(serving), signal.SIGKILL)

    # The recording keeper (one replica at a time, under a Redis lease) takes the camera
    # up again: the surviving replica, or the killed one once its restart policy has
    # brought it back, whichever comes first.
    resumer = eventually(lambda: _serving_replica(stack), 180, "a replica resumes the stream",
                         2)

    def recorded_after() -> list[dict[str, Any]]:
        listing = gateway.get("/api/streaming/recordings/", headers=tenant.headers(), params={
            "camera_id": tenant.camera_id,
            "start": (killed_at - timedelta(minutes=5)).isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
        if listing.status_code != 200:
            return []
        items = sorted(listing.json()["results"], key=lambda r: r["started_at"])
        after = [r for r in items if datetime.fromisoformat(r["started_at"]) > killed_at]
        return items if after else []

    items = eventually(recorded_after, 120, "a segment recorded after the kill", 2)
    before = [r for r in items if datetime.fromisoformat(r["started_at"]) <= killed_at]
    after = [r for r in items if datetime.fromisoformat(r["started_at"]) > killed_at]
    assert before, "the segments recorded before the kill are listed"
    gap = (datetime.fromisoformat(after[0]["started_at"])
           - datetime.fromisoformat(before[-1]["ended_at"]))

    # The gap is reported: GET /recordings/gaps lists the hole around the kill.
    def reported() -> list[dict[str, Any]]:
        listing = gateway.get("/api/streaming/recordings/gaps", headers=tenant.headers(),
                              params={"camera_id": tenant.camera_id,
                                      "start": (killed_at - timedelta(minutes=5)).isoformat(),
                                      "end": (datetime.now(UTC)
                                              + timedelta(minutes=1)).isoformat()})
        assert listing.status_code == 200, listing.text
        return [g for g in listing.json()
                if datetime.fromisoformat(g["ended_at"]) > killed_at - timedelta(seconds=30)]

    if gap.total_seconds() >= 5:  # GTV_RECORDING_GAP_SECONDS' default
        gaps = eventually(reported, 30, "the recording gap reported")
        assert gaps[0]["seconds"] == pytest.approx(gap.total_seconds(), abs=1)
        event = _psql(stack, "SELECT count(*) FROM streaming.outbox_events "
                             "WHERE event_type = 'RecordingGap' "
                             "AND envelope->'payload'->>'camera_id' IN (:ids)",
                      [tenant.camera_id])
        assert int(event) >= 1, "a RecordingGap event was announced"
    TIMINGS["streaming replica killed: recording gap (s)"] = gap.total_seconds()
    TIMINGS["streaming replica killed: resumed by the killed replica"] = float(
        resumer == serving)
    print(f"\nrecording gap after killing {serving}: {gap.total_seconds():.1f} s "
          f"(resumed by {resumer})")
    stack.wait_healthy(["streaming"], 180)
    # One replica runs the camera, not two.
    assert len(_serving_replicas(stack)) == 1
