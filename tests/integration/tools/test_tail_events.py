"""tools.tail_events against the real broker: a newcomer's way to see events flow."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shared_kernel import bus
from shared_kernel.events import TenantCreated, new_event

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.asyncio


async def test_prints_each_domain_event_as_a_json_line(isolated_amqp_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.tail_events", "--amqp-url", isolated_amqp_url,
         "--count", "1", "--timeout", "30"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        ready = await asyncio.to_thread(process.stdout.readline)
        assert json.loads(ready) == {"listening": "domain.events"}
        tenant = uuid.uuid4()
        event = new_event(
            TenantCreated(tenant_id=tenant, name="Natal", slug=f"natal-{tenant.hex[:6]}"),
            producer="test", tenant_id=tenant, correlation_id="walkthrough-1",
        )
        connection = await bus.connect(isolated_amqp_url)
        try:
            await (await bus.EventPublisher.open(connection)).publish(event)
        finally:
            await connection.close()
        out, err = await asyncio.to_thread(process.communicate, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    line = json.loads(out.strip().splitlines()[-1])
    assert line["type"] == "TenantCreated" and line["event_id"] == str(event.event_id)
    assert line["correlation_id"] == "walkthrough-1"
    assert line["payload"]["name"] == "Natal"
    assert process.returncode == 0, err
