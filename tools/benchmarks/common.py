"""What the benchmarks share: where PostgreSQL and RabbitMQ are, percentiles, the machine
line of a report, and the private database / RabbitMQ vhost / Redis prefix each run
creates and removes."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from tools import db_roles

PG_ADMIN_URL = os.environ.get("GTV_BENCH_PG_ADMIN_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_HOST = os.environ.get("GTV_BENCH_AMQP_HOST", "127.0.0.1:5672")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine_line(extra: str = "") -> str:
    """CPUs, CPU model, Python version (``extra`` appended), load average now."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}{extra}; "
            f"load average at start {load}")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def private_vhost(vhost: str) -> Iterator[str]:
    """A RabbitMQ vhost for ``guest``, deleted at the end; yields its AMQP URL."""
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{AMQP_HOST}/{quote(vhost, safe='')}"
    finally:
        with contextlib.suppress(Exception):
            rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def private_database(db_name: str) -> Iterator[None]:
    """An empty PostgreSQL database with the services' roles bootstrapped (migrations
    connect as the owners, the services as their runtime roles); dropped (best effort)
    at the end."""
    db_roles.create_database(db_name, base=PG_ADMIN_URL)
    try:
        db_roles.bootstrap_roles(db_name, base=PG_ADMIN_URL)
        yield
    finally:
        with contextlib.suppress(Exception):
            db_roles.drop_database(db_name, base=PG_ADMIN_URL)


def delete_redis_prefix(redis_url: str, prefix: str) -> None:
    """Delete every Redis key under ``prefix`` (what a run's services wrote)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def publish_report(rows: Sequence[str], out: Path) -> None:
    """Print a benchmark's markdown section and write it to ``out`` (for make bench)."""
    report = "\n".join(rows)
    print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
