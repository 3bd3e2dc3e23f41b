"""WebSocket fan-out benchmark: many live-alert subscribers per streaming API replica.

    python tools/benchmarks/ws_fanout_bench.py [--replicas 2] [--per-replica 1000] [--events 20]
                                               [--via-haproxy] [--source-ips 200]

Starts ``--replicas`` streaming API processes (uvicorn, the real app from the composition
root) on free loopback ports, with a database, a RabbitMQ vhost and a Redis prefix of
their own, and opens ``--per-replica`` ``WS /ws/alerts`` sockets of one tenant on each (the
worst case for fan-out: every socket wants every event). It then appends ``--events``
events to the tenant's live feed — what the outbox relay's live lane does once a
detection's transaction has committed — and times each event's arrival on every socket.

With ``--via-haproxy`` (two replicas at most) the sockets go through the real HAProxy with
``deploy/haproxy/haproxy.cfg`` (started like the integration tests start it, the second
replica named by ``GTV_STREAMING_API_ADDR2``), each from one of ``--source-ips``
loopback addresses (127.1.x.y): ``be_ws`` balances by source address, and the edge's
per-address rate limit counts the upgrades, as they would for a city's many operators.
The report then also says how HAProxy spread the sockets over the replicas.

Reports sockets connected and refused, events delivered / expected, and append→socket
latency p50/p95/p99. The commit→append step is the relay's and is measured by the
live-alert benchmark. Not a test; every wait is bounded and every process is stopped.
Prints a markdown section and writes it to ``var/bench/ws_fanout.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import jwt  # noqa: E402
import websockets  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from shared_kernel.events import EventEnvelope  # noqa: E402
from shared_kernel.redis_pool import async_redis  # noqa: E402
from streaming_service.infrastructure.live_feed import RedisLiveFeed  # noqa: E402
from tools.benchmarks.common import (  # noqa: E402
    delete_redis_prefix,
    machine_line,
    percentile,
    private_database,
    private_vhost,
    publish_report,
)

REDIS_URL = os.environ.get("GTV_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ISSUER, AUDIENCE = "gt-vision-admin", "gt-vision"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def _token(private_key: str, tenant_id: uuid.UUID) -> str:
    user = uuid.uuid4()
    now = int(time.time())
    return jwt.encode({
        "sub": str(user), "user_id": str(user), "username": "bench", "tenant_id": str(tenant_id),
        "roles": ["viewer"], "jti": uuid.uuid4().hex, "iat": now, "auth_time": now,
        "exp": now + 3600, "iss": ISSUER, "aud": AUDIENCE, "token_type": "access",
    }, private_key, algorithm="RS256")


@contextlib.contextmanager
def _replicas(n: int, env: dict[str, str], log_dir: Path) -> Iterator[list[str]]:
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for i in range(n):
            port = _free_port()
            log = open(log_dir / f"replica-{i}.log", "wb")  # noqa: SIM115 (closed with the process)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "streaming_service.main:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                 "--ws-ping-interval", "0"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"127.0.0.1:{port}")
        for url in urls:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://{url}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica {url} did not start; see {log_dir}")
                time.sleep(0.3)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


def _haproxy_servers(stats: str) -> dict[str, dict[str, str]]:
    """``be_ws``'s servers -> their row of the stats page's CSV export."""
    text = httpx.get(f"{stats}/;csv", timeout=5).text
    lines = text.lstrip("# ").splitlines()
    fields = lines[0].split(",")
    rows = [dict(zip(fields, line.split(","), strict=False)) for line in lines[1:]]
    return {r["svname"]: r for r in rows
            if r.get("pxname") == "be_ws" and r["svname"] not in ("FRONTEND", "BACKEND")}


@contextlib.contextmanager
def _haproxy(urls: list[str], log_dir: Path) -> Iterator[tuple[str, str]]:
    """The real HAProxy and config in front of the replicas; yields (entry, stats URL)."""
    if len(urls) > 2:
        raise SystemExit("--via-haproxy takes two replicas at most")
    http_port, stats_port, nothing = _free_port(), _free_port(), _free_port()
    ours = ("GTV_HAPROXY", "GTV_ADMIN", "GTV_STREAMING", "GTV_DASHBOARD", "GTV_HTTP")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update({
        "GTV_HAPROXY_BIND_ADDR": "127.0.0.1", "GTV_HTTP_PORT": str(http_port),
        "GTV_HAPROXY_STATS_BIND": f"127.0.0.1:{stats_port}",
        "GTV_HAPROXY_CHECK_INTER": "500ms",
        "GTV_STREAMING_ADDR": urls[0], "GTV_STREAMING_API_ADDR": urls[0],
        "GTV_STREAMING_API_SERVERS": "1",
        # nothing listens there: the admin and dashboard backends stay down
        "GTV_ADMIN_ADDR": f"127.0.0.1:{nothing}", "GTV_DASHBOARD_ADDR": f"127.0.0.1:{nothing}",
    })
    if len(urls) == 2:
        env["GTV_STREAMING_API_ADDR2"] = urls[1]
    log = open(log_dir / "haproxy.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(HAPROXY_CONFIG)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    stats = f"http://127.0.0.1:{stats_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {(log_dir / 'haproxy.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError, KeyError, IndexError):
                servers = _haproxy_servers(stats)
                if len(servers) == len(urls) and all(
                        r["status"] == "UP" for r in servers.values()):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy's be_ws servers did not come UP")
            time.sleep(0.2)
        yield f"127.0.0.1:{http_port}", stats
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _source_ip(n: int) -> str:
    return f"127.1.{n // 250}.{n % 250 + 1}"


class Subscriber:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.closed_code: int | None = None

    async def run(self, url: str, token: str, ready: asyncio.Event | None = None,
                  source_ip: str | None = None) -> None:
        extra: dict[str, Any] = {"local_addr": (source_ip, 0)} if source_ip else {}
        try:
            async with websockets.connect(f"ws://{url}/ws/alerts?token={token}",
                                          open_timeout=30, ping_interval=None,
                                          max_queue=None, **extra) as ws:
                async for raw in ws:
                    arrived = time.time()  # before this client's own parsing
                    message = json.loads(raw)
                    if message.get("type") == "welcome" and ready is not None:
                        ready.set()
                    bench_id = (message.get("payload") or {}).get("bench_id")
                    if bench_id:
                        self.arrivals[bench_id] = arrived
        except websockets.ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else None
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            self.closed_code = -1


async def _bench(args: argparse.Namespace, urls: list[str], private_key: str,
                 prefix: str, entry: str | None = None) -> dict[str, Any]:
    """``entry``: HAProxy's address; every socket goes there (as many as the replicas
    would take directly), each from one of ``args.source_ips`` addresses."""
    tenant = uuid.uuid4()
    subscribers: list[Subscriber] = []
    tasks: list[asyncio.Task[None]] = []
    connect_started = time.monotonic()
    welcomed = 0
    for url in urls:
        for batch_start in range(0, args.per_replica, 100):
            readies = []
            for _ in range(min(100, args.per_replica - batch_start)):
                subscriber, ready = Subscriber(), asyncio.Event()
                source = (_source_ip(len(subscribers) % args.source_ips)
                          if entry is not None else None)
                subscribers.append(subscriber)
                readies.append(ready)
                tasks.append(asyncio.create_task(
                    subscriber.run(entry or url, _token(private_key, tenant), ready, source)))
            done, _ = await asyncio.wait([asyncio.create_task(r.wait()) for r in readies],
                                         timeout=30)
            welcomed += len(done)
    connect_seconds = time.monotonic() - connect_started
    refused = sum(1 for s in subscribers if s.closed_code is not None)
    spread = ({name: int(row["scur"]) for name, row in _haproxy_servers(args.stats).items()}
              if entry is not None else {})

    redis = async_redis(REDIS_URL)
    feed = RedisLiveFeed(redis, prefix=prefix)
    sent: dict[str, float] = {}
    for i in range(args.events):
        bench_id = f"e{i}"
        envelope = EventEnvelope(
            event_id=uuid.uuid4(), type="PlateDetected", version=1,
            occurred_at=datetime.now(UTC), tenant_id=tenant, producer="ws-fanout-bench",
            correlation_id=f"ws-bench-{bench_id}",
            payload={"bench_id": bench_id})
        sent[bench_id] = time.time()
        await feed.append(envelope)
        await asyncio.sleep(args.interval)
    deadline = time.monotonic() + 15
    expected = welcomed * args.events
    while time.monotonic() < deadline:
        if sum(len(s.arrivals) for s in subscribers) >= expected:
            break
        await asyncio.sleep(0.2)
    latencies = [(at - sent[bench_id]) * 1000 for s in subscribers
                 for bench_id, at in s.arrivals.items()]
    dropped = sum(1 for s in subscribers if s.closed_code is not None) - refused
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await redis.aclose()
    return {
        "sockets": len(subscribers), "welcomed": welcomed, "refused": refused,
        "connect_seconds": connect_seconds, "expected": expected,
        "delivered": len(latencies), "latencies": latencies, "spread": spread,
        "dropped": dropped,
        "close_codes": sorted({s.closed_code for s in subscribers
                               if s.closed_code is not None}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--per-replica", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--via-haproxy", action="store_true",
                        help="connect through the real HAProxy (deploy/haproxy/haproxy.cfg)")
    parser.add_argument("--source-ips", type=int, default=200,
                        help="with --via-haproxy: client addresses 127.1.x.y to connect from")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.out is None:
        args.out = ROOT / "var" / "bench" / (
            "ws_fanout_haproxy.md" if args.via_haproxy else "ws_fanout.md")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    machine = machine_line()
    run = uuid.uuid4().hex[:8]
    db_name, prefix = f"gtv_bench_ws_{run}", f"gtv:bench:ws:{run}:"
    private_key, public_key = _keys()
    with tempfile.TemporaryDirectory(prefix="gtv-ws-bench-") as tmp, \
            private_database(db_name), private_vhost(f"gtv-bench-ws-{run}") as amqp_url:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'admin_service'}",
               "GTV_STREAMING_DB_NAME": db_name, "GTV_AMQP_URL": amqp_url,
               "GTV_REDIS_URL": REDIS_URL, "GTV_REDIS_PREFIX": prefix,
               "GTV_JWT_PUBLIC_KEY": public_key, "GTV_JWT_PUBLIC_KEY_FILE": "",
               "GTV_METRICS_PORT": "0", "GTV_RECORDING_KEEPER": "false",
               "GTV_STREAM_CONTROL_LISTENER": "false",
               "GTV_MEDIA_ROOT": f"{tmp}/media", "GTV_OBJECT_STORE_ROOT": f"{tmp}/objects",
               "GTV_WS_MAX_CONNECTIONS": str(max(2000, args.per_replica)),
               "OMP_NUM_THREADS": "1"}
        subprocess.run([sys.executable, "-m", "streaming_service.migrate"], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=300)
        try:
            with _replicas(args.replicas, env, Path(tmp)) as urls:
                if args.via_haproxy:
                    with _haproxy(urls, Path(tmp)) as (entry, stats):
                        args.stats = stats
                        result = asyncio.run(_bench(args, urls, private_key, prefix, entry))
                else:
                    result = asyncio.run(_bench(args, urls, private_key, prefix))
        finally:
            delete_redis_prefix(REDIS_URL, prefix)

    lat = result["latencies"]
    path = (f"through HAProxy, from {args.source_ips} client addresses" if args.via_haproxy
            else "straight to the replicas")
    rows = [
        f"## Live-alert WebSocket fan-out ({args.replicas} replicas x {args.per_replica} "
        f"sockets, one tenant, {path})",
        "",
        f"- Machine: {machine}; load average at the end "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- Sockets opened {result['sockets']}, welcomed {result['welcomed']}, closed or "
        f"refused {result['refused']} (close codes {result['close_codes'] or 'none'}); "
        f"connecting took {result['connect_seconds']:.1f} s; closed later, before the end "
        f"{result['dropped']}",
        f"- Events: {args.events}, {args.interval} s apart; delivered "
        f"{result['delivered']} of {result['expected']} expected (welcomed x events)",
    ]
    if result["spread"]:
        rows.append("- HAProxy `be_ws` sessions per replica once connected: " + ", ".join(
            f"{name} {count}" for name, count in sorted(result["spread"].items())))
    if lat:
        rows.append(f"- Live-feed append → socket: p50 {percentile(lat, 0.5):.0f} ms, "
                    f"p95 {percentile(lat, 0.95):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms, "
                    f"max {max(lat):.0f} ms")
    rows.append("")
    publish_report(rows, args.out)


if __name__ == "__main__":
    main()
