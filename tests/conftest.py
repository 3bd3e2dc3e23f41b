"""Fixtures shared by every test level: real services on 127.0.0.1, isolated per run."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

AMQP_HOST = os.environ.get("GTV_TEST_AMQP_HOST", "127.0.0.1:5672")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def _private_vhost() -> Iterator[str]:
    vhost = f"gtv-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _url(vhost: str) -> str:
    return f"amqp://guest:guest@{AMQP_HOST}/{quote(vhost, safe='')}"


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """A private RabbitMQ virtual host for this test session, deleted afterwards.

    Tests of the bus declare the real topology (fanout ``domain.events`` and friends), so
    a vhost of their own keeps parallel runs and leftover queues from seeing each other.
    """
    with _private_vhost() as vhost:
        yield vhost


@pytest.fixture(scope="session")
def amqp_url(rabbitmq_vhost: str) -> str:
    return _url(rabbitmq_vhost)


@pytest.fixture(scope="module")
def isolated_amqp_url() -> Iterator[str]:
    """A vhost for one module whose tests publish arbitrary events to the fanout exchange,
    so they reach no other module's queues."""
    with _private_vhost() as vhost:
        yield _url(vhost)
