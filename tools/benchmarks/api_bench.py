"""API throughput against the frameworks' own floors, measured side by side in one run.

    python tools/benchmarks/api_bench.py [--duration 10] [--connections 32] [--cameras 50]
                                         [--rounds 3] [--paced-share 0.6]

Runs the one-machine demo (both services as the demo runs them, HAProxy in front) with a
database, a RabbitMQ vhost and a Redis prefix of its own, gives the demo tenant
``--cameras`` cameras, and loads each endpoint with ``wrk -t2 -cN -dS`` as a viewer (a
real JWT, so every security check runs): the camera list directly and through HAProxy,
and through HAProxy three reads of the streaming service: the audited plate search, the
stream statuses and the alerts. The floors serve the very same JSON body with nothing
of ours in the way: a bare DRF view under gunicorn with the admin service's own
gunicorn.conf.py (its workers, worker class and threads), and a bare FastAPI route under
uvicorn with the streaming service's worker count (``streaming_service.serve``).

On a shared machine the load moves from one second to the next, so every load runs
``--rounds`` times, interleaved (floor, endpoints, floor, endpoints...): each row reports
the median req/s, p50 and p99 of its rounds, and the median of its per-round ratios to
its framework's floor.

``wrk`` saturates the server (each connection sends again as soon as it is answered), so
its latencies are queueing: 32 connections at N req/s wait 32/N s on average, whatever
the code does. The latency *at a load* is then measured open loop
(``tools/benchmarks/open_loop.py``): the DRF floor and the camera list through HAProxy
at a constant ``--paced-share`` (0.6) of the floor's median req/s, interleaved, each
latency counted from the request's due time. Not a test; prints a markdown section and
writes ``var/bench/api.md``. Needs ``wrk`` (Debian package).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tools.benchmarks.common import (  # noqa: E402
    PG_ADMIN_URL,
    delete_redis_prefix,
    machine_line,
    private_vhost,
    publish_report,
)
from tools.benchmarks.open_loop import PacedResult, paced_load  # noqa: E402
from tools.demo.isolated import run_isolated_demo  # noqa: E402

REDIS_URL = os.environ.get("GTV_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_GUNICORN_CONF = ROOT / "admin_service" / "gunicorn.conf.py"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Load:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    # CPU time the serving processes spent per request (user + system), when known.
    cpu_us: float | None = None
    # The serving processes changed during the load (a worker the server replaced).
    processes_changed: bool = False


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we may read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            table[int(entry.name)] = (parent, cmdline)
    return table


def serving_pids(port: int) -> list[int]:
    """The server listening on ``port`` (its command line names it) and its Python
    children: gunicorn's or uvicorn's master and workers (not the ffmpeg processes the
    demo's streaming engine runs)."""
    table = _process_table()
    found = {pid for pid, (_, cmd) in table.items()
             if re.search(rf"(:|--port ){port}\b", cmd) and "wrk" not in cmd}
    while True:
        more = {pid for pid, (parent, cmd) in table.items()
                if parent in found and "python" in cmd} - found
        if not more:
            return sorted(found)
        found |= more


def _cpu_by_process(port: int) -> dict[int, int]:
    """Each serving process's CPU ticks so far (user + system)."""
    ticks = {}
    for pid in serving_pids(port):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def wrk(name: str, url: str, args: argparse.Namespace, token: str | None = None,
        port: int | None = None) -> Load:
    """``wrk`` against ``url``; with the serving ``port``, also the CPU its server spent
    per request. Counted only when the same processes served the whole load: a worker
    replaced in between takes its CPU with it (and the CPU of its reaped children, the
    streaming engine's ffmpeg, shows up in its master's), so that load's CPU is left out
    and the load is reported as one where the serving processes changed."""
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    before = _cpu_by_process(port) if port else {}
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         timeout=args.duration + 60).stdout
    after = _cpu_by_process(port) if port else {}
    done = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    changed = set(before) != set(after)
    cpu_us = None
    if before and not changed and done:
        spent = sum(after[pid] - before[pid] for pid in after)
        cpu_us = spent / _CLOCK_TICKS * 1e6 / done
    return Load(name, rps, p50, p99, int(bad[1]) if bad else 0, cpu_us, changed)


_RESTART_LINE = re.compile(r"died|WORKER TIMEOUT|was sent SIG|Worker exiting")


def _restart_lines(log_dir: Path) -> list[str]:
    """What the demo's servers and the floors logged about workers ending (uvicorn:
    "Child process [N] died"; gunicorn: "WORKER TIMEOUT", "Worker exiting"), the last 10."""
    lines = []
    for path in (log_dir / "logs" / "streaming.log", log_dir / "logs" / "admin.log",
                 *sorted(log_dir.glob("floor-*.log"))):
        with contextlib.suppress(OSError):
            text = path.read_text(errors="replace")
            lines += [f"{path.name}: {line.strip()[:200]}" for line in text.splitlines()
                      if _RESTART_LINE.search(line)]
    return lines[-10:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def floor(kind: str, body_file: Path, log_dir: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, "GTV_FLOOR_BODY": str(body_file), "PYTHONPATH": str(ROOT)}
    bin_dir = Path(sys.executable).parent
    if kind == "drf":
        # The admin service's own gunicorn settings: the same processes and threads.
        command = [str(bin_dir / "gunicorn"), "-c", str(ADMIN_GUNICORN_CONF),
                   "--bind", f"127.0.0.1:{port}", "tools.benchmarks.floors.drf_floor:application"]
    else:
        command = [str(bin_dir / "uvicorn"), "tools.benchmarks.floors.fastapi_floor:app",
                   "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                   "--workers", str(streaming_workers())]
    with open(log_dir / f"floor-{kind}-{port}.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/floor"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {kind} floor did not start; see {log_dir}")
            time.sleep(0.3)
        yield url, port
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)


def streaming_workers() -> int:
    """As many uvicorn workers as the demo's streaming service runs."""
    from streaming_service.serve import WORKERS_ENV, worker_count

    return worker_count(os.environ.get(WORKERS_ENV))


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def _cpu_cell(loads: list[Load]) -> str:
    values = [x.cpu_us for x in loads if x.cpu_us is not None]
    return f"{median(values):,.0f}" if values else "n/a"


def _cpu_ratio(rounds: list[list[tuple[Load, Load]]], row: int) -> str:
    ratios = [base.cpu_us / load.cpu_us for load, base in (r[row] for r in rounds)
              if load.cpu_us and base.cpu_us]
    return f"{median(ratios):.2f}" if ratios else "n/a"


def _token(gateway: str, username: str, password: str) -> str:
    response = httpx.post(f"{gateway}/api/admin/auth/token",
                          json={"username": username, "password": password}, timeout=10)
    response.raise_for_status()
    return str(response.json()["access"])


def _user(users: list[str], role: str) -> str:
    return next(u.split(" ", 1)[0] for u in users if u.endswith(f"({role})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paced-share", type=float, default=0.6,
                        help="open-loop rate as a share of the DRF floor's req/s")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "api.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    suffix = uuid.uuid4().hex[:8]
    prefix = f"gtv-bench-api-{suffix}:"
    state_dir = Path(tempfile.mkdtemp(prefix="gtv-api-bench-"))
    password = "Demo-" + uuid.uuid4().hex
    # Per round, per row: the load and its floor's load of the same round.
    rounds: list[list[tuple[Load, Load]]] = []
    paced: list[tuple[str, PacedResult]] = []
    paced_failures: list[str] = []
    restart_log: list[str] = []
    paced_rate = 0.0
    try:
        with private_vhost(f"gtv-bench-api-{suffix}") as amqp_url, run_isolated_demo(
            amqp_url, state_dir, label="bench-api", pg_admin_url=PG_ADMIN_URL,
            redis_prefix=prefix,
            extra_env={"GTV_DEMO_PASSWORD": password,
                       "GTV_DEMO_CAMERA_PASSWORD": "cam" + uuid.uuid4().hex,
                       # One client at full speed is what the gateway's per-address limit
                       # exists to stop: lifted here, or wrk would measure 429s.
                       "GTV_HAPROXY_RATE_LIMIT": "100000000"},
        ) as run:
            summary = json.loads((state_dir / "demo.json").read_text())
            gateway = summary["gateway"]
            admin = _token(gateway, _user(summary["users"], "tenant_admin"), password)
            with httpx.Client(base_url=gateway, timeout=10,
                              headers={"Authorization": f"Bearer {admin}"}) as client:
                have = client.get("/api/cidades/cameras/").json()["count"]
                for n in range(have, args.cameras):
                    client.post("/api/cidades/cameras/", json={
                        "name": f"Bench camera {n:03d}",
                        "rtsp_url": f"rtsp://127.0.0.1:8554/bench{n}"}).raise_for_status()
            viewer = _token(gateway, _user(summary["users"], "viewer"), password)
            admin_direct = f"http://127.0.0.1:{run.ports['admin']}"
            cameras = f"/api/cidades/cameras/?page_size={args.cameras}"
            # The streaming service's reads: the audited plate search, and two the
            # dashboard polls unaudited (the stream statuses, from Redis; the alerts, from
            # PostgreSQL). Each is compared with a bare FastAPI route serving its JSON.
            streaming_reads = ["/api/ai/detections/?plate=RIO*", "/api/streaming/streams/",
                               "/api/ai/alerts/?page_size=50"]
            bodies: dict[str, Path] = {}
            for path in (cameras, *streaming_reads):
                response = httpx.get(gateway + path,
                                     headers={"Authorization": f"Bearer {viewer}"},
                                     timeout=10)
                response.raise_for_status()
                bodies[path] = state_dir / f"body-{len(bodies)}.json"
                bodies[path].write_bytes(response.content)
            with contextlib.ExitStack() as floors:
                drf_url, drf_port = floors.enter_context(
                    floor("drf", bodies[cameras], state_dir))
                admin_port, streaming_port = run.ports["admin"], run.ports["streaming"]
                # (name, url, token, the port of the server whose CPU it costs, the row
                # of the floor it is compared with); each floor before its endpoints.
                plan = [
                    ("bare DRF view, same JSON, the admin service's gunicorn settings "
                     "(floor)", drf_url, None, drf_port, 0),
                    (f"`GET {cameras}`, direct", admin_direct + cameras, viewer, admin_port,
                     0),
                    ("the same through HAProxy", gateway + cameras, viewer, admin_port, 0),
                ]
                for path in streaming_reads:
                    fastapi_url, fast_port = floors.enter_context(
                        floor("fastapi", bodies[path], state_dir))
                    base = len(plan)
                    plan += [
                        (f"bare FastAPI route, same JSON as below, uvicorn "
                         f"{streaming_workers()} worker(s) (floor)", fastapi_url, None,
                         fast_port, base),
                        (f"`GET {path}` through HAProxy", gateway + path, viewer,
                         streaming_port, base),
                    ]
                for _ in range(args.rounds):
                    measured = [wrk(name, url, args, token, port)
                                for name, url, token, port, _ in plan]
                    rounds.append([(load, measured[base])
                                   for load, (*_, base) in zip(measured, plan, strict=True)])
                if any(load.processes_changed for measured_round in rounds
                       for load, _ in measured_round):
                    restart_log = _restart_lines(state_dir)
                paced_rate = args.paced_share * median([r[0][0].rps for r in rounds])
                for _ in range(args.rounds):
                    for key, url, token in (("floor", drf_url, None),
                                            ("cameras", gateway + cameras, viewer)):
                        try:
                            paced.append((key, paced_load(
                                url, rate=paced_rate, token=token,
                                connections=args.connections, duration=args.duration)))
                        except RuntimeError as failed:  # the wrk rows are still reported
                            paced_failures.append(f"{key}: {failed!r} ({failed.__cause__!r})")
    finally:
        with contextlib.suppress(Exception):
            delete_redis_prefix(REDIS_URL, prefix)
        shutil.rmtree(state_dir, ignore_errors=True)

    rows = [
        "## API throughput against the frameworks' floors",
        "",
        f"- Machine: {machine_line()}",
        f"- `wrk -t2 -c{args.connections} -d{args.duration}s`, a viewer's JWT, "
        f"{args.cameras} cameras in the tenant; the whole demo running; the gateway's "
        "per-address rate limit lifted for the run",
        f"- {args.rounds} interleaved rounds; medians of the rounds (the ratio: the median "
        "of each round's ratio to its floor of the same round)",
        "- CPU µs/req: the CPU time (user + system) of the serving processes (gunicorn's "
        "or uvicorn's master and workers; not HAProxy, not the audit trail's relay and "
        "consumer) divided by the requests answered — steadier than req/s on a shared "
        "machine; its ratio is the floor's CPU per request over the endpoint's",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | non-2xx | vs. its floor | CPU µs/req "
        "| CPU vs. its floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in range(len(rounds[0])):
        loads = [r[row][0] for r in rounds]
        ratio = median([load.rps / base.rps for load, base in (r[row] for r in rounds)])
        rows.append(f"| {loads[0].name} | {median([x.rps for x in loads]):,.0f} | "
                    f"{median([x.p50_ms for x in loads]):.1f} | "
                    f"{median([x.p99_ms for x in loads]):.1f} | "
                    f"{sum(x.non_2xx for x in loads)} | {ratio:.2f} | "
                    f"{_cpu_cell(loads)} | {_cpu_ratio(rounds, row)} |")
    changed: dict[int, int] = {}  # by row: the three FastAPI floors share a name
    for measured_round in rounds:
        for row, (load, _) in enumerate(measured_round):
            if load.processes_changed:
                changed[row] = changed.get(row, 0) + 1
    if changed:
        rows.append("")
    rows += [f"- row {row + 1} ({rounds[0][row][0].name}): the serving processes changed "
             f"during {count} of its loads (a worker the server replaced); their CPU is "
             "left out" for row, count in sorted(changed.items())]
    rows += [f"  - {line}" for line in restart_log]
    rows += [
        "",
        f"Open loop at {args.paced_share:g}x the DRF floor's median req/s "
        f"({paced_rate:,.0f} req/s, {args.connections} keep-alive connections, "
        f"{args.duration} s, {args.rounds} rounds, latency from each request's due time; "
        "medians of the rounds):",
        "",
        "| endpoint | req/s answered | p50 ms | p99 ms | non-2xx (all rounds) | requests "
        "that found every connection busy (all rounds) |",
        "|---|---|---|---|---|---|",
    ]
    for key, name in (("floor", "bare DRF view (floor)"),
                      ("cameras", f"`GET {cameras}` through HAProxy")):
        results = [result for which, result in paced if which == key]
        if results:
            # Over capacity, the queue grows all run long: the latencies then measure the
            # run's length, not a request.
            over = sum(1 for x in results if x.over_capacity)
            rows.append(f"| {name} | {median([x.rate for x in results]):,.0f}"
                        f"{f' (over capacity in {over} of {len(results)})' if over else ''} | "
                        f"{median([x.p50_ms for x in results]):.1f} | "
                        f"{median([x.p99_ms for x in results]):.1f} | "
                        f"{sum(x.non_2xx for x in results)} | "
                        f"{sum(x.late for x in results)} |")
    rows += [f"- open-loop run failed: {failure}" for failure in paced_failures]
    rows.append("")
    publish_report(rows, args.out)


if __name__ == "__main__":
    main()
